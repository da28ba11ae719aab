import { ImageDecodeError } from '../image-decode-error.ts';

/** How a transfer syntax lays out the dataset and its pixels. */
export type TransferSyntax = {
  uid: string;
  name: string;
  /** Explicit VR (each element names its type) rather than implicit (types from the dictionary). */
  explicit: boolean;
  /** The dataset after the file meta group is raw deflate (RFC 1951). */
  deflated: boolean;
  /** Pixel data stored as is ('native'), as JPEG fragments, or as RLE Lossless segments. */
  pixels: 'native' | 'jpeg' | 'rle';
};

const syntax = (uid: string, name: string, rest: Omit<TransferSyntax, 'uid' | 'name'>): TransferSyntax => ({
  uid,
  name,
  ...rest,
});

/** The transfer syntaxes decodeDicom reads (all little endian). */
export const SUPPORTED_TRANSFER_SYNTAXES: readonly TransferSyntax[] = [
  syntax('1.2.840.10008.1.2', 'Implicit VR Little Endian', {
    explicit: false,
    deflated: false,
    pixels: 'native',
  }),
  syntax('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', {
    explicit: true,
    deflated: false,
    pixels: 'native',
  }),
  syntax('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', {
    explicit: true,
    deflated: true,
    pixels: 'native',
  }),
  syntax('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', {
    explicit: true,
    deflated: false,
    pixels: 'jpeg',
  }),
  syntax('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', {
    explicit: true,
    deflated: false,
    pixels: 'jpeg',
  }),
  syntax('1.2.840.10008.1.2.5', 'RLE Lossless', { explicit: true, deflated: false, pixels: 'rle' }),
];

/** Transfer syntaxes a console may use that are refused, by name (the error names them). */
const REFUSED: Record<string, string> = {
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian (retired)',
  '1.2.840.10008.1.2.1.98': 'Encapsulated Uncompressed Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Lossy (Near-Lossless)',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000 Image Compression',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component (Lossless Only)',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component',
  '1.2.840.10008.1.2.4.100': 'MPEG2 Main Profile / Main Level',
  '1.2.840.10008.1.2.4.101': 'MPEG2 Main Profile / High Level',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264 High Profile / Level 4.1',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 Main Profile / Level 5.1',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 Main 10 Profile / Level 5.1',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
};

/**
 * The transfer syntax `uid` names, or an ImageDecodeError('unsupported_dicom') naming the UID and what
 * it is (JPEG 2000, JPEG-LS, big endian, video…): those need decoders this package does not have.
 *
 * @example transferSyntax('1.2.840.10008.1.2.5').pixels // 'rle'
 */
export function transferSyntax(uid: string, name = 'image'): TransferSyntax {
  const known = SUPPORTED_TRANSFER_SYNTAXES.find((s) => s.uid === uid);
  if (known) return known;
  const what = REFUSED[uid] ?? 'an unknown transfer syntax';
  const supported = SUPPORTED_TRANSFER_SYNTAXES.map((s) => s.name).join(', ');
  throw new ImageDecodeError(
    'unsupported_dicom',
    `${name}: DICOM transfer syntax ${JSON.stringify(uid)} (${what}) is not supported; re-export as one of: ${supported}`,
  );
}
