import { EID_PATTERN } from '@cti/contracts';

/**
 * The tag in a reader's line, for the common stick and panel readers: 15 digits, optionally with a
 * space (or . _ -) after the 3-digit country code, anywhere in the line, so prefixes and suffixes
 * ("LA 982 000123456789", "$982000123456789#", "982 000123456789 FDX-B") do not matter; digits
 * directly before or after would make it a different number and do not match.
 */
export const DEFAULT_EID_PATTERN = '(?<![0-9])([0-9]{3})[ ._-]?([0-9]{12})(?![0-9])';

const EID = new RegExp(EID_PATTERN);

/** The configured pattern cannot work; the message says why (shown as /eid_reader/pattern). */
export class EidPatternError extends Error {
  override name = 'EidPatternError';
}

/** Compile `eid_reader.pattern`; it needs at least one capture group (their concatenation is the tag). */
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

/**
 * The 15-digit tag in one line, or null (garbage, a partial read, a line with no tag). The pattern's
 * capture groups are joined; anything but 15 digits, or a tag of all zeros (a reader's "no tag"), is no
 * tag.
 *
 * @example parseEidLine('LA 982 000123456789\r', compileEidPattern(DEFAULT_EID_PATTERN)) // '982000123456789'
 */
export function parseEidLine(line: string, pattern: RegExp): string | null {
  const match = pattern.exec(line);
  if (!match) return null;
  const eid = match
    .slice(1)
    .filter((g) => g !== undefined)
    .join('');
  return EID.test(eid) && !/^0+$/.test(eid) ? eid : null;
}
