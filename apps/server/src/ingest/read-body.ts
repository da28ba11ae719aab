import type { IncomingMessage } from 'node:http';
import { BodyIncompleteError, BodyTooLargeError, readLimitedBody } from '@cti/runtime';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { HttpError } from '../errors.ts';

export type BodyLimit = { limitBytes: number; onBytes: (n: number) => void };

/**
 * Read the body straight from Node's IncomingMessage when the app runs under @hono/node-server:
 * materialising a WHATWG Request + ReadableStream for every webhook costs measurable CPU. Same
 * limits and errors as `readBodyLimited`; over the limit the rest is drained up to DRAIN_FACTOR ×
 * the limit before the 413 (readLimitedBody in @cti/runtime, shared with the relay).
 */
export function readIncomingLimited(incoming: IncomingMessage, limit: BodyLimit): Promise<Uint8Array> {
  return readLimitedBody(incoming, limit).catch((err: unknown) => {
    if (err instanceof BodyTooLargeError) throw tooLarge(err.limitBytes, err.what);
    if (err instanceof BodyIncompleteError) throw incomplete(err);
    throw err;
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

/** The body of any route: from Node's IncomingMessage when served by @hono/node-server, else the Request. */
export function readRequestBody(c: Context, limit: BodyLimit): Promise<Uint8Array> {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  return incoming ? readIncomingLimited(incoming, limit) : readBodyLimited(c.req.raw, limit);
}
