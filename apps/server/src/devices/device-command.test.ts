import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { parseDeviceSecret } from '@cti/contracts';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { createDeviceCommand, parseDuration } from './device-command.ts';

// `cti-server device …` against a real migrated database: spawned as an operator runs it (the command
// table in main.ts, stdout/stderr, exit status), and in-process through the same command object for
// the remaining cases (a node start per case costs seconds on a loaded CI machine).

const MAIN = new URL('../main.ts', import.meta.url).pathname;
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db?.drop());

type Run = { code: number; stdout: string; stderr: string };

function spawned(args: string[], env: Record<string, string | undefined> = { DATABASE_URL: db.url }) {
  return new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [...SOURCE_NODE_ARGS, MAIN, 'device', ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function device(
  args: string[],
  env: Record<string, string | undefined> = { DATABASE_URL: db.url },
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const command = createDeviceCommand({ io: { out: (s) => (stdout += s), err: (s) => (stderr += s) }, env });
  const code = (await command.run(args)) ?? 0;
  return { code, stdout, stderr };
}

const keysOf = (code: string) => db.sql<
  { public_key: Buffer; fingerprint: string; expires_at: Date | null }[]
>`
  SELECT k.public_key, k.fingerprint, k.expires_at FROM device_keys k JOIN devices d ON d.id = k.device_id
  WHERE d.device_code = ${code} ORDER BY k.id`;

describe('cti-server device', () => {
  test('add prints the secret once, alone on stdout; the server keeps only its public key', async () => {
    const { code, stdout, stderr } = await spawned(['add', 'pi-barn-1', '--label', 'Barn 1']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^ctidk1\.pi-barn-1\.[A-Za-z0-9_-]+\n$/);
    const secret = parseDeviceSecret(stdout);
    const [key, ...more] = await keysOf('pi-barn-1');
    assert.equal(more.length, 0);
    assert.deepEqual(key!.public_key, secret.publicKey);
    assert.equal(key!.fingerprint, secret.fingerprint);
    assert.equal(key!.expires_at, null);
    assert.match(stderr, new RegExp(`key ${secret.fingerprint}`));
    assert.match(stderr, /install -m 0600 -o root -g root \/dev\/stdin \/etc\/cti\/device-secret/);
    const stored = JSON.stringify(await db.sql`SELECT * FROM device_keys`);
    assert.ok(!stored.includes(stdout.trim().split('.')[2]!.slice(0, 30)), 'no trace of the private key');
    const [dev] = await db.sql`SELECT label, captures_count FROM devices WHERE device_code = 'pi-barn-1'`;
    assert.deepEqual(dev, { label: 'Barn 1', captures_count: 0 });
  });

  test('add on a device that already has a key is refused (exit 1) and changes nothing', async () => {
    await device(['add', 'pi-barn-2']);
    const before = await keysOf('pi-barn-2');
    const { code, stdout, stderr } = await device(['add', 'pi-barn-2']);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /already has key [0-9a-f]{16} .*rotate-secret pi-barn-2/);
    assert.deepEqual(await keysOf('pi-barn-2'), before);
  });

  test('add gives a device created by ingest (no key yet) its first key', async () => {
    await db.sql`INSERT INTO devices (device_code, captures_count) VALUES ('pi-ingested', 12)`;
    const { code } = await device(['add', 'pi-ingested']);
    assert.equal(code, 0);
    assert.equal((await keysOf('pi-ingested')).length, 1);
    const [dev] = await db.sql`SELECT captures_count FROM devices WHERE device_code = 'pi-ingested'`;
    assert.equal(dev!.captures_count, 12);
  });

  test('add --farm sets the default farm, named by its exact name or its id (spawned as an operator runs it)', async () => {
    const [north] = await db.sql<
      { id: string }[]
    >`INSERT INTO farms (name) VALUES ('North Farm') RETURNING id`;
    const byName = await spawned(['add', 'pi-farm-1', '--farm', 'North Farm', '--label', 'Chute']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /^ctidk1\.pi-farm-1\./);
    assert.match(byName.stderr, new RegExp(`Device pi-farm-1 works on farm "North Farm" \\(${north!.id}\\)`));
    const byId = await device(['add', 'pi-farm-2', '--farm', north!.id.toUpperCase()]);
    assert.equal(byId.code, 0, byId.stderr);
    // A device ingest made (no key yet) keeps its counts and gets the farm with its first key.
    await db.sql`INSERT INTO devices (device_code, label, captures_count) VALUES ('pi-farm-3', 'Old', 4)`;
    assert.equal((await device(['add', 'pi-farm-3', '--farm', 'North Farm'])).code, 0);
    const rows = await db.sql`
      SELECT device_code, label, farm_id, captures_count FROM devices WHERE device_code LIKE 'pi-farm-%' ORDER BY 1`;
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        { device_code: 'pi-farm-1', label: 'Chute', farm_id: north!.id, captures_count: 0 },
        { device_code: 'pi-farm-2', label: null, farm_id: north!.id, captures_count: 0 },
        { device_code: 'pi-farm-3', label: 'Old', farm_id: north!.id, captures_count: 4 },
      ],
    );
  });

  test('add --farm naming no farm, or two, is refused (exit 1) naming it, and writes nothing: no device, no key', async () => {
    await db.sql`INSERT INTO farms (name) VALUES ('Twin'), ('Twin')`;
    const cases: [string, RegExp][] = [
      [
        'Nowhere',
        /^cti-server device: --farm "Nowhere" names no farm \(give a farm's id or its exact name\)\n$/,
      ],
      ['north farm', /--farm "north farm" names no farm/],
      ['00000000-0000-4000-8000-000000000000', /--farm "00000000-0000-4000-8000-000000000000" names no farm/],
      ['Twin', /--farm "Twin" names 2 farms: give the id of one \([0-9a-f-]{36}, [0-9a-f-]{36}\)/],
    ];
    for (const [farm, message] of cases) {
      const r = await device(['add', 'pi-nofarm', '--farm', farm]);
      assert.equal(r.code, 1, farm);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'no secret printed');
    }
    assert.equal((await db.sql`SELECT 1 FROM devices WHERE device_code = 'pi-nofarm'`).length, 0);
    // An existing device without a key: its farm and label stay as they were.
    await db.sql`INSERT INTO devices (device_code, label, captures_count) VALUES ('pi-kept', 'Kept', 1)`;
    assert.equal((await device(['add', 'pi-kept', '--farm', 'Nowhere', '--label', 'New'])).code, 1);
    const [kept] = await db.sql`SELECT label, farm_id FROM devices WHERE device_code = 'pi-kept'`;
    assert.deepEqual({ ...kept }, { label: 'Kept', farm_id: null });
    assert.equal((await keysOf('pi-kept')).length, 0);
  });

  test('rotate-secret: a new key, the old one expiring after the overlap', async () => {
    await device(['add', 'pi-barn-3']);
    const started = Date.now();
    const { code, stdout, stderr } = await device(['rotate-secret', 'pi-barn-3', '--overlap', '2h']);
    assert.equal(code, 0, stderr);
    const [old, next] = await keysOf('pi-barn-3');
    assert.deepEqual(next!.public_key, parseDeviceSecret(stdout).publicKey);
    assert.equal(next!.expires_at, null);
    const overlap = old!.expires_at!.getTime() - started;
    assert.ok(overlap > 7_190_000 && overlap <= 7_200_000 + 5_000, `overlap ${overlap} ms`);
    assert.match(stderr, /previous key stays valid for 2h/);
  });

  test('list shows every device with its keys', async () => {
    await device(['add', 'pi-barn-4']);
    const { code, stdout } = await device(['list']);
    assert.equal(code, 0);
    assert.match(stdout, /^pi-barn-1 \(Barn 1\) {2}last heartbeat never$/m);
    assert.match(stdout, /^pi-barn-3 .*\n {2}key [0-9a-f]{16} .*current.*\n {2}key [0-9a-f]{16} .*expires /m);
  });

  test('bad input: usage (2), an unknown device to rotate (1), no DATABASE_URL (78)', async () => {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /usage: cti-server device add/],
      [['add'], 2, /usage/],
      [['add', 'Pi 5'], 2, /"Pi 5" is not a device code/],
      [['add', 'pi-x', '--colour', 'red'], 2, /unknown option "--colour"/],
      [['add', 'pi-x', '--farm'], 2, /--farm needs a value/],
      [['rotate-secret', 'pi-barn-1', '--farm', 'North Farm'], 2, /unknown option "--farm"/],
      // the API's label rule (1–100 characters on one line): an escape sequence would reach every
      // terminal running `device list`, and the API would refuse to store either label
      [
        ['add', 'pi-x', '--label', 'Barn \u001b[2J1'],
        2,
        /--label must be 100 characters or fewer on one line.*; it contains U\+001B \(control character\) at position 6: remove it/,
      ],
      [['add', 'pi-x', '--label', 'x'.repeat(101)], 2, /--label must be 100 characters/],
      [['add', 'pi-x', '--label', '  '], 2, /at least one visible character/],
      // NFC lengthens U+0958 to two code points: counted as stored, not as typed (review r13 F8)
      [['add', 'pi-x', '--label', '\u0958'.repeat(100)], 2, /--label must be 100 characters .*normalised/],
      [
        ['retire', 'pi-x', '--reason', '\u0958'.repeat(500)],
        2,
        /--reason must be 500 characters .*normalised/,
      ],
      [['rotate-secret', 'pi-barn-1', '--overlap', '2y'], 2, /--overlap "2y" is not a duration/],
      [['rotate-secret', 'pi-nope'], 1, /no device pi-nope/],
    ];
    for (const [args, exit, message] of cases) {
      const r = await device(args);
      assert.equal(r.code, exit, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    const noDb = await spawned(['list'], {});
    assert.equal(noDb.code, 78);
    assert.match(noDb.stderr, /configuration error: DATABASE_URL is not set/);
    // A mistyped command line gets its usage, not a configuration error, whether or not the database is
    // configured (review r25: it got 78 naming DATABASE_URL).
    for (const [args, message] of [
      [['ad', 'pi-x'], /^usage: cti-server device add/],
      [['rotate-secret', 'pi-x', '--overlap', '2y'], /--overlap "2y" is not a duration/],
      [['retire', 'Pi 5'], /"Pi 5" is not a device code/],
    ] as const) {
      const r = await spawned([...args], {});
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /configuration error/);
    }
  });

  test('retire run by a uid without a passwd entry records "uid N (command line)" (review r13 F11)', {
    skip: process.getuid?.() !== 0 && 'needs root, to run the command as a uid without a passwd entry',
  }, async () => {
    await device(['add', 'pi-barn-9']);
    const uid = 54321; // no passwd entry: os.userInfo() throws ENOENT for it
    const run = await new Promise<Run>((resolve) => {
      execFile(
        'setpriv',
        [
          '--reuid',
          String(uid),
          '--regid',
          String(uid),
          '--clear-groups',
          process.execPath,
          ...SOURCE_NODE_ARGS,
          MAIN,
          'device',
          'retire',
          'pi-barn-9',
          '--reason',
          'test',
        ],
        { env: { PATH: process.env.PATH, DATABASE_URL: db.url } },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(run.code, 0, run.stderr);
    const [row] = await db.sql`SELECT retired_by FROM devices WHERE device_code = 'pi-barn-9'`;
    assert.equal(row!.retired_by, `uid ${uid} (command line)`);
  });

  test('durations', () => {
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('24h'), 86_400);
    assert.equal(parseDuration('30d'), 30 * 86_400);
    for (const bad of ['31d', '1.5h', '-1h', 'h', '', '2w']) assert.equal(parseDuration(bad), null, bad);
  });
});
