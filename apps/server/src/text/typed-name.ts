// One rule for text people type as a name — farm, animal tag and breed, group, device and review
// label, a person's full name, an announcement title: what the API's shortText schema checks, what
// the pages without a schema (registration, account) check, and what the device CLI checks.
//
// Refused (422 naming the field, and each refused character by code point, name and position —
// typedNameFault — since none of them can be seen in a form): control characters (C0, DEL, C1), the
// line and paragraph separators U+2028/U+2029 ("one line" must be true), bidi embedding/override/isolate controls and
// marks (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F: they reverse what other users read), and the
// invisible characters that make a look-alike of another name (zero-width space U+200B, word joiner
// and invisible operators U+2060–U+2064, U+FEFF, soft hyphen U+00AD). Zero-width (non-)joiners
// U+200C/U+200D stay allowed: scripts and emoji need them. At least one character must show — not a
// space, control, format or default-ignorable character (Hangul fillers) nor a combining mark alone.
// Accepted text is NFC-normalised before it is stored or compared, so "é" and "e\u0301" are one name.
// A stored name from before the rule is judged like any sent name, also when a page form re-sends it
// unchanged: letting it through would keep the look-alike for good; the message says what to delete.

const FORBIDDEN =
  '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u200b\\u200e\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff';
const VISIBLE = '[^\\s\\p{Cc}\\p{Cf}\\p{Default_Ignorable_Code_Point}\\p{M}]';

/** The rule as an ECMA-262 pattern (Unicode mode, as JSON Schema validators compile it). */
export const TYPED_NAME_PATTERN = `^[^${FORBIDDEN}]*${VISIBLE}[^${FORBIDDEN}]*$`;
const typedName = new RegExp(TYPED_NAME_PATTERN, 'u');

/** What the rule asks for, for messages ("must be …"). */
export const TYPED_NAME_RULE =
  'on one line, with at least one visible character, without control, invisible or text-direction characters';

/** Whether `text` may be stored as a typed name (before trimming and NFC). */
export const isTypedName = (text: string): boolean => typedName.test(text);

const forbidden = new RegExp(`[${FORBIDDEN}]`, 'u');
const visible = new RegExp(VISIBLE, 'u');

/** Names of the refused characters a person cannot see or tell apart (the rest are "control character"). */
const NAMES: Record<string, string> = {
  '0009': 'tab',
  '000A': 'line feed',
  '000D': 'carriage return',
  '007F': 'delete',
  '00AD': 'soft hyphen',
  '200B': 'zero-width space',
  '200E': 'left-to-right mark',
  '200F': 'right-to-left mark',
  '2028': 'line separator',
  '2029': 'paragraph separator',
  '202A': 'left-to-right embedding',
  '202B': 'right-to-left embedding',
  '202C': 'pop directional formatting',
  '202D': 'left-to-right override',
  '202E': 'right-to-left override',
  '2060': 'word joiner',
  '2061': 'function application',
  '2062': 'invisible times',
  '2063': 'invisible separator',
  '2064': 'invisible plus',
  '2066': 'left-to-right isolate',
  '2067': 'right-to-left isolate',
  '2068': 'first strong isolate',
  '2069': 'pop directional isolate',
  FEFF: 'zero-width no-break space',
};
const SHOWN = 5;

/**
 * What makes `text` fail the rule, in words a person can act on — the refused characters are
 * invisible, so they are named by code point, name and position (characters counted from 1);
 * undefined when `text` passes. Used beside the "must be …" message of a 422.
 *
 * @example typedNameFault('Hof\u00adMüller') // 'it contains U+00AD (soft hyphen) at position 4: remove it'
 */
export function typedNameFault(text: string): string | undefined {
  if (isTypedName(text)) return undefined;
  const found: string[] = [];
  [...text].forEach((ch, i) => {
    if (!forbidden.test(ch)) return;
    const hex = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    found.push(`U+${hex} (${NAMES[hex] ?? 'control character'}) at position ${i + 1}`);
  });
  const blank = !visible.test(text);
  if (found.length === 0) return blank ? 'it has no visible character' : undefined;
  const shown = `${found.slice(0, SHOWN).join(', ')}${found.length > SHOWN ? ` and ${found.length - SHOWN} more` : ''}`;
  if (blank) return `it has no visible character and contains ${shown}`;
  return `it contains ${shown}: remove ${found.length > 1 ? 'them' : 'it'}`;
}

/**
 * The form a typed name is stored and compared in: NFC, trimmed.
 *
 * @example normalizeTypedName(' Ferme Be\u0301langer ') // 'Ferme Bélanger' (one code point for é)
 */
export const normalizeTypedName = (text: string): string => text.normalize('NFC').trim();

/**
 * The length of `text` as stored: code points after normalizeTypedName, what a database length CHECK
 * counts. NFC can lengthen text (U+0958 becomes two code points), so limits are checked on this, not
 * on the text as typed (review r13 F8).
 *
 * @example storedLength('\u0958') // 2
 */
export const storedLength = (text: string): number => [...normalizeTypedName(text)].length;
