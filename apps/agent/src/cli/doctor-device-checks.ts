import { existsSync } from 'node:fs';
import type { AgentConfig } from '../config/agent-config.ts';
import { DeviceSecretFileError, readDeviceSecretFile } from '../heartbeat/device-secret-file.ts';
import type { HeartbeatAttempt } from '../heartbeat/heartbeat-sender.ts';
import type { Check } from './doctor-checks.ts';
import { fetchRunningStatus, type RunningStatus } from './running-status.ts';

/** What to do about a heartbeat the server refused or never got, by the server's error code. */
function fixFor(error: string, config: AgentConfig): string {
  const code = config.deviceCode;
  if (/^(unknown_device|no_device_key)/.test(error))
    return `an admin runs \`cti-server device add ${code}\` and installs the secret`;
  if (/^bad_signature/.test(error))
    return `the installed secret is not a current key of ${code}: install the latest one (\`cti-server device rotate-secret ${code}\` makes a new one)`;
  if (/^(stale|future)_timestamp/.test(error))
    return 'the Pi clock is off by more than 5 minutes: sudo timedatectl set-ntp true (needs network)';
  if (/^network/.test(error)) return `check the network and heartbeat.server_url (${config.heartbeat?.url})`;
  return 'see `journalctl -u cti-agent` and the server log';
}

/** Heartbeat: configured, the secret usable (readable as root only), and the service's last one accepted. */
export async function checkHeartbeat(
  config: AgentConfig,
  running: RunningStatus | Promise<RunningStatus> = fetchRunningStatus(config),
): Promise<Check> {
  const hb = config.heartbeat;
  if (!hb) {
    return {
      name: 'heartbeat',
      ok: true,
      warn: true,
      detail: 'not configured: the server cannot see this Pi in fleet health',
      fix: 'set "heartbeat": { "server_url": "https://…" } in the agent config',
    };
  }
  try {
    readDeviceSecretFile(hb.secretFile, config.deviceCode, hb.credentialsDir);
  } catch (err) {
    if (!(err instanceof DeviceSecretFileError)) throw err;
    const unreadable = err.message.includes('permission denied');
    return {
      name: 'heartbeat',
      ok: unreadable,
      warn: unreadable,
      detail: err.message,
      fix: unreadable ? 'run `sudo cti-agent doctor` to check the secret' : undefined,
    };
  }
  const answer = await running;
  if (!answer.answered) {
    return answer.running
      ? { name: 'heartbeat', ok: false, detail: `secret OK; ${answer.why}, so its heartbeat is unknown` }
      : {
          name: 'heartbeat',
          ok: true,
          warn: true,
          detail: 'secret OK; service not running, so no heartbeat was sent',
        };
  }
  const status = answer.json as {
    heartbeat?: { enabled: boolean; reason?: string; last: HeartbeatAttempt | null };
  } | null;
  const beat = status?.heartbeat;
  if (!beat?.enabled)
    return { name: 'heartbeat', ok: false, detail: `disabled in the running service: ${beat?.reason}` };
  if (!beat.last) return { name: 'heartbeat', ok: true, warn: true, detail: 'enabled; none sent yet' };
  if (beat.last.accepted)
    return { name: 'heartbeat', ok: true, detail: `last one accepted at ${beat.last.at} by ${hb.url}` };
  return {
    name: 'heartbeat',
    ok: false,
    detail: `last one (${beat.last.at}) not accepted: ${beat.last.error}`,
    fix: fixFor(beat.last.error ?? '', config),
  };
}

/** Ear-tag reader: configured or not; its device present. */
export function checkEarTagReader(config: AgentConfig): Check {
  const reader = config.eidReader;
  if (!reader)
    return { name: 'ear tags', ok: true, detail: 'no reader configured: captures carry no animal' };
  return existsSync(reader.path)
    ? { name: 'ear tags', ok: true, detail: `reader at ${reader.path}, ${reader.baudRate} baud` }
    : {
        name: 'ear tags',
        ok: false,
        detail: `no device at ${reader.path}`,
        fix: 'plug the reader in (USB-serial: the udev rule names it /dev/cti-eid; Bluetooth SPP: bind /dev/rfcomm0) or set eid_reader.path',
      };
}
