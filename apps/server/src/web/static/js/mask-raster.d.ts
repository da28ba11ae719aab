// Types of mask-raster.js for the server's TypeScript (its Node tests import the browser module).
// Not served: /static serves only known browser file types.
export function paintSegment(
  mask: Uint8Array,
  width: number,
  height: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  radius: number,
  value: 0 | 1,
): [number, number, number, number] | null;
export function fillEnclosed(mask: Uint8Array, width: number, height: number): number;
export function maskToRgba(mask: Uint8Array): Uint8ClampedArray;
export function rgbaToMask(rgba: Uint8ClampedArray): Uint8Array;
