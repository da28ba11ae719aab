import type { Frame } from '../frames/frame-source.ts';

/**
 * The last `ringMs` of frames (by agent receive time), so a press can pick the best frame around the
 * moment it happened. Bounded by count too, so a misbehaving source cannot grow it without limit.
 *
 * A frame that leaves the ring is passed to `onRelease` (the agent returns its buffer to the frame
 * pool) unless someone still holds it: the capture pipeline holds the frame it is encoding and the
 * previous capture's frame (the frozen-feed check compares against it), and releases them later.
 */
export function createFrameRing({
  ringMs = 2000,
  maxFrames = 240,
  onRelease,
}: {
  ringMs?: number;
  maxFrames?: number;
  onRelease?: (frame: Frame) => void;
} = {}) {
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const holds = new Map<Frame, number>();
  const evicted = new WeakSet<Frame>();
  const evict = (frame: Frame) => {
    if (holds.has(frame)) evicted.add(frame);
    else onRelease?.(frame);
  };
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
      if (drop > 0) for (const old of frames.splice(0, drop)) evict(old);
      for (const wake of waiters) wake();
    },
    /** Frames received in [from, to], oldest first. */
    between(from: number, to: number): Frame[] {
      return frames.filter((f) => f.receivedAt >= from && f.receivedAt <= to);
    },
    latest: (): Frame | null => frames.at(-1) ?? null,
    size: () => frames.length,
    /** Keep `frame`'s pixels valid after it leaves the ring, until the matching `release`. */
    hold(frame: Frame): void {
      holds.set(frame, (holds.get(frame) ?? 0) + 1);
    },
    release(frame: Frame): void {
      const n = (holds.get(frame) ?? 0) - 1;
      if (n > 0) return void holds.set(frame, n);
      holds.delete(frame);
      if (evicted.has(frame)) {
        evicted.delete(frame);
        onRelease?.(frame);
      }
    },
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
