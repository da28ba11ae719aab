import { deflateRawSync } from 'node:zlib';

/** Transfer syntax UIDs the tests write. */
export const DICOM_SYNTAX = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  bigEndian: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  rle: '1.2.840.10008.1.2.5',
} as const;

/**
 * One element to write: `encode` gives its value bytes in the file's byte order; a sequence has `items`
 * instead, encapsulated pixel data `fragments` (offset table first). `undefinedLength` writes a
 * sequence (and each of its items) with delimiters instead of lengths; a sequence whose `vr` is 'UN'
 * has its items written in implicit VR, as a converter that did not know the tag writes them.
 */
export type DicomElementSpec = {
  tag: number;
  vr: string;
  encode?: (littleEndian: boolean) => Uint8Array;
  items?: DicomElementSpec[][];
  fragments?: Uint8Array[];
  undefinedLength?: boolean;
};

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

const numbers =
  (size: number, put: (view: DataView, at: number, v: number, le: boolean) => void, values: number[]) =>
  (le: boolean) => {
    const out = new Uint8Array(size * values.length);
    const view = new DataView(out.buffer);
    for (const [i, v] of values.entries()) put(view, i * size, v, le);
    return out;
  };
const textValue = (value: string, pad: string) => () =>
  Buffer.from(value.length % 2 === 0 ? value : value + pad, 'latin1');

/** Element builders: `dcm.us(tag(0x0028, 0x0010), 480)`. */
export const dcm = {
  us: (tag: number, ...v: number[]) => ({
    tag,
    vr: 'US',
    encode: numbers(2, (d, a, x, le) => d.setUint16(a, x, le), v),
  }),
  ul: (tag: number, ...v: number[]) => ({
    tag,
    vr: 'UL',
    encode: numbers(4, (d, a, x, le) => d.setUint32(a, x, le), v),
  }),
  sl: (tag: number, ...v: number[]) => ({
    tag,
    vr: 'SL',
    encode: numbers(4, (d, a, x, le) => d.setInt32(a, x, le), v),
  }),
  fd: (tag: number, ...v: number[]) => ({
    tag,
    vr: 'FD',
    encode: numbers(8, (d, a, x, le) => d.setFloat64(a, x, le), v),
  }),
  /** A text VR (CS, DS, IS, LO, SH…), padded with a space. */
  str: (tag: number, vr: string, value: string) => ({ tag, vr, encode: textValue(value, ' ') }),
  ui: (tag: number, value: string) => ({ tag, vr: 'UI', encode: textValue(value, '\0') }),
  /** Bytes as they are (OB; OW of 8-bit data): padded to even length with a zero. */
  bytes: (tag: number, vr: 'OB' | 'OW', value: Uint8Array) => ({
    tag,
    vr,
    encode: () => (value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.alloc(1)])),
  }),
  sq: (tag: number, items: DicomElementSpec[][], { undefinedLength = false } = {}): DicomElementSpec => ({
    tag,
    vr: 'SQ',
    items,
    undefinedLength,
  }),
};

export const dicomTag = (group: number, element: number) => ((group << 16) | element) >>> 0;

type Mode = { explicit: boolean; le: boolean };

function header(t: number, vr: string, length: number, { explicit, le }: Mode): Uint8Array {
  const long = !explicit || LONG_VRS.has(vr);
  const out = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
  const view = new DataView(out.buffer);
  view.setUint16(0, t >>> 16, le);
  view.setUint16(2, t & 0xffff, le);
  if (!explicit) view.setUint32(4, length, le);
  else {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) view.setUint32(8, length, le);
    else view.setUint16(6, length, le);
  }
  return out;
}

/** An item or delimiter tag: FFFE,xxxx and a 4-byte length, never a VR. */
function itemTag(element: number, length: number, le: boolean): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfffe, le);
  view.setUint16(2, element, le);
  view.setUint32(4, length, le);
  return out;
}

function encodeElement(e: DicomElementSpec, mode: Mode): Buffer {
  if (e.fragments) {
    const items = e.fragments.flatMap((f) => [itemTag(0xe000, f.length, mode.le), f]);
    return Buffer.concat([header(e.tag, e.vr, UNDEFINED, mode), ...items, itemTag(0xe0dd, 0, mode.le)]);
  }
  if (e.items) {
    // A sequence written as UN (a gateway that did not know the tag) holds implicit VR LE (PS3.5 6.2.2).
    const inner = e.vr === 'UN' ? { explicit: false, le: true } : mode;
    const items = e.items.map((item) => {
      const body = encodeElements(item, inner);
      return e.undefinedLength
        ? Buffer.concat([itemTag(0xe000, UNDEFINED, mode.le), body, itemTag(0xe00d, 0, mode.le)])
        : Buffer.concat([itemTag(0xe000, body.length, mode.le), body]);
    });
    const body = Buffer.concat(items);
    return e.undefinedLength
      ? Buffer.concat([header(e.tag, e.vr, UNDEFINED, mode), body, itemTag(0xe0dd, 0, mode.le)])
      : Buffer.concat([header(e.tag, e.vr, body.length, mode), body]);
  }
  const value = e.encode?.(mode.le) ?? new Uint8Array();
  return Buffer.concat([header(e.tag, e.vr, value.length, mode), value]);
}

const encodeElements = (elements: DicomElementSpec[], mode: Mode) =>
  Buffer.concat([...elements].sort((a, b) => a.tag - b.tag).map((e) => encodeElement(e, mode)));

export type DicomFileSpec = {
  /** Transfer syntax UID (DICOM_SYNTAX); the dataset is written in it (deflated, big endian, implicit…). */
  syntax: string;
  elements: DicomElementSpec[];
  /**
   * How the file meta group is written: explicit VR with its group length (0002,0000) by default, as
   * PS3.10 says; `implicitVr` and `groupLength: false` write what some old writers do instead.
   */
  meta?: { implicitVr?: boolean; groupLength?: boolean };
  /** false: no 128-byte preamble and no "DICM" (a raw dataset, as some old devices store it). */
  preamble?: boolean;
  /** Write the dataset in implicit or explicit VR whatever `syntax` says (a mislabelled file). */
  datasetExplicitVr?: boolean;
};

/**
 * A DICOM Part 10 file written byte by byte: 128-byte preamble, "DICM", the file meta group (explicit
 * VR little endian, with its group length, unless `meta` says otherwise), then `elements` sorted by tag in `syntax`'s encoding:
 * implicit or explicit VR, little or big endian, the whole dataset raw-deflated for the deflated syntax.
 * Pixel data and its compression are the caller's (rleEncodeFrame, a JPEG from sharp).
 *
 * @example const file = dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: [dcm.us(dicomTag(0x28, 0x10), 64), …] });
 */
export function dicomBytes({
  syntax,
  elements,
  meta: { implicitVr = false, groupLength = true } = {},
  preamble = true,
  datasetExplicitVr = syntax !== DICOM_SYNTAX.implicit,
}: DicomFileSpec): Buffer {
  const metaMode = { explicit: !implicitVr, le: true };
  const meta = encodeElements(
    [
      dcm.bytes(dicomTag(2, 1), 'OB', Uint8Array.of(0, 1)),
      dcm.ui(dicomTag(2, 2), '1.2.840.10008.5.1.4.1.1.6.1'),
      dcm.ui(dicomTag(2, 3), '1.2.826.0.1.3680043.8.498.1'),
      dcm.ui(dicomTag(2, 0x10), syntax),
      dcm.ui(dicomTag(2, 0x12), '1.2.826.0.1.3680043.8.498.2'),
    ],
    metaMode,
  );
  const metaLength = encodeElement(dcm.ul(dicomTag(2, 0), meta.length), metaMode);
  const mode = { explicit: datasetExplicitVr, le: syntax !== DICOM_SYNTAX.bigEndian };
  const dataset = encodeElements(elements, mode);
  return Buffer.concat([
    ...(preamble ? [Buffer.alloc(128), Buffer.from('DICM')] : []),
    ...(groupLength ? [metaLength] : []),
    meta,
    syntax === DICOM_SYNTAX.deflated ? deflateRawSync(dataset) : dataset,
  ]);
}
