import { MAX_IMAGE_PIXELS } from '../declared-image-size.ts';
import { isDicom } from '../raster-format.ts';
import { inflateRawReleased } from '../zlib-released.ts';
import {
  createReader,
  type DicomDataset,
  dicomError,
  readDataset,
  readElement,
  tag,
  text,
} from './dicom-dataset.ts';
import { type TransferSyntax, transferSyntax } from './transfer-syntax.ts';

export type DicomFile = { syntax: TransferSyntax; meta: DicomDataset; dataset: DicomDataset };

export type ParseDicomOptions = {
  /** What error messages call the input. */
  name?: string;
  /**
   * A deflated dataset that inflates past this many bytes is refused (default: the bound for an image of
   * MAX_IMAGE_PIXELS, inflateBoundFor — the one decodeDicom and dicomImageSize use by default).
   */
  maxInflatedBytes?: number;
};

const TRANSFER_SYNTAX_UID = tag(0x0002, 0x0010);

/**
 * What a deflated dataset may inflate to when its image may have `maxPixels`: 4 bytes a pixel (16-bit
 * gray with room, or 8-bit RGB) plus 16 MiB for everything else. decodeDicom and dicomImageSize share it,
 * so the size a file declares is read under the same bound its decode is.
 */
export const inflateBoundFor = (maxPixels: number) => 4 * maxPixels + (16 << 20);
const PREAMBLE = 132;

/**
 * A DICOM Part 10 file's meta group (explicit VR little endian; implicit tolerated) and its dataset, read in the transfer
 * syntax the meta group names (a deflated one inflated first, bounded by `maxInflatedBytes`). Every
 * length is checked against the bytes there are: a file cut short is ImageDecodeError('truncated'), a
 * malformed one 'not_image', a transfer syntax this package cannot decode 'unsupported_dicom' (named).
 *
 * @example const { syntax, dataset } = parseDicomFile(bytes, { name: 'IM0001' });
 */
export function parseDicomFile(
  bytes: Uint8Array,
  { name = 'image', maxInflatedBytes = inflateBoundFor(MAX_IMAGE_PIXELS) }: ParseDicomOptions = {},
): DicomFile {
  if (!isDicom(bytes)) {
    const code = bytes.length < PREAMBLE ? 'truncated' : 'not_image';
    throw dicomError(code, name, 'not a DICOM file (no "DICM" after the 128-byte preamble)');
  }
  const { meta, end: at } = readFileMeta(bytes, name);
  const uid = text(meta, TRANSFER_SYNTAX_UID);
  if (!uid)
    throw dicomError('not_image', name, 'DICOM file meta group names no Transfer Syntax UID (0002,0010)');
  const syntax = transferSyntax(uid, name);
  const body = syntax.deflated ? inflate(bytes.subarray(at), name, maxInflatedBytes) : bytes;
  const start = syntax.deflated ? 0 : at;
  const explicit = startsExplicit(body, start) ?? syntax.explicit;
  const { dataset } = readDataset(createReader(body, explicit, name), start, body.length);
  return { syntax, meta, dataset };
}

const capitals = (b: Uint8Array, at: number) =>
  at + 1 < b.length && [b[at]!, b[at + 1]!].every((c) => c >= 0x41 && c <= 0x5a);

/**
 * Whether the dataset's first element at `at` is written in explicit VR (its bytes 4–5 two capitals)
 * or implicit (they are the low half of a 4-byte length: two capitals would be over 16 kB, which a
 * dataset's first element never is); undefined when there is no element. Some consoles label an
 * implicit-VR dataset as Explicit VR Little Endian or the other way round; readers (dcmtk, pydicom)
 * go by the bytes, and so does this one.
 */
function startsExplicit(body: Uint8Array, at: number): boolean | undefined {
  return at + 8 <= body.length ? capitals(body, at + 4) : undefined;
}

/**
 * The file meta group: every group 0002 element after "DICM", up to the first of another group. Its
 * group length (0002,0000) is not relied on (some writers leave it out), and an element whose VR bytes
 * are not two capitals is read as implicit VR: some old writers put the meta group in implicit VR,
 * against PS3.10 7.1 (a 4-byte implicit length of a meta value never starts with two capitals: that
 * would be over 16 kB).
 */
function readFileMeta(bytes: Uint8Array, name: string): { meta: DicomDataset; end: number } {
  const explicit = createReader(bytes, true, name);
  const implicit = createReader(bytes, false, name);
  const meta: DicomDataset = new Map();
  let at = PREAMBLE;
  for (;;) {
    if (at + 2 > bytes.length)
      throw dicomError('truncated', name, `DICOM truncated in its file meta group, at byte ${at}`);
    if (explicit.view.getUint16(at, true) !== 0x0002) return { meta, end: at };
    const reader = capitals(bytes, at + 4) ? explicit : implicit;
    const { element, next } = readElement(reader, at, bytes.length, 0);
    meta.set(element.tag, element);
    at = next;
  }
}

function inflate(deflated: Uint8Array, name: string, maxOutputLength: number): Buffer {
  try {
    return inflateRawReleased(deflated, { maxOutputLength });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw dicomError('not_image', name, `DICOM deflated dataset inflates past ${maxOutputLength} bytes`);
    const truncated = code === 'Z_BUF_ERROR';
    throw dicomError(
      truncated ? 'truncated' : 'not_image',
      name,
      `DICOM deflated dataset ${truncated ? 'truncated' : 'corrupt'}: ${(err as Error).message}`,
    );
  }
}
