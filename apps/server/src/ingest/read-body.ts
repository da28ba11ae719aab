import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.ts';

export type BodyLimit = { limitBytes: number; onBytes: (n: number) => void };

/**
 * How much of an oversized body is read and thrown away before the 413 is sent. Many clients
 * (Python's urllib, most HTTP libraries) write the whole body before they read a response: closing
 * while they still send gives them a broken pipe instead of the 413. Up to this many times the limit
 * is drained so they see the answer; beyond it the connection is cut (bounded work per request).
 */
export const DRAIN_FACTOR = 8;

/**
 * Read the body straight from Node's IncomingMessage when the app runs under @hono/node-server:
 * materialising a WHATWG Request + ReadableStream for every webhook costs measurable CPU. Same
 * limits and errors as `readBodyLimited`. Over the limit, the rest is read and discarded up to
 * DRAIN_FACTOR × the limit, then 413 (the answer closes the connection).
 */
export function readIncomingLimited(
  incoming: IncomingMessage,
  { limitBytes, onBytes }: BodyLimit,
): Promise<Uint8Array> {
  const drainBytes = limitBytes * DRAIN_FACTOR;
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && Number(declared) > drainBytes) {
    onBytes(Number(declared));
    return Promise.reject(tooLarge(limitBytes, `Content-Length ${declared}`));
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
      if (total > drainBytes) done(() => reject(tooLarge(limitBytes, what())));
    };
    const onEnd = () =>
      done(() =>
        total > limitBytes
          ? reject(tooLarge(limitBytes, what()))
          : resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)),
      );
    const onClose = () => done(() => reject(incomplete()));
    incoming.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
  });
}

/**
 * Read a request body into memory, refusing more than `limitBytes` (413) without buffering the rest:
 * a declared Content-Length over the limit is refused before reading, a chunked or lying body as soon
 * as it crosses the limit. `onBytes` reports what was read so far, for ingestion_log.bytes_in.
 */
export async function readBodyLimited(
  request: Request,
  { limitBytes, onBytes }: BodyLimit,
): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limitBytes) {
    onBytes(Number(declared));
    throw tooLarge(limitBytes, `Content-Length ${declared}`);
  }
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await readChunk(reader);
    if (done) break;
    total += value.byteLength;
    onBytes(total);
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limitBytes, `more than ${limitBytes} bytes`);
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

/** A client that disconnects mid-body made a bad request, not the server an error. */
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>) {
  try {
    return await reader.read();
  } catch (err) {
    throw new HttpError(400, 'body_incomplete', 'the request body ended before it was complete', {
      cause: err,
    });
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(limitBytes: number, what: string): HttpError {
  return new HttpError(413, 'body_too_large', `request body is ${what}; the limit is ${limitBytes} bytes`, {
    headers: { Connection: 'close' },
  });
}

function incomplete(cause?: unknown): HttpError {
  return new HttpError(400, 'body_incomplete', 'the request body ended before it was complete', { cause });
}
