/**
 * Text written straight into one growing UTF-8 buffer, handed out as a single chunk.
 *
 * A streamed export writes each row's line here as soon as the row is parsed, so neither the rows of a
 * batch nor a batch-long string are ever alive at once. Keeping a batch of rows (or a long `+=` string)
 * alive while the next rows are parsed made V8 grow its young generation to its maximum (64 MB
 * semi-spaces on 64-bit) and promote most of each scavenge to the old generation: the first 100,000-row
 * export of a fresh server grew its resident memory by ~190 MB (apps/server/README.md, "Exports").
 *
 * @example const chunk = utf8Chunk(64 * 1024); chunk.write('a,b\r\n'); controller.enqueue(chunk.bytes());
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
    /** The bytes written so far (a view, not a copy: write nothing after handing it out). */
    bytes(): Uint8Array {
      return buf.subarray(0, used);
    },
    get length(): number {
      return used;
    },
  };
}
