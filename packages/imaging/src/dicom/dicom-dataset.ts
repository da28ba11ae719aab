import { ImageDecodeError, type ImageDecodeErrorCode } from '../image-decode-error.ts';

/** One data element: its raw value bytes, or the items of a sequence, or encapsulated pixel fragments. */
export type DicomElement = {
  tag: number;
  /** The element's VR in explicit-VR data; '' in implicit-VR data (the reader knows what it asks for). */
  vr: string;
  value: Uint8Array;
  items?: DicomDataset[];
  /** Encapsulated Pixel Data: the Basic Offset Table item first, then every fragment, in file order. */
  fragments?: Fragments;
};

/**
 * Encapsulated pixel data items as positions in `source`, not as one view each: a crafted file of a
 * million empty items (8 MB) would otherwise cost ~200 MB of views.
 */
export type Fragments = { source: Uint8Array; starts: number[]; lengths: number[] };

/** Item `index` of `fragments` (0 is the Basic Offset Table). */
export const fragmentAt = (f: Fragments, index: number): Uint8Array =>
  f.source.subarray(f.starts[index]!, f.starts[index]! + f.lengths[index]!);

/** Elements by tag (group << 16 | element). */
export type DicomDataset = Map<number, DicomElement>;

export const tag = (group: number, element: number) => ((group << 16) | element) >>> 0;
export const PIXEL_DATA = tag(0x7fe0, 0x0010);
const ITEM = tag(0xfffe, 0xe000);
const ITEM_END = tag(0xfffe, 0xe00d);
const SEQUENCE_END = tag(0xfffe, 0xe0dd);
const UNDEFINED = 0xffffffff;
/** VRs with a 4-byte length (after 2 reserved bytes) in explicit-VR data. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/**
 * Sequences whose items are kept: the ones calibration needs. Any other of defined length keeps its
 * bytes unread (a vendor's private sequence that is malformed, or encoded in the other VR mode, must not
 * cost the image); one of undefined length is read to find where it ends, its items let go as read
 * (a million of them would otherwise hold gigabytes).
 */
const READ_SEQUENCES = new Set([tag(0x0018, 0x6011)]);
/** Deeper nesting is refused: an image never needs it, and a crafted file could nest without end. */
export const MAX_SEQUENCE_DEPTH = 16;
/** A kept sequence with more items is refused: a console writes a handful of regions, never thousands. */
export const MAX_KEPT_ITEMS = 256;

/** The reading position over one buffer, in one VR mode; errors name `name`. */
type Reader = { bytes: Uint8Array; view: DataView; explicit: boolean; name: string };

const hex = (t: number) =>
  `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();

export function dicomError(code: ImageDecodeErrorCode, name: string, message: string): ImageDecodeError {
  return new ImageDecodeError(code, `${name}: ${message}`);
}

export function createReader(bytes: Uint8Array, explicit: boolean, name: string): Reader {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), explicit, name };
}

const readTag = (r: Reader, at: number) => tag(r.view.getUint16(at, true), r.view.getUint16(at + 2, true));

/** `count` bytes from `at` fit before `end`, else a 'truncated' error saying what was cut. */
function need(r: Reader, at: number, count: number, end: number, what: string): void {
  if (at + count > end) {
    const where = end === r.bytes.length ? 'the end of the file' : 'the end of its enclosing item';
    throw dicomError(
      'truncated',
      r.name,
      `DICOM truncated: ${what} at byte ${at} needs ${count} bytes, past ${where} (byte ${end})`,
    );
  }
}

/** One element at `at`, its value (or items, or fragments) read; `next` is where the one after starts. */
export function readElement(
  r: Reader,
  at: number,
  end: number,
  depth: number,
): { element: DicomElement; next: number } {
  need(r, at, 8, end, 'an element header');
  const t = readTag(r, at);
  if (t >>> 16 === 0xfffe)
    throw dicomError(
      'not_image',
      r.name,
      `DICOM item tag ${hex(t)} where an element was expected, at byte ${at}`,
    );
  let vr = '';
  let length: number;
  let start: number;
  if (r.explicit) {
    vr = String.fromCharCode(r.bytes[at + 4]!, r.bytes[at + 5]!);
    if (!/^[A-Z]{2}$/.test(vr))
      throw dicomError('not_image', r.name, `DICOM element ${hex(t)} at byte ${at} has no valid VR`);
    if (LONG_VRS.has(vr)) {
      need(r, at, 12, end, `element ${hex(t)}'s header`);
      length = r.view.getUint32(at + 8, true);
      start = at + 12;
    } else {
      length = r.view.getUint16(at + 6, true);
      start = at + 8;
    }
  } else {
    length = r.view.getUint32(at + 4, true);
    start = at + 8;
  }
  const empty = r.bytes.subarray(start, start);
  if (length === UNDEFINED) {
    if (t === PIXEL_DATA) {
      const { fragments, next } = readFragments(r, start, end);
      return { element: { tag: t, vr, value: empty, fragments }, next };
    }
    const { items, next } = readItems(sequenceReader(r, vr), t, start, undefined, end, depth + 1);
    return { element: { tag: t, vr, value: empty, items }, next };
  }
  need(r, start, length, end, `element ${hex(t)}'s value of ${length} bytes`);
  const next = start + length;
  if (READ_SEQUENCES.has(t)) {
    const { items } = readItems(sequenceReader(r, vr), t, start, next, next, depth + 1);
    return { element: { tag: t, vr, value: empty, items }, next };
  }
  return { element: { tag: t, vr, value: r.bytes.subarray(start, next) }, next };
}

/**
 * How a sequence's items are read: a sequence written as UN (by a converter that did not know the tag)
 * holds implicit VR little endian whatever the file's syntax (PS3.5 6.2.2), defined length or not.
 */
const sequenceReader = (r: Reader, vr: string): Reader => (vr === 'UN' ? { ...r, explicit: false } : r);

/** Elements from `at` to `end`, or (`itemEnd`) to an item delimiter, which is consumed. */
export function readDataset(
  r: Reader,
  at: number,
  end: number,
  depth = 0,
  itemEnd = false,
): { dataset: DicomDataset; next: number } {
  const dataset: DicomDataset = new Map();
  while (at < end) {
    if (itemEnd || at + 8 === end) {
      need(r, at, 8, end, 'an element header');
      // An item delimiter closes an item of undefined length; some writers also end an item of
      // defined length with one, counted in that length.
      if (readTag(r, at) === ITEM_END) return { dataset, next: at + 8 };
    }
    const { element, next } = readElement(r, at, end, depth);
    dataset.set(element.tag, element);
    at = next;
  }
  if (itemEnd) need(r, at, 8, end, 'an item delimiter');
  return { dataset, next: at };
}

/**
 * Sequence `t`'s items: up to `end` when its length is defined, else up to its delimiter (within
 * `limit`); kept only for READ_SEQUENCES (at most MAX_KEPT_ITEMS), others only read past.
 */
function readItems(
  r: Reader,
  t: number,
  at: number,
  end: number | undefined,
  limit: number,
  depth: number,
): { items: DicomDataset[]; next: number } {
  if (depth > MAX_SEQUENCE_DEPTH)
    throw dicomError(
      'not_image',
      r.name,
      `DICOM sequences nested deeper than ${MAX_SEQUENCE_DEPTH} levels, at byte ${at}`,
    );
  const items: DicomDataset[] = [];
  const keep = READ_SEQUENCES.has(t);
  const stop = end ?? limit;
  while (end === undefined || at < end) {
    need(r, at, 8, stop, 'a sequence item');
    const itemTag = readTag(r, at);
    const length = r.view.getUint32(at + 4, true);
    // A sequence delimiter closes a sequence of undefined length; some writers also end one of defined
    // length with it, counted in that length.
    if (itemTag === SEQUENCE_END && (end === undefined || at + 8 === end)) return { items, next: at + 8 };
    if (itemTag !== ITEM)
      throw dicomError(
        'not_image',
        r.name,
        `DICOM sequence ${hex(t)} holds ${hex(itemTag)} where an item was expected, at byte ${at}`,
      );
    if (keep && items.length === MAX_KEPT_ITEMS)
      throw dicomError(
        'not_image',
        r.name,
        `DICOM sequence ${hex(t)} holds more than ${MAX_KEPT_ITEMS} items, at byte ${at}`,
      );
    let item: DicomDataset;
    if (length === UNDEFINED) {
      const read = readDataset(r, at + 8, stop, depth, true);
      [item, at] = [read.dataset, read.next];
    } else {
      need(r, at + 8, length, stop, `an item of ${length} bytes`);
      item = readDataset(r, at + 8, at + 8 + length, depth).dataset;
      at += 8 + length;
    }
    if (keep) items.push(item);
  }
  return { items, next: at };
}

/** Encapsulated pixel data: the offset table and fragments, up to the sequence delimiter. */
function readFragments(r: Reader, at: number, end: number): { fragments: Fragments; next: number } {
  const fragments: Fragments = { source: r.bytes, starts: [], lengths: [] };
  for (;;) {
    need(r, at, 8, end, 'a pixel data fragment');
    const t = readTag(r, at);
    const length = r.view.getUint32(at + 4, true);
    if (t === SEQUENCE_END) return { fragments, next: at + 8 };
    if (t !== ITEM || length === UNDEFINED)
      throw dicomError(
        'not_image',
        r.name,
        `DICOM encapsulated pixel data holds ${hex(t)} at byte ${at}, not a fragment`,
      );
    need(r, at + 8, length, end, `a pixel data fragment of ${length} bytes`);
    fragments.starts.push(at + 8);
    fragments.lengths.push(length);
    at += 8 + length;
  }
}

// Values, as the reader asks for them (little endian: big endian is refused before a value is read).

const viewOf = (v: Uint8Array) => new DataView(v.buffer, v.byteOffset, v.byteLength);

/** Unsigned 16-bit (US) value `index`, if present. */
export function uint16(ds: DicomDataset, t: number, index = 0): number | undefined {
  const v = ds.get(t)?.value;
  return v && v.length >= 2 * (index + 1) ? viewOf(v).getUint16(2 * index, true) : undefined;
}

/** Unsigned 32-bit (UL) value, if present. */
export function uint32(ds: DicomDataset, t: number): number | undefined {
  const v = ds.get(t)?.value;
  return v && v.length >= 4 ? viewOf(v).getUint32(0, true) : undefined;
}

/** Signed 32-bit (SL) value, if present. */
export function int32(ds: DicomDataset, t: number): number | undefined {
  const v = ds.get(t)?.value;
  return v && v.length >= 4 ? viewOf(v).getInt32(0, true) : undefined;
}

/** 64-bit float (FD) value, if present. */
export function float64(ds: DicomDataset, t: number): number | undefined {
  const v = ds.get(t)?.value;
  return v && v.length >= 8 ? viewOf(v).getFloat64(0, true) : undefined;
}

/** A text value (CS, LO, UI, DS, IS…), its values split at '\', padding trimmed; [] when absent. */
export function texts(ds: DicomDataset, t: number): string[] {
  const v = ds.get(t)?.value;
  if (!v || v.length === 0) return [];
  return Buffer.from(v)
    .toString('latin1')
    .split('\\')
    .map((s) => s.replace(/[\0 ]+$/, '').trim());
}

/** The first text value, or undefined when absent or empty. */
export const text = (ds: DicomDataset, t: number): string | undefined => texts(ds, t)[0] || undefined;

/** Decimal or integer strings (DS, IS) as numbers; values that are not finite numbers are left out. */
export const decimals = (ds: DicomDataset, t: number): number[] =>
  texts(ds, t)
    .filter((s) => s !== '')
    .map(Number)
    .filter(Number.isFinite);
