import { readVerified, type TransferTarget } from './object-transfer.ts';

/**
 * Reusable read buffers for captures' small objects: at most `keep` of them (≤ 4 MiB each) are kept,
 * one per claimed capture, so V8 does not accumulate hundreds of MB of file garbage while a backlog
 * drains.
 */
export function createReadBuffers(keep: number) {
  const free: Buffer[] = [];
  return {
    take(size: number): Buffer | undefined {
      if (size === 0) return undefined;
      const index = free.findIndex((b) => b.length >= size);
      if (index >= 0) return free.splice(index, 1)[0];
      return Buffer.allocUnsafeSlow(Math.max(size, 512 * 1024));
    },
    give(buffer: Buffer | undefined): void {
      if (buffer && buffer.length <= 4 * 1024 * 1024 && free.length < keep) free.push(buffer);
    },
  };
}

/** Bytes `readAhead` needs for these objects (each gets one spare byte to notice a grown file). */
export const readAheadBytes = (targets: TransferTarget[]) => targets.reduce((n, t) => n + t.sizeBytes + 1, 0);

export interface CaptureReads {
  /** The object's verified bytes (rejects with the read or integrity error), if it was read ahead. */
  get(name: string): Promise<Buffer> | undefined;
  /** Resolves once no read is writing into the buffer any more (before the buffer is reused). */
  settled(): Promise<void>;
}

/**
 * Starts reading and verifying (size + sha256) the given spool files at once, each into its own
 * slice of `buffer`, so a capture's files are ready before its turn to send comes. Errors are kept
 * for the object's turn, so they are handled exactly as if the file had been read just then.
 */
export function readAhead(targets: TransferTarget[], buffer: Buffer | undefined): CaptureReads {
  const reads = new Map<string, Promise<Buffer>>();
  let offset = 0;
  for (const target of targets) {
    const end = offset + target.sizeBytes + 1;
    const read = readVerified(target, buffer?.subarray(offset, end));
    read.catch(() => {}); // handled when the object's turn comes (or not at all if the capture stops)
    reads.set(target.name, read);
    offset = end;
  }
  return {
    get: (name) => reads.get(name),
    settled: async () => {
      await Promise.allSettled(reads.values());
    },
  };
}
