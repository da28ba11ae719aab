import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureIdGenerator } from '../capture/capture-id.ts';
import { createCapturePipeline } from '../capture/capture-pipeline.ts';
import { createFrameRing } from '../capture/frame-ring.ts';
import type { Hint } from '../capture/hint.ts';
import { resolveConfig } from '../config/agent-config.ts';
import type { EarTagSource } from '../eid/ear-tag-holder.ts';
import type { Frame } from '../frames/frame-source.ts';
import { createSyntheticFrames } from '../frames/synthetic-frames.ts';
import { createOutbox } from '../outbox/index.ts';

export const W = 256;
export const H = 192;
export const synthetic = createSyntheticFrames({ width: W, height: H, seed: 11 });

/** A capture pipeline over a real outbox in a temp dir, with a manual monotonic clock. */
export function createCaptureRig({
  hint = null,
  gate = {},
  format = 'png',
  earTags = null,
  probe = null,
}: {
  hint?: Hint | null;
  gate?: Record<string, unknown>;
  format?: 'png' | 'jpeg';
  /** Ear tags for the presses (src/eid); its clock should be the rig's `now`. */
  earTags?: EarTagSource | null;
  /** The config's `probe` block (e.g. with pixel_spacing_mm). */
  probe?: Record<string, unknown> | null;
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cti-capture-'));
  const config = resolveConfig({
    device_code: 'dev-0001',
    operator_id: 'tech-abc',
    farm_id: '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd',
    data_dir: dir,
    source: { kind: 'simulated' },
    upload: { bucket: 'cti-test' },
    capture: { quality_gate: gate, format },
    probe,
  });
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes: 0,
  });
  const ring = createFrameRing({ ringMs: 2000 });
  let mono = 10_000;
  const pipeline = createCapturePipeline({
    config,
    ring,
    sink: outbox,
    sourceKind: 'simulated',
    hint,
    attribution: () => ({ operatorId: config.operatorId, farmId: config.farmId }),
    probeIdentity: () => ({ model: 'EMU-Convex-3.5', frequencyMhz: 3.5 }),
    gps: () => ({ lat: 43.6532, lon: -79.3832 }),
    earTags,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'Debian GNU/Linux 12 (bookworm)', app_version: '0.1.0' },
    newCaptureId: createCaptureIdGenerator(),
    now: () => mono,
    wallClock: () => new Date(Date.UTC(2025, 8, 9, 14, 18, 32) + mono),
  });
  let seq = 0;
  const push = (pixels: Uint8Array, at = mono, acquisition: Partial<Frame['acquisition']> = {}): Frame => {
    const frame: Frame = {
      seq: seq++,
      receivedAt: at,
      width: W,
      height: H,
      gray: pixels,
      origin: 'simulated',
      acquisition: {
        probeModel: 'EMU-Convex-3.5',
        frequencyMhz: 3.5,
        depthCm: 18,
        gainDb: 42,
        ...acquisition,
      },
    };
    ring.push(frame);
    return frame;
  };
  return {
    dir,
    config,
    outbox,
    pipeline,
    push,
    /** Hands a source's own frame (a folder source's) to the pipeline as the frame seen now. */
    pushFrame: (frame: Frame) => ring.push({ ...frame, receivedAt: mono }),
    advance: (ms: number) => {
      mono += ms;
    },
    now: () => mono,
    close: () => {
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
