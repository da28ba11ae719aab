/** Narrower or shorter than this is no B-mode scan (the grading worker, the grader and cti-models refuse it). */
export const MIN_SCAN_SIDE = 32;

/**
 * The longest side may be at most this many times the shortest: scanner screens are ≈ 4:3, crops
 * 1–3:1 and a dual-view screen ≈ 3.6:1. A 32 × 4000 strip is a sliver, not a scan: the models stretch
 * it to a square and the ruler search costs the square of its length (a 32 px wide strip of
 * 1.25 million rows, within 40 MP, held a worker for most of an hour).
 */
export const MAX_SCAN_ASPECT = 8;

/**
 * What makes width × height no scan — a side under MIN_SCAN_SIDE, or longer than MAX_SCAN_ASPECT : 1
 * — or null when it can be one. Every path that grades or runs the models (the grading worker from
 * the header and after decoding, createGrader, cti-models) asks this, so they give one answer.
 *
 * @example const problem = scanShapeProblem(32, 4000); // '125:1, a sliver: a scan is at most 8 times as long as it is wide'
 */
export function scanShapeProblem(width: number, height: number): string | null {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  if (short < MIN_SCAN_SIDE) return `under ${MIN_SCAN_SIDE} px on a side, too small to be a scan`;
  if (long > MAX_SCAN_ASPECT * short) {
    const ratio = long / short >= 100 ? Math.round(long / short) : Number((long / short).toPrecision(3));
    return `${ratio}:1, a sliver: a scan is at most ${MAX_SCAN_ASPECT} times as long as it is wide`;
  }
  return null;
}
