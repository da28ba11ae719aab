import { CorrectionProblem } from './correction-problem.ts';

/** A fat-thickness line drawn by a person, in image pixels (0.1 px). */
export type FatLine = { x1: number; y1: number; x2: number; y2: number };

const KEYS = ['x1', 'y1', 'x2', 'y2'] as const;
const tenth = (v: number) => Math.round(v * 10) / 10;

/**
 * The `fat_line` part: empty (or absent) = none, the fat thickness is measured on the corrected mask;
 * else JSON `{"x1","y1","x2","y2"}`, numbers, inside the image (0…width, 0…height — pixel edges, so
 * the far edge is inside) and at least one pixel long. Throws CorrectionProblem('/fat_line').
 */
export function parseFatLine(text: string | null, image: { width: number; height: number }): FatLine | null {
  if (text === null || text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CorrectionProblem('/fat_line', 'is not JSON: send {"x1":…,"y1":…,"x2":…,"y2":…} or nothing');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CorrectionProblem('/fat_line', 'must be an object {"x1":…,"y1":…,"x2":…,"y2":…}');
  }
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (extra.length > 0) throw new CorrectionProblem('/fat_line', `has unknown fields: ${extra.join(', ')}`);
  const line = {} as FatLine;
  for (const k of KEYS) {
    const v = record[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new CorrectionProblem('/fat_line', `${k} must be a number (image pixels)`);
    }
    line[k] = tenth(v);
  }
  const outside = KEYS.filter(
    (k) => line[k] < 0 || line[k] > (k.startsWith('x') ? image.width : image.height),
  );
  if (outside.length > 0) {
    throw new CorrectionProblem(
      '/fat_line',
      `is outside the image (${image.width}×${image.height} pixels): ${outside.map((k) => `${k} = ${line[k]}`).join(', ')}`,
    );
  }
  if (fatLineLengthPx(line) < 1) throw new CorrectionProblem('/fat_line', 'is shorter than one pixel');
  return line;
}

/** Length of the line in image pixels (its mm length is fatLineLengthMm: pixels need not be square). */
export const fatLineLengthPx = (l: FatLine) => Math.hypot(l.x2 - l.x1, l.y2 - l.y1);

/**
 * Length of the line in mm: its horizontal run at mm × aspect, its vertical run at mm (the spacing is the
 * vertical one; aspect = a pixel's width ÷ its height, packages/contracts/README.md "Pixel aspect").
 */
export const fatLineLengthMm = (l: FatLine, mm: number, aspect: number) =>
  Math.hypot((l.x2 - l.x1) * mm * aspect, (l.y2 - l.y1) * mm);
