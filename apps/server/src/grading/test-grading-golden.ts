// The grading golden set (test helper, excluded from the build): fixed inputs — phantoms of every kind,
// layout and size, gray and RGB, with and without meta.json spacing, a hint box, a calibration or the
// capture's own mask, and the real reference scans when present — graded as the worker grades them
// (encoded bytes → decodeRaster → grader), reduced to everything a result stores: grade, reasons,
// confidence, breakdown, features, and the overlay's and mask's DECODED pixels (their sha256; the PNG
// bytes may change with encoder settings, the pictures may not).
//
// grading-golden.test.ts compares the grader with fixtures/grading-golden.json, which was written by
// the grader before its performance work (`node --import ./scripts/register-jsx.ts
// scripts/grading-golden.ts --write`): the same inputs must give the same results. The fixture names
// the models it was made with; with other model files the comparison cannot hold, and the test FAILS
// saying so (a skip would silently turn the whole golden check off at every model swap): rewrite the
// fixture with the new models, deliberately, in the commit that swaps them.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MetaJson } from '@cti/contracts';
import { exampleMeta } from '@cti/contracts/testing';
import { decodeGray, decodeRaster, encodePng, generatePhantom, type PhantomKind, toGray } from '@cti/imaging';
import { realScanVariants } from '@cti/models';
import sharp from 'sharp';
import type { Grader } from './grade-image.ts';

export const GOLDEN_FILE = fileURLToPath(new URL('./fixtures/grading-golden.json', import.meta.url));
const REFERENCES = fileURLToPath(new URL('../../../../../shared/reference-scans/', import.meta.url));

export type GoldenCase = {
  name: string;
  /** The bytes the worker reads from S3. */
  image: () => Promise<Uint8Array>;
  meta?: Partial<MetaJson>;
  calibration?: { id: string; pixelSpacingMm: number };
  /** The capture's own mask (0/1), as the worker decodes it. */
  captureMask?: () => Promise<{ data: Uint8Array; width: number; height: number }>;
};

export type GoldenRecord = {
  grade: string;
  reasons: string[];
  confidence: number;
  breakdown: unknown;
  features: unknown;
  overlay: { width: number; height: number; channels: number; pixelsSha256: string };
  mask: { width: number; height: number; pixelsSha256: string };
};

export type GoldenFile = {
  models: { segmentation: string; hint: string };
  cases: Record<string, GoldenRecord>;
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function phantom(
  seed: number,
  opts: { kind?: PhantomKind; layout?: 'screen' | 'crop'; width: number; height: number; channels: 1 | 3 },
) {
  return generatePhantom({ seed, preset: 'heldout', ...opts });
}

/** A phantom as PNG bytes, gray or RGB as asked. */
async function phantomBytes(
  seed: number,
  opts: { kind?: PhantomKind; layout?: 'screen' | 'crop'; width: number; height: number; channels: 1 | 3 },
): Promise<Uint8Array> {
  const { image } = phantom(seed, opts);
  if (opts.channels === 1) return encodePng(toGray(image));
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

const hint = (box: [number, number, number, number]) => ({
  inference_summary: { ...exampleMeta().inference_summary!, ribeye_bbox: box },
});

/** Every case of the golden set; the reference scans only where ../shared/reference-scans exists. */
export function goldenCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (let seed = 500; seed < 508; seed++) {
    // The bench's images: 640×480 screens with a ruler.
    cases.push({
      name: `screen-640-gray-${seed}`,
      image: () => phantomBytes(seed, { layout: 'screen', width: 640, height: 480, channels: 1 }),
    });
  }
  cases.push(
    {
      name: 'screen-640-rgb-510',
      image: () => phantomBytes(510, { layout: 'screen', width: 640, height: 480, channels: 3 }),
    },
    {
      name: 'screen-940-rgb-511',
      image: () => phantomBytes(511, { layout: 'screen', width: 940, height: 720, channels: 3 }),
    },
    {
      name: 'screen-480-meta-spacing-hint-512',
      image: () => phantomBytes(512, { layout: 'screen', width: 480, height: 360, channels: 1 }),
      meta: { acquisition: { pixel_spacing_mm: 0.4 }, ...hint([120, 60, 360, 200]) },
    },
    {
      name: 'screen-480-calibration-513',
      image: () => phantomBytes(513, { layout: 'screen', width: 480, height: 360, channels: 1 }),
      calibration: { id: '42', pixelSpacingMm: 0.31 },
    },
    {
      name: 'crop-480-capture-mask-514',
      image: () => phantomBytes(514, { layout: 'crop', width: 480, height: 360, channels: 1 }),
      captureMask: async () => {
        const { image, labels } = phantom(514, { layout: 'crop', width: 480, height: 360, channels: 1 });
        return { data: labels.ribeyeMask!, width: image.width, height: image.height };
      },
    },
    {
      name: 'crop-320-515',
      image: () => phantomBytes(515, { layout: 'crop', width: 320, height: 240, channels: 1 }),
    },
  );
  for (const [i, kind] of (['backfat_longitudinal', 'noise', 'off_animal'] as const).entries()) {
    cases.push({
      name: `negative-${kind}-${520 + i}`,
      image: () => phantomBytes(520 + i, { kind, layout: 'screen', width: 640, height: 480, channels: 1 }),
      meta: { acquisition: { pixel_spacing_mm: 0.3 } },
    });
  }
  if (existsSync(`${REFERENCES}hzau-201615.png`)) {
    for (const file of ['hzau-201615.png', 'ustool-109A.bmp', 'hzau-1518-backfat.png']) {
      cases.push({ name: `reference-${file}`, image: () => fileBytes(`${REFERENCES}${file}`) });
    }
    // Two of the backfat scan's variants (a flip and a crop), gray as the evaluation makes them.
    for (const index of [1, 4]) {
      cases.push({
        name: `reference-backfat-variant-${index}`,
        image: async () => {
          const gray = await decodeGray(`${REFERENCES}hzau-1518-backfat.png`);
          return encodePng(realScanVariants(gray, [0, 0, 1, 1])[index]!.image);
        },
      });
    }
  }
  return cases;
}

const fileBytes = (path: string): Promise<Uint8Array> => readFile(path);

/** One case graded as the worker grades it, reduced to what a result stores. */
export async function gradeGoldenCase(grader: Grader, c: GoldenCase): Promise<GoldenRecord> {
  // Decoded as grade-job.ts decodes (a gray image stays one channel): the fixture pins that path.
  const raster = await decodeRaster(await c.image(), { keepGray: true });
  const meta = c.meta ? exampleMeta({ inference_summary: null, ...c.meta }) : null;
  const g = await grader.grade({
    raster,
    meta,
    calibration: c.calibration ?? null,
    ...(c.captureMask ? { captureMask: await c.captureMask() } : {}),
  });
  const overlay = await decodeRaster(g.overlayPng);
  const mask = await decodeGray(g.maskPng);
  // Through JSON, as the result reaches the database (undefined dropped, -0 as 0).
  const json = JSON.parse(
    JSON.stringify({
      grade: g.grade,
      reasons: g.reasons,
      confidence: g.confidence,
      breakdown: g.breakdown,
      features: g.features,
    }),
  ) as Pick<GoldenRecord, 'grade' | 'reasons' | 'confidence' | 'breakdown' | 'features'>;
  return {
    ...json,
    overlay: {
      width: overlay.width,
      height: overlay.height,
      channels: overlay.channels,
      pixelsSha256: sha256(overlay.data),
    },
    mask: { width: mask.width, height: mask.height, pixelsSha256: sha256(mask.data) },
  };
}

/** The model files' sha256 the grader runs with (from its lineage), to tell a fixture of other models. */
export function graderModels(record: GoldenRecord): GoldenFile['models'] {
  const lineage = (record.features as { lineage: { segmentation_sha256: string; hint_sha256: string } })
    .lineage;
  return { segmentation: lineage.segmentation_sha256, hint: lineage.hint_sha256 };
}

/**
 * Why the fixture cannot be compared with the grader (it was recorded with other model files), with
 * the command that rewrites it; null when the models match.
 */
export function goldenModelMismatch(golden: GoldenFile, first: GoldenRecord): string | null {
  const now = graderModels(first);
  const differ = (['segmentation', 'hint'] as const).filter((m) => golden.models[m] !== now[m]);
  if (differ.length === 0) return null;
  const names = { segmentation: 'ribeye-seg', hint: 'ribeye-hint' };
  return (
    `fixtures/grading-golden.json was recorded with other model files (${differ
      .map((m) => `${names[m]} ${golden.models[m].slice(0, 12)}…, now ${now[m].slice(0, 12)}…`)
      .join('; ')}): if the model swap is meant, regenerate it with ` +
    '`cd apps/server && node --import ./scripts/register-jsx.ts scripts/grading-golden.ts --write`, ' +
    'check the printed grades, and commit it with the models'
  );
}
