import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createPhantomStream, toGray } from '@cti/imaging';
import { createSyntheticFrames } from './synthetic-frames.ts';

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
 * to the event loop between frames, then played in a loop. Forward only: a back-and-forth loop would
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
      return clip[n % frames]!;
    },
  };
}
