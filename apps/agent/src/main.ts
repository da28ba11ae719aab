import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { compileAllValidators } from '@cti/contracts';
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  onShutdown,
  writeFileAtomically,
} from '@cti/runtime';
import { serve } from '@hono/node-server';
import { createAgent } from './agent.ts';
import { loadedModels, loadHint } from './capture/hint.ts';
import type { AgentConfig } from './config/agent-config.ts';
import { createClockSyncMonitor } from './device/clock-sync.ts';
import { readFirmware } from './device/firmware.ts';
import { createFrameSource } from './frames/create-frame-source.ts';
import { createFramePool } from './frames/frame-pool.ts';
import { openHeartbeat } from './heartbeat/open-heartbeat.ts';
import { createLocalApi } from './http/local-api.ts';
import { createOutbox, freeSpaceAtStart, OutboxDbError, OutboxDiskFullError } from './outbox/index.ts';
import { openOutboxDb } from './outbox/outbox-db.ts';
import { type VolumeSpace, volumeSpace } from './outbox/volume-space.ts';
import { createRetryingOutput, type RetryingOutput } from './signals/retrying-output.ts';
import { createStatusSignals, type StatusSignals } from './signals/status-signals.ts';
import { ensureWritableDataDir } from './startup/data-dir.ts';
import { acquireOwnerLock, OwnerLockError } from './startup/owner-lock.ts';
import { StartupError } from './startup/startup-errors.ts';
import { createStatusLine, type WatchedLine } from './systemd/status-line.ts';
import { createSystemdNotifier, startupProgress, startWatchdog } from './systemd/systemd-notifier.ts';
import { openGpioOutput } from './trigger/gpio-button.ts';
import { resolveGpioLine } from './trigger/gpio-lines.ts';
import { openCaptureButton } from './trigger/open-capture-button.ts';
import { createRetryingButton, type RetryingButton } from './trigger/retrying-button.ts';

/**
 * The LED and buzzer. One that cannot be driven (no sysfs GPIO — there is no gpiomon-like fallback for
 * outputs —, a wrong chip label, no permission), or whose writes start failing later (EIO, the line
 * unexported or taken, a loose HAT), is logged once with the reason, reported down in status and the
 * heartbeat (`status_signals`) and re-opened in the background: the technician loses that signal
 * meanwhile, but captures, uploads and heartbeats go on (as with the capture button, review r20 F10).
 * systemd's status line names it while it is down; `cti-agent doctor` reports it as FAIL, as the
 * agent sees it.
 */
async function openSignals(
  config: AgentConfig,
  log: Logger,
  metrics: ReturnType<typeof createMetricsRegistry>,
) {
  const open = async (name: 'LED' | 'buzzer', bcm: number) => {
    const output = createRetryingOutput({
      name,
      open: async () => {
        const { line } = resolveGpioLine(bcm, {
          sysfsRoot: config.sysfsRoot,
          chipLabel: config.gpioChipLabel ?? undefined,
        });
        return openGpioOutput(line);
      },
      log: log.child({ mod: 'signals', output: name.toLowerCase(), bcm }),
      metrics,
    });
    await output.start();
    return output;
  };
  const led = config.led ? await open('LED', config.led.bcm) : undefined;
  const buzzer = config.buzzer ? await open('buzzer', config.buzzer.bcm) : undefined;
  return { signals: led || buzzer ? createStatusSignals({ led, buzzer }) : null, outputs: [led, buzzer] };
}

async function openGps(config: AgentConfig, log: Logger) {
  if (!config.gps) return null;
  const { createGpsSource } = await import('./gps/gps-source.ts');
  return createGpsSource(config.gps, log.child({ mod: 'gps' }));
}

/** The ear-tag reader; a new tag is acknowledged on the LED/buzzer (not during a capture's flicker). */
async function openEarTags(config: AgentConfig, log: Logger, signals: StatusSignals | null) {
  if (!config.eidReader) return null;
  const { createEarTagReader } = await import('./eid/eid-reader.ts');
  return createEarTagReader({
    ...config.eidReader,
    log: log.child({ mod: 'eid' }),
    onRead: (_eid, outcome) => {
      if (outcome !== 'repeat' && signals?.current() !== 'capturing') signals?.show('tag_read');
    },
  });
}

/**
 * The GPIO capture button. One that cannot be opened (no sysfs GPIO nor gpiomon, wrong chip label, no
 * permission, line busy) does not end the start-up: the backlog still uploads, heartbeats and
 * `cti-agent capture` still work, health says the button is down, and it is retried in the background
 * (review r20 F10). One that opened and then stops working (its sysfs line unexported or failing, gpiomon
 * exiting for good) is down and re-opened the same way. An invalid trigger config never gets here: it
 * exits 2 at config load.
 */
async function openButton(
  config: AgentConfig,
  log: Logger,
  metrics: ReturnType<typeof createMetricsRegistry>,
) {
  const trigger = config.trigger;
  if (trigger.kind !== 'gpio') return null;
  const button = createRetryingButton({
    open: () =>
      openCaptureButton(trigger, {
        sysfsRoot: config.sysfsRoot,
        chipLabel: config.gpioChipLabel ?? undefined,
        log,
      }),
    log: log.child({ mod: 'button' }),
    metrics,
  });
  await button.start();
  return button;
}

// The uploader (AWS SDK) and the GPS reader are imported only when configured: unused, they would
// still cost RSS on the Pi.
async function openUploader(
  config: AgentConfig,
  outbox: ReturnType<typeof createOutbox>,
  log: Logger,
  metrics: ReturnType<typeof createMetricsRegistry>,
) {
  if (!config.upload.enabled) return null;
  const [{ createUploader }, { createS3Client }] = await Promise.all([
    import('./uploader/uploader.ts'),
    import('./device/s3-client.ts'),
  ]);
  return createUploader({
    outbox,
    s3: createS3Client(config),
    bucket: config.upload.bucket,
    concurrency: config.upload.concurrency,
    multipartThresholdBytes: config.upload.multipartThresholdBytes,
    log: log.child({ mod: 'uploader' }),
    metrics,
    retentionDays: config.outbox.retentionDays,
  });
}

/** Stops what was started, last first; a failure to stop one part is logged and the rest still stop. */
function createStopList(log: Logger) {
  const parts: Array<{ name: string; stop: () => unknown }> = [];
  return {
    add(name: string, stop: () => unknown): void {
      parts.push({ name, stop });
    },
    async stopAll(): Promise<void> {
      for (let part = parts.pop(); part; part = parts.pop()) {
        try {
          await part.stop();
        } catch (err) {
          log.warn({ err, part: part.name }, 'stopping a part failed');
        }
      }
    },
  };
}

type Fetch = (request: Request) => Response | Promise<Response>;

/**
 * Binds the local API before anything else is opened, so a port in use ends the start-up before the
 * outbox is touched. Until `ready(fetch)` every request is a 503 "starting".
 */
async function listenLocalApi(config: AgentConfig) {
  let handler: Fetch | null = null;
  const server = serve({
    fetch: (request) =>
      handler?.(request) ?? Response.json({ ok: false, reason: 'starting' }, { status: 503 }),
    hostname: config.http.host,
    port: config.http.port,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    server.close();
    const where = `${config.http.host}:${config.http.port}`;
    throw new StartupError(
      `the local API cannot listen on ${where}: ${(err as Error).message}. Fix: another program holds the ` +
        `port (\`ss -ltnp | grep ${config.http.port}\`), or set http.port in the agent config`,
      { cause: err },
    );
  }
  let closed: Promise<void> | null = null;
  return {
    port: (server.address() as AddressInfo).port,
    ready: (fetch: Fetch) => {
      handler = fetch;
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}

/**
 * The data directory's owner lock. Should it fail because the volume is full (a lock file made at
 * this start needs a page), what the agent may remove is removed and it is tried once more
 * (freeSpaceAtStart); failing that, the outbox's own open names the full disk and what it holds.
 */
function takeOwnerLock(config: AgentConfig, log: Logger) {
  try {
    return acquireOwnerLock(config.dataDir);
  } catch (err) {
    if (!(err instanceof OwnerLockError && err.volumeFull)) throw err;
    const { outboxDb: dbPath, spoolDir } = config.paths;
    const freed = freeSpaceAtStart({ dbPath, spoolDir, minFreeBytes: config.outbox.minFreeBytes, log });
    if (freed.removedUploaded > 0 || freed.releasedReserve) return acquireOwnerLock(config.dataDir);
    openOutboxDb(dbPath, 'create').db.close(); // throws OutboxDiskFullError
    throw err;
  }
}

/**
 * Where `cti-agent` subcommands find the local API. Written whole or not at all: they (and tests)
 * read it the moment it exists, and a half-written file would send them to the configured port. On
 * a full data volume it is left out (review r20 F2: a 43-byte file ended a start whose outbox had
 * opened, and the restart loop never drained): the subcommands then use the configured port.
 */
async function writeRuntimeFile(config: AgentConfig, port: number, log: Logger): Promise<void> {
  try {
    await writeFileAtomically(
      config.paths.runtimeFile,
      JSON.stringify({ host: config.http.host, port, pid: process.pid }),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    log.warn(
      { err, file: config.paths.runtimeFile, port },
      'data volume full: runtime file not written; cti-agent commands use the configured http.port',
    );
  }
}

/**
 * A start-up that failed for want of space after the outbox opened (SQLITE_FULL, ENOSPC): said as
 * the full-disk case (free space, never move the outbox), not as a stack trace. Others unchanged.
 */
function asDiskFull(err: unknown, config: AgentConfig): unknown {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof OutboxDbError || (code !== 'SQLITE_FULL' && code !== 'ENOSPC')) return err;
  let space: VolumeSpace = { freeBytes: 0, freeInodes: null };
  try {
    space = volumeSpace(config.dataDir);
  } catch {}
  return new OutboxDiskFullError(
    config.paths.outboxDb,
    { volume: config.dataDir, ...space, pendingCaptures: null, failed: 'written' },
    err,
  );
}

/**
 * `cti-agent run`: take the data directory's owner lock, bind 127.0.0.1, open the outbox, build every
 * part from the config, start, notify systemd. A start-up that fails stops what it had started and
 * throws (the CLI prints it and exits non-zero) — it never lingers as a second, headless owner.
 */
export async function runAgent(config: AgentConfig): Promise<void> {
  const log = createLogger({ name: 'cti-agent', level: config.logLevel });
  const parts = createStopList(log);
  try {
    await startAgent(config, log, parts);
  } catch (err) {
    await parts.stopAll();
    throw asDiskFull(err, config);
  }
}

async function startAgent(config: AgentConfig, log: Logger, parts: ReturnType<typeof createStopList>) {
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_' });
  compileAllValidators(); // meta.json's schema: now, not on the first capture (~0.2 s more on a Pi)
  const notifier = createSystemdNotifier();
  ensureWritableDataDir(config.dataDir);
  const lock = takeOwnerLock(config, log);
  parts.add('owner lock', lock.release);
  const api = await listenLocalApi(config);
  parts.add('local API', api.close);
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    log: log.child({ mod: 'outbox' }),
    minFreeBytes: config.outbox.minFreeBytes,
    // A new database re-imports the spool before READY=1: keep systemd's start timeout from killing it.
    onReimportProgress: startupProgress({
      notifier,
      onError: (err) => log.warn({ err }, 'sd_notify failed: the start timeout is not extended'),
    }),
  });
  parts.add('outbox', outbox.close);
  const clock = createClockSyncMonitor();
  parts.add('clock', clock.stop);
  await clock.start();
  const { signals, outputs } = await openSignals(config, log, metrics);
  parts.add('LED and buzzer', () => {
    for (const o of outputs) o?.close();
  });
  const button = await openButton(config, log, metrics);
  parts.add('button', () => button?.close());
  const framePool = createFramePool();
  const hint = config.hint.enabled ? await loadHint({ log, modelPath: config.hint.modelPath }) : null;
  const firmware = readFirmware();
  const agent = createAgent({
    config,
    source: await createFrameSource(config, log.child({ mod: 'source' }), { pool: framePool }),
    framePool,
    outbox,
    uploader: await openUploader(config, outbox, log, metrics),
    button,
    signals,
    hint,
    gps: await openGps(config, log),
    earTags: await openEarTags(config, log, signals),
    clockStatus: clock.current,
    firmware,
    metrics,
    log,
  });
  parts.add('agent', agent.stop);
  await agent.start();
  const heartbeat = openHeartbeat({
    config,
    agent,
    lastCommittedAt: outbox.lastCommittedAt,
    agentVersion: firmware.app_version,
    models: loadedModels(hint),
    log: log.child({ mod: 'heartbeat' }),
  });
  parts.add('heartbeat', heartbeat.stop);
  heartbeat.start();
  const stopWatchdog = startWatchdog({
    notifier,
    healthy: () => {
      const h = agent.health();
      return { ok: h.ok || !h.restartable, reason: h.reason };
    },
    onUnhealthy: (reason) => log.warn({ reason }, 'capture loop unhealthy: withholding watchdog ping'),
  });
  parts.add('watchdog', stopWatchdog);
  // systemd's status line: READY=1 below, then again whenever the button, LED or buzzer goes down or
  // comes back; nothing after STOPPING=1.
  const statusLine = createStatusLine({
    notifier,
    source: config.source.kind,
    lines: watchedLines(button, outputs),
    onError: (err) => log.warn({ err }, 'sd_notify failed'),
  });
  parts.add('status line', statusLine.stop);
  // Before anything announces the agent (the local API answering, the runtime file, "agent ready",
  // READY=1): systemd, an operator or a test may send SIGTERM the moment it sees one, and a signal
  // without a handler would kill the agent mid-write instead of stopping it.
  onShutdown(
    async () => {
      statusLine.stop();
      await notifier.send('STOPPING=1').catch(() => {});
      await api.close(); // no new request while the rest stops
      await parts.stopAll();
    },
    { log, timeoutMs: 15_000 },
  );
  api.ready(
    createLocalApi({ agent, metrics, statusExtras: () => ({ heartbeat: heartbeat.status() }) }).fetch,
  );
  parts.add('runtime file', () => rmSync(config.paths.runtimeFile, { force: true }));
  await writeRuntimeFile(config, api.port, log);
  log.info(
    {
      port: api.port,
      device: config.deviceCode,
      source: config.source.kind,
      trigger: config.trigger.kind,
      ...(button ? { captureButton: button.state().up ? 'up' : 'down' } : {}),
      ...(outputs[0] ? { led: outputs[0].state().up ? 'up' : 'down' } : {}),
      ...(outputs[1] ? { buzzer: outputs[1].state().up ? 'up' : 'down' } : {}),
    },
    'agent ready',
  );
  await statusLine.ready();
}

/** The retried GPIO lines systemd's status line names while they are down (only the configured ones). */
function watchedLines(
  button: RetryingButton | null,
  [led, buzzer]: Array<RetryingOutput | undefined>,
): WatchedLine[] {
  const named = [
    { name: 'capture button', line: button ?? undefined },
    { name: 'LED', line: led },
    { name: 'buzzer', line: buzzer },
  ];
  return named.flatMap(({ name, line }) =>
    line ? [{ name, state: line.state, onStateChange: line.onStateChange }] : [],
  );
}
