import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeScanCursor } from '../access/scan-cursor.ts';
import { CURSOR_MAX_LENGTH } from './common-schemas.ts';
import { decodeAnimalCursor, encodeCursor } from './list-cursor.ts';

const UUID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

/** The code point whose NFC form, written in JSON as the cursor writes it, takes the most bytes. */
function widestCodePoint(): string {
  let widest = '';
  let bytes = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const json = JSON.stringify(String.fromCodePoint(cp).normalize('NFC'));
    const n = Buffer.byteLength(json) - 2;
    if (n > bytes) [widest, bytes] = [String.fromCodePoint(cp), n];
  }
  return widest;
}

test('the longest cursor any list can hand out fits the cursor parameter with room to spare', () => {
  // Animals: a tag of 64 code points (shortText(64)), stored NFC-normalised.
  const tag = widestCodePoint().repeat(64).normalize('NFC');
  const animal = encodeCursor([tag, UUID]);
  assert.equal(animal.length, 1082, 'the figure common-schemas.ts states');
  assert.deepEqual(decodeAnimalCursor(animal), { tag, id: UUID });
  const scans = encodeScanCursor({ sortUs: '-210866803200000000', id: UUID });
  const notifications = encodeCursor(['9223372036854775807']);
  for (const cursor of [animal, scans, notifications]) assert.ok(cursor.length * 1.5 <= CURSOR_MAX_LENGTH);
});
