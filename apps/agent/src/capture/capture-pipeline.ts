import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MetaJson } from '@cti/contracts';
import { type FrameQuality, frameDifference, frameQuality } from '@cti/imaging';
import { type Logger, silentLogger } from '@cti/runtime';
import sharp from 'sharp';
import type { AgentConfig } from '../config/agent-config.ts';
import type { ClockStatus } from '../device/clock-sync.ts';
import type { Firmware } from '../device/firmware.ts';
import type { EarTagSource } from '../eid/ear-tag-holder.ts';
import type { Frame, ProbeIdentity } from '../frames/frame-source.ts';
import type { GpsFix } from '../gps/nmea.ts';
import { DiskFloorError } from '../outbox/index.ts';
import type { FrameRing } from './frame-ring.ts';
import type { Hint, HintOutput } from './hint.ts';
import { buildMeta } from './meta-builder.ts';
import { checkQuality, checkView, type RefusalReason } from './quality-gate.ts';

export type CaptureFile = { name: string; data: Buffer };
/** The slice of the outbox the pipeline needs (see src/outbox). */
export type CaptureSink = {
  commitCapture(input: {
    captureId: string;
    deviceCode: string;
    capturedAt: Date;
    files: CaptureFile[];
  }): Promise<unknown>;
};

export type CaptureResult =
  | {
      status: 'captured';
      captureId: string;
      capturedAt: string;
      latencyMs: number;
      /** Where the latency went: window + best frame + gate, encode (+ hint), meta.json, outbox commit. */
      stagesMs: { select: number; encode: number; meta: number; commit: number };
      meta: MetaJson;
      frameSeq: number;
      /** The view verdict's ribeye_view, when the hint gave one. */
      ribeyeView?: number;
    }
  | { status: 'refused'; reason: RefusalReason; message: string; latencyMs: number; ribeyeView?: number };

/** Who the capture belongs to: from the config, overridable by the current session. */
export type Attribution = { operatorId: string | null; farmId: string | null };

export type CapturePipelineOptions = {
  config: Pick<AgentConfig, 'deviceCode' | 'capture' | 'probe'>;
  ring: FrameRing;
  sink: CaptureSink;
  sourceKind: string;
  /** Whether the frame source says its link is up (serial: the port is open); default always. */
  sourceConnected?: () => boolean;
  hint?: Hint | null;
  attribution: () => Attribution;
  probeIdentity: () => ProbeIdentity | null;
  gps: () => GpsFix | null;
  /** The ear-tag reader: the tag for a press, consumed once the capture is committed. */
  earTags?: EarTagSource | null;
  clockStatus: () => ClockStatus;
  firmware: Firmware;
  newCaptureId: (capturedAt: Date) => string;
  /** Monotonic ms (press times use this clock). */
  now?: () => number;
  /** Wall clock. */
  wallClock?: () => Date;
  log?: Logger;
};

type Candidate = { frame: Frame; quality: FrameQuality };

const pixelsOf = (frame: Frame) => ({ data: frame.gray, width: frame.width, height: frame.height });

/** Ranking for "best frame in the window": crisp (Laplacian variance) and contrasty wins. */
const frameScore = (q: FrameQuality) => q.sharpness * Math.sqrt(q.contrast);

/** Mean absolute difference to the previous capture; null when there is none or the size changed. */
const differenceTo = (frame: Frame, previous: Frame | null) =>
  previous && previous.width === frame.width && previous.height === frame.height
    ? frameDifference(pixelsOf(frame), pixelsOf(previous))
    : null;

/**
 * Press → best frame → quality gate → PNG/JPEG + sha256 → hint (+ view gate) → meta.json (validated)
 * → one outbox commit. Latency is measured from the press to the return of the durable commit.
 */
export function createCapturePipeline(options: CapturePipelineOptions) {
  const { config, ring, sink, hint, log = silentLogger() } = options;
  const now = options.now ?? (() => performance.now());
  const wallClock = options.wallClock ?? (() => new Date());
  const { windowBeforeMs, windowAfterMs, qualityGate, format, jpegQuality } = config.capture;
  let lastCaptured: Frame | null = null;
  const qualities = new WeakMap<Frame, FrameQuality>();
  const qualityOf = (frame: Frame): FrameQuality => {
    let q = qualities.get(frame);
    if (!q) {
      q = frameQuality(pixelsOf(frame));
      qualities.set(frame, q);
    }
    return q;
  };
  // libvips' operation cache only helps repeated identical pipelines; here it just holds memory.
  // One libvips worker: a single 640×480 encode gains nothing from more, and each thread holds a
  // malloc arena (tens of MB of RSS on a Pi).
  sharp.cache(false);
  sharp.concurrency(1);

  const pickBest = (pressAt: number): Candidate | null => {
    // Never reuse the frame the previous capture took (two quick presses share a window).
    const after = lastCaptured?.receivedAt ?? Number.NEGATIVE_INFINITY;
    let frames = ring
      .between(pressAt - windowBeforeMs, pressAt + windowAfterMs)
      .filter((f) => f.receivedAt > after);
    // A slow source (folder drop, 1-2 fps probe) may have nothing in the window: take the latest
    // frame if it is still fresh enough to be "what was on screen". Never one from after the window:
    // a press served late (queued behind a slow commit) would get what the probe saw seconds later.
    if (frames.length === 0) {
      const latest = ring.between(pressAt - Math.max(windowBeforeMs, 1000), pressAt + windowAfterMs).at(-1);
      frames = latest && latest.receivedAt > after ? [latest] : [];
    }
    let best: Candidate | null = null;
    for (const frame of frames) {
      const quality = qualityOf(frame);
      if (!best || frameScore(quality) > frameScore(best.quality)) best = { frame, quality };
    }
    return best;
  };

  // zlib level 3: within ~1 % of level 6's size on B-mode speckle (it barely compresses) for ~40 %
  // less CPU, which is latency on a busy Pi. Lossless either way.
  const encode = async (frame: Frame): Promise<CaptureFile> => {
    const image = sharp(frame.gray, {
      raw: { width: frame.width, height: frame.height, channels: 1 },
    }).toColourspace('b-w');
    if (format === 'jpeg')
      return { name: 'image.jpg', data: await image.jpeg({ quality: jpegQuality }).toBuffer() };
    return { name: 'image.png', data: await image.png({ compressionLevel: 3 }).toBuffer() };
  };

  const runHint = async (frame: Frame): Promise<(HintOutput & { sha256?: string }) | null> => {
    if (!hint) return null;
    try {
      const out = await hint.run(pixelsOf(frame));
      return { ...out, sha256: hint.sha256 };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'hint failed; capture continues without inference_summary');
      return null;
    }
  };

  const refused = (
    reason: RefusalReason,
    message: string,
    pressAt: number,
    ribeyeView?: number,
  ): CaptureResult => ({
    status: 'refused',
    reason,
    message,
    latencyMs: now() - pressAt,
    ...(ribeyeView !== undefined ? { ribeyeView } : {}),
  });

  async function capture(pressAt: number = now()): Promise<CaptureResult> {
    if (windowAfterMs > 0) {
      while (now() < pressAt + windowAfterMs) await ring.nextFrame(pressAt + windowAfterMs - now());
    }
    const best = pickBest(pressAt);
    if (!best) {
      // No frame because the source knows it lost the probe (unplugged, reconnecting): say that,
      // not "feed stalled" or "no frames", so the technician goes to the cable.
      if (options.sourceConnected?.() === false)
        return refused(
          'probe_disconnected',
          'the probe is disconnected (the agent keeps trying to reconnect): check the probe cable and its connection to the Pi, then press again',
          pressAt,
        );
      const latest = ring.latest();
      if (lastCaptured !== null && latest === lastCaptured)
        return refused(
          'frozen',
          'no new frame since the previous capture: is the probe feed stalled?',
          pressAt,
        );
      if (latest && latest.receivedAt > pressAt + windowAfterMs) {
        const s = ((now() - pressAt) / 1000).toFixed(1);
        return refused(
          'no_frames',
          `the frames of this press (${s} s ago, served late behind slower captures) are gone; only frames from after the press are left: press again`,
          pressAt,
        );
      }
      return refused('no_frames', 'no frames from the probe in the last seconds: is it connected?', pressAt);
    }
    // Held while it is encoded, and afterwards as the previous capture: its pixels must not be recycled.
    const { frame } = best;
    ring.hold(frame);
    let result: CaptureResult;
    try {
      result = await take(best, pressAt);
    } catch (err) {
      ring.release(frame);
      throw err;
    }
    if (result.status !== 'captured') {
      ring.release(frame);
      return result;
    }
    if (lastCaptured) ring.release(lastCaptured);
    lastCaptured = frame;
    return result;
  }

  /** Quality gate → encode (+ hint) → meta.json → durable commit of the chosen frame. */
  async function take({ frame, quality }: Candidate, pressAt: number): Promise<CaptureResult> {
    const diff = differenceTo(frame, lastCaptured);
    const verdict = checkQuality(quality, qualityGate, diff);
    if (!verdict.ok) return refused(verdict.reason, verdict.message, pressAt);

    const tSelected = now();
    const capturedAt = new Date(wallClock().getTime() - (tSelected - pressAt));
    const captureId = options.newCaptureId(capturedAt);
    const [image, hintOut] = await Promise.all([encode(frame), runHint(frame)]);
    const ribeyeView = hintOut?.view?.ribeyeView;
    const viewVerdict = checkView(hintOut?.view, qualityGate);
    if (!viewVerdict.ok) return refused(viewVerdict.reason, viewVerdict.message, pressAt, ribeyeView);
    const tEncoded = now();
    const { operatorId, farmId } = options.attribution();
    const tag = options.earTags?.forPress(pressAt) ?? null;
    const meta = buildMeta({
      deviceCode: config.deviceCode,
      captureId,
      capturedAt,
      operatorId,
      farmId,
      gps: options.gps(),
      probe: options.probeIdentity() ?? config.probe,
      firmware: options.firmware,
      imageName: image.name,
      imageSha256: createHash('sha256').update(image.data).digest('hex'),
      clock: options.clockStatus(),
      frame,
      sourceKind: options.sourceKind,
      quality,
      hint: hintOut,
      animal: tag,
      configuredPixelSpacingMm: config.probe?.pixelSpacingMm,
      configuredPixelAspect: config.probe?.pixelAspect,
    });
    const metaBytes = Buffer.from(`${JSON.stringify(meta, null, 2)}\n`);
    const tMeta = now();
    try {
      await sink.commitCapture({
        captureId,
        deviceCode: config.deviceCode,
        capturedAt,
        files: [image, { name: 'meta.json', data: metaBytes }],
      });
    } catch (err) {
      if (err instanceof DiskFloorError) return refused('disk_floor', err.message, pressAt);
      throw err;
    }
    const tCommitted = now();
    if (tag) options.earTags?.consume(tag); // committed: this animal's tag never goes into another capture
    return {
      status: 'captured',
      captureId,
      capturedAt: meta.captured_at,
      latencyMs: tCommitted - pressAt,
      stagesMs: {
        select: tSelected - pressAt,
        encode: tEncoded - tSelected,
        meta: tMeta - tEncoded,
        commit: tCommitted - tMeta,
      },
      meta,
      frameSeq: frame.seq,
      ...(ribeyeView !== undefined ? { ribeyeView } : {}),
    };
  }

  return {
    capture,
    /**
     * Score a frame ahead of any press (the agent calls this off the data path, in setImmediate), so
     * a press only compares cached figures instead of scoring the whole window on the latency path.
     */
    prepare(frame: Frame): void {
      qualityOf(frame);
    },
  };
}

export type CapturePipeline = ReturnType<typeof createCapturePipeline>;
