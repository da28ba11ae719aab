import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toGray } from '../gray-image.ts';
import { createRng } from '../prng.ts';
import { generatePhantom, renderPhantom } from './generate-phantom.ts';
import type { PhantomParams } from './phantom-types.ts';
import { screenScale } from './sample-layout.ts';

const BARE = { header: false, ruler: false, grayBar: false, focusMarker: false, headerText: '' };

/** 1 where the furniture drew (against the same render without furniture; background left black). */
function furnitureMask(params: PhantomParams): Uint8Array {
  const p = { ...params, furniture: { ...params.furniture, background: 0 } };
  const a = toGray(renderPhantom({ ...p, annotations: undefined }, createRng(5)).image).data;
  const b = toGray(renderPhantom({ ...p, annotations: undefined, furniture: BARE }, createRng(5)).image).data;
  return a.map((v, i) => (v !== b[i] ? 1 : 0));
}

/** Screens with a given layout part, from the generator's own draws (no layout is forced). */
function screens(want: (p: PhantomParams) => boolean, n: number): PhantomParams[] {
  const out: PhantomParams[] = [];
  for (let seed = 0; out.length < n && seed < 400; seed++) {
    const { labels } = generatePhantom({ seed, layout: 'screen', probe: 'linear', maxSide: 480 });
    if (want(labels.params)) out.push(labels.params);
  }
  assert.equal(out.length, n, 'enough screens with that layout among 400 seeds');
  return out;
}

const spacing = (p: PhantomParams) => (p.depthCm * 10) / (p.scanArea[3] - p.scanArea[1]);

describe('screen furniture of real exports', () => {
  it('the depth ruler has a tick exactly every cm of the labelled spacing, on either side of the field', () => {
    for (const side of ['left', 'right'] as const) {
      for (const p of screens(
        (q) => q.furniture.ruler && q.furniture.rulerSide === side && q.channels === 1,
        4,
      )) {
        const mask = furnitureMask(p);
        const [x0, y0, x1] = p.scanArea;
        const s = screenScale(p.height);
        const [mx0, mx1] = side === 'left' ? [0, x0] : [x1, p.width];
        const rows = new Set<number>();
        for (let y = 0; y < p.height; y++)
          for (let x = mx0; x < mx1; x++) if (mask[y * p.width + x]) rows.add(y);
        const pxPerCm = 10 / spacing(p);
        const ticks: number[] = [];
        for (let cm = 0; cm <= p.depthCm; cm++) ticks.push(Math.round(y0 + cm * pxPerCm));
        for (const y of ticks.filter((t) => t < p.height))
          assert.ok(rows.has(y), `${side} ruler, depth ${p.depthCm} cm: no tick at row ${y}`);
        // Anything else drawn there is a label beside a tick (or the panel, focus marker or bar).
        const labelled = (y: number) => ticks.some((t) => y >= t - 3 * s && y < t + 5 * s);
        const stray = [...rows].filter((y) => !labelled(y) && y >= y0);
        const panelOrBar = p.furniture.panel?.side === side || p.furniture.grayBar || p.furniture.focusMarker;
        if (!panelOrBar) assert.deepEqual(stray, [], `${side} ruler: marks off the ticks`);
      }
    }
  });

  it('the lateral ruler under a linear field ticks every cm from the field’s left edge', () => {
    for (const p of screens(
      (q) => q.furniture.bottomRuler === true && q.height - q.scanArea[3] >= 9 * screenScale(q.height),
      3,
    )) {
      const mask = furnitureMask(p);
      const [x0, , x1, y1] = p.scanArea;
      const s = screenScale(p.height);
      const pxPerCm = 10 / spacing(p);
      for (let cm = 0; x0 + cm * pxPerCm < x1; cm++) {
        const x = Math.round(x0 + cm * pxPerCm);
        assert.equal(mask[(y1 + 2 * s + 1) * p.width + x], 1, `no lateral tick at ${cm} cm (x ${x})`);
      }
    }
  });

  it('panels, captions, clock and background never draw inside the field', () => {
    for (const p of screens(
      (q) => Boolean(q.furniture.panel && (q.furniture.caption || q.furniture.status)),
      4,
    )) {
      const mask = furnitureMask(p);
      const [x0, y0, x1, y1] = p.scanArea;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) assert.equal(mask[y * p.width + x], 0, `furniture at ${x},${y}`);
      let panel = 0;
      const [px0, px1] = p.furniture.panel!.side === 'left' ? [0, x0] : [x1, p.width];
      for (let y = 0; y < p.height; y++) for (let x = px0; x < px1; x++) panel += mask[y * p.width + x]!;
      assert.ok(panel > 100, `the settings panel drew ${panel} px`);
    }
  });

  it('the settings panel states the true depth; a gray background fills everything but the field', () => {
    const [p] = screens((q) => Boolean(q.furniture.panel && q.furniture.panel.lines.length >= 5), 1);
    assert.ok(
      p!.furniture.panel!.lines.includes(`D ${p!.depthCm.toFixed(1)} CM`),
      JSON.stringify(p!.furniture.panel),
    );
    const [q] = screens((r) => (r.furniture.background ?? 0) > 0 && r.channels === 1, 1);
    const g = toGray(renderPhantom({ ...q!, annotations: undefined }, createRng(5)).image);
    assert.equal(g.data[0], q!.furniture.background, 'the corner pixel is the background gray');
  });
});
