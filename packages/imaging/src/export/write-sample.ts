import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { generatePhantom } from '../phantom/generate-phantom.ts';
import type { PhantomKind } from '../phantom/phantom-types.ts';
import { type ExportPlan, planSample, sampleName } from './sample-plan.ts';

/** One line of manifest.json. */
export type ManifestEntry = {
  index: number;
  image: string;
  labels: string;
  mask: string | null;
  kind: PhantomKind;
  seed: number;
  width: number;
  height: number;
  ribeye_bbox: [number, number, number, number] | null;
};

/** Generate sample `index` of the plan and write its PNG, mask PNG and label JSON into `dir`. */
export async function writeSample(dir: string, plan: ExportPlan, index: number): Promise<ManifestEntry> {
  const { seed, kind } = planSample(plan, index);
  const { image, labels } = generatePhantom({
    seed,
    kind,
    preset: plan.preset,
    ...(plan.realism ? { realism: true } : {}),
    ...(plan.size ?? {}),
    ...(plan.maxSide ? { maxSide: plan.maxSide } : {}),
  });
  const name = sampleName(index);
  const raw = { width: image.width, height: image.height, channels: image.channels };
  await sharp(image.data, { raw })
    .png({ compressionLevel: 6 })
    .toFile(join(dir, `${name}.png`));
  let maskFile: string | null = null;
  if (labels.ribeyeMask) {
    maskFile = `${name}.mask.png`;
    const m = new Uint8Array(labels.ribeyeMask.length);
    for (let i = 0; i < m.length; i++) m[i] = labels.ribeyeMask[i] ? 255 : 0;
    await sharp(m, { raw: { width: image.width, height: image.height, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 6 })
      .toFile(join(dir, maskFile));
  }
  const json = {
    image: `${name}.png`,
    mask: maskFile,
    seed,
    width: image.width,
    height: image.height,
    channels: image.channels,
    kind: labels.kind,
    ribeye_bbox: labels.ribeyeBbox,
    ribeye_area_px: labels.ribeyeAreaPx,
    fat_thickness_mm: labels.fatThicknessMm,
    marbling_density: labels.marblingDensity,
    pixel_spacing_mm: labels.pixelSpacingMm,
    depth_cm: labels.depthCm,
    params: labels.params,
  };
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(json, null, 1)}\n`);
  return {
    index,
    image: json.image,
    labels: `${name}.json`,
    mask: maskFile,
    kind: labels.kind,
    seed,
    width: image.width,
    height: image.height,
    ribeye_bbox: labels.ribeyeBbox,
  };
}
