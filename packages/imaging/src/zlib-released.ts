import { deflateSync, inflateRawSync, inflateSync, type ZlibOptions } from 'node:zlib';

/**
 * node's one-shot zlib calls keep their last output chunk on the engine they make (`_outBuffer`), and
 * that engine — its native handle held weakly, which a scavenge keeps — lives until the next full
 * collection: the output's memory with it, even when the caller dropped the output long before. A
 * worker inflating a 640×480 capture (one chunk: the whole image) and deflating two PNGs per scan piled
 * up ~0.5 MB of it a scan until V8 marked and compacted the heap for the external memory alone. With
 * `info: true` (documented: the engine is returned beside the output) the chunk is let go at once, so
 * the output dies young like any other buffer. Without that property (another node) nothing changes.
 */
function released(result: unknown): Buffer {
  const { buffer, engine } = result as { buffer: Buffer; engine: { _outBuffer?: unknown } };
  if ('_outBuffer' in engine) engine._outBuffer = null;
  return buffer;
}

/**
 * `zlib.inflateSync`, its output not held past its last use (see released above).
 *
 * @example const raw = inflateReleased(idat, { chunkSize: stride * height + 1 });
 */
export function inflateReleased(input: Uint8Array, options: ZlibOptions = {}): Buffer {
  return released(inflateSync(input, { ...options, info: true }));
}

/**
 * `zlib.inflateRawSync` (raw deflate, no zlib header: DICOM's deflated transfer syntax), its output
 * not held past its last use (see released above).
 *
 * @example const dataset = inflateRawReleased(rest, { maxOutputLength: 64 << 20 });
 */
export function inflateRawReleased(input: Uint8Array, options: ZlibOptions = {}): Buffer {
  return released(inflateRawSync(input, { ...options, info: true }));
}

/**
 * `zlib.deflateSync`, its output not held past its last use (see released above).
 *
 * @example const idat = deflateReleased(rows, { level: 1, strategy: constants.Z_RLE });
 */
export function deflateReleased(input: Uint8Array, options: ZlibOptions = {}): Buffer {
  return released(deflateSync(input, { ...options, info: true }));
}
