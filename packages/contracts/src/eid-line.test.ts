import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEidLine } from './eid-line.ts';

test('the formats of common readers give the 15 digits', () => {
  const cases: [string, string][] = [
    ['982000123456789', 'bare 15 digits'],
    ['982 000123456789', 'a space after the country code'],
    ['LA 982 000123456789', 'a prefix'],
    ['982000123456789 FDX-B', 'a suffix'],
    ['$982000123456789#', 'framing characters'],
    ['LA 982 000123456789\r', 'a prefix and the line end'],
    ['EID:982.000123456789;W=452', 'a dot after the country code, fields around it'],
    ['  982-000123456789  ', 'a dash, blanks'],
    ['HDX 982_000123456789', 'an underscore'],
  ];
  for (const [line, what] of cases) assert.equal(parseEidLine(line), '982000123456789', what);
});

test('garbage and near-misses are no tag', () => {
  for (const line of [
    '',
    'NO TAG',
    '\u0000\u00ff\u0013garbage',
    '98200012345678', // 14 digits
    '0982000123456789', // 16 digits: not a tag, nor is any 15 of them
    '982  000123456789', // two blanks
    '000 000000000000', // a reader's "nothing read"
    '982 00012345678x9',
    'A-101',
  ]) {
    assert.equal(parseEidLine(line), null, JSON.stringify(line));
  }
});

test("a pattern of its own (an agent's eid_reader.pattern): its groups joined must be 15 digits", () => {
  assert.equal(parseEidLine('TAG,982,000123456789,', /^TAG,(\d{3}),(\d{12}),/), '982000123456789');
  assert.equal(parseEidLine('ID=12345', /ID=(\d+)/), null);
});
