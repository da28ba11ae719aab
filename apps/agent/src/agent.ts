import { performance } from 'node:perf_hooks';
import { type Logger, silentLogger } from '@cti/runtime';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createCaptureIdGenerator } from './capture/capture-id.ts';
import {
  type Attribution,
  type CapturePipeline,
  type CaptureResult,
  createCapturePipeline,
} from './capture/capture-pipeline.ts';
import { createFrameRing } from './capture/frame-ring.ts';
import type { Hint } from './capture/hint.ts';
import { InvalidMetaError } from './capture/meta-builder.ts';
import type { AgentConfig } from './config/agent-config.ts';
import type { ClockStatus } from './device/clock-sync.ts';
import type { Firmware } from './device/firmware.ts';
import type { EarTagReader } from './eid/eid-reader.ts';
import type { FramePool } from './frames/frame-pool.ts';
import type { FrameSource } from './frames/frame-source.ts';
import type { GpsSource } from './gps/gps-source.ts';
import type { Outbox } from './outbox/index.ts';
import { inodesShort, type VolumeSpace, volumeSpace } from './outbox/volume-space.ts';
import type { StatusSignals } from './signals/status-signals.ts';
import type { Button } from './trigger/button.ts';
import type { CaptureButtonState } from './trigger/retrying-button.ts';

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Process memory in MiB for `status`: RSS is what the Pi's RAM budget sees; the rest says where it went. */
function memoryFigures() {
  const m = process.memoryUsage();
  return {
    rss_mib: mib(m.rss),
    heap_used_mib: mib(m.heapUsed),
    heap_total_mib: mib(m.heapTotal),
    external_mib: mib(m.external),
    array_buffers_mib: mib(m.arrayBuffers),
  };
}

/** `status`'s disk: free bytes and inodes (each null when unknown: statfs failed, or no inode count). */
function diskFigures(space: VolumeSpace | null, floorBytes: number) {
  return {
    free_bytes: space?.freeBytes ?? null,
    free_inodes: space?.freeInodes ?? null,
    floor_bytes: floorBytes,
  };
}

export type CaptureVia = 'button' | 'http' | 'bench';

export type AgentDeps = {
  config: AgentConfig;
  source: FrameSource;
  /** The pool the source takes frame buffers from; frames the ring lets go are returned to it. */
  framePool?: FramePool | null;
  outbox: Outbox;
  /** Optional: the uploader (absent when upload.enabled is false or in tests). */
  uploader?: {
    start(): void;
    stop(opts?: { abandonAfterMs?: number }): Promise<void>;
    wakeNow(): void;
  } | null;
  /**
   * The capture button; `state` (the retrying GPIO button of `run`) says whether it is open: down, it
   * makes health not ok (LED error pattern, heartbeat) while everything else runs on.
   */
  button?:
    | (Pick<Button, 'onPress' | 'onLongPress' | 'isPressed' | 'stats' | 'stop'> & {
        state?: () => CaptureButtonState;
      })
    | null;
  signals?: StatusSignals | null;
  hint?: Hint | null;
  gps?: GpsSource | null;
  /** The ear-tag reader at the chute; absent → captures carry no `animal`. */
  earTags?: Pick<EarTagReader, 'start' | 'stop' | 'forPress' | 'consume' | 'status'> | null;
  clockStatus: () => ClockStatus;
  firmware: Firmware;
  metrics?: Registry;
  log?: Logger;
  now?: () => number;
};

/** A press refused because capture.max_pending captures are already waiting or running. */
export class CaptureBusyError extends Error {
  readonly retryAfterS = 1;
  readonly limit: number;
  constructor(limit: number) {
    super(
      `capture queue full: ${limit} captures are already waiting or running (capture.max_pending = ${limit}); nothing was captured, press again in a moment`,
    );
    this.name = 'CaptureBusyError';
    this.limit = limit;
  }
}

/**
 * The capture agent, assembled from injected parts (frame source, button, outbox, uploader, hint,
 * LED): frames flow into the ring, presses become captures, one at a time, each ending in a durable
 * outbox commit or a clear refusal. `health()` drives the systemd watchdog.
 */
export function createAgent(deps: AgentDeps) {
  const { config, source, outbox, uploader, button, signals, hint, gps, earTags } = deps;
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? (() => performance.now());
  const pool = deps.framePool;
  const ring = createFrameRing({
    ringMs: config.capture.ringMs,
    onRelease: pool ? (frame) => pool.release(frame.gray) : undefined,
  });
  let session: Attribution = { operatorId: config.operatorId, farmId: config.farmId };
  let chain: Promise<unknown> = Promise.resolve();
  let lastCapture: (CaptureResult & { at: string; via: CaptureVia }) | null = null;
  let fatal: string | null = null;
  /** The latest capture failure (a bug, an I/O error), for status and the heartbeat. */
  let lastFailure: { at: string; message: string } | null = null;
  let baseTimer: NodeJS.Timeout | null = null;
  const counts = { captured: 0, refused: 0, failed: 0, busy: 0 };
  /** Presses waiting for their turn or running (bounded by capture.max_pending). */
  let pending = 0;
  const histogram = (name: string, help: string, buckets: number[]) =>
    deps.metrics ? new Histogram({ name, help, buckets, registers: [deps.metrics] }) : null;
  const latency = histogram(
    'cti_agent_capture_latency_seconds',
    'Press to durable outbox commit',
    [0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2],
  );
  // Where the view verdicts of captures fall (refused or not): the data for tuning min_ribeye_view.
  const views = histogram(
    'cti_agent_ribeye_view',
    'View verdict (ribeye_view, 0-1) of each capture attempt that got one',
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  );
  const results = deps.metrics
    ? new Counter({
        name: 'cti_agent_captures_total',
        help: 'Captures by result',
        labelNames: ['result'],
        registers: [deps.metrics],
      })
    : null;
  /** Attempts by result, as cti_agent_captures_total counts them (captured, each refusal reason, error, busy). */
  const byResult: Record<string, number> = {};
  const countResult = (result: string) => {
    byResult[result] = (byResult[result] ?? 0) + 1;
    results?.inc({ result });
  };

  const pipeline: CapturePipeline = createCapturePipeline({
    config,
    ring,
    sink: outbox,
    sourceKind: config.source.kind,
    sourceConnected: () => source.status().connected,
    hint,
    attribution: () => session,
    probeIdentity: () => source.identity(),
    gps: () => gps?.current() ?? null,
    earTags,
    clockStatus: deps.clockStatus,
    firmware: deps.firmware,
    newCaptureId: createCaptureIdGenerator(),
    now,
    log: log.child({ mod: 'capture' }),
  });

  const runCapture = async (pressAt: number, via: CaptureVia): Promise<CaptureResult> => {
    signals?.show('capturing');
    try {
      const result = await pipeline.capture(pressAt);
      lastCapture = { ...result, at: new Date().toISOString(), via };
      counts[result.status] += 1;
      countResult(result.status === 'captured' ? 'captured' : result.reason);
      if (result.ribeyeView !== undefined) views?.observe(result.ribeyeView);
      if (result.status === 'captured') {
        latency?.observe(result.latencyMs / 1000);
        signals?.show('captured');
        log.info({ captureId: result.captureId, latencyMs: Math.round(result.latencyMs), via }, 'captured');
      } else {
        signals?.show('refused');
        log.warn({ reason: result.reason, via, ribeyeView: result.ribeyeView }, result.message);
      }
      return result;
    } catch (err) {
      counts.failed += 1;
      countResult('error');
      // An invalid meta.json is a bug: stay up (the button must keep answering) but show error loudly.
      if (err instanceof InvalidMetaError) fatal = err.message;
      lastFailure = { at: new Date().toISOString(), message: (err as Error).message };
      log.error({ err }, 'capture failed');
      signals?.setBase('error');
      signals?.show('refused');
      throw err;
    }
  };

  /**
   * Captures run one at a time; a press during a capture waits its turn (timed from its own press).
   * At most capture.max_pending wait or run: a press past that (a wedged commit and a script that keeps
   * POSTing) is refused at once with CaptureBusyError instead of queueing without limit.
   */
  const capture = (pressAt: number = now(), via: CaptureVia = 'http'): Promise<CaptureResult> => {
    const limit = config.capture.maxPending;
    if (pending >= limit) {
      counts.busy += 1;
      countResult('busy');
      signals?.show('refused');
      log.warn({ via, pending, limit }, 'capture refused: queue full');
      return Promise.reject(new CaptureBusyError(limit));
    }
    pending += 1;
    const run = chain
      .then(() => runCapture(pressAt, via))
      .finally(() => {
        pending -= 1;
      });
    chain = run.catch(() => {});
    return run;
  };

  const frameGapMs = () => {
    const last = source.status().lastFrameAt;
    return last === null ? null : now() - last;
  };

  /** Bytes and inodes left on the spool volume; null when statfs fails (the volume went away). */
  const diskSpace = (): VolumeSpace | null => {
    try {
      return volumeSpace(config.paths.spoolDir);
    } catch {
      return null;
    }
  };

  let startedAt = now();
  /**
   * `ok` drives status, /healthz and the LED. `restartable` says whether a service restart could fix
   * it: a bug or a link that is open but silent (wedged driver, stuck event loop) — yes; an unplugged
   * probe — no, the reconnect loop is already doing the right thing. The watchdog stops pinging only
   * for restartable problems, so a Pi without its probe does not restart every 30 s.
   */
  const health = (): { ok: boolean; reason: string | null; restartable: boolean } => {
    if (fatal) return { ok: false, reason: fatal, restartable: true };
    const space = diskSpace();
    const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
    if (space && space.freeBytes < config.outbox.minFreeBytes) {
      return {
        ok: false,
        reason: `disk below the floor (${mb(space.freeBytes)} free < ${mb(config.outbox.minFreeBytes)}): captures are refused`,
        restartable: false,
      };
    }
    // Bytes free but no inodes (review r20 F7): the outbox refuses every capture all the same.
    if (space && inodesShort(space)) {
      return {
        ok: false,
        reason: `disk out of inodes (${space.freeInodes} left, ${mb(space.freeBytes)} free): captures are refused`,
        restartable: false,
      };
    }
    const s = source.status();
    if (!s.connected) return { ok: false, reason: `${s.kind} source not connected`, restartable: false };
    if (s.kind !== 'folder') {
      const gap = frameGapMs() ?? now() - startedAt;
      if (gap > config.watchdog.maxFrameGapMs) {
        return {
          ok: false,
          reason: `source connected but no frames for ${Math.round(gap)} ms`,
          restartable: true,
        };
      }
    }
    // Last: a restart cannot open it sooner than the button's own retries, and the faults above that
    // a restart does fix must still reach the watchdog.
    // Why, and the fix, are in status/heartbeat `capture_button.error`: the reason stays short.
    if (button?.state && !button.state().up) {
      return {
        ok: false,
        reason: 'capture button down: retrying (cti-agent capture still captures)',
        restartable: false,
      };
    }
    return { ok: true, reason: null, restartable: false };
  };

  const updateBase = () => {
    if (!signals) return;
    const summary = outbox.summary();
    const backlog = summary.pendingCaptures > 0 && (summary.oldestPendingAgeMs ?? 0) > 60_000;
    signals.setBase(
      !health().ok ? 'error' : backlog || summary.quarantined > 0 ? 'offline_backlog' : 'ready',
    );
  };

  return {
    ring,
    capture,
    health,
    async start() {
      source.onFrame((frame) => {
        ring.push(frame);
        setImmediate(() => pipeline.prepare(frame));
      });
      button?.onPress((pressAt) => void capture(pressAt, 'button').catch(() => {}));
      button?.onLongPress(() => {
        log.info('long press: retrying uploads now');
        uploader?.wakeNow();
      });
      startedAt = now();
      await source.start();
      await gps?.start();
      await earTags?.start();
      uploader?.start();
      signals?.start();
      baseTimer = setInterval(updateBase, 2000);
      baseTimer.unref();
    },
    async stop() {
      if (baseTimer) clearInterval(baseTimer);
      button?.stop();
      await chain;
      await source.stop();
      await gps?.stop();
      await earTags?.stop();
      await uploader?.stop({ abandonAfterMs: 5000 });
      signals?.stop();
      await hint?.close?.();
    },
    retryUploads: () => uploader?.wakeNow(),
    setSession(next: Partial<Attribution>) {
      session = { ...session, ...next };
      return session;
    },
    status() {
      return {
        device_code: config.deviceCode,
        session,
        health: health(),
        source: { ...source.status(), identity: source.identity() ?? config.probe },
        trigger: button
          ? { kind: 'gpio', pressed: button.isPressed(), ...button.stats() }
          : { kind: config.trigger.kind },
        clock: deps.clockStatus(),
        disk: diskFigures(diskSpace(), config.outbox.minFreeBytes),
        outbox: outbox.summary(),
        hint: hint ? 'loaded' : 'absent',
        gps: gps?.status() ?? null,
        ear_tag_reader: earTags?.status() ?? null,
        capture_button: button?.state?.() ?? null,
        // The LED and buzzer lines: down (failed or never opened) they are retried; health stays as it is.
        status_signals: signals?.outputs() ?? null,
        captures: { ...counts, pending, by_result: { ...byResult } },
        last_error: lastFailure,
        last_capture: lastCapture && { ...lastCapture, meta: undefined },
        signal: signals?.current() ?? null,
        memory: memoryFigures(),
        frame_pool: pool?.stats() ?? null,
      };
    },
  };
}

export type Agent = ReturnType<typeof createAgent>;
