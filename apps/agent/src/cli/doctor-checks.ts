import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { silentLogger } from '@cti/runtime';
import { loadHint } from '../capture/hint.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { AgentEnvFile } from '../config/agent-env-file.ts';
import { createClockSyncMonitor } from '../device/clock-sync.ts';
import { createS3Client } from '../device/s3-client.ts';
import { discardedFilesHold } from '../outbox/outbox-errors.ts';
import { DISCARDED_DIR, discardedOnDisk } from '../outbox/outbox-salvage.ts';
import { describeFree, freeInodesFix, inodesShort, volumeSpace } from '../outbox/volume-space.ts';
import {
  describeNotADirectory,
  describeUnwritable,
  invokingUser,
  UNIT_DATA_DIR,
} from '../startup/data-dir.ts';
import { isReadOnlyMount } from '../startup/read-only-mount.ts';
import { callService, ServiceNotAnsweringError } from './local-client.ts';
import { fetchRunningStatus, type RunningStatus, runningStatusBody } from './running-status.ts';

export type Check = { name: string; ok: boolean; warn?: boolean; detail: string; fix?: string };

export const writable = (path: string) => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

export async function checkProbe(
  config: AgentConfig,
  running: RunningStatus | Promise<RunningStatus> = fetchRunningStatus(config),
): Promise<Check> {
  const s = config.source;
  const src = runningStatusBody(await running)?.source as
    | { connected: boolean; frames: number; droppedFrames: number }
    | undefined;
  if (src) {
    return {
      name: 'probe',
      ok: src.connected && src.frames > 0,
      detail: `service reports ${s.kind} source ${src.connected ? 'connected' : 'NOT connected'}, ${src.frames} frames, ${src.droppedFrames} dropped`,
      fix: src.connected
        ? undefined
        : 'check the probe cable and `ls -l /dev/cti-probe` (udev rule 99-cti-probe.rules)',
    };
  }
  // Service not running (or not answering): check what can be checked offline.
  if (s.kind === 'serial') {
    if (!existsSync(s.path)) {
      return {
        name: 'probe',
        ok: false,
        detail: `${s.path} does not exist`,
        fix: 'plug in the probe; check `dmesg | tail` and the udev rule giving it /dev/cti-probe',
      };
    }
    return writable(s.path)
      ? { name: 'probe', ok: true, detail: `${s.path} present and accessible` }
      : {
          name: 'probe',
          ok: false,
          detail: `${s.path} not accessible`,
          fix: 'add the service user to the dialout group: sudo usermod -aG dialout cti',
        };
  }
  if (s.kind === 'folder') {
    if (notADirectory(s.dir))
      return {
        name: 'probe',
        ok: false,
        detail: `drop folder ${s.dir} is not a directory (a file is there)`,
        fix: 'point "source": { "dir" } in the agent config at the folder the console exports to',
      };
    return existsSync(s.dir)
      ? { name: 'probe', ok: true, detail: `drop folder ${s.dir} exists` }
      : {
          name: 'probe',
          ok: false,
          detail: `drop folder ${s.dir} missing`,
          fix: `create it: sudo install -d -o cti ${s.dir}`,
        };
  }
  return { name: 'probe', ok: true, warn: true, detail: 'simulated probe (demo mode)' };
}

/** `envFileProblem`: agent.env could not be read (doctor without sudo), so the fix for missing credentials is sudo. */
export async function checkS3(config: AgentConfig, envFileProblem: string | null = null): Promise<Check> {
  if (!config.upload.enabled)
    return { name: 's3', ok: true, warn: true, detail: 'upload disabled in config' };
  const s3 = createS3Client(config);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.upload.bucket }), {
      abortSignal: AbortSignal.timeout(8000),
    });
    const imposter = await answersAnything(s3, config.upload.bucket);
    if (imposter) return imposter;
    return {
      name: 's3',
      ok: true,
      detail: `bucket ${config.upload.bucket} reachable with the current credentials`,
    };
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const fix =
      e.name === 'CredentialsProviderError' && envFileProblem
        ? `${envFileProblem} (sudo cti-agent doctor): the service's credentials are there`
        : e.name === 'CredentialsProviderError'
          ? 'set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in /etc/cti/agent.env (or an instance profile)'
          : status === 403
            ? `the credentials lack access: allow s3:PutObject, s3:GetObject (HEAD) on ${config.upload.bucket}/raw/*`
            : status === 404
              ? `bucket ${config.upload.bucket} does not exist: check upload.bucket / CTI_S3_BUCKET`
              : 'check network access to S3 (or S3_ENDPOINT) and the region';
    return {
      name: 's3',
      ok: false,
      detail: `${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`,
      fix,
    };
  } finally {
    s3.destroy();
  }
}

/**
 * A captive portal, a transparent proxy or a wrong S3_ENDPOINT answers HeadBucket with 200 like the
 * store: a HEAD of a key that cannot exist tells them apart (a store answers 404, or 403 without
 * s3:ListBucket). A failed check, null when the endpoint behaves as a store.
 */
async function answersAnything(s3: ReturnType<typeof createS3Client>, bucket: string): Promise<Check | null> {
  const key = `raw/.cti-doctor-${randomBytes(8).toString('hex')}`;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: AbortSignal.timeout(8000),
    });
  } catch {
    return null;
  }
  return {
    name: 's3',
    ok: false,
    detail: `the endpoint answers 200 for ${bucket}/${key}, which does not exist: not an S3 store`,
    fix:
      'a captive portal or proxy on this network, or a wrong S3_ENDPOINT / upload.endpoint: log the network ' +
      'in (or use HTTPS to the store) and check the endpoint; uploads to it are not counted as stored',
  };
}

/** `dir` is a file, or lies under one (the start would refuse it: review r20 F8). */
function notADirectory(dir: string): boolean {
  try {
    return !statSync(dir).isDirectory();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

/**
 * `data_dir` must exist (or be makeable) and be writable: on a read-only file system (a card the
 * kernel remounted read-only, also as ext4's `emergency_ro`) or for another user the service cannot start. Anywhere but
 * /var/lib/cti, the shipped unit (ProtectSystem=strict) needs a ReadWritePaths= drop-in for it,
 * which is looked up with systemctl where there is one. Writability is checked as the user running
 * doctor (root passes where only the owner matters).
 */
export function checkDataDir(config: AgentConfig, unitPaths = unitReadWritePaths): Check {
  const dir = config.dataDir;
  const name = 'data dir';
  if (notADirectory(dir)) {
    const { problem, fix } = describeNotADirectory(dir);
    return { name, ok: false, detail: problem, fix };
  }
  if (!existsSync(dir)) {
    return {
      name,
      ok: false,
      detail: `${dir} does not exist`,
      fix: `sudo install -d -o cti -g cti ${dir}${underUnitDataDir(dir) ? '' : ` and add a drop-in: sudo systemctl edit cti-agent → [Service] ReadWritePaths=${dir}`}`,
    };
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EACCES' || code === 'EPERM') && !runsAsOwnerOrRoot(dir)) {
      // The login user (docs/agent.md: `sudo cti-agent doctor`) may not write the service's 0750 cti
      // directory; that says nothing about the service (review r22 F16).
      return {
        name,
        ok: true,
        warn: true,
        detail: `${dir} is not writable by ${invokingUser()}, who runs this check (${code}): not checked for the service's user`,
        fix: 'run `sudo cti-agent doctor` to check it',
      };
    }
    const described = describeUnwritable(dir, err);
    return described
      ? { name, ok: false, detail: described.problem, fix: described.fix }
      : { name, ok: false, detail: `${dir}: ${(err as Error).message}` };
  }
  // An ext4 card in emergency_ro passes access(W_OK); only its writes fail with EROFS. Said as the
  // write commands (`outbox retry`) say it (review r10 F1).
  if (isReadOnlyMount(dir)) {
    const { problem, fix } = describeUnwritable(dir, { code: 'EROFS' })!;
    return { name, ok: false, detail: problem, fix };
  }
  if (underUnitDataDir(dir)) return { name, ok: true, detail: `${dir} writable` };
  const allowed = unitPaths();
  if (allowed === null) {
    return {
      name,
      ok: true,
      warn: true,
      detail: `${dir} writable here, but outside ${UNIT_DATA_DIR}: the shipped unit makes it read-only`,
      fix: `sudo systemctl edit cti-agent → [Service] ReadWritePaths=${dir}`,
    };
  }
  const covered = allowed.some((p) => dir === p || dir.startsWith(`${p.replace(/\/$/, '')}/`));
  return covered
    ? { name, ok: true, detail: `${dir} writable, and in the unit's ReadWritePaths` }
    : {
        name,
        ok: false,
        detail: `${dir} is not in cti-agent.service's ReadWritePaths (${allowed.join(' ') || 'none'}): read-only for the service`,
        fix: `sudo systemctl edit cti-agent → [Service] ReadWritePaths=${dir}, then sudo systemctl restart cti-agent`,
      };
}

/** This process is root, or owns `dir`: its write access stands for the service's. */
function runsAsOwnerOrRoot(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return true;
  try {
    return statSync(dir).uid === uid;
  } catch {
    return false;
  }
}

const underUnitDataDir = (dir: string) => dir === UNIT_DATA_DIR || dir.startsWith(`${UNIT_DATA_DIR}/`);

/** The installed unit's ReadWritePaths, null without systemd or without the unit. */
function unitReadWritePaths(): string[] | null {
  try {
    const out = execFileSync('systemctl', ['show', 'cti-agent', '--property=LoadState,ReadWritePaths'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const props: Record<string, string> = Object.fromEntries(
      out.split('\n').map((line) => [line.split('=')[0] ?? '', line.slice(line.indexOf('=') + 1)]),
    );
    if (props.LoadState !== 'loaded') return null;
    return (props.ReadWritePaths ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((p: string) => p.replace(/^-/, ''));
  } catch {
    return null;
  }
}

export function checkDisk(config: AgentConfig): Check {
  const dir = existsSync(config.paths.spoolDir) ? config.paths.spoolDir : config.dataDir;
  try {
    const space = volumeSpace(dir);
    const free = space.freeBytes;
    const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
    // Bytes free but no inode: every new file fails with ENOSPC all the same (review r20 F7).
    if (inodesShort(space))
      return {
        name: 'disk',
        ok: false,
        detail: `${describeFree(space)} on ${dir}`,
        fix: `${freeInodesFix(dir)}. The agent removes captures already uploaded itself; do not delete outbox.db or the spool`,
      };
    if (free > config.outbox.minFreeBytes)
      return {
        name: 'disk',
        ok: true,
        detail: `${mb(free)} free on ${dir} (floor ${mb(config.outbox.minFreeBytes)})`,
      };
    // Captures given up keep their files in spool/discarded until an operator deletes them (review
    // r8 F7): when they hold space, that is the first thing to free, worded as the floor's refusal.
    const discarded = discardedOnDisk(config.paths.spoolDir);
    const aside =
      discarded.captures > 0
        ? `${discardedFilesHold(discarded.captures, discarded.bytes, join(config.paths.spoolDir, DISCARDED_DIR))}; `
        : '';
    return {
      name: 'disk',
      ok: false,
      detail: `${mb(free)} free on ${dir}, below the floor ${mb(config.outbox.minFreeBytes)}`,
      // `outbox list` and `status` read the queue on a full disk too (outbox-db.ts openOnFullDisk).
      fix:
        `${aside}free space on that volume (\`df -h ${dir}\`; files that are not the agent's: journal, apt cache). ` +
        'The agent removes captures already uploaded itself (at start, after each upload, when a capture needs room); those waiting to upload ' +
        '(`sudo cti-agent outbox list --state pending`) leave as uploads drain. Do not delete outbox.db or the ' +
        (aside ? 'capture directories in the spool (outside spool/discarded)' : 'spool'),
    };
  } catch (err) {
    return {
      name: 'disk',
      ok: false,
      detail: `${dir}: ${(err as Error).message}`,
      fix: `create the data dir: sudo install -d -o cti ${config.dataDir}`,
    };
  }
}

export async function checkClock(): Promise<Check> {
  const status = await createClockSyncMonitor().refresh();
  return status.synced
    ? { name: 'clock', ok: true, detail: `synchronised (${status.source})` }
    : {
        name: 'clock',
        ok: false,
        warn: true,
        detail: `not NTP-synchronised (${status.source}); captures are marked clock.synced=false`,
        fix: 'enable time sync: sudo timedatectl set-ntp true (needs network to an NTP server)',
      };
}

/** The hint model, and the view gate it carries (`not_a_ribeye_view`), as the service would load them. */
export async function checkHint(config: AgentConfig): Promise<Check[]> {
  if (!config.hint.enabled) {
    return [
      { name: 'hint', ok: true, warn: true, detail: 'hint disabled in config' },
      viewGateOff(config, 'the hint is disabled in config'),
    ];
  }
  const hint = await loadHint({ log: silentLogger(), modelPath: config.hint.modelPath });
  await hint?.close?.();
  if (!hint) {
    return [
      {
        name: 'hint',
        ok: true,
        warn: true,
        detail: 'hint model unavailable: captures carry no inference_summary',
        fix: 'install the model files of @cti/models',
      },
      viewGateOff(config, 'no hint model'),
    ];
  }
  return [
    { name: 'hint', ok: true, detail: `hint model ${hint.model} loads` },
    checkViewGate(config, hint.viewCard ?? null),
  ];
}

/** Which threshold the capture's view gate applies (quality-gate.ts checkView), and whether there is one. */
function checkViewGate(
  config: AgentConfig,
  view: { name: string; version: string; threshold: number } | null,
): Check {
  const gate = config.capture.qualityGate;
  if (!view) {
    return {
      name: 'view gate',
      ok: true,
      warn: true,
      detail:
        'off: the hint model has no view card beside it, so wrong views (backfat, wrong site, cut off) are captured',
      fix: `put ribeye-view.card.json (and its .card.md) beside ${config.hint.modelPath ?? 'the hint card'}, or reinstall the package`,
    };
  }
  if (!gate.enabled) return viewGateOff(config, 'capture.quality_gate.enabled is false');
  const own = gate.minRibeyeView === null;
  const threshold = gate.minRibeyeView ?? view.threshold;
  return {
    name: 'view gate',
    ok: true,
    ...(threshold === 0
      ? {
          warn: true,
          fix: 'raise capture.quality_gate.min_ribeye_view, or remove it for the card’s threshold',
        }
      : {}),
    detail: `${view.name}@${view.version} threshold ${threshold} (${own ? 'the view card’s' : 'capture.quality_gate.min_ribeye_view'})${threshold === 0 ? ': never refuses' : ''}`,
  };
}

function viewGateOff(config: AgentConfig, why: string): Check {
  const min = config.capture.qualityGate.minRibeyeView;
  return {
    name: 'view gate',
    ok: true,
    warn: true,
    detail: `off: ${why}, so wrong views are captured${min !== null ? ` (capture.quality_gate.min_ribeye_view ${min} has no effect)` : ''}`,
    fix: 'the view gate needs hint.enabled true, its model files and capture.quality_gate.enabled true',
  };
}

export async function checkService(config: AgentConfig): Promise<Check> {
  try {
    const { json } = await callService(config, 'GET', '/healthz', { timeoutMs: 3000 });
    const h = json as { ok: boolean; reason: string | null };
    return {
      name: 'service',
      ok: h.ok,
      detail: h.ok ? 'running, capture loop healthy' : `running but unhealthy: ${h.reason}`,
    };
  } catch (err) {
    return {
      name: 'service',
      ok: false,
      detail: err instanceof ServiceNotAnsweringError ? 'running but not answering (hung?)' : 'not running',
      fix: (err as Error).message.split('Fix: ')[1],
    };
  }
}

/**
 * Who runs doctor, and agent.env as the service gets it (the unit's EnvironmentFile=): a WARN when not
 * root (the data directory, agent.env and the device secret are the service's and root's), a FAIL
 * when agent.env exists but cannot be read.
 */
export function checkInvocation(envFile: AgentEnvFile | null): Check[] {
  const uid = process.getuid?.();
  const user: Check[] =
    uid === undefined || uid === 0
      ? []
      : [
          {
            name: 'user',
            ok: true,
            warn: true,
            detail: `checking as ${invokingUser()}, not as root: files only the service and root may read are not checked`,
            fix: 'sudo cti-agent doctor',
          },
        ];
  if (!envFile)
    return [...user, { name: 'agent.env', ok: true, detail: 'not read (CTI_AGENT_ENV_FILE is empty)' }];
  const env: Check = envFile.problem
    ? { name: 'agent.env', ok: false, detail: envFile.problem, fix: 'sudo cti-agent doctor' }
    : !envFile.present
      ? {
          name: 'agent.env',
          ok: true,
          warn: true,
          detail: `${envFile.path} does not exist: S3 credentials only from the environment or an instance profile`,
          fix: `the package makes it (0640 root:cti); put AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY there`,
        }
      : {
          name: 'agent.env',
          ok: true,
          detail: `${envFile.path} read as the service reads it${envFile.applied.length ? `: ${envFile.applied.join(', ')}` : ' (nothing set in it that is not set here already)'}`,
        };
  return [...user, env];
}
