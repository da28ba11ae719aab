// One rule for text people type as a name — farm, animal tag and breed, group, device and review
// label, a person's full name, an announcement title: what the API's shortText schema checks, what
// the pages without a schema (registration, account) check, and what the device CLI checks.
//
// Refused (422 naming the field): control characters (C0, DEL, C1), the line and paragraph
// separators U+2028/U+2029 ("one line" must be true), bidi embedding/override/isolate controls and
// marks (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F: they reverse what other users read), and the
// invisible characters that make a look-alike of another name (zero-width space U+200B, word joiner
// and invisible operators U+2060–U+2064, U+FEFF, soft hyphen U+00AD). Zero-width (non-)joiners
// U+200C/U+200D stay allowed: scripts and emoji need them. At least one character must show — not a
// space, control, format or default-ignorable character (Hangul fillers) nor a combining mark alone.
// Accepted text is NFC-normalised before it is stored or compared, so "é" and "e\u0301" are one name.

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

/**
 * The form a typed name is stored and compared in: NFC, trimmed.
 *
 * @example normalizeTypedName(' Ferme Be\u0301langer ') // 'Ferme Bélanger' (one code point for é)
 */
export const normalizeTypedName = (text: string): string => text.normalize('NFC').trim();
