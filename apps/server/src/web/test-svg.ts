// Test helper (excluded from the build): read rendered markup back as data, to check chart geometry and
// component output without a DOM. Only for markup our own components render (double-quoted attributes).

export type Element = { attrs: Record<string, string>; text: string };

const decode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

function parseAttrs(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) attrs[m[1]!] = decode(m[2] ?? '');
  return attrs;
}

/**
 * Every `<tag …>` in `html` with its attributes and its direct text (up to the next tag), optionally
 * only those whose class list contains `className`.
 */
export function elements(html: string, tag: string, className?: string): Element[] {
  const found: Element[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}((?:\\s[^>]*)?)\\/?>([^<]*)`, 'g'))) {
    const attrs = parseAttrs(m[1] ?? '');
    if (className && !(attrs.class ?? '').split(/\s+/).includes(className)) continue;
    found.push({ attrs, text: decode(m[2] ?? '').trim() });
  }
  return found;
}

/** The numeric value of an attribute of each element. */
export const numbers = (els: Element[], name: string) => els.map((e) => Number(e.attrs[name]));

/** The texts of the `<text>` elements inside the first `<g class="…className…">` group. */
export function groupTexts(html: string, className: string): string[] {
  const start = html.search(new RegExp(`<g class="[^"]*\\b${className}\\b`));
  if (start < 0) return [];
  let depth = 0;
  let end = start;
  for (const m of html.slice(start).matchAll(/<(\/?)g\b[^>]*>/g)) {
    depth += m[1] ? -1 : 1;
    if (depth === 0) {
      end = start + m.index! + m[0].length;
      break;
    }
  }
  return elements(html.slice(start, end), 'text').map((e) => e.text);
}
