/**
 * The raster formats handed to sharp, by their first bytes: PNG, JPEG, GIF, WebP, TIFF (BigTIFF too),
 * HEIF/AVIF. sharp would load more — an SVG above all: librsvg renders a few hundred bytes at whatever
 * size they declare, and a 6000×6600 one with a wide blur held a grading worker over 2 minutes and
 * 1.2 GB, and merely reading a 56 MB one's size took 1.8 GB. Anything that is not a raster image is
 * refused before sharp sees it (decodeRaster), and declares no size (declaredImageSize).
 *
 * @example if (!isRasterFormat(bytes)) refuse();
 */
export function isRasterFormat(b: Uint8Array): boolean {
  const ascii = (at: number, text: string) => [...text].every((c, i) => b[at + i] === c.charCodeAt(0));
  return (
    (b[0] === 0x89 && ascii(1, 'PNG')) ||
    (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) ||
    ascii(0, 'GIF8') ||
    (ascii(0, 'RIFF') && ascii(8, 'WEBP')) ||
    ['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].some((magic) => ascii(0, magic)) ||
    ascii(4, 'ftyp')
  );
}

/** Text (SVG, XML, JSON…) rather than binary: what the refusal names. */
export function looksLikeText(b: Uint8Array): boolean {
  const head = Buffer.from(b.subarray(0, 256))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return /^[<{[]/.test(head);
}

/**
 * A DICOM Part 10 file: a 128-byte preamble, then "DICM" (what every console's export starts with,
 * whatever its name: `.dcm`, or no extension at all).
 *
 * @example if (isDicom(bytes)) return decodeDicom(bytes);
 */
export function isDicom(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}
