import { encodePng, generatePhantom, toGray } from '@cti/imaging';

/**
 * The images `pnpm bench:grade` grades and runs the model alone on (in its own process and in
 * bench-model-alone.ts): 8 held-out screen phantoms as gray PNGs, the same bytes on every call, so the
 * ratio compares the worker and the model on identical input.
 */
export function benchScreens(width: number, height: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      encodePng(
        toGray(generatePhantom({ seed: 500 + i, width, height, layout: 'screen', preset: 'heldout' }).image),
      ),
    ),
  );
}
