import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAgentEnvFile, parseEnvironmentFile } from './agent-env-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-env-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('parsed as systemd’s EnvironmentFile= reads it: comments, quotes, escapes, no expansion', () => {
  const text = [
    '# comment',
    '; also a comment',
    '',
    'PLAIN=value',
    '  SPACED  =   padded value   ',
    'HASH=a # b',
    'DOUBLE="with \\"quotes\\", \\$HOME, \\\\ and \\n kept"',
    "SINGLE='no \\escapes $HOME'",
    'JOINED="a"\'b\'c',
    'CONTINUED=first \\',
    '  second',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion systemd leaves as it is
    'EXPANDED=$HOME/${USER}',
    'EMPTY=',
    'NO_EQUALS_SIGN',
    'export EXPORTED=1',
    '9BAD=1',
    'TWICE=1',
    'TWICE=2',
    'CRLF=x\r',
    'LAST=no newline at the end',
  ].join('\n');
  assert.deepEqual(Object.fromEntries(parseEnvironmentFile(text)), {
    PLAIN: 'value',
    SPACED: 'padded value',
    HASH: 'a # b',
    DOUBLE: 'with "quotes", $HOME, \\ and \\n kept',
    SINGLE: 'no \\escapes $HOME',
    JOINED: 'abc',
    CONTINUED: 'first   second',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the same, unexpanded
    EXPANDED: '$HOME/${USER}',
    EMPTY: '',
    TWICE: '2',
    CRLF: 'x',
    LAST: 'no newline at the end',
  });
  // The end of the file ends an escape or an open quote as a line end would (env-file.c).
  assert.deepEqual(Object.fromEntries(parseEnvironmentFile('A=x\\')), { A: 'x' });
  assert.deepEqual(Object.fromEntries(parseEnvironmentFile("A='open  ")), { A: 'open  ' });
  assert.deepEqual(Object.fromEntries(parseEnvironmentFile('A=')), { A: '' });
  assert.deepEqual(Object.fromEntries(parseEnvironmentFile('A=b  ')), { A: 'b' });
});

test('loaded below what is already set; a missing file is fine; names, never values, are reported', () => {
  const path = join(dir, 'agent.env');
  writeFileSync(path, 'AWS_ACCESS_KEY_ID=from-file\nCTI_S3_BUCKET=file-bucket\n');
  const env: NodeJS.ProcessEnv = { CTI_S3_BUCKET: 'mine', PATH: '/bin' };
  const loaded = loadAgentEnvFile(path, env, 'pi');
  assert.deepEqual(loaded, { path, present: true, applied: ['AWS_ACCESS_KEY_ID'], problem: null });
  assert.deepEqual(env, { CTI_S3_BUCKET: 'mine', PATH: '/bin', AWS_ACCESS_KEY_ID: 'from-file' });

  const missing = join(dir, 'nope.env');
  assert.deepEqual(loadAgentEnvFile(missing, {}, 'pi'), {
    path: missing,
    present: false,
    applied: [],
    problem: null,
  });
  assert.match(loadAgentEnvFile(dir, {}, 'pi').problem ?? '', /^cannot read \S+: EISDIR/);
});
