import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GrayImage, toGray } from '../gray-image.ts';
import { createRng } from '../prng.ts';
import { generatePhantom, renderPhantom } from './generate-phantom.ts';
import type { PhantomKind, PhantomParams } from './phantom-types.ts';
import { PHANTOM_KINDS } from './phantom-types.ts';

// Each kind's signature, measured on the rendered image against what its params say: a render of the
// same params without the feature (same speckle draws) is the control.
const render = (p: PhantomParams) => toGray(renderPhantom(p, createRng(3)).image);
const linearScreen = { width: 640, height: 480, layout: 'screen', probe: 'linear', depthCm: 16 } as const;

/** Mean gray of columns [x, x+1) over rows [y0, y1). */
function columnMeans(g: GrayImage, x0: number, x1: number, y0: number, y1: number): number[] {
  const out: number[] = [];
  for (let x = x0; x < x1; x++) {
    let s = 0;
    for (let y = y0; y < y1; y++) s += g.data[y * g.width + x]!;
    out.push(s / (y1 - y0));
  }
  return out;
}

/** Runs of true at least `min` long, gaps up to `gap` bridged. */
function runsOf(v: boolean[], min: number, gap = 0): [number, number][] {
  const raw: [number, number][] = [];
  let start = -1;
  v.forEach((on, i) => {
    if (on && start < 0) start = i;
    if ((!on || i === v.length - 1) && start >= 0) {
      raw.push([start, on ? i + 1 : i]);
      start = -1;
    }
  });
  const merged: [number, number][] = [];
  for (const r of raw) {
    const prev = merged.at(-1);
    if (prev && r[0] - prev[1] <= gap) prev[1] = r[1];
    else merged.push([r[0], r[1]]);
  }
  return merged.filter(([a, b]) => b - a >= min);
}

describe('negative kinds: each carries its signature', () => {
  it('every kind renders; only ribeye and ribeye_cut_off carry a ribeye label', () => {
    for (const kind of PHANTOM_KINDS) {
      const { labels } = generatePhantom({ seed: 21, kind, maxSide: 240 });
      assert.equal(labels.kind, kind);
      const labelled = kind === 'ribeye' || kind === 'ribeye_cut_off';
      assert.equal(labels.ribeyeBbox !== null, labelled, kind);
      assert.equal(labels.ribeyeAreaPx > 0, labelled, kind);
    }
  });

  it('backfat_longitudinal: one shadow straight down under each rib in the field, straight skin', () => {
    const counts: number[] = [];
    for (let seed = 0; seed < 10; seed++) {
      const { labels } = generatePhantom({ seed, kind: 'backfat_longitudinal', ...linearScreen });
      const p: PhantomParams = { ...labels.params, dropouts: [], annotations: undefined };
      const withRibs = render(p);
      // Control: the same ribs letting everything through (caps kept, no shadows).
      const without = render({ ...p, bones: p.bones.map((r) => ({ ...r, transmission: 1 })) });
      const mm = labels.pixelSpacingMm;
      const [x0, y0, x1, y1] = p.scanArea;
      const cx = (x0 + x1) / 2;
      const half = (x1 - x0) / 2;
      // Between the lowest rib top and the highest rib floor: inside the ribs (their shadow) vs the
      // intercostal muscle between them.
      const top = Math.max(...p.bones.map((b) => b.zMm - b.heightMm)) + 2;
      const floor = Math.min(...p.bones.map((b) => b.zMm)) - 1;
      const band = [Math.round(y0 + top / mm), Math.round(y0 + floor / mm)];
      if (band[1]! - band[0]! < 3 / mm || band[1]! > y1) continue;
      const a = columnMeans(withRibs, x0, x1, band[0]!, band[1]!);
      const b = columnMeans(without, x0, x1, band[0]!, band[1]!);
      // Darker by 6+ gray levels: the display's floor (black level, TGC-lifted noise) bounds how
      // dark a shadow can get, so a ratio would miss shadows over a hazy floor.
      const centres = runsOf(
        a.map((v, i) => v < b[i]! - 6),
        Math.round(5 / mm),
        Math.round(3 / mm),
      ).map(([s0, s1]) => ((s0 + s1) / 2 + x0 - cx) * mm);
      // Away from the field's edges (a rib cut by the edge leaves a shadow of any width there).
      const limit = half * mm - 12;
      const shadows = centres.filter((c) => Math.abs(c) <= limit);
      const expected = p.bones.filter((r) => Math.abs(r.xMm) <= limit);
      assert.equal(
        shadows.length,
        expected.length,
        `seed ${seed}: shadows at ${shadows.map((c) => c.toFixed(0))} mm, ribs ${JSON.stringify(p.bones)}, field ±${(half * mm).toFixed(0)} mm`,
      );
      for (const c of shadows) {
        assert.ok(
          expected.some((r) => Math.abs(r.xMm - c) < 0.5 * r.halfWidthMm),
          `seed ${seed}: a shadow at ${c.toFixed(0)} mm under no rib`,
        );
      }
      counts.push(expected.length);
      assert.equal(p.skinCurvature, 0, 'the skin is straight along the back');
    }
    assert.ok(counts.length >= 6, `measurable draws ${counts.length}`);
    assert.ok(
      counts.every((n) => n >= 1 && n <= 6) && counts.filter((n) => n >= 2).length >= counts.length - 1,
      `ribs per field ${counts}`,
    );
  });

  it('transverse_wrong_site and rump_p8: no lens, fascia lines at the recorded seam depths', () => {
    for (const kind of ['transverse_wrong_site', 'rump_p8'] as PhantomKind[]) {
      let found = 0;
      let total = 0;
      for (let seed = 0; seed < 6; seed++) {
        const { labels } = generatePhantom({ seed, kind, ...linearScreen });
        const p: PhantomParams = { ...labels.params, dropouts: [], annotations: undefined };
        const seams = render(p);
        const plain = render({
          ...p,
          muscleSeams: p.muscleSeams?.map((s) => ({ ...s, depthMm: 1e4 })) ?? [],
        });
        const [x0, y0, x1] = p.scanArea;
        const mm = labels.pixelSpacingMm;
        const fat = p.standoffMm + p.skinThicknessMm + p.fatLayersMm.reduce((s, v) => s + v, 0);
        for (const s of p.muscleSeams ?? []) {
          const y = Math.round(y0 + (fat + s.depthMm) / mm);
          const xs = Math.round((x0 + x1) / 2);
          if (y + 3 >= p.height) continue;
          total++;
          // The seam line brightens its rows near the field's centre (where slope·x ≈ 0).
          const win = Math.round(4 / mm);
          let gain = 0;
          for (let dy = -win; dy <= win; dy++) {
            const a = columnMeans(seams, xs - 20, xs + 20, y + dy, y + dy + 1);
            const b = columnMeans(plain, xs - 20, xs + 20, y + dy, y + dy + 1);
            gain = Math.max(gain, a.reduce((q, v) => q + v, 0) - b.reduce((q, v) => q + v, 0));
          }
          if (gain / 40 > 3) found++;
        }
        if (kind === 'rump_p8') assert.ok((p.muscleSeams ?? []).every((s) => Math.abs(s.slope) <= 0.39));
      }
      assert.ok(total >= 6 && found >= 0.6 * total, `${kind}: seams visible ${found}/${total}`);
    }
  });

  it('probe_lifted: a bright band over a dark field where the face has no contact', () => {
    for (let seed = 0; seed < 6; seed++) {
      const { image, labels } = generatePhantom({ seed, kind: 'probe_lifted', ...linearScreen });
      const g = toGray(image);
      const p = labels.params;
      const lift = p.lifted!;
      const [x0, y0, x1, y1] = p.scanArea;
      const mm = labels.pixelSpacingMm;
      const lx0 = Math.round(x0 + (lift.fromFrac + 0.1 * (lift.toFrac - lift.fromFrac)) * (x1 - x0));
      const lx1 = Math.round(x0 + (lift.toFrac - 0.1 * (lift.toFrac - lift.fromFrac)) * (x1 - x0));
      const mean = (ya: number, yb: number) => {
        const m = columnMeans(g, lx0, lx1, ya, yb);
        return m.reduce((s, v) => s + v, 0) / m.length;
      };
      const band = mean(y0, Math.round(y0 + lift.bandMm / mm));
      const below = mean(Math.round(y0 + (lift.bandMm + 10) / mm), y1);
      assert.ok(band > 2 * below + 10, `seed ${seed}: band ${band} vs field below ${below}`);
    }
  });

  it('motion_blur: the frame is smeared sideways (horizontal detail lost, vertical kept)', () => {
    for (let seed = 0; seed < 4; seed++) {
      const { labels } = generatePhantom({ seed, kind: 'motion_blur', ...linearScreen });
      const p: PhantomParams = { ...labels.params, annotations: undefined };
      const ratio = (g: GrayImage) => {
        const [x0, y0, x1, y1] = p.scanArea;
        let h = 0;
        let v = 0;
        for (let y = y0 + 2; y < y1 - 2; y++) {
          for (let x = x0 + 2; x < x1 - 2; x++) {
            const i = y * g.width + x;
            h += Math.abs(g.data[i + 1]! - g.data[i]!);
            v += Math.abs(g.data[i + g.width]! - g.data[i]!);
          }
        }
        return h / v;
      };
      const blurred = ratio(render(p));
      const sharp = ratio(render({ ...p, motionBlurMm: undefined }));
      assert.ok(p.motionBlurMm! >= 6 && blurred < 0.7 * sharp, `seed ${seed}: ${blurred} vs ${sharp}`);
    }
  });

  it('ribeye_cut_off: the field edge runs through the ribeye, at most 45 % of its width visible', () => {
    for (let seed = 0; seed < 8; seed++) {
      const { labels } = generatePhantom({ seed, kind: 'ribeye_cut_off', ...linearScreen });
      const p = labels.params;
      const [bx0, by0, bx1, by1] = labels.ribeyeBbox!;
      const [x0, , x1, y1] = p.scanArea;
      const mm = labels.pixelSpacingMm;
      if (by1 === y1) {
        // The field ends above the ribeye's floor: at most 60 % of its height shows.
        assert.ok((by1 - by0) * mm <= 0.62 * p.ribeyeHeightMm + 2, `seed ${seed}: ${(by1 - by0) * mm} mm`);
      } else {
        assert.ok(bx0 === x0 || bx1 === x1, `seed ${seed}: box ${labels.ribeyeBbox} inside ${p.scanArea}`);
        const widthPx = p.ribeyeWidthMm / mm;
        assert.ok(bx1 - bx0 <= 0.46 * widthPx, `seed ${seed}: ${bx1 - bx0} px of ${widthPx}`);
      }
    }
  });
});
