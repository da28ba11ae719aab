import { fillHoles, largestComponent, type Mask } from '@cti/models';
import sharp from 'sharp';
import { CorrectionProblem } from './correction-problem.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A drawn ribeye smaller than this is refused: it cannot be the outline of a ribeye. */
export const MIN_RIBEYE_PX = 100;
/**
 * Regions besides the largest are brush slips and dropped when each is under this share of the
 * largest; a bigger second region makes the outline ambiguous and the correction is refused.
 */
export const MAX_STRAY_SHARE = 0.05;

const count = (m: Mask) => m.data.reduce((n, v) => n + v, 0);

/**
 * The `mask` part's size from its header: it must be a PNG (by its signature) whose header sharp can
 * read. Checked before anything is decoded, so a small file declaring a huge image costs nothing.
 * Throws CorrectionProblem('/mask').
 */
export async function maskPngSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  if (bytes.length < 8 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    throw new CorrectionProblem('/mask', 'is not a PNG file');
  }
  try {
    const { width, height } = await sharp(bytes).metadata();
    if (width && height) return { width, height };
  } catch {
    // reported below
  }
  throw new CorrectionProblem('/mask', 'is not a readable PNG file (its header is damaged)');
}

/**
 * Decodes the `mask` part (a PNG whose size was checked with maskPngSize). A pixel is ribeye when it
 * is light (mean of R, G, B ≥ 128) and opaque (alpha ≥ 128): the editor sends pure black and white,
 * other tools' anti-aliased edges are thresholded. Throws CorrectionProblem('/mask').
 */
export async function decodeMaskPng(bytes: Uint8Array): Promise<Mask> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(bytes, { failOn: 'error' })
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new CorrectionProblem('/mask', `could not be decoded as a PNG image (${reason})`);
  }
  const { width, height, channels } = raw.info;
  const data = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < data.length; i++, p += channels) {
    const light = raw.data[p]! + raw.data[p + 1]! + raw.data[p + 2]! >= 384;
    data[i] = light && raw.data[p + 3]! >= 128 ? 1 : 0;
  }
  return { data, width, height };
}

/** What cleaning a drawn mask did, recorded with the result. */
export type MaskCleanup = {
  /** Pixels of the stray regions dropped as brush slips. */
  dropped_px: number;
  /** Background pixels enclosed by the outline that became ribeye. */
  holes_filled_px: number;
};

/**
 * Checks a decoded mask against the image size and makes it one solid region, as the model's masks
 * are (largest 8-connected region, holes filled): a ribeye is one region and everything inside its
 * outline belongs to it. Refused (CorrectionProblem '/mask'): another size than the image, empty,
 * smaller than MIN_RIBEYE_PX, or a second region of at least MAX_STRAY_SHARE of the largest (the
 * person must say which one is the ribeye); smaller stray regions are dropped and counted.
 */
export function checkMaskSize(
  mask: { width: number; height: number },
  image: { width: number; height: number },
): void {
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new CorrectionProblem(
      '/mask',
      `is ${mask.width}×${mask.height} pixels but the image is ${image.width}×${image.height}: send the mask at the image's size`,
    );
  }
}

export function cleanMask(
  mask: Mask,
  image: { width: number; height: number },
): { mask: Mask; cleanup: MaskCleanup } {
  checkMaskSize(mask, image);
  const total = count(mask);
  if (total === 0) throw new CorrectionProblem('/mask', 'is empty: outline the ribeye (white) before saving');
  const largest = largestComponent(mask);
  const kept = count(largest);
  if (kept < total) {
    // The second largest region decides: every other one is smaller still.
    const rest: Mask = { ...mask, data: mask.data.map((v, i) => (v === 1 && largest.data[i] !== 1 ? 1 : 0)) };
    const second = count(largestComponent(rest));
    if (second >= MAX_STRAY_SHARE * kept) {
      throw new CorrectionProblem(
        '/mask',
        `has more than one region (the largest ${kept} px, another ${second} px): the ribeye is one region — erase the others or join them`,
      );
    }
  }
  if (kept < MIN_RIBEYE_PX) {
    throw new CorrectionProblem('/mask', `is too small (${kept} px): outline the whole ribeye`);
  }
  const solid = fillHoles(largest);
  return { mask: solid, cleanup: { dropped_px: total - kept, holes_filled_px: count(solid) - kept } };
}
