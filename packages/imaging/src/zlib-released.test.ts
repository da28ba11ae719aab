import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants, deflateSync } from 'node:zlib';
import { deflateReleased, inflateReleased } from './zlib-released.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

/** ArrayBuffer memory (MB) still held after `calls` calls of `run` and three young-generation collections. */
function heldAfter(calls: number, run: () => Uint8Array): number {
  gc({ type: 'major' });
  const before = process.memoryUsage().arrayBuffers;
  for (let k = 0; k < calls; k++) run()[0] = 1;
  for (let k = 0; k < 3; k++) gc({ type: 'minor' });
  return (process.memoryUsage().arrayBuffers - before) / 1e6;
}

const raw = Buffer.alloc(308_000);
for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 251;
const compressed = deflateSync(raw);

it('inflateReleased gives what inflateSync gives, and its output dies young', () => {
  const out = inflateReleased(compressed, { chunkSize: raw.length + 1 });
  assert.deepEqual(out, raw);
  // 20 outputs of 308 kB: node's own call keeps them all (~6 MB) to the next full collection.
  const held = heldAfter(20, () => inflateReleased(compressed, { chunkSize: raw.length + 1 }));
  assert.ok(held < 1, `${held.toFixed(2)} MB still held after three scavenges`);
});

it('deflateReleased gives what deflateSync gives, and its output dies young', () => {
  const options = { level: 1, strategy: constants.Z_HUFFMAN_ONLY, chunkSize: 512 << 10 };
  assert.deepEqual(deflateReleased(raw, options), deflateSync(raw, options));
  const held = heldAfter(20, () => deflateReleased(raw, options));
  assert.ok(held < 1, `${held.toFixed(2)} MB still held after three scavenges`);
});
