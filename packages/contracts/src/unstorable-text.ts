import { joinPointer, type Problem } from './problems.ts';

type Item = { value: unknown; pointer: string; depth: number } | { keyAt: string; key: string };

// With the u flag a surrogate pair is one code point, so \p{Cs} matches only an unpaired surrogate.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why Postgres text/jsonb cannot store `s` as sent: messages for a string value and a property name. */
function textFaults(s: string): { value: string; key: string }[] {
  const faults: { value: string; key: string }[] = [];
  if (s.includes('\u0000'))
    faults.push({
      value: 'must not contain the NUL character (U+0000)',
      key: 'property names must not contain U+0000',
    });
  const lone = LONE_SURROGATE.exec(s)?.[0];
  if (lone !== undefined) {
    const what = `an unpaired surrogate (U+${lone.charCodeAt(0).toString(16).toUpperCase()})`;
    faults.push({
      value: `must not contain ${what}: it is not a character`,
      key: `property names must not contain ${what}`,
    });
  }
  return faults;
}

/**
 * Every string and property name holding text that Postgres text and jsonb cannot store as sent — U+0000
 * (refused by Postgres) or an unpaired UTF-16 surrogate such as JSON's `"\ud800"` (not a character:
 * it would be stored silently as U+FFFD) — as problems with JSON pointers under `pointer`, in document
 * order, one message per fault. The server refuses such a JSON body, webhook or heartbeat with a 422
 * and the agent and relay refuse such a meta.json at the source. With `maxDepth`, an object or array
 * at that depth (the root is 0) is one problem at its pointer and is not walked. Iterative: a deeply
 * nested value cannot overflow the stack.
 *
 * @example unstorableTextProblems({ operator_id: 'a\u0000b' }) // [{ pointer: '/operator_id', message: … }]
 */
export function unstorableTextProblems(
  value: unknown,
  { pointer = '', maxDepth = Infinity } = {},
): Problem[] {
  const problems: Problem[] = [];
  const stack: Item[] = [{ value, pointer, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as Item;
    if ('keyAt' in item) {
      for (const fault of textFaults(item.key)) problems.push({ pointer: item.keyAt, message: fault.key });
      continue;
    }
    const { value: v, pointer: at, depth } = item;
    if (typeof v === 'string') {
      for (const fault of textFaults(v)) problems.push({ pointer: at, message: fault.value });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) {
      problems.push({
        pointer: at,
        message: `must not nest objects or arrays more than ${maxDepth} levels deep`,
      });
      continue;
    }
    const entries = Object.entries(v);
    // Pushed last-first, each child after its key's marker, so they pop in document order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown];
      stack.push({ value: child, pointer: joinPointer(at, key), depth: depth + 1 });
      if (textFaults(key).length > 0) stack.push({ keyAt: at, key });
    }
  }
  return problems;
}
