import type { Frame } from '../frames/frame-source.ts';

/**
 * The last `ringMs` of frames (by agent receive time), so a press can pick the best frame around the
 * moment it happened. Bounded by count too, so a misbehaving source cannot grow it without limit.
 */
export function createFrameRing({
  ringMs = 2000,
  maxFrames = 240,
}: {
  ringMs?: number;
  maxFrames?: number;
} = {}) {
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  return {
    push(frame: Frame): void {
      frames.push(frame);
      const horizon = frame.receivedAt - ringMs;
      let drop = 0;
      while (
        drop < frames.length - 1 &&
        (frames[drop]!.receivedAt < horizon || frames.length - drop > maxFrames)
      )
        drop++;
      if (drop > 0) frames.splice(0, drop);
      for (const wake of waiters) wake();
    },
    /** Frames received in [from, to], oldest first. */
    between(from: number, to: number): Frame[] {
      return frames.filter((f) => f.receivedAt >= from && f.receivedAt <= to);
    },
    latest: (): Frame | null => frames.at(-1) ?? null,
    size: () => frames.length,
    /** Resolves at the next push or after `ms`, whichever is first. */
    nextFrame(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiters.add(done);
      });
    },
  };
}

export type FrameRing = ReturnType<typeof createFrameRing>;
