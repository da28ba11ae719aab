/**
 * A cheap B-mode-looking frame generator (speckle, a bright skin/fat band, a textured ribeye ellipse
 * that drifts with the frame number) for the simulated probe and the probe emulator. Deterministic for
 * a given seed and frame number, so a test can regenerate exactly what the emulator sent.
 */
export type SyntheticFrameOptions = { width: number; height: number; seed?: number };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function createSyntheticFrames({ width, height, seed = 1 }: SyntheticFrameOptions) {
  return (n: number): Uint8Array => {
    const rand = mulberry32(seed * 7919 + n);
    const out = new Uint8Array(width * height);
    const cx = width * (0.5 + 0.05 * Math.sin(n / 9));
    const cy = height * 0.55;
    const rx = width * 0.28;
    const ry = height * 0.2;
    const skin = Math.round(height * 0.12);
    for (let y = 0; y < height; y++) {
      const depthGain = 1 - (0.5 * y) / height;
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const dx = (x - cx) / rx;
        const dy = (y - cy) / ry;
        const inside = dx * dx + dy * dy <= 1;
        let base = 55;
        if (y >= skin && y < skin + 6) base = 220;
        else if (y < skin) base = 90;
        else if (inside) base = 120;
        out[row + x] = Math.min(255, Math.round(base * depthGain * (0.55 + 0.9 * rand())));
      }
    }
    return out;
  };
}
