import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeBytes, outboxTempDir, sha256 } from '../test-support/outbox-fixtures.ts';
import type { TransferTarget } from './object-transfer.ts';
import { createReadBuffers, readAhead, readAheadBytes } from './read-ahead.ts';
import { IntegrityError } from './s3-errors.ts';

const t = outboxTempDir('read-ahead-');
mkdirSync(t.spoolDir, { recursive: true });
after(t.remove);

function spoolFile(name: string, data: Buffer): TransferTarget {
  const path = join(t.spoolDir, name);
  writeFileSync(path, data);
  return { bucket: 'b', key: `k/${name}`, name, path, sha256: sha256(data), sizeBytes: data.length };
}

test('files read ahead into one shared buffer come back byte-exact, each in its own slice', async () => {
  const targets = [
    spoolFile('image.png', fakeBytes(1, 70_001)),
    spoolFile('mask.png', fakeBytes(2, 9_000)),
    spoolFile('meta.json', Buffer.from('{"a":1}')),
  ];
  const buffers = createReadBuffers(1);
  const buffer = buffers.take(readAheadBytes(targets));
  const reads = readAhead(targets, buffer);
  for (const target of targets) {
    const data = await reads.get(target.name);
    assert.equal(data?.buffer, buffer?.buffer, `${target.name} was read into the shared buffer`);
    assert.equal(sha256(data as Buffer), target.sha256, `bytes of ${target.name}`);
  }
  await reads.settled();
  assert.equal(reads.get('other.png'), undefined);
});

for (const size of [5000, 100_000]) {
  // Small files are read synchronously, larger ones through the thread pool: both must agree.
  test(`a ${size} B spool file that grew, shrank, changed or vanished fails its own read with an IntegrityError`, async () => {
    const file = (name: string, seed: number) => spoolFile(`${size}-${name}`, fakeBytes(seed, size));
    const grown = file('grown.png', 3);
    appendFileSync(grown.path, 'x');
    const shrunk = file('shrunk.png', 4);
    truncateSync(shrunk.path, size - 1);
    const changed = file('changed.png', 5);
    writeFileSync(changed.path, fakeBytes(6, size));
    const gone = file('gone.png', 7);
    rmSync(gone.path);
    const fine = file('fine.png', 8);
    const targets = [grown, shrunk, changed, gone, fine];
    const reads = readAhead(targets, Buffer.alloc(readAheadBytes(targets)));
    const failure = async (target: TransferTarget) => {
      const error = await reads.get(target.name)?.then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof IntegrityError, `${target.name}: ${error}`);
      return error.message;
    };
    assert.match(
      await failure(grown),
      new RegExp(`grown\\.png changed since capture: larger than the ${size} B`),
    );
    assert.match(
      await failure(shrunk),
      new RegExp(`shrunk\\.png changed since capture: .*\\(${size - 1} B\\)`),
    );
    assert.match(
      await failure(changed),
      new RegExp(`changed\\.png changed since capture: sha256 [0-9a-f]{64} \\(${size} B\\)`),
    );
    assert.match(await failure(gone), /gone\.png is missing/);
    assert.equal(sha256((await reads.get(fine.name)) as Buffer), fine.sha256, 'the others still read fine');
  });
}

test('read buffers are reused up to the kept count and never handed out twice', () => {
  const buffers = createReadBuffers(2);
  assert.equal(buffers.take(0), undefined);
  const a = buffers.take(1000) as Buffer;
  const b = buffers.take(600_000) as Buffer;
  assert.ok(a.length >= 1000 && b.length >= 600_000);
  assert.notEqual(a, b);
  buffers.give(a);
  buffers.give(b);
  assert.equal(buffers.take(700_000)?.length, 700_000, 'none kept is large enough: a new one');
  assert.equal(buffers.take(550_000), b, 'the one large enough');
  assert.equal(buffers.take(10), a);
});
