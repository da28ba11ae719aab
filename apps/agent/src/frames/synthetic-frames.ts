import { createRng, deriveSeed } from '@cti/imaging';

/**
 * A cheap B-mode-looking frame generator (speckle, a bright skin/fat band, a textured ribeye ellipse
 * that drifts with the frame number) for the simulated probe and the probe emulator. Deterministic for
 * a given seed and frame number, so a test can regenerate exactly what the emulator sent. Cheap enough
 * to run per frame, unlike a full @cti/imaging phantom, so it is the 'synthetic' pattern and the stand-in
 * while the phantom clip renders.
 */
export type SyntheticFrameOptions = { width: number; height: number; seed?: number };

export function createSyntheticFrames({ width, height, seed = 1 }: SyntheticFrameOptions) {
  /** Frame `n`, written into `into` when given (a pooled buffer of width × height bytes). */
  return (n: number, into?: Uint8Array): Uint8Array => {
    const rng = createRng(deriveSeed(seed, n));
    const out = into?.length === width * height ? into : new Uint8Array(width * height);
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
        out[row + x] = Math.min(255, Math.round(base * depthGain * (0.55 + 0.9 * rng.next())));
      }
    }
    return out;
  };
}
