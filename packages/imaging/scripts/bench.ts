// Prints timing figures for the imaging primitives and the phantom generator (no assertions).
// Run: node scripts/bench.ts
import { frameDifference, frameQuality } from '../src/frame-quality.ts';
import { toGray } from '../src/gray-image.ts';
import { generatePhantom } from '../src/phantom/generate-phantom.ts';

function time(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(5, n); i++) fn(1e6 + i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  console.log(`${label.padEnd(44)} ${((performance.now() - t) / n).toFixed(2).padStart(8)} ms`);
}

const frame = toGray(generatePhantom({ seed: 1, width: 640, height: 480, layout: 'crop' }).image);
const other = toGray(generatePhantom({ seed: 2, width: 640, height: 480, layout: 'crop' }).image);
time('frameQuality 640×480', 200, () => frameQuality(frame));
time('frameDifference 640×480', 200, () => frameDifference(frame, other));
time('generatePhantom 256×256 (crop)', 40, (i) =>
  generatePhantom({ seed: i, width: 256, height: 256, layout: 'crop' }),
);
time('generatePhantom maxSide 384 (training mix)', 40, (i) => generatePhantom({ seed: i, maxSide: 384 }));
time('generatePhantom 640×480 (screen)', 10, (i) =>
  generatePhantom({ seed: i, width: 640, height: 480, layout: 'screen' }),
);
time('generatePhantom 940×720 (screen)', 5, (i) =>
  generatePhantom({ seed: i, width: 940, height: 720, layout: 'screen' }),
);
