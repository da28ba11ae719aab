import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_S3_PEERS, withS3Peers } from '@cti/testkit';
import { loadConfig } from '../config/agent-config.ts';
import { createOutbox } from '../outbox/outbox.ts';
import { fakeCapture } from '../test-support/outbox-fixtures.ts';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { checkDataDir, checkDisk, checkS3 } from './doctor-checks.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
Object.assign(process.env, credentials);

function configFor(endpoint: string, bucket: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cti-doctor-s3-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: dir,
      source: { kind: 'simulated' },
      upload: { bucket, endpoint, region: 'us-east-1' },
    }),
  );
  return loadConfig(file, { ...process.env, ...credentials });
}

test('doctor s3: an endpoint answering 200 to everything (captive portal, wrong S3_ENDPOINT) fails, naming it', async () => {
  const portal = createServer((req, res) => {
    req.resume();
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(req.method === 'HEAD' ? undefined : '<html></html>');
  });
  await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => portal.close());
  const check = await checkS3(
    configFor(`http://127.0.0.1:${(portal.address() as AddressInfo).port}`, 'cti-dev'),
  );
  assert.equal(check.ok, false, check.detail);
  assert.match(
    check.detail,
    /^the endpoint answers 200 for cti-dev\/raw\/\.cti-doctor-[0-9a-f]+, which does not exist: not an S3 store$/,
  );
  assert.match(check.fix ?? '', /captive portal or proxy .* wrong S3_ENDPOINT/);
});

withS3Peers(ALL_S3_PEERS, (peer) => {
  test('doctor s3: a real store passes', async () => {
    const { endpoint, env } = peer();
    const bucket = await peer().createBucket();
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
    });
    const check = await checkS3(configFor(endpoint, bucket));
    assert.equal(check.ok, true, `${check.detail} ${check.fix ?? ''}`);
    assert.match(check.detail, new RegExp(`bucket ${bucket} reachable`));
  });
});

test('doctor data dir: outside /var/lib/cti it must be in the unit’s ReadWritePaths (systemctl show), else FAIL with the drop-in', () => {
  const config = configFor('http://127.0.0.1:9', 'cti-test');
  const dir = config.dataDir;
  const missing = checkDataDir(config, () => ['/var/lib/cti']);
  assert.equal(missing.ok, false);
  assert.match(
    missing.detail,
    /is not in cti-agent\.service's ReadWritePaths \(\/var\/lib\/cti\): read-only for the service/,
  );
  assert.equal(
    missing.fix,
    `sudo systemctl edit cti-agent → [Service] ReadWritePaths=${dir}, then sudo systemctl restart cti-agent`,
  );
  assert.equal(checkDataDir(config, () => ['/var/lib/cti', dirname(dir)]).ok, true);
  const noSystemd = checkDataDir(config, () => null);
  assert.equal(noSystemd.ok, true);
  assert.equal(noSystemd.warn, true);
});

test('doctor data dir: a file where data_dir should be (or above it) is a FAIL naming the setting (review r20 F8)', () => {
  const config = configFor('http://127.0.0.1:9', 'cti-test');
  const dir = mkdtempSync(join(tmpdir(), 'cti-doctor-file-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'outbox.db');
  writeFileSync(file, '');
  for (const dataDir of [file, join(file, 'sub')]) {
    const check = checkDataDir({ ...config, dataDir }, () => ['/var/lib/cti']);
    assert.equal(check.ok, false, dataDir);
    assert.equal(check.detail, `data_dir ${dataDir} is not a directory (a file is there)`);
    assert.match(
      check.fix ?? '',
      /point "data_dir" in the agent config at a directory \(default \/var\/lib\/cti\)/,
    );
  }
});

test('doctor disk: below the floor with captures given up whose files are kept, the fix names spool/discarded and what they hold (review r8 F7)', {
  skip: tmpfsSkip,
}, async () => {
  const volume = mountSmallVolume('4m');
  cleanups.push(volume.unmount);
  const file = join(volume.dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: volume.dir,
      source: { kind: 'simulated' },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
    }),
  );
  const config = loadConfig(file);
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes: 0,
  });
  for (const n of [1, 2, 3]) {
    await outbox.commitCapture(fakeCapture(n, { imageBytes: 400_000 }));
    outbox.store.quarantine(`cap_t0000${n}`, 'image.png', 'IntegrityError', 1);
  }
  outbox.discard('cap_t00001');
  outbox.discard('cap_t00002');
  outbox.close();
  volume.fill();
  const check = checkDisk(config);
  assert.equal(check.ok, false);
  const aside = join(config.paths.spoolDir, 'discarded');
  // Worded as the floor's refusal (one helper): 2 × (400 000 + 50 000 + meta.json) bytes.
  assert.match(
    check.fix ?? '',
    new RegExp(
      `^2 captures given up still hold 0\\.9 MB in ${aside} \\(safe to delete once salvaged: \`cti-agent outbox list --state discarded\`, export what you need, then \`rm -r ${aside}/<capture_id>\`\\); free space on that volume`,
    ),
  );
  assert.doesNotMatch(check.fix ?? '', /Do not delete outbox\.db or the spool$/);
});
