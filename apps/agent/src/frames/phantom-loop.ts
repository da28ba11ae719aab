import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createPhantomStream, toGray } from '@cti/imaging';
import { createSyntheticFrames } from './synthetic-frames.ts';

/**
 * A real probe never sends the same bytes twice (thermal noise): ±2 gray levels per pixel keep a looped
 * clip from repeating bit-identical frames, which the quality gate would rightly call frozen. Returns
 * a new array (frames are kept in the capture ring).
 */
function withSensorNoise(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(src.length);
  let x = (n * 2654435761) >>> 0 || 1;
  for (let i = 0; i < src.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = Math.min(255, Math.max(0, src[i]! + ((x >>> 0) % 5) - 2));
  }
  return out;
}

export type PhantomLoopOptions = {
  width: number;
  height: number;
  seed?: number;
  frames?: number;
  fps?: number;
};

/**
 * B-mode phantom frames from @cti/imaging for the simulated probe. Rendering one frame takes 0.1-0.4 s
 * of synchronous work, far too slow to do per frame on the capture loop, so a short clip of `frames`
 * consecutive frames (probe sway, speckle decorrelation) is rendered once in the background, yielding
 * to the event loop between frames, then played in a loop with per-frame sensor noise. Forward only: a back-and-forth loop would
 * repeat bit-identical frames around its turning points, which the quality gate rightly calls frozen.
 * Until the clip is ready the cheap synthetic generator stands in.
 */
export function createPhantomLoop({ width, height, seed = 3, frames = 24, fps = 10 }: PhantomLoopOptions) {
  const fallback = createSyntheticFrames({ width, height, seed });
  const clip: Uint8Array[] = [];
  let failed: Error | null = null;
  const ready = (async () => {
    const stream = createPhantomStream({ seed, fps, width, height });
    for (let i = 0; i < frames; i++) {
      await yieldToLoop();
      clip.push(toGray(stream.next(i).image).data);
    }
  })().catch((err: Error) => {
    failed = err;
  });
  return {
    ready,
    error: () => failed,
    pixels(n: number): Uint8Array {
      if (clip.length < frames) return fallback(n);
      return withSensorNoise(clip[n % frames]!, n);
    },
  };
}
