/** The configured pattern cannot work; the message says why (shown as /eid_reader/pattern). */
export class EidPatternError extends Error {
  override name = 'EidPatternError';
}

/**
 * Compile `eid_reader.pattern` (default: @cti/contracts' EID_LINE_PATTERN, the one the server reads
 * pasted reader lines with); it needs at least one capture group (their concatenation is the tag,
 * see parseEidLine in @cti/contracts).
 */
export function compileEidPattern(source: string): RegExp {
  let pattern: RegExp;
  try {
    pattern = new RegExp(source);
  } catch (err) {
    throw new EidPatternError(`is not a valid regular expression (${(err as Error).message})`);
  }
  // The number of groups of any pattern: an alternative that matches the empty string reports them all.
  const groups = (new RegExp(`${source}|`).exec('')?.length ?? 1) - 1;
  if (groups === 0) {
    throw new EidPatternError('needs at least one capture group ( … ) around the digits of the tag');
  }
  return pattern;
}
