import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEidPattern, DEFAULT_EID_PATTERN, EidPatternError, parseEidLine } from './eid-pattern.ts';

const byDefault = compileEidPattern(DEFAULT_EID_PATTERN);

describe('ear-tag lines', () => {
  test('the formats of common readers give the 15 digits', () => {
    const cases: [string, string][] = [
      ['982000123456789', 'bare 15 digits'],
      ['982 000123456789', 'a space after the country code'],
      ['LA 982 000123456789', 'a prefix'],
      ['982000123456789 FDX-B', 'a suffix'],
      ['$982000123456789#', 'framing characters'],
      ['EID:982.000123456789;W=452', 'a dot after the country code, fields around it'],
      ['  982-000123456789  ', 'a dash, blanks'],
      ['HDX 982_000123456789', 'an underscore'],
    ];
    for (const [line, what] of cases) assert.equal(parseEidLine(line, byDefault), '982000123456789', what);
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
    ]) {
      assert.equal(parseEidLine(line, byDefault), null, JSON.stringify(line));
    }
  });

  test('a configured pattern: its capture groups joined are the tag', () => {
    const tagged = compileEidPattern('^TAG,(\\d{3}),(\\d{12}),');
    assert.equal(parseEidLine('TAG,982,000123456789,2025-09-09T14:17:50', tagged), '982000123456789');
    assert.equal(parseEidLine('982000123456789', tagged), null, 'only the configured format');
    const tooShort = compileEidPattern('ID=(\\d+)');
    assert.equal(parseEidLine('ID=12345', tooShort), null, 'groups must give 15 digits');
  });

  test('an unusable pattern is refused with the reason', () => {
    assert.throws(
      () => compileEidPattern('(\\d{15}'),
      (e: Error) => e instanceof EidPatternError && /not a valid regular expression/.test(e.message),
    );
    assert.throws(
      () => compileEidPattern('\\d{15}'),
      (e: Error) => e instanceof EidPatternError && /at least one capture group/.test(e.message),
    );
    assert.throws(() => compileEidPattern('(?:\\d{15})'), /at least one capture group/);
  });
});
