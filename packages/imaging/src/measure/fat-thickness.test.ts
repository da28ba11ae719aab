import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toGray } from '../gray-image.ts';
import { generatePhantom } from '../phantom/generate-phantom.ts';
import { createRng } from '../prng.ts';
import { measureFatThickness } from './fat-thickness.ts';
import { columnSpans } from './mask-geometry.ts';

const W = 300;
const H = 240;
const TOP = 60;
/** Skin band rows 21-24 at 230 falling to the fat's 40 over rows 25-28: half height (135) at 25.9. */
const SKIN: Record<number, number> = {
  20: 120,
  21: 230,
  22: 230,
  23: 230,
  24: 230,
  25: 180,
  26: 130,
  27: 80,
};
const SKIN_INNER = 25.9;

/** A scene: gel, skin band, fat, and an asymmetric lens (blunt end on `blunt`) from row 60. */
function scene({
  blunt = 'left' as 'left' | 'right',
  fanEdge = W,
  x0 = 40,
  x1 = 260,
  blackAbove = false,
} = {}) {
  const rng = createRng(5);
  const gray = new Uint8Array(W * H);
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (2 * (x - x0)) / (x1 - x0) - 1;
      const e = s < 0 === (blunt === 'left') ? 4 : 0.9;
      const inLens = x >= x0 && x < x1 && y >= TOP && y < TOP + 70 * (1 - Math.abs(s) ** e) ** 0.55;
      mask[y * W + x] = inLens ? 1 : 0;
      // Above the skin: gel (gray 30), or black above a convex face's shallow arc (≤ 20 rows at the sides).
      let v = y < 20 ? (blackAbove && y < 20 * ((x - W / 2) / (W / 2)) ** 2 ? 0 : 30) : (SKIN[y] ?? 40);
      if (inLens) v = 70 + 40 * rng.next();
      else if (y > TOP) v = 55 + 20 * rng.next();
      // Outside a convex fan: black above its slanted side (a radial line, 2 rows down per column).
      gray[y * W + x] = x >= fanEdge && y < 50 + 2 * (x - fanEdge) ? 0 : v;
    }
  }
  return { gray: { data: gray, width: W, height: H }, mask: { data: mask, width: W, height: H } };
}

describe('measureFatThickness', () => {
  it('measures skin/fat interface to ribeye top at ¾ from the blunt (medial) end', () => {
    for (const blunt of ['left', 'right'] as const) {
      const { gray, mask } = scene({ blunt });
      const f = measureFatThickness(gray, mask);
      assert.ok(f.ok, JSON.stringify(f));
      assert.equal(f.position.medialSide, blunt);
      assert.equal(f.position.fromMedial, 0.75);
      const { x0, x1 } = columnSpans(mask)!;
      const expectedX =
        blunt === 'left' ? x0 + Math.round(0.75 * (x1 - x0 - 1)) : x1 - 1 - Math.round(0.75 * (x1 - x0 - 1));
      assert.equal(f.position.x, expectedX);
      assert.ok(
        Math.abs(f.thicknessPx - (TOP - SKIN_INNER)) < 0.3,
        `${f.thicknessPx} vs ${TOP - SKIN_INNER}`,
      );
      assert.ok(f.spreadPx < 0.3);
      assert.equal(f.position.cutOff, false);
    }
  });

  it("moves towards the middle where a convex fan's side hides the skin, and says so when it hides it all", () => {
    const { gray, mask } = scene({ fanEdge: 185 });
    const f = measureFatThickness(gray, mask);
    assert.ok(f.ok, JSON.stringify(f));
    assert.ok(f.position.fromMedial < 0.75 && f.position.fromMedial >= 0.5, String(f.position.fromMedial));
    assert.ok(Math.abs(f.thicknessPx - (TOP - SKIN_INNER)) < 0.3);
    const arc = scene({ blackAbove: true });
    const underArc = measureFatThickness(arc.gray, arc.mask);
    assert.ok(
      underArc.ok && underArc.position.fromMedial === 0.75,
      'a column entering through the face arc sees the skin',
    );
    const hidden = scene({ fanEdge: 100 });
    const g = measureFatThickness(hidden.gray, hidden.mask);
    assert.equal(g.ok, false);
    assert.equal(!g.ok && g.reason, 'skin_not_in_view');
  });

  it('knows a lens cut by the field side, and refuses without a skin band or a mask', () => {
    const { gray, mask } = scene({ x0: -60 });
    const cut = measureFatThickness(gray, mask, { scanArea: [0, 0, W, H] });
    assert.ok(cut.ok && cut.position.cutOff, JSON.stringify(cut));
    const flat = { data: new Uint8Array(W * H).fill(60), width: W, height: H };
    const none = measureFatThickness(flat, mask);
    assert.equal(!none.ok && none.reason, 'no_skin_interface');
    const empty = measureFatThickness(gray, { data: new Uint8Array(W * H), width: W, height: H });
    assert.equal(!empty.ok && empty.reason, 'empty_mask');
  });

  it('reads phantom fat within a millimetre (median) from the true ribeye mask', () => {
    const errors: number[] = [];
    for (let seed = 21; seed < 33; seed++) {
      const { image, labels } = generatePhantom({ seed, preset: 'heldout', probe: 'linear', maxSide: 360 });
      const mask = { data: labels.ribeyeMask!, width: image.width, height: image.height };
      const f = measureFatThickness(toGray(image), mask, { scanArea: labels.params.scanArea });
      if (f.ok) errors.push(Math.abs(f.thicknessPx * labels.pixelSpacingMm - labels.fatThicknessMm));
    }
    errors.sort((a, b) => a - b);
    assert.ok(errors.length >= 10, `measured ${errors.length} of 12`);
    assert.ok(
      errors[Math.floor(errors.length / 2)]! <= 1,
      `median error ${errors[Math.floor(errors.length / 2)]} mm`,
    );
  });
});
