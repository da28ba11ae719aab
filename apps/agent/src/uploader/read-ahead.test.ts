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

test('a spool file that grew, shrank, changed or vanished fails its own read with an IntegrityError', async () => {
  const grown = spoolFile('grown.png', fakeBytes(3, 5000));
  appendFileSync(grown.path, 'x');
  const shrunk = spoolFile('shrunk.png', fakeBytes(4, 5000));
  truncateSync(shrunk.path, 4999);
  const changed = spoolFile('changed.png', fakeBytes(5, 5000));
  writeFileSync(changed.path, fakeBytes(6, 5000));
  const gone = spoolFile('gone.png', fakeBytes(7, 10));
  rmSync(gone.path);
  const fine = spoolFile('fine.png', fakeBytes(8, 5000));
  const targets = [grown, shrunk, changed, gone, fine];
  const reads = readAhead(targets, Buffer.alloc(readAheadBytes(targets)));
  const failure = async (name: string) => {
    const error = await reads.get(name)?.then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof IntegrityError, `${name}: ${error}`);
    return error.message;
  };
  assert.match(
    await failure('grown.png'),
    /grown\.png changed since capture: larger than the 5000 B recorded/,
  );
  assert.match(await failure('shrunk.png'), /shrunk\.png changed since capture: .*\(4999 B\)/);
  assert.match(
    await failure('changed.png'),
    /changed\.png changed since capture: sha256 [0-9a-f]{64} \(5000 B\)/,
  );
  assert.match(await failure('gone.png'), /gone\.png is missing/);
  assert.equal(sha256((await reads.get('fine.png')) as Buffer), fine.sha256, 'the others still read fine');
});

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
