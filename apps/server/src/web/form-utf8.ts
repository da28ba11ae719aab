// Form fields whose bytes are not UTF-8. Browsers send forms in the page's encoding (UTF-8 here), but
// a client that sends Latin-1 — `%E9` for "é" — had its bytes silently turned into U+FFFD by the form
// parser, and stored so. Refused instead (422 naming the field), like the JSON API's bodies.

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** `a+b%E9` → its bytes (`+` is a space, `%XX` a byte; a malformed `%` stays as it is, as URLSearchParams does). */
function percentBytes(part: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const b = part[i]!;
    const hex = b === 0x25 && i + 2 < part.length ? String.fromCharCode(part[i + 1]!, part[i + 2]!) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(b === 0x2b ? 0x20 : b);
  }
  return Uint8Array.from(out);
}

const decodes = (bytes: Uint8Array) => {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Names of the urlencoded fields whose name or value is not UTF-8 once percent-decoded (each once). */
function urlencodedFields(body: Uint8Array): string[] {
  const bad = new Set<string>();
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i < body.length && body[i] !== 0x26) continue;
    const pair = body.subarray(start, i);
    start = i + 1;
    if (pair.length === 0) continue;
    const eq = pair.indexOf(0x3d);
    const name = percentBytes(eq < 0 ? pair : pair.subarray(0, eq));
    const value = percentBytes(eq < 0 ? new Uint8Array() : pair.subarray(eq + 1));
    if (!decodes(name) || !decodes(value)) bad.add(lenient.decode(name));
  }
  return [...bad];
}

/**
 * The fields of a posted form that were not UTF-8, by name. urlencoded: each name and value is
 * percent-decoded and decoded strictly. multipart: the parser has already decoded the text parts
 * leniently, so a text field holding U+FFFD counts as undecodable when the raw body holds no
 * U+FFFD itself (EF BF BD) — a form that really sends U+FFFD is left alone.
 */
export function undecodableFormFields(
  type: string,
  body: Uint8Array,
  form: Record<string, unknown>,
): string[] {
  if (type === 'application/x-www-form-urlencoded') return urlencodedFields(body);
  if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes('\uFFFD')) return [];
  return Object.entries(form)
    .filter(([, v]) =>
      (Array.isArray(v) ? v : [v]).some((x) => typeof x === 'string' && x.includes('\uFFFD')),
    )
    .map(([name]) => name);
}
