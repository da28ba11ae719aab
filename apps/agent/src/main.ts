import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  makeDirectorySync,
  onShutdown,
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
import { createOutbox } from './outbox/index.ts';
import { createStatusSignals, type StatusSignals } from './signals/status-signals.ts';
import { createSystemdNotifier, startWatchdog } from './systemd/systemd-notifier.ts';
import { openGpioOutput } from './trigger/gpio-button.ts';
import { resolveGpioLine } from './trigger/gpio-lines.ts';
import { openCaptureButton } from './trigger/open-capture-button.ts';

async function openSignals(config: AgentConfig) {
  const line = (bcm: number) =>
    resolveGpioLine(bcm, { sysfsRoot: config.sysfsRoot, chipLabel: config.gpioChipLabel ?? undefined }).line;
  const led = config.led ? await openGpioOutput(line(config.led.bcm)) : undefined;
  const buzzer = config.buzzer ? await openGpioOutput(line(config.buzzer.bcm)) : undefined;
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

async function openButton(config: AgentConfig, log: Logger) {
  if (config.trigger.kind !== 'gpio') return null;
  return openCaptureButton(config.trigger, {
    sysfsRoot: config.sysfsRoot,
    chipLabel: config.gpioChipLabel ?? undefined,
    log,
  });
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

/** `cti-agent run`: build every part from the config, start, serve 127.0.0.1, notify systemd. */
export async function runAgent(config: AgentConfig): Promise<void> {
  const log = createLogger({ name: 'cti-agent', level: config.logLevel });
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_' });
  const notifier = createSystemdNotifier();
  makeDirectorySync(config.paths.spoolDir);
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    log: log.child({ mod: 'outbox' }),
    minFreeBytes: config.outbox.minFreeBytes,
  });
  const clock = createClockSyncMonitor();
  await clock.start();
  const { signals, outputs } = await openSignals(config);
  const button = await openButton(config, log);
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
  await agent.start();
  const heartbeat = openHeartbeat({
    config,
    agent,
    lastCommittedAt: outbox.lastCommittedAt,
    agentVersion: firmware.app_version,
    models: loadedModels(hint),
    log: log.child({ mod: 'heartbeat' }),
  });
  heartbeat.start();
  const server = serve({
    fetch: createLocalApi({ agent, metrics, statusExtras: () => ({ heartbeat: heartbeat.status() }) }).fetch,
    hostname: config.http.host,
    port: config.http.port,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  writeFileSync(config.paths.runtimeFile, JSON.stringify({ host: config.http.host, port, pid: process.pid }));
  log.info(
    { port, device: config.deviceCode, source: config.source.kind, trigger: config.trigger.kind },
    'agent ready',
  );
  await notifier
    .send('READY=1', `--status=capturing from ${config.source.kind}`)
    .catch((err) => log.warn({ err }, 'sd_notify failed'));
  const stopWatchdog = startWatchdog({
    notifier,
    healthy: () => {
      const h = agent.health();
      return { ok: h.ok || !h.restartable, reason: h.reason };
    },
    onUnhealthy: (reason) => log.warn({ reason }, 'capture loop unhealthy: withholding watchdog ping'),
  });

  onShutdown(
    async () => {
      await notifier.send('STOPPING=1').catch(() => {});
      stopWatchdog();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await heartbeat.stop();
      await agent.stop();
      button?.close();
      for (const o of outputs) o?.close();
      clock.stop();
      outbox.close();
      rmSync(config.paths.runtimeFile, { force: true });
    },
    { log, timeoutMs: 15_000 },
  );
}
