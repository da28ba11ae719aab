import { createLogger } from '@cti/runtime';
import type { ViewOutput } from '../capture/hint.ts';
import { checkView, viewThreshold } from '../capture/quality-gate.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { AgentEnvFile } from '../config/agent-env-file.ts';
import { createClockSyncMonitor } from '../device/clock-sync.ts';
import { createOutbox, outboxUsage, requireOutboxFile, runOutboxCommand } from '../outbox/index.ts';
import type { Check } from './doctor-checks.ts';
import { callService } from './local-client.ts';

// doctor (AWS SDK, GPIO, probe checks) and hint (image decoding, the model) are imported by their
// commands only: `cti-agent run` loads this module too and should not carry them in its RSS.

export type Io = { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } };

/**
 * `cti-agent capture`: exit 0 captured, 3 refused (the reason is printed; also when the capture queue
 * is full, HTTP 429: press again), 1 service error; the
 * CLI exits 2 when the service is not running and 4 when it died mid-request (outcome unknown).
 */
export async function captureCommand(config: AgentConfig, io: Io): Promise<number> {
  const { status, json } = await callService(config, 'POST', '/capture', { timeoutMs: 30_000 });
  io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  return status === 201 ? 0 : status === 409 || status === 429 ? 3 : 1;
}

/** `cti-agent status`: the service's view, or an offline view (outbox, clock, disk) when it is down. */
export async function statusCommand(config: AgentConfig, io: Io): Promise<number> {
  try {
    const { json } = await callService(config, 'GET', '/status', { timeoutMs: 5000 });
    io.stdout.write(`${JSON.stringify({ service: 'running', ...(json as object) }, null, 2)}\n`);
    return 0;
  } catch (err) {
    const outbox = createOutbox({
      dbPath: config.paths.outboxDb,
      spoolDir: config.paths.spoolDir,
      owner: false,
      access: 'readonly',
    });
    try {
      const { checkDisk } = await import('./doctor-checks.ts');
      const clock = await createClockSyncMonitor().refresh();
      const offline = {
        service: 'not running',
        hint: (err as Error).message,
        clock,
        disk: checkDisk(config),
        outbox: outbox.summary(),
        // A card the kernel remounted read-only (outbox-db.ts openOnReadOnlyVolume): say so.
        ...(outbox.readOnlyNote ? { outboxReadOnly: outbox.readOnlyNote } : {}),
      };
      io.stdout.write(`${JSON.stringify(offline, null, 2)}\n`);
    } finally {
      outbox.close();
    }
    return 1;
  }
}

/** `cti-agent doctor`: every check with a fix hint; exit 1 when any required check fails. */
export async function doctorCommand(
  config: AgentConfig,
  io: Io,
  envFile: AgentEnvFile | null = null,
): Promise<number> {
  const {
    checkClock,
    checkDataDir,
    checkDisk,
    checkHint,
    checkInvocation,
    checkProbe,
    checkS3,
    checkService,
  } = await import('./doctor-checks.ts');
  const { checkEarTagReader, checkHeartbeat } = await import('./doctor-device-checks.ts');
  const { checkGpioLines } = await import('./doctor-gpio-checks.ts');
  const { fetchRunningStatus } = await import('./running-status.ts');
  // One question to the running agent for every check that reports what it sees.
  const running = await fetchRunningStatus(config);
  const checks: Check[] = [
    ...checkInvocation(envFile),
    { name: 'config', ok: true, detail: `valid (device ${config.deviceCode}, source ${config.source.kind})` },
    ...(await checkGpioLines(config, running)),
    await checkProbe(config, running),
    await checkS3(config, envFile?.problem ?? null),
    checkDataDir(config),
    checkDisk(config),
    await checkClock(),
    ...(await checkHint(config)),
    await checkService(config),
    await checkHeartbeat(config, running),
    checkEarTagReader(config),
  ];
  for (const c of checks) {
    const mark = c.ok ? (c.warn ? 'WARN' : ' OK ') : 'FAIL';
    io.stdout.write(`[${mark}] ${c.name.padEnd(12)} ${c.detail}\n`);
    if (c.fix && (!c.ok || c.warn)) io.stdout.write(`       fix: ${c.fix}\n`);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

/**
 * What this agent's capture would decide on the view (quality-gate.ts checkView with this config), which
 * is not the model's own `view.accepted` when `min_ribeye_view` or `quality_gate.enabled` say otherwise.
 */
function captureViewGate(config: AgentConfig, view: ViewOutput | null | undefined) {
  const gate = config.capture.qualityGate;
  const off = !config.hint.enabled
    ? 'hint.enabled is false: captures run no hint, so no view verdict'
    : !gate.enabled
      ? 'capture.quality_gate.enabled is false'
      : !view
        ? 'no view card beside the hint model'
        : null;
  if (off) return { ok: true, threshold: null, off };
  return { ...checkView(view, gate), threshold: viewThreshold(view, gate) };
}

/**
 * `cti-agent hint <image>`: the same hint call and inference_summary the capture pipeline makes, the
 * model's view verdict (`view`), and the decision this agent's view gate would take on it (`gate`).
 */
export async function hintCommand(config: AgentConfig, file: string | undefined, io: Io): Promise<number> {
  if (!file) {
    io.stderr.write('usage: cti-agent hint <image.png|jpg|bmp>\n');
    return 2;
  }
  const [{ decodeGray, ImageDecodeError }, { loadHint }, { inferenceSummary }] = await Promise.all([
    import('@cti/imaging'),
    import('../capture/hint.ts'),
    import('../capture/meta-builder.ts'),
  ]);
  // Warnings on stderr: stdout is the JSON result.
  const log = createLogger({ name: 'cti-agent', level: 'warn', destination: process.stderr });
  const hint = await loadHint({ log, modelPath: config.hint.modelPath });
  if (!hint) {
    io.stderr.write('hint model unavailable (see the warning above); install the @cti/models model files\n');
    return 2;
  }
  try {
    let gray: Awaited<ReturnType<typeof decodeGray>>;
    try {
      gray = await decodeGray(file);
    } catch (err) {
      // A directory, an empty or truncated file, a non-image, an image over the pixel limit.
      if (!(err instanceof ImageDecodeError)) throw err;
      io.stderr.write(`cti-agent hint: ${err.message}\n`);
      return 2;
    }
    const out = await hint.run(gray);
    const summary = inferenceSummary({ ...out, sha256: hint.sha256 });
    const gate = captureViewGate(config, out.view);
    io.stdout.write(
      `${JSON.stringify({ image: file, width: gray.width, height: gray.height, ...out, gate, inference_summary: summary }, null, 2)}\n`,
    );
    return 0;
  } finally {
    await hint.close?.();
  }
}

/**
 * `cti-agent outbox downgrade`: the outbox converted back to schema v1 for a rollback to an older
 * agent (outbox-downgrade.ts), under the owner lock — refused while the service (a `run`) owns the
 * data directory, which would write beside the rebuild and upgrade the file again at its start.
 */
async function downgradeCommand(config: AgentConfig, argv: string[], io: Io): Promise<number> {
  if (argv.length > 0) {
    io.stderr.write(`outbox downgrade takes no arguments: unexpected ${JSON.stringify(argv[0])}\n`);
    return 2;
  }
  const [{ acquireOwnerLock }, { downgradeOutbox }] = await Promise.all([
    import('../startup/owner-lock.ts'),
    import('../outbox/outbox-downgrade.ts'),
  ]);
  const dbPath = config.paths.outboxDb;
  requireOutboxFile(dbPath, true); // before the lock file is made
  const lock = acquireOwnerLock(config.dataDir); // OwnerLockedError: the CLI prints it, exit 1
  try {
    const result = downgradeOutbox(dbPath);
    io.stdout.write(
      result.fromVersion === 1
        ? `outbox database ${dbPath} is already schema version 1: nothing to do\n`
        : `outbox database ${dbPath} converted to schema version 1: ${result.captures} captures kept, ` +
            `${result.requarantined} discarded captures quarantined again (their files untouched). Install the ` +
            'older cti-agent package before the service starts again: this agent would upgrade it back at its start\n',
    );
    return 0;
  } finally {
    lock.release();
  }
}

/**
 * `cti-agent outbox …` on the outbox database: opened read-only except for `retry` and `discard` (the
 * running service sees their changes at its next read: the LED within 2 s), and never created
 * (a missing file is an OutboxMissingError). After a `retry` the running service is told to retry
 * now (it would otherwise wait for its next poll, or for a store-wide pause of up to 5 minutes).
 */
export async function outboxCommand(config: AgentConfig, argv: string[], io: Io): Promise<number> {
  const usage = outboxUsage(argv, io);
  if (usage !== null) return usage;
  if (argv[0] === 'downgrade') return downgradeCommand(config, argv.slice(1), io);
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    owner: false,
    access: argv[0] === 'retry' || argv[0] === 'discard' ? 'existing' : 'readonly',
  });
  // On stderr: stdout may be JSON (--json) an operator pipes on.
  if (outbox.readOnlyNote) io.stderr.write(`cti-agent: ${outbox.readOnlyNote}\n`);
  let code: number;
  try {
    code = runOutboxCommand(argv, { outbox, stdout: io.stdout, stderr: io.stderr });
  } finally {
    outbox.close();
  }
  if (code === 0 && argv[0] === 'retry') {
    const woke = await callService(config, 'POST', '/uploads/retry', { timeoutMs: 3000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    io.stdout.write(
      woke
        ? 'the running service is retrying now\n'
        : 'the service is not running: uploads resume when it starts\n',
    );
  }
  return code;
}
