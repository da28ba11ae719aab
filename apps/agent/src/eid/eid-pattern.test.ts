import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EID_LINE_PATTERN, parseEidLine } from '@cti/contracts';
import { compileEidPattern, EidPatternError } from './eid-pattern.ts';

// The line formats themselves are @cti/contracts' (eid-line.test.ts): the default pattern is the one
// the server reads pasted reader lines with. Here: what the agent does with eid_reader.pattern.

describe('eid_reader.pattern', () => {
  test('the default compiles and reads a reader line with its prefix and suffix', () => {
    const byDefault = compileEidPattern(EID_LINE_PATTERN);
    assert.equal(parseEidLine('LA 982 000123456789 FDX-B\r', byDefault), '982000123456789');
    assert.equal(parseEidLine('000 000000000000', byDefault), null, "a reader's nothing read");
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
