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
  /** A deflated dataset that inflates past this many bytes is refused (default 256 MiB). */
  maxInflatedBytes?: number;
};

const TRANSFER_SYNTAX_UID = tag(0x0002, 0x0010);
const PREAMBLE = 132;

/**
 * A DICOM Part 10 file's meta group (explicit VR little endian) and its dataset, read in the transfer
 * syntax the meta group names (a deflated one inflated first, bounded by `maxInflatedBytes`). Every
 * length is checked against the bytes there are: a file cut short is ImageDecodeError('truncated'), a
 * malformed one 'not_image', a transfer syntax this package cannot decode 'unsupported_dicom' (named).
 *
 * @example const { syntax, dataset } = parseDicomFile(bytes, { name: 'IM0001' });
 */
export function parseDicomFile(
  bytes: Uint8Array,
  { name = 'image', maxInflatedBytes = 256 * 1024 * 1024 }: ParseDicomOptions = {},
): DicomFile {
  if (!isDicom(bytes)) {
    const code = bytes.length < PREAMBLE ? 'truncated' : 'not_image';
    throw dicomError(code, name, 'not a DICOM file (no "DICM" after the 128-byte preamble)');
  }
  const metaReader = createReader(bytes, true, name);
  const meta: DicomDataset = new Map();
  let at = PREAMBLE;
  for (;;) {
    if (at + 2 > bytes.length)
      throw dicomError('truncated', name, `DICOM truncated in its file meta group, at byte ${at}`);
    if (metaReader.view.getUint16(at, true) !== 0x0002) break;
    const { element, next } = readElement(metaReader, at, bytes.length, 0);
    meta.set(element.tag, element);
    at = next;
  }
  const uid = text(meta, TRANSFER_SYNTAX_UID);
  if (!uid)
    throw dicomError('not_image', name, 'DICOM file meta group names no Transfer Syntax UID (0002,0010)');
  const syntax = transferSyntax(uid, name);
  const body = syntax.deflated ? inflate(bytes.subarray(at), name, maxInflatedBytes) : bytes;
  const start = syntax.deflated ? 0 : at;
  const { dataset } = readDataset(createReader(body, syntax.explicit, name), start, body.length);
  return { syntax, meta, dataset };
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
