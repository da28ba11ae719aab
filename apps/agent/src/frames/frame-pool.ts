/**
 * Recycled pixel buffers for frame sources. A 640×480 frame is 300 KB of off-heap memory; a source
 * allocating a fresh one per frame at 15 fps leaves V8 with megabytes of dead buffers it frees only
 * when a GC happens to run (the JS heap barely grows, so that can take seconds), which shows up as tens
 * of MB of RSS. With a pool, the capture ring hands a frame's buffer back once nobody can use it
 * (see frame-ring.ts holds) and the source fills it again.
 */
export type FramePool = {
  /** A buffer of exactly `bytes` bytes: a released one when available, else a new one. */
  acquire(bytes: number): Uint8Array;
  /** Give a buffer back. Buffers this pool did not hand out, or already free, are ignored. */
  release(buffer: Uint8Array): void;
  stats(): { allocated: number; reused: number; free: number };
};

export function createFramePool({ maxFree = 8 }: { maxFree?: number } = {}): FramePool {
  const freeBySize = new Map<number, Uint8Array[]>();
  const ours = new WeakSet<Uint8Array>();
  const isFree = new WeakSet<Uint8Array>();
  let allocated = 0;
  let reused = 0;
  let free = 0;
  return {
    acquire(bytes) {
      const recycled = freeBySize.get(bytes)?.pop();
      if (recycled) {
        isFree.delete(recycled);
        free -= 1;
        reused += 1;
        return recycled;
      }
      const buffer = new Uint8Array(bytes);
      ours.add(buffer);
      allocated += 1;
      return buffer;
    },
    release(buffer) {
      // A double release would hand one buffer to two frames: refuse it.
      if (!ours.has(buffer) || isFree.has(buffer)) return;
      const list = freeBySize.get(buffer.length) ?? [];
      if (list.length >= maxFree) return; // a burst is over: let the GC have the surplus
      list.push(buffer);
      freeBySize.set(buffer.length, list);
      isFree.add(buffer);
      free += 1;
    },
    stats: () => ({ allocated, reused, free }),
  };
}
