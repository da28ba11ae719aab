import { userInfo } from 'node:os';
import { isValidDeviceCode } from '@cti/contracts';
import type { Sql } from 'postgres';
import { REFUSALS_COUNTED } from '../access/device-queries.ts';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from '../cli/command.ts';
import { type CommandIo, commandDatabase, processIo } from '../cli/command-database.ts';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import {
  isTypedName,
  normalizeTypedName,
  storedLength,
  TYPED_NAME_RULE,
  typedNameFault,
} from '../text/typed-name.ts';
import {
  addDeviceKey,
  DeviceFarmError,
  DeviceKeyConflictError,
  type DeviceListing,
  listDevices,
  rotateDeviceKey,
} from './device-keys.ts';
import { RETIRED_REASON_MAX, retireDevice, unretireDevice } from './device-retirement.ts';
import { refusalWords } from './refusal-words.ts';

const USAGE = `usage: cti-server device add <code> [--label <text>] [--farm <farm id or exact name>]
       cti-server device rotate-secret <code> [--overlap <duration: 0, 90s, 30m, 24h, 7d>]   (default 24h)
       cti-server device retire <code> [--reason <text>]   (revokes its keys; no longer watched)
       cti-server device unretire <code>
       cti-server device list`;

const SECRET_FILE = '/etc/cti/device-secret';

type Io = CommandIo;

/** `90s`, `30m`, `24h`, `7d` or a bare number of seconds; null when malformed or over 30 days. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  return seconds <= 30 * 86_400 ? seconds : null;
}

/** The API's rule for a device label (shortText(100) in api/devices.ts), so `add` stores none it would refuse. */
const LABEL_MAX = 100;
function isShortLabel(label: string): boolean {
  return storedLength(label) <= LABEL_MAX && isTypedName(label);
}

/** Options after the code: `--name value` pairs only. */
function options(args: string[], allowed: string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]!.replace(/^--/, '');
    if (!args[i]!.startsWith('--') || !allowed.includes(name))
      return `unknown option ${JSON.stringify(args[i])}`;
    if (args[i + 1] === undefined) return `${args[i]} needs a value`;
    out[name] = args[i + 1]!;
  }
  return out;
}

function printSecret(io: Io, code: string, secret: string, fingerprint: string, what: string) {
  // The secret alone on stdout, so it can be piped straight into the Pi's file; the rest on stderr.
  io.out(`${secret}\n`);
  io.err(
    `${what} for device ${code}: key ${fingerprint}. The secret above is shown once; the server keeps only its public key.\n` +
      `On the Pi: sudo install -m 0600 -o root -g root /dev/stdin ${SECRET_FILE}  (paste it, then Ctrl-D)\n` +
      '           sudo systemctl restart cti-agent; `cti-agent status` then shows heartbeat.last.accepted = true.\n',
  );
}

/** What a `cti-server device` command line asks for, checked before any database is opened. */
type DeviceRequest =
  | { sub: 'list' }
  | { sub: 'add'; code: string; label: string | null; farm: string | null }
  | { sub: 'rotate-secret'; code: string; overlapSeconds: number; overlapText: string }
  | { sub: 'retire'; code: string; reason: string | null }
  | { sub: 'unretire'; code: string };

/**
 * The command line read and checked whole — sub-command, device code, options, label, reason, overlap —
 * so a mistyped command gets its usage (exit 2) even without DATABASE_URL. A string is the problem
 * (printed above the usage lines; '' for the usage alone).
 */
export function parseDeviceArgs(args: string[]): DeviceRequest | { problem: string } {
  const [sub, code, ...rest] = args;
  if (sub === 'list' && code === undefined) return { sub: 'list' };
  if (!['add', 'rotate-secret', 'retire', 'unretire'].includes(sub ?? '') || code === undefined)
    return { problem: '' };
  if (!isValidDeviceCode(code))
    return {
      problem: `${JSON.stringify(code)} is not a device code (1-63 of a-z 0-9 _ -, as in the agent's device_code)`,
    };
  const allowed = { add: ['label', 'farm'], 'rotate-secret': ['overlap'], retire: ['reason'], unretire: [] };
  const opts = options(rest, allowed[sub as keyof typeof allowed]);
  if (typeof opts === 'string') return { problem: opts };
  if (sub === 'unretire') return { sub, code };
  if (sub === 'retire') {
    const { reason } = opts;
    if (reason !== undefined && !(storedLength(reason) <= RETIRED_REASON_MAX && isTypedName(reason))) {
      const fault = typedNameFault(reason);
      return {
        problem: `--reason must be ${RETIRED_REASON_MAX} characters or fewer ${TYPED_NAME_RULE} (counted once Unicode-normalised, as stored)${fault ? `; ${fault}` : ''}`,
      };
    }
    return { sub, code, reason: reason === undefined ? null : normalizeTypedName(reason) };
  }
  if (sub === 'add') {
    if (opts.label !== undefined && !isShortLabel(opts.label)) {
      const fault = typedNameFault(opts.label);
      return {
        problem: `--label must be ${LABEL_MAX} characters or fewer ${TYPED_NAME_RULE} (counted once Unicode-normalised, as stored)${fault ? `; ${fault}` : ''}`,
      };
    }
    const label = opts.label === undefined ? null : normalizeTypedName(opts.label);
    return { sub, code, label, farm: opts.farm ?? null };
  }
  const overlapText = opts.overlap ?? '24h';
  const overlapSeconds = parseDuration(overlapText);
  if (overlapSeconds === null)
    return { problem: `--overlap ${JSON.stringify(opts.overlap)} is not a duration up to 30d` };
  return { sub: 'rotate-secret', code, overlapSeconds, overlapText };
}

async function run(request: DeviceRequest, io: Io, sql: Sql): Promise<number> {
  if (request.sub === 'list') {
    for (const d of await listDevices(sql)) {
      const heard = d.last_heard_at ? d.last_heard_at.toISOString() : 'never';
      io.out(`${d.device_code}${d.label ? ` (${d.label})` : ''}  last heartbeat ${heard}\n`);
      if (d.retired_at)
        io.out(
          `  retired ${iso(d.retired_at)} by ${d.retired_by ?? 'unknown'}${d.retired_reason ? `: ${d.retired_reason}` : ''}\n`,
        );
      if (d.refused) io.out(refusalLines(d.device_code, d.refused));
      for (const k of d.keys) {
        const state = k.expires_at ? `expires ${k.expires_at}` : 'current';
        io.out(
          `  key ${k.fingerprint}  created ${k.created_at}  ${state}  last used ${k.last_used_at ?? 'never'}\n`,
        );
      }
    }
    return 0;
  }
  const { code } = request;
  if (request.sub === 'retire') return retire(io, sql, code, request.reason);
  if (request.sub === 'unretire') {
    await unretireDevice(sql, { code });
    io.err(
      `Device ${code} is in service again, without a key: \`cti-server device add ${code}\` issues one. It shows "no heartbeat yet" until its first heartbeat.\n`,
    );
    return 0;
  }
  if (request.sub === 'add') {
    const key = await addDeviceKey(sql, code, { label: request.label, farm: request.farm });
    printSecret(io, code, key.secret, key.fingerprint, 'New key');
    if (key.farm) io.err(`Device ${code} works on farm ${JSON.stringify(key.farm.name)} (${key.farm.id}).\n`);
    return 0;
  }
  const key = await rotateDeviceKey(sql, code, request.overlapSeconds);
  printSecret(io, code, key.secret, key.fingerprint, 'Rotated');
  io.err(
    key.expiring === 0
      ? 'The device had no current key.\n'
      : `The previous key stays valid for ${request.overlapText} or until the device first signs with the new one.\n`,
  );
  return 0;
}

const iso = (t: string) => new Date(t).toISOString();

/**
 * Who ran the command: the admin behind sudo, else the OS user, else (a uid without a passwd entry:
 * `docker run --user N`, k8s `runAsUser`, OpenShift; review r13 F11) `uid N`.
 */
function commandUser(): string {
  let who = process.env.SUDO_USER;
  if (!who) {
    try {
      who = userInfo().username;
    } catch {
      who = `uid ${process.getuid?.() ?? 'unknown'}`;
    }
  }
  return `${who} (command line)`;
}

async function retire(io: Io, sql: Sql, code: string, reason: string | null): Promise<number> {
  const done = await retireDevice(
    sql,
    { code },
    {
      by: commandUser(),
      reason,
    },
  );
  io.err(
    `Device ${code} retired at ${done.retiredAt.toISOString()}; ${done.keysRevoked} key(s) revoked: its heartbeats are refused (401 device_retired). ` +
      'It is no longer silent, notified or on /metrics; the fleet lists it under "Retired", its page and scans stay.\n',
  );
  return 0;
}

/** The fleet's "heartbeats refused since …" in two lines: what, and the fix. */
function refusalLines(code: string, r: NonNullable<DeviceListing['refused']>): string {
  const words = refusalWords(r.error_code, code, null);
  const count =
    r.last_hour === 0
      ? `the last at ${iso(r.last_at)}`
      : `${r.last_hour >= REFUSALS_COUNTED ? `${REFUSALS_COUNTED} or more` : r.last_hour} in the last hour`;
  return (
    `  heartbeats refused since ${iso(r.since)}: ${r.http_status} ${r.error_code}, ${words.reason} (${count})\n` +
    `  fix: ${words.fix}\n`
  );
}

function usage(io: Io, problem?: string): number {
  io.err(`${problem ? `cti-server device: ${problem}\n` : ''}${USAGE}\n`);
  return EXIT_USAGE;
}

/**
 * `cti-server device add|rotate-secret|retire|unretire|list`: per-device keys for the heartbeat
 * (README, "Devices"). Reads only DATABASE_URL. Exit 0 done, 1 refused (the device already has a key,
 * `--farm` names no farm or several, no such device, already retired / not retired, a key for a
 * retired device), 2 usage, 78 config.
 */
export function createDeviceCommand({ io = processIo, env = process.env } = {}): ServerCommand {
  return {
    usage: COMMAND_USAGE.device,
    async run(args) {
      const request = parseDeviceArgs(args);
      if ('problem' in request) return usage(io, request.problem);
      const sql = commandDatabase(env, io, 'cti-server device');
      if (!sql) return EXIT_CONFIG;
      try {
        return await run(request, io, sql);
      } catch (err) {
        if (!(err instanceof DeviceKeyConflictError || err instanceof DeviceFarmError)) throw err;
        io.err(`cti-server device: ${err.message}\n`);
        return 1;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

export const deviceCommand = createDeviceCommand();
