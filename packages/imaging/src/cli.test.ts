import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeGray } from './image-codec.ts';
import { maskBounds } from './phantom/generate-phantom.ts';

// The built CLI (the test script depends on build; see turbo.json).
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('cti-phantom CLI', () => {
  it('exports images, masks, labels and a manifest that agree with each other', async () => {
    assert.ok(existsSync(CLI), `build first: ${CLI} missing`);
    const out = await mkdtemp(join(tmpdir(), 'cti-phantom-'));
    const r = run([
      'export',
      '--out',
      out,
      '--count',
      '12',
      '--seed',
      '5',
      '--negatives',
      '0.4',
      '--max-side',
      '200',
      '--workers',
      '2',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.samples.length, 12);
    assert.ok(manifest.kinds.ribeye > 0 && manifest.kinds.ribeye < 12, JSON.stringify(manifest.kinds));
    for (const s of manifest.samples) {
      const labels = JSON.parse(await readFile(join(out, s.labels), 'utf8'));
      const image = await decodeGray(join(out, s.image));
      assert.equal(image.width, labels.width);
      assert.ok(Math.max(image.width, image.height) <= 200);
      if (labels.kind === 'ribeye' || labels.kind === 'ribeye_cut_off') {
        const mask = await decodeGray(join(out, labels.mask));
        const bits = mask.data.map((v) => (v > 127 ? 1 : 0));
        assert.deepEqual(maskBounds(bits, mask.width, mask.height), labels.ribeye_bbox);
        assert.equal(
          bits.reduce((a, v) => a + v, 0),
          labels.ribeye_area_px,
        );
      } else {
        assert.equal(labels.ribeye_bbox, null);
        assert.equal(labels.mask, null);
      }
    }
  });

  it('exports the same bytes whatever the worker count', async () => {
    const a = await mkdtemp(join(tmpdir(), 'cti-phantom-a-'));
    const b = await mkdtemp(join(tmpdir(), 'cti-phantom-b-'));
    assert.equal(
      run([
        'export',
        '--out',
        a,
        '--count',
        '4',
        '--seed',
        '8',
        '--preset',
        'heldout',
        '--size',
        '160x120',
        '--workers',
        '1',
      ]).status,
      0,
    );
    assert.equal(
      run([
        'export',
        '--out',
        b,
        '--count',
        '4',
        '--seed',
        '8',
        '--preset',
        'heldout',
        '--size',
        '160x120',
        '--workers',
        '3',
      ]).status,
      0,
    );
    for (const f of ['00003.png', '00003.json', 'manifest.json']) {
      assert.deepEqual(await readFile(join(a, f)), await readFile(join(b, f)), f);
    }
  });

  it('--realism: the manifest and every ribeye label record it; without it neither does', async () => {
    const on = await mkdtemp(join(tmpdir(), 'cti-phantom-r-'));
    const off = await mkdtemp(join(tmpdir(), 'cti-phantom-p-'));
    const args = ['--count', '6', '--seed', '4', '--size', '160x120', '--workers', '1'];
    assert.equal(run(['export', '--out', on, ...args, '--realism']).status, 0);
    assert.equal(run(['export', '--out', off, ...args]).status, 0);
    const read = async (dir: string, f: string) => JSON.parse(await readFile(join(dir, f), 'utf8'));
    assert.equal((await read(on, 'manifest.json')).realism, true);
    assert.equal((await read(off, 'manifest.json')).realism, undefined);
    for (const s of (await read(on, 'manifest.json')).samples) {
      assert.equal(s.kind, 'ribeye', 'negatives 0: every sample a ribeye');
      assert.ok((await read(on, s.labels)).params.realism, s.labels);
      assert.equal((await read(off, s.labels)).params.realism, undefined, s.labels);
    }
  });

  it('an output it cannot write: one line naming it, exit 1, and no image left without its labels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cti-phantom-w-'));
    const png = join(dir, 's.png');
    const r = run(['sample', '--seed', '1', '--out', png, '--labels', join(dir, 'no', 'such', 'l.json')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^cti-phantom: cannot write .*l\.json: ENOENT/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(png), false, 'the image is removed when its labels cannot be written');
    const out = run(['sample', '--seed', '1', '--out', join(dir, 'no', 's.png')]);
    assert.equal(out.status, 1, out.stderr);
    assert.match(out.stderr, /^cti-phantom: cannot write .*s\.png: ENOENT/);
    const notDir = run(['export', '--out', png.replace('s.png', ''), '--count', '1', '--seed', '1']);
    assert.equal(notDir.status, 0, notDir.stderr);
    const file = join(dir, 'manifest.json');
    const onFile = run(['export', '--out', file, '--count', '1', '--seed', '1', '--workers', '1']);
    assert.equal(onFile.status, 1, onFile.stderr);
    assert.match(onFile.stderr, /^cti-phantom: EEXIST: file already exists, mkdir/);
    assert.doesNotMatch(onFile.stderr, /\n\s+at /, 'no stack trace');
    if (existsSync('/proc/self')) {
      // Node's recursive mkdir spins forever there (the run's 120 s timeout would end it with no status).
      const proc = run(['export', '--out', '/proc/cti-x/y', '--count', '1', '--seed', '1', '--workers', '1']);
      assert.equal(proc.status, 1, proc.stderr);
      assert.match(proc.stderr, /^cti-phantom: ENOENT: no such file or directory, mkdir '\/proc\/cti-x'/);
    }
  });

  it('writes one sample and rejects bad arguments with exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cti-phantom-s-'));
    const r = run([
      'sample',
      '--seed',
      '3',
      '--out',
      join(dir, 'x.png'),
      '--labels',
      join(dir, 'x.json'),
      '--size',
      '300x200',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await decodeGray(join(dir, 'x.png'))).width, 300);
    assert.equal(JSON.parse(await readFile(join(dir, 'x.json'), 'utf8')).kind, 'ribeye');
    for (const bad of [
      ['export', '--out', dir, '--count', 'x', '--seed', '1'],
      ['sample', '--seed', '1'],
      ['frobnicate'],
      ['export', '--out', dir, '--count', '2', '--seed', '1', '--negatives', '2'],
    ]) {
      const e = run(bad);
      assert.equal(e.status, 2, `${bad.join(' ')}: ${e.stderr}`);
      assert.match(e.stderr, /cti-phantom: .+\nUsage:/);
    }
  });

  it('--help prints the usage on stdout (exit 0); an unknown option is named (exit 2)', () => {
    for (const args of [['--help'], ['-h'], ['help'], ['sample', '--help'], ['export', '-h']]) {
      const r = run(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage:\n {2}cti-phantom export/, args.join(' '));
      assert.equal(r.stderr, '', args.join(' '));
    }
    // Before or after the command: the one short line, not Node's parseArgs paragraph about '--'.
    for (const args of [
      ['--frobnicate'],
      ['export', '--frobnicate'],
      ['sample', '--seed', '1', '--frobnicate'],
    ]) {
      const e = run(args);
      assert.equal(e.status, 2, args.join(' '));
      assert.match(e.stderr, /^cti-phantom: unknown option "--frobnicate"\nUsage:/, args.join(' '));
      assert.equal(e.stdout, '', args.join(' '));
    }
  });
});
