import type { Logger } from '@cti/runtime';
import type { Agent } from '../agent.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import { DeviceSecretFileError, readDeviceSecretFile } from './device-secret-file.ts';
import { createHeartbeatBody } from './heartbeat-body.ts';
import { createHeartbeatSender } from './heartbeat-sender.ts';

export type Heartbeat = { start(): void; stop(): Promise<void>; status(): Record<string, unknown> };

const disabled = (reason: string): Heartbeat => ({
  start() {},
  stop: async () => {},
  status: () => ({ enabled: false, reason }),
});

/**
 * The heartbeat of `cti-agent run`, or a disabled stand-in saying why (not configured, secret missing
 * or unusable). A heartbeat problem never stops the agent: captures do not depend on it.
 */
export function openHeartbeat({
  config,
  agent,
  lastCommittedAt,
  agentVersion,
  models,
  log,
}: {
  config: AgentConfig;
  agent: Pick<Agent, 'status'>;
  lastCommittedAt: () => number | null;
  agentVersion: string;
  models: string[];
  log: Logger;
}): Heartbeat {
  const hb = config.heartbeat;
  if (!hb) return disabled('not configured: set heartbeat.server_url in the agent config');
  try {
    const secret = readDeviceSecretFile(hb.secretFile, config.deviceCode, hb.credentialsDir);
    log.info({ url: hb.url, key: secret.fingerprint, intervalS: hb.intervalMs / 1000 }, 'heartbeat enabled');
    return createHeartbeatSender({
      url: hb.url,
      intervalMs: hb.intervalMs,
      timeoutMs: hb.timeoutMs,
      secret,
      body: createHeartbeatBody({ status: () => agent.status(), agentVersion, models, lastCommittedAt }),
      log,
    });
  } catch (err) {
    if (!(err instanceof DeviceSecretFileError)) throw err;
    log.error({ err: err.message }, 'heartbeat disabled: device secret unusable');
    return disabled(err.message);
  }
}
