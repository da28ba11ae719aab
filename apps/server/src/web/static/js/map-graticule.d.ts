// Types of map-graticule.js for the server's TypeScript (its Node tests import the pure helpers).
// Not served: /static serves only known browser file types.
export function graticuleStep(span: number): number;
export function degreeLabel(value: number, step: number, hemispheres: string): string;
