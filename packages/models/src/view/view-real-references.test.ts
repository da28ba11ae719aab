import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GrayImage } from '@cti/imaging';
import sharp from 'sharp';
import { readReferenceScans } from '../evaluation/real-scan-eval.ts';
import { realScanVariants } from '../evaluation/real-scan-variants.ts';
import { toGrayImage } from '../image-input.ts';
import { loadViewModel, type ViewModel } from './view-model.ts';

// The committed verdict on real scans (../shared/reference-scans, read at test time, never copied):
// every copy of both ribeye scans accepted and every copy of the longitudinal backfat scan rejected —
// the eval's 8 stress copies each, and the originals as a capture might also deliver them (JPEG at
// quality 50, half and double the resolution): the sharpness features read fine-scale differences,
// which compression and resampling change.
const REFERENCES = fileURLToPath(new URL('../../../../../shared/reference-scans/', import.meta.url));

let view: ViewModel;
before(async () => {
  view = await loadViewModel();
});
after(() => view.close());

const raw = (g: GrayImage) =>
  sharp(Buffer.from(g.data), { raw: { width: g.width, height: g.height, channels: 1 } });
const recoded: Record<string, (g: GrayImage) => Promise<Buffer>> = {
  'jpeg q50': (g) => raw(g).jpeg({ quality: 50 }).toBuffer(),
  'half resolution': (g) =>
    raw(g)
      .resize(Math.round(g.width / 2), Math.round(g.height / 2))
      .png()
      .toBuffer(),
  'double resolution': (g) =>
    raw(g)
      .resize(g.width * 2, g.height * 2)
      .png()
      .toBuffer(),
};

test('real references: ribeye copies accepted, backfat copies rejected, also recoded and resampled', async () => {
  const scans = await readReferenceScans(REFERENCES);
  assert.ok(scans.some((s) => s.box) && scans.some((s) => !s.box), 'ribeye views and a negative');
  const wrong: string[] = [];
  for (const scan of scans) {
    const img = await toGrayImage(join(REFERENCES, scan.file));
    const copies: [string, GrayImage | Buffer][] = realScanVariants(img, scan.box ?? [0, 0, 1, 1]).map(
      (v) => [v.name, v.image],
    );
    for (const [name, recode] of Object.entries(recoded)) copies.push([name, await recode(img)]);
    for (const [name, image] of copies) {
      const v = await view.run(image);
      if (v.accepted !== (scan.box !== null)) wrong.push(`${scan.file} ${name}: ${v.ribeyeView}`);
    }
  }
  assert.deepEqual(wrong, [], `threshold ${view.card.threshold}`);
});
