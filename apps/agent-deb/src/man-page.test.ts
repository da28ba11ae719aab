import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { manPage } from './man-page.ts';
import { run } from './run-command.ts';

describe('cti-agent(1)', () => {
  test('the usage text comes through literally and groff has nothing to warn about', async () => {
    const usage =
      'usage: cti-agent [--config <file>] <command>\n.dot-line and \\back\\slash\n  run   the service\n';
    const page = manPage({
      usage,
      version: '0.1.0+git20261205T025925.a99a3a2',
      date: new Date('2026-12-05T00:00:00Z'),
    });
    assert.match(page, /^\.TH CTI\\-AGENT 1 "2026-12-05"/);
    assert.match(page, /^\\&\.dot\\-line and \\eback\\eslash$/m);
    const dir = mkdtempSync(join(tmpdir(), 'cti-man-test-'));
    try {
      writeFileSync(join(dir, 'cti-agent.1'), page);
      const rendered = await run('groff', ['-man', '-Tutf8', '-ww', join(dir, 'cti-agent.1')]);
      assert.equal(rendered.stderr, '');
      assert.match(rendered.stdout, /usage: cti-agent \[--config <file>\] <command>/);
      assert.match(rendered.stdout, /\.dot-line and \\back\\slash/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
