import type { RasterImage } from '../gray-image.ts';
import { createRng, deriveSeed } from '../prng.ts';
import { generatePhantom, renderPhantom } from './generate-phantom.ts';
import type { PhantomLabels, PhantomParams } from './phantom-types.ts';
import type { PhantomOverrides } from './sample-params.ts';

export type PhantomStreamOptions = PhantomOverrides & {
  seed: number;
  fps?: number;
  /** Typical lateral probe sway (mm, standard deviation of the slow random walk). */
  motionMm?: number;
  /** Speckle correlation between frames (1 = frozen pattern, 0 = fully new each frame). */
  speckleCorrelation?: number;
};

export type PhantomFrame = { index: number; timestampMs: number; image: RasterImage; labels: PhantomLabels };

export type PhantomStream = {
  fps: number;
  frameIntervalMs: number;
  /** The animal: parameters of frame 0 before any motion. */
  params: PhantomParams;
  /** Frame `index` (default: the one after the last returned); a pure function of (options, index). */
  next(index?: number): PhantomFrame;
  /** Frames paced at `fps` until the signal aborts. */
  frames(options?: { signal?: AbortSignal }): AsyncGenerator<PhantomFrame>;
};

/**
 * A live B-mode stream of one animal for the agent's simulated probe: the same anatomy every frame,
 * a slow lateral sway and pressure change of the probe (tissue textures, bones and labels move together) and
 * partial speckle decorrelation between frames. Rendering 640×480 takes ~0.1–0.2 s on this machine;
 * pass a smaller width/height for higher rates.
 *
 * @example
 * const stream = createPhantomStream({ seed: 3, fps: 10, width: 640, height: 480 });
 * const { image, labels } = stream.next();
 */
export function createPhantomStream(options: PhantomStreamOptions): PhantomStream {
  const { seed, fps = 10, motionMm = 2, speckleCorrelation = 0.6, ...overrides } = options;
  if (!(fps > 0 && fps <= 120)) throw new RangeError(`fps must be in (0, 120], got ${fps}`);
  if (!(speckleCorrelation >= 0 && speckleCorrelation <= 1)) {
    throw new RangeError(`speckleCorrelation must be in [0, 1], got ${speckleCorrelation}`);
  }
  const params = generatePhantom({ seed, ...overrides }).labels.params;
  const frameIntervalMs = 1000 / fps;
  let cursor = 0;
  const frameAt = (index: number): PhantomFrame => {
    const moved = moveProbe(params, seed, index, motionMm);
    const rng = createRng(deriveSeed(seed, 'stream-anatomy'));
    const refresh = { rng: createRng(deriveSeed(seed, `frame-${index}`)), rho: speckleCorrelation };
    const { image, labels } = renderPhantom(moved, rng, refresh);
    return { index, timestampMs: index * frameIntervalMs, image, labels };
  };
  return {
    fps,
    frameIntervalMs,
    params,
    next(index?: number) {
      const i = index ?? cursor;
      cursor = i + 1;
      return frameAt(i);
    },
    async *frames({ signal } = {}) {
      const start = performance.now();
      for (let i = 0; !signal?.aborted; i++) {
        const wait = start + i * frameIntervalMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (signal?.aborted) return;
        yield frameAt(i);
      }
    },
  };
}

/** Smooth sway: a sum of slow sinusoids with seeded phases (deterministic for any frame index). */
function moveProbe(p: PhantomParams, seed: number, index: number, motionMm: number): PhantomParams {
  const rng = createRng(deriveSeed(seed, 'sway'));
  const t = index / 10;
  let dx = 0;
  let dz = 0;
  for (let k = 0; k < 3; k++) {
    dx += Math.sin(t * rng.range(0.2, 1.2) + rng.range(0, 6.3)) * motionMm * 0.6;
    dz += Math.sin(t * rng.range(0.3, 1.5) + rng.range(0, 6.3)) * 0.25;
  }
  return {
    ...p,
    skinApexXMm: p.skinApexXMm + dx,
    // Fascicles, septa, fat streaks and wobbles move with the tissue, not with the probe.
    tissueShiftMm: (p.tissueShiftMm ?? 0) + dx,
    ribeyeCenterXMm: p.ribeyeCenterXMm + dx,
    standoffMm: Math.max(0, p.standoffMm + dz),
    bones: p.bones.map((b) => ({ ...b, xMm: b.xMm + dx, zMm: b.zMm + dz })),
  };
}
