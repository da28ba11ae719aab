import { metaSchema } from './meta-schema.ts';
import { joinPointer } from './problems.ts';

type SchemaNode = {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
};

// Schemas that `$ref` may name; the walk stops at any other reference.
const known = new Map<string, SchemaNode>([[metaSchema.$id, metaSchema as SchemaNode]]);

function isPlainObject(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

function walk(schema: SchemaNode | undefined, data: unknown, pointer: string, found: string[]): void {
  const node = schema?.$ref ? known.get(schema.$ref) : schema;
  if (!node) return;
  if (Array.isArray(data) && node.items) {
    data.forEach((item, i) => {
      walk(node.items, item, joinPointer(pointer, i), found);
    });
    return;
  }
  if (!isPlainObject(data) || !node.properties) return;
  for (const [key, value] of Object.entries(data)) {
    const at = joinPointer(pointer, key);
    const declared = Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
    if (declared) walk(declared, value, at, found);
    else if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, value, at, found);
    else if (node.additionalProperties === undefined) found.push(at);
  }
}

/**
 * JSON pointers of properties that `schema` does not declare. Open schemas (meta.json, the webhook
 * body) accept such properties for forward compatibility within a major version; this lists them
 * so callers can log or warn about them (a typo in an optional field shows up here).
 *
 * @example unknownFields(metaSchema, { ...meta, captured_on: '…' }) // ['/captured_on']
 */
export function unknownFields(schema: object, data: unknown): string[] {
  const found: string[] = [];
  walk(schema as SchemaNode, data, '', found);
  return found;
}

function strip(schema: SchemaNode | undefined, data: unknown): unknown {
  const node = schema?.$ref ? known.get(schema.$ref) : schema;
  if (!node) return data;
  if (Array.isArray(data)) return node.items ? data.map((item) => strip(node.items, item)) : data;
  if (!isPlainObject(data) || !node.properties) return data;
  const kept: [string, unknown][] = [];
  for (const [key, value] of Object.entries(data)) {
    const declared = Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
    if (declared) kept.push([key, strip(declared, value)]);
    else if (typeof node.additionalProperties === 'object')
      kept.push([key, strip(node.additionalProperties, value)]);
    else if (node.additionalProperties === true) kept.push([key, value]);
  }
  return Object.fromEntries(kept);
}

/**
 * A copy of `data` without the properties `schema` does not declare (those `unknownFields` lists), at
 * any depth; declared properties, array items and an object's typed `additionalProperties` are kept.
 * For storing a document of an open schema: what is kept is bounded by the schema's own limits, not
 * by what a sender chose to add (the server keeps a heartbeat's known fields only).
 *
 * @example withoutUnknownFields(heartbeatSchema, { ...heartbeat, padding: 'x'.repeat(60_000) }) // no padding
 */
export function withoutUnknownFields<T>(schema: object, data: T): T {
  return strip(schema as SchemaNode, data) as T;
}
