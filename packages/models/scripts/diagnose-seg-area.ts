/**
 * node scripts/diagnose-seg-area.ts --data <cti-phantom export> [--models DIR] [--json FILE]
 *
 * Where the segmentation's area error comes from, on the ribeyes of a phantom export (the held-out
 * set that `pnpm eval:grading` / `pnpm eval:models` export): bias (signed mean) and spread, split by
 * the phantom's parameters (ribeye size, fat depth, contrast, faint floor, screen furniture,
 * spacing); the same pipeline with the refine pass off and at other mask thresholds; and the
 * quantisation floor — the true mask area-averaged to the model's grid over the very crop the model
 * sees, resized back and thresholded as the pipeline does (a perfect network's error).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GrayImage } from '@cti/imaging';
import { toGrayImage } from '../src/image-input.ts';
import { loadModel } from '../src/load-model.ts';
import { maskBbox } from '../src/mask-ops.ts';
import { DEFAULT_MODELS_DIR } from '../src/model-card.ts';
import { type CropBox, cropTensor, findScanArea } from '../src/preprocess.ts';
import { probToMask, roiBox, segmentationProb } from '../src/segmentation-model.ts';

// `pnpm … diagnose:seg -- --data X` forwards the literal "--"; drop it.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    data: { type: 'string' },
    models: { type: 'string', default: DEFAULT_MODELS_DIR },
    json: { type: 'string' },
  },
});
if (!values.data) {
  process.stderr.write(
    'usage: diagnose-seg-area.ts --data <cti-phantom export dir> [--models DIR] [--json FILE]\n',
  );
  process.exit(2);
}
const dir = values.data;
const { card, session } = await loadModel('ribeye-seg', 'segmentation', {
  cardPath: join(values.models!, 'ribeye-seg.card.json'),
});
const size = card.preprocessing.size;
const t = card.maskThreshold ?? 0.5;
const thresholds = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];
const noRefine = { ...card, refine: undefined };

type Row = Record<string, number | string | boolean | null>;
const rows: Row[] = [];
const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
  samples: { image: string; labels: string; kind: string }[];
};
const count = (m: { data: Uint8Array }) => m.data.reduce((a, v) => a + v, 0);
const overlap = (a: Uint8Array, b: Uint8Array) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) n += a[i]! & b[i]!;
  return n;
};
// The true mask as the pipeline would draw it from a perfect probability map on `crop`.
const floorMask = (truth: GrayImage, crop: CropBox, gray: GrayImage) =>
  probToMask(cropTensor(truth, crop, size), size, crop, gray, 0.5);

for (const s of manifest.samples) {
  if (s.kind !== 'ribeye') continue;
  const labels = JSON.parse(await readFile(join(dir, s.labels), 'utf8'));
  const gray = await toGrayImage(join(dir, s.image));
  const truthImg = await toGrayImage(join(dir, labels.mask));
  const truth = Uint8Array.from(truthImg.data, (v) => (v > 127 ? 1 : 0));
  const truth255 = { ...truthImg, data: Uint8Array.from(truth, (v) => v * 255) } as GrayImage;
  const trueArea = truth.reduce((a, v) => a + v, 0);
  const scanArea = findScanArea(gray);
  const { prob, crop, coarseCrop } = await segmentationProb(session, card, gray, scanArea);
  const mask = probToMask(prob, size, crop, gray, t);
  const area = count(mask);
  const inter = overlap(mask.data, truth);
  const coarse = await segmentationProb(session, noRefine, gray, scanArea);
  const coarseArea = count(probToMask(coarse.prob, size, coarse.crop, gray, t));
  const byT = Object.fromEntries(
    thresholds.map((th) => [`t${th}`, count(probToMask(prob, size, crop, gray, th)) / trueArea - 1]),
  );
  const tb = maskBbox({ data: truth, width: gray.width, height: gray.height })!;
  const floorCoarse = count(floorMask(truth255, coarseCrop, gray));
  const floorRoi = card.refine
    ? count(floorMask(truth255, roiBox(tb, coarseCrop, card.refine), gray))
    : floorCoarse;
  const p = labels.params;
  const cw = coarseCrop[2] - coarseCrop[0];
  const ch = coarseCrop[3] - coarseCrop[1];
  rows.push({
    image: s.image,
    trueArea,
    err: area / trueArea - 1,
    fp: (area - inter) / trueArea,
    fn: (trueArea - inter) / trueArea,
    dice: (2 * inter) / (area + trueArea),
    errNoRefine: coarseArea / trueArea - 1,
    floorCoarse: floorCoarse / trueArea - 1,
    floorRoi: floorRoi / trueArea - 1,
    ...byT,
    // Ribeye size in the coarse grid's cells: the share of the crop's area times size².
    gridCells: (trueArea / (cw * ch)) * size * size,
    cropScaleX: cw / size,
    cropScaleY: ch / size,
    fatMm: labels.fat_thickness_mm,
    spacing: labels.pixel_spacing_mm,
    echoDb: p.ribeyeEchoDb,
    fascia: p.fasciaVisibility,
    outline: p.outlineVisibility,
    noiseDb: p.noiseDb,
    depthCm: p.depthCm,
    layout: p.layout,
    probe: p.probe,
    panel: p.furniture?.panel ? 'panel' : 'none',
    ruler: !!p.furniture?.ruler,
    touchesEdge: tb[0] <= scanArea[0] + 1 || tb[2] >= scanArea[2] - 1 || tb[3] >= scanArea[3] - 1,
    refineCropW: crop[2] - crop[0],
  });
}
await session.close();

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
const pc = (v: number) => `${(100 * v).toFixed(1)}`;
const stat = (rs: Row[], k: string) => {
  const v = rs.map((r) => r[k] as number);
  return `${pc(mean(v.map(Math.abs)))} (bias ${pc(mean(v))}, sd ${pc(sd(v))})`;
};
const out: string[] = [`ribeye-seg@${card.version} threshold ${t} on ${dir}: ${rows.length} ribeyes`, ''];
out.push('| pipeline | mean abs % (signed bias, sd) |', '|---|---|');
out.push(`| deployed (refine, t=${t}) | ${stat(rows, 'err')} |`);
out.push(`| refine off (coarse only) | ${stat(rows, 'errNoRefine')} |`);
for (const th of thresholds) out.push(`| refine, t=${th} | ${stat(rows, `t${th}`)} |`);
out.push(`| floor: perfect ${size}² map on the coarse crop | ${stat(rows, 'floorCoarse')} |`);
out.push(`| floor: perfect ${size}² map on the refine crop | ${stat(rows, 'floorRoi')} |`);
out.push(
  `| false positive px / true area | ${pc(mean(rows.map((r) => r.fp as number)))} |`,
  `| missed px / true area | ${pc(mean(rows.map((r) => r.fn as number)))} |`,
  `| Dice | ${mean(rows.map((r) => r.dice as number)).toFixed(3)} |`,
);
const split = (name: string, key: string, edges?: number[]) => {
  out.push('', `By ${name}:`, '| group | n | deployed | refine off | floor |', '|---|---|---|---|---|');
  const label = (r: Row) => {
    const v = r[key];
    if (!edges) return String(v);
    const x = v as number;
    const i = edges.findIndex((e) => x < e);
    return i === 0 ? `< ${edges[0]}` : i < 0 ? `≥ ${edges.at(-1)}` : `${edges[i - 1]}–${edges[i]}`;
  };
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(label(r), [...(groups.get(label(r)) ?? []), r]);
  for (const [g, rs] of [...groups].sort())
    out.push(
      `| ${g} | ${rs.length} | ${stat(rs, 'err')} | ${stat(rs, 'errNoRefine')} | ${stat(rs, 'floorRoi')} |`,
    );
};
const q = (key: string) => {
  const v = rows.map((r) => r[key] as number).sort((a, b) => a - b);
  return [v[Math.floor(v.length / 3)]!, v[Math.floor((2 * v.length) / 3)]!].map((x) =>
    Number(x.toPrecision(2)),
  );
};
split('ribeye size in coarse-grid cells (terciles)', 'gridCells', q('gridCells'));
split('fat thickness mm (terciles)', 'fatMm', q('fatMm'));
split('ribeye echo dB, contrast (terciles)', 'echoDb', q('echoDb'));
split('fascia visibility, faint floor (terciles)', 'fascia', q('fascia'));
split('outline visibility (terciles)', 'outline', q('outline'));
split('pixel spacing mm (terciles)', 'spacing', q('spacing'));
split('layout', 'layout');
split('settings panel', 'panel');
split('probe', 'probe');
split('true mask touches the scan area edge', 'touchesEdge');
const worst = [...rows].sort((a, b) => Math.abs(b.err as number) - Math.abs(a.err as number)).slice(0, 12);
out.push(
  '',
  `Worst: ${worst.map((r) => `${r.image} ${pc(r.err as number)} (fp ${pc(r.fp as number)} fn ${pc(r.fn as number)}, off ${pc(r.errNoRefine as number)})`).join('; ')}`,
);
process.stdout.write(`${out.join('\n')}\n`);
if (values.json) await writeFile(values.json, JSON.stringify(rows, null, 1));
