/**
 * A first-come-first-served gate of `size` slots. The uploader claims a few more captures than it
 * sends at once so their spool files are read and hashed while earlier captures are on the wire;
 * the gate keeps the number of captures sending at `size`, and FIFO keeps them oldest first.
 */
export function createSendSlots(size: number) {
  let free = size;
  const waiting: Array<(granted: boolean) => void> = [];
  return {
    /** Resolves true when a slot is this caller's, false when `cancelAll` ran first. */
    acquire(): Promise<boolean> {
      if (free > 0) {
        free--;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next(true);
      else free++;
    },
    /** Turns every waiter away (stop): they give up without having sent anything. */
    cancelAll(): void {
      for (const resolve of waiting.splice(0)) resolve(false);
    },
  };
}

export type SendSlots = ReturnType<typeof createSendSlots>;
