import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { decodeHeader, HEADER_BYTES, MAGIC, type Message, TRAILER_BYTES } from './probe-protocol.ts';

export type DecoderStats = {
  messages: number;
  /** Bytes thrown away while hunting for the next sync marker. */
  skippedBytes: number;
  /** Headers or trailers that failed their CRC or sanity checks. */
  corruptMessages: number;
  resyncs: number;
};

export type MessageDecoder = {
  /** Feed bytes as they arrive; complete, checked messages go to `onMessage`. */
  push(chunk: Buffer): void;
  /** Drop any partial message (after a reconnect the stream starts fresh). */
  reset(): void;
  stats(): DecoderStats;
};

/**
 * Streaming decoder with resynchronisation: it looks for MAGIC, checks the header CRC, waits for the
 * payload, checks the trailer CRC. On any failure it restarts the search one byte after the rejected
 * marker, so garbage or a truncated message costs that message only, never the stream.
 *
 * A message whose bytes stop for `staleAfterMs` is dropped when bytes come again: a sender never
 * pauses mid-message, so the silence means it stopped (a probe restarting behind a USB-serial bridge
 * that stays plugged in) and what follows is a new message. Waiting for the cut-off frame's length
 * held the next small message (the ack of a freeze) until that many more bytes came.
 */
export function createMessageDecoder(
  onMessage: (message: Message) => void,
  { now = () => performance.now(), staleAfterMs = 1000 }: { now?: () => number; staleAfterMs?: number } = {},
): MessageDecoder {
  let buf: Buffer = Buffer.alloc(0);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes the message at the head of `buf` needs in total; 0 when unknown. */
  let needed = 0;
  let inResync = false;
  let lastPushAt = Number.NEGATIVE_INFINITY;
  const stats: DecoderStats = { messages: 0, skippedBytes: 0, corruptMessages: 0, resyncs: 0 };

  const skip = (n: number) => {
    stats.skippedBytes += n;
    if (n > 0 && !inResync) {
      inResync = true;
      stats.resyncs += 1;
    }
    buf = buf.subarray(n);
  };

  // After a silence: what is held is a message begun and never finished (or a marker's first bytes).
  const dropHeld = () => {
    buf = Buffer.concat([buf, ...pending]);
    if (buf.indexOf(MAGIC) === 0) stats.corruptMessages += 1;
    skip(buf.length);
    pending = [];
    pendingBytes = 0;
    needed = 0;
  };

  // Returns false when more bytes are needed.
  const step = (): boolean => {
    const at = buf.indexOf(MAGIC);
    if (at < 0) {
      // Keep a tail that could be the start of a marker split across chunks.
      skip(Math.max(0, buf.length - (MAGIC.length - 1)));
      return false;
    }
    if (at > 0) skip(at);
    if (buf.length < HEADER_BYTES) return false;
    const check = decodeHeader(buf.subarray(0, HEADER_BYTES));
    if (!check.ok) {
      stats.corruptMessages += 1;
      skip(1);
      return true;
    }
    const total = HEADER_BYTES + check.header.payloadLength + TRAILER_BYTES;
    if (buf.length < total) {
      needed = total;
      return false;
    }
    const end = total - TRAILER_BYTES;
    if (buf.readUInt32LE(end) !== crc32(buf.subarray(0, end))) {
      stats.corruptMessages += 1;
      skip(1);
      return true;
    }
    // Copy the payload out so the (possibly large) receive buffer can be released.
    const payload = Buffer.from(buf.subarray(HEADER_BYTES, end));
    buf = buf.subarray(total);
    inResync = false;
    stats.messages += 1;
    onMessage({ header: check.header, payload });
    return true;
  };

  return {
    push(chunk) {
      const at = now();
      if (buf.length + pendingBytes > 0 && at - lastPushAt > staleAfterMs) dropHeld();
      lastPushAt = at;
      // Chunks of a large frame are collected and joined once the whole message is there: joining
      // on every 4 KiB read would copy a 300 KB frame ~75 times (and balloon RSS through GC churn).
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (buf.length + pendingBytes < needed) return;
      buf = Buffer.concat([buf, ...pending]);
      pending = [];
      pendingBytes = 0;
      needed = 0;
      while (buf.length > 0 && step()) {}
    },
    reset() {
      buf = Buffer.alloc(0);
      pending = [];
      pendingBytes = 0;
      needed = 0;
      inResync = false;
    },
    stats: () => ({ ...stats }),
  };
}
