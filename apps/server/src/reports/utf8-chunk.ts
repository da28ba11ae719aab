/**
 * A reusable UTF-8 buffer that text is written straight into; `take()` hands out what was written as a
 * chunk of its own and starts again.
 *
 * A streamed export writes each row's line here as soon as the row is parsed, so neither the rows of a
 * batch nor a batch-long string are ever alive at once: holding them made V8 grow its young generation
 * to its maximum and promote most of each scavenge — the first 100,000-row export of a fresh server
 * grew its resident memory by ~190 MB (apps/server/README.md, "Exports"). The buffer itself lives as
 * long as the export and is reused, while each chunk handed out lives only until the socket took it:
 * a fresh chunk per batch, filled while the next rows were parsed and waiting for the client, lived long
 * enough to be promoted to the old generation with its bytes, and the bytes piled up (~65 MB of a
 * GeoJSON file) until the next full collection.
 *
 * @example const text = utf8Chunk(64 * 1024); text.write('a,b\r\n'); controller.enqueue(text.take());
 */
export function utf8Chunk(initialBytes: number) {
  let buf = Buffer.allocUnsafeSlow(Math.max(1024, Math.trunc(initialBytes)));
  let used = 0;
  return {
    write(text: string): void {
      // A UTF-16 code unit never takes more than 3 bytes in UTF-8 (a surrogate pair takes 4 for 2).
      const most = text.length * 3;
      if (used + most > buf.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, used + most));
        buf.copy(grown, 0, 0, used);
        buf = grown;
      }
      used += buf.write(text, used);
    },
    /** A copy of the bytes written since the last `take`, which the buffer then forgets. */
    take(): Uint8Array {
      const chunk = new Uint8Array(used);
      chunk.set(buf.subarray(0, used));
      used = 0;
      return chunk;
    },
    get length(): number {
      return used;
    },
  };
}
