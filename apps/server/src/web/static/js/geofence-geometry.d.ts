// Types of geofence-geometry.js for the server's TypeScript (its Node tests import the browser module).
// Not served: /static serves only known browser file types.
export type Position = [lon: number, lat: number];
export type Polygon = { type: 'Polygon'; coordinates: number[][][] };

export function polygonOf(corners: readonly Position[], holes?: readonly number[][][]): Polygon | null;
export function geofenceText(corners: readonly Position[], holes?: readonly number[][][]): string;
export function cornersOf(text: string): { corners: Position[]; holes: number[][][] } | null;
export function selfIntersects(corners: readonly Position[]): boolean;
export function segmentsMeet(a: Position, b: Position, c: Position, d: Position): boolean;
export function drawingProblem(corners: readonly Position[]): string | null;
