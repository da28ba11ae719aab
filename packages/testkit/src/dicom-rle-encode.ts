/**
 * One RLE Lossless frame (DICOM PS3.5 Annex G): the 64-byte header (segment count, then each segment's
 * offset), then each segment PackBits-encoded and padded to an even length. `segments` are byte planes
 * of rows × columns: one per 8-bit sample (R, G, B), two per 16-bit sample (high bytes, then low).
 *
 * @example const fragment = rleEncodeFrame([grayPixels]);
 */
export function rleEncodeFrame(segments: Uint8Array[]): Buffer {
  const encoded = segments.map((s) => {
    const packed = packBits(s);
    return packed.length % 2 === 0 ? packed : Buffer.concat([packed, Buffer.alloc(1)]);
  });
  const head = Buffer.alloc(64);
  head.writeUInt32LE(segments.length, 0);
  let offset = 64;
  encoded.forEach((e, i) => {
    head.writeUInt32LE(offset, 4 + 4 * i);
    offset += e.length;
  });
  return Buffer.concat([head, ...encoded]);
}

/** PackBits: runs of 2–128 equal bytes as (257 − n, byte), everything else as literals of up to 128. */
export function packBits(src: Uint8Array): Buffer {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 2) {
      out.push(257 - run, src[i]!);
      i += run;
      continue;
    }
    const start = i;
    do i++;
    while (i < src.length && i - start < 128 && src[i] !== src[i + 1]);
    out.push(i - start - 1, ...src.subarray(start, i));
  }
  return Buffer.from(out);
}
