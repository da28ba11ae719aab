import type { IncomingMessage } from 'node:http';

/**
 * How much of an oversized body is read and thrown away before a 413 is sent. Many clients
 * (Python's urllib, most HTTP libraries) write the whole body before they read a response: closing
 * while they still send gives them a broken pipe instead of the 413. Up to this many times the limit
 * is drained so they see the answer; beyond it the connection is cut (bounded work per request).
 */
export const DRAIN_FACTOR = 8;

/** The body is over the limit; `what` says how it was found ("Content-Length 5000000", "more than N bytes"). */
export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  readonly what: string;
  constructor(limitBytes: number, what: string) {
    super(`request body is ${what}; the limit is ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
    this.what = what;
  }
}

/** The client went away before its body was complete. */
export class BodyIncompleteError extends Error {
  constructor() {
    super('the request body ended before it was complete');
    this.name = 'BodyIncompleteError';
  }
}

export type ReadBodyOptions = {
  limitBytes: number;
  /** Bytes read so far (or declared, when refused on Content-Length alone), e.g. for a request log. */
  onBytes?: (n: number) => void;
};

/**
 * Reads a Node request body into memory, refusing more than `limitBytes` without buffering the rest:
 * over the limit it keeps reading and discarding up to DRAIN_FACTOR × the limit, so that a client that
 * sends everything before reading still gets the answer, then rejects with BodyTooLargeError (answer
 * 413 and close the connection). A declared Content-Length beyond the drain bound is refused at once.
 *
 * @example
 * const body = await readLimitedBody(req, { limitBytes: 1 << 20 }); // throws BodyTooLargeError → 413
 */
export function readLimitedBody(
  incoming: IncomingMessage,
  { limitBytes, onBytes = () => {} }: ReadBodyOptions,
): Promise<Buffer> {
  const drainBytes = limitBytes * DRAIN_FACTOR;
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && Number(declared) > drainBytes) {
    onBytes(Number(declared));
    return Promise.reject(new BodyTooLargeError(limitBytes, `Content-Length ${declared}`));
  }
  const what = () =>
    declared !== undefined && Number(declared) > limitBytes
      ? `Content-Length ${declared}`
      : `more than ${limitBytes} bytes`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (settle: () => void) => {
      incoming.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      settle();
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      onBytes(total);
      if (total <= limitBytes) return void chunks.push(chunk);
      chunks.length = 0; // over the limit: keep reading (to let the client finish sending), keep nothing
      if (total > drainBytes) done(() => reject(new BodyTooLargeError(limitBytes, what())));
    };
    const onEnd = () =>
      done(() =>
        total > limitBytes
          ? reject(new BodyTooLargeError(limitBytes, what()))
          : resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)),
      );
    const onClose = () => done(() => reject(new BodyIncompleteError()));
    incoming.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
  });
}
