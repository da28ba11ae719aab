import { joinPointer, type Problem } from './problems.ts';

const NUL = '\u0000';

type Item = { value: unknown; pointer: string; depth: number } | { keyAt: string };

/**
 * Every string and property name holding U+0000 in a parsed JSON value, as problems with JSON
 * pointers under `pointer`, in document order. Postgres text and jsonb cannot store U+0000, so the
 * server refuses such a webhook or heartbeat with a 422 and the agent and relay refuse such a
 * meta.json at the source. With `maxDepth`, an object or array at that depth (the root is 0) is one
 * problem at its pointer and is not walked. Iterative: a deeply nested value cannot overflow the stack.
 *
 * @example nulProblems({ operator_id: 'a\u0000b' }) // [{ pointer: '/operator_id', message: … }]
 */
export function nulProblems(value: unknown, { pointer = '', maxDepth = Infinity } = {}): Problem[] {
  const problems: Problem[] = [];
  const stack: Item[] = [{ value, pointer, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as Item;
    if ('keyAt' in item) {
      problems.push({ pointer: item.keyAt, message: 'property names must not contain U+0000' });
      continue;
    }
    const { value: v, pointer: at, depth } = item;
    if (typeof v === 'string') {
      if (v.includes(NUL))
        problems.push({ pointer: at, message: 'must not contain the NUL character (U+0000)' });
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
      if (key.includes(NUL)) stack.push({ keyAt: at });
    }
  }
  return problems;
}
