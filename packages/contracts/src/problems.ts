/** One thing wrong with a document: where (RFC 6901 JSON pointer, '' = the root) and what was expected. */
export type Problem = { pointer: string; message: string };

/** Result of every validator in this package: the typed value, or every problem found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/**
 * Render a problem as the one-line form used by the CLI, logs and HTTP 422 bodies.
 *
 * @example formatProblem({ pointer: '/gps/lat', message: 'must be <= 90' }) // '/gps/lat: must be <= 90'
 */
export function formatProblem(problem: Problem): string {
  return `${problem.pointer === '' ? '(root)' : problem.pointer}: ${problem.message}`;
}

/** Escape one property name for use as a JSON pointer segment (RFC 6901: '~' → '~0', '/' → '~1'). */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Join a base pointer and further segments: joinPointer('/gps', 'lat') === '/gps/lat'. */
export function joinPointer(base: string, ...segments: (string | number)[]): string {
  return base + segments.map((s) => `/${pointerSegment(s)}`).join('');
}

/** Drop exact duplicates (same pointer and message) while keeping first-seen order. */
export function uniqueProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.pointer}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
