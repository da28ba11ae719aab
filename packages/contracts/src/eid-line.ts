import { EID_LINE_PATTERN, EID_PATTERN } from './patterns.ts';

const EID = new RegExp(EID_PATTERN);
const EID_LINE = new RegExp(EID_LINE_PATTERN);
const NO_TAG = /^0+$/;

/**
 * The 15-digit EID in one line of text — a reader's line, or what a person pasted from one — or null
 * (garbage, a partial read, a line with no tag). The pattern's capture groups are joined; anything but
 * 15 digits, or a tag of all zeros (a reader's "no tag"), is no tag. The pattern defaults to
 * EID_LINE_PATTERN (15 digits anywhere, optionally split after the country code); the agent passes its
 * configured `eid_reader.pattern` instead.
 *
 * @example parseEidLine('LA 982 000123456789\r') // '982000123456789'
 */
export function parseEidLine(line: string, pattern: RegExp = EID_LINE): string | null {
  const match = pattern.exec(line);
  if (!match) return null;
  const eid = match
    .slice(1)
    .filter((g) => g !== undefined)
    .join('');
  return EID.test(eid) && !NO_TAG.test(eid) ? eid : null;
}
