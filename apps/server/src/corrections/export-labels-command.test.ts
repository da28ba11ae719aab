import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type LocalS3, startS3rver } from '@cti/testkit';
import sharp from 'sharp';
import { createS3Client } from '../storage/s3-client.ts';
import { StorageUnavailableError } from '../storage/storage-unavailable.ts';
import { apiClient } from '../test-api-client.ts';
import { createTestApp, SOURCE_NODE_ARGS, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { startTcpProxy } from '../test-tcp-proxy.ts';
import { parseExportLabelsArgs } from './export-labels-command.ts';
import { exportLabels } from './label-export.ts';
import {
  editorPng,
  type PhantomScan,
  phantomScan,
  seedCorrectableScan,
  sha256,
} from './test-correction-world.ts';

// `cti-server export-labels`, spawned from source against Postgres + PostGIS and s3rver, after
// corrections made through the real API: the pairs, their bytes and lineage, filters, idempotent
// re-runs, a tampered image refused by its sha256, and the exit statuses.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'cti-labels-test';
const MAIN = new URL('../main.ts', import.meta.url).pathname;

let db: TestDatabase;
let s3: LocalS3;
let app: TestApp;
let frame: PhantomScan;
let work: string;
const w = {} as {
  farmA: string;
  farmB: string;
  tech: string;
  admin: string;
  scan1: { scanId: string; resultId: string | null; imageKey: string };
  scan2: { scanId: string; resultId: string | null; imageKey: string };
  first: string;
  second: string;
  other: string;
  between: string;
};

async function correctAs(email: string, scanId: string, mask = frame.truth, fatLine = '') {
  const c = apiClient(app.app);
  assert.equal((await c.signIn(email, TEST_PASSWORD)).status, 200);
  const body = new FormData();
  body.append('mask', new Blob([await editorPng(mask)], { type: 'image/png' }), 'mask.png');
  body.append('fat_line', fatLine);
  const res = await c.request('POST', `/api/v1/scans/${scanId}/corrections`, { body });
  assert.equal(res.status, 201, res.text);
  return res.body.grading_result.id as string;
}

before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  frame = await phantomScan();
  work = await mkdtemp(join(tmpdir(), 'cti-labels-'));
  const sql = db.sql;
  w.farmA = await seedFarm(sql, 'Maple Farm');
  w.farmB = await seedFarm(sql, 'Birch Farm', { lon: -80, lat: 42 });
  const devA = await seedDevice(sql, 'dev-a', w.farmA);
  const devB = await seedDevice(sql, 'dev-b', w.farmB);
  w.tech = (await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: w.farmA }] })).id;
  w.admin = (await seedUser(sql, 'admin@example.com', ['admin'])).id;
  const seed = (farmId: string, deviceId: string, captureId: string) =>
    seedCorrectableScan(sql, s3.client, { bucket: BUCKET, farmId, deviceId, frame, captureId });
  w.scan1 = await seed(w.farmA, devA, 'cap_one');
  w.scan2 = await seed(w.farmB, devB, 'cap_two');
  await seed(w.farmA, devA, 'cap_never_corrected');
  app = createTestApp(sql, {
    api: {
      signedUrlTtlSeconds: 120,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: undefined,
    },
  });
  // scan 1 corrected twice (the second with a drawn fat line), scan 2 once, in this order.
  w.first = await correctAs('tech@example.com', w.scan1.scanId);
  w.between = (await sql`SELECT now() AS t`)[0]!.t.toISOString();
  w.second = await correctAs(
    'tech@example.com',
    w.scan1.scanId,
    frame.truth,
    '{"x1":60,"y1":20,"x2":60,"y2":44}',
  );
  w.other = await correctAs('admin@example.com', w.scan2.scanId);
});
after(async () => {
  await app?.close();
  await s3?.close();
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

type Run = { status: number | null; stdout: string; stderr: string };
/** `killAfterMs`: a guard for a run that could hang, so a hang fails the test (status null) instead of stalling it. */
function run(args: string[], env: Record<string, string> = {}, killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN, 'export-labels', ...args], {
      ...(killAfterMs ? { timeout: killAfterMs, killSignal: 'SIGKILL' as const } : {}),
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const manifestOf = async (dir: string) =>
  (await readFile(join(dir, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const object = async (key: string) =>
  new Uint8Array(
    await (
      await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    ).Body!.transformToByteArray(),
  );
/** Every file of the export with its bytes' sha256 and mtime. */
async function tree(dir: string) {
  const out: Record<string, { sha: string; mtime: number }> = {};
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    const s = await stat(path);
    if (s.isFile()) out[entry] = { sha: sha256(await readFile(path)), mtime: s.mtimeMs };
  }
  return out;
}

describe('cti-server export-labels', () => {
  test('the newest correction of each scan: image + mask (bytes as stored, sha256 checked) + lineage', async () => {
    const out = join(work, 'latest');
    const r = await run(['--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 of 2 correction\(s\) in .* \(2 written, 0 already there\); 0 failed/);
    const manifest = await manifestOf(out);
    assert.deepEqual(
      manifest.map((m) => m.result_id),
      [w.second, w.other],
      'oldest first, the newest correction of scan 1 only',
    );
    const [image] = await db.sql`SELECT sha256 FROM assets WHERE object_key = ${w.scan1.imageKey}`;
    const [mask] = await db.sql`
      SELECT a.object_key, a.sha256 FROM grading_result_assets gra JOIN assets a ON a.id = gra.asset_id
       WHERE gra.grading_result_id = ${w.second} AND gra.role = 'mask'`;
    const dir = join(out, w.second);
    assert.deepEqual((await readdir(dir)).sort(), ['image.png', 'label.json', 'mask.png']);
    assert.equal(sha256(await readFile(join(dir, 'image.png'))), image!.sha256.trim());
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'mask.png'))), await object(mask!.object_key));
    assert.equal(sha256(await readFile(join(dir, 'mask.png'))), mask!.sha256.trim());
    const { width, height } = await sharp(join(dir, 'mask.png')).metadata();
    assert.deepEqual([width, height], [frame.gray.width, frame.gray.height], 'the mask has the image size');

    const label = JSON.parse(await readFile(join(dir, 'label.json'), 'utf8'));
    const [row] = await db.sql`SELECT created_at FROM grading_results WHERE id = ${w.second}`;
    assert.equal(label.format, 'cti-label-1');
    assert.equal(label.scan_id, w.scan1.scanId);
    assert.equal(label.capture_id, 'cap_one');
    assert.equal(label.device_code, 'dev-a');
    assert.equal(label.image.sha256, image!.sha256.trim());
    assert.equal(label.image.source, `s3://${BUCKET}/${w.scan1.imageKey}`);
    assert.deepEqual([label.image.width, label.image.height], [frame.gray.width, frame.gray.height]);
    assert.equal(label.model_name, 'manual');
    assert.equal(label.result_id, w.second);
    // The person as an id and roles only: no email or name in training data.
    assert.deepEqual(label.created_by, { id: w.tech, roles: ['technician'] });
    assert.doesNotMatch(await readFile(join(dir, 'label.json'), 'utf8'), /example\.com/);
    assert.equal(label.created_at, row!.created_at.toISOString());
    assert.equal(label.based_on_result_id, w.first, 'it corrected the first correction');
    assert.equal(label.model_result.id, w.scan1.resultId, '…which corrected the model’s result');
    assert.equal(label.model_result.model_name, 'ribeye-seg');
    assert.equal(label.model_result.model_version, '2.3.0');
    assert.equal(label.pixel_spacing_mm, frame.spacingMm);
    assert.equal(label.pixel_spacing_source, 'ruler');
    assert.deepEqual([label.pixel_aspect, label.pixel_aspect_source], [1, 'assumed_square']);
    assert.deepEqual(label.fat_line, { x1: 60, y1: 20, x2: 60, y2: 44 });
    assert.equal(label.measurements.fat_thickness_px, 24);
    // The manifest: the lineage in brief and every file with its sha256 (as the files hold them).
    const { image: mImage, mask: mMask, label: mLabel, ...lineage } = manifest[0];
    assert.deepEqual(lineage, {
      result_id: w.second,
      model_name: 'manual',
      created_by: w.tech,
      created_at: row!.created_at.toISOString(),
      scan_id: w.scan1.scanId,
      capture_id: 'cap_one',
      based_on_result_id: w.first,
      model: 'ribeye-seg@2.3.0',
      pixel_spacing_mm: frame.spacingMm,
      pixel_spacing_source: 'ruler',
      pixel_aspect: 1,
      pixel_aspect_source: 'assumed_square',
    });
    for (const [entry, name] of [
      [mImage, 'image.png'],
      [mMask, 'mask.png'],
      [mLabel, 'label.json'],
    ] as const) {
      assert.equal(entry.file, `${w.second}/${name}`);
      assert.equal(entry.sha256, sha256(await readFile(join(out, entry.file))), name);
    }
    assert.equal(mImage.sha256, image!.sha256.trim());
    assert.equal(manifest[1].created_by, w.admin);
    assert.doesNotMatch(await readFile(join(out, 'manifest.jsonl'), 'utf8'), /example\.com/);
  });

  test('a re-run writes nothing new and leaves the same bytes; filters; every correction with --all-corrections', async () => {
    const out = join(work, 'latest');
    const before = await tree(out);
    const again = await run(['--out', out]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /\(0 written, 2 already there\); 0 failed/);
    const afterRun = await tree(out);
    assert.deepEqual(Object.keys(afterRun).sort(), Object.keys(before).sort());
    for (const [file, { sha, mtime }] of Object.entries(before)) {
      assert.equal(afterRun[file]!.sha, sha, file);
      if (file !== 'manifest.jsonl') assert.equal(afterRun[file]!.mtime, mtime, `${file} not rewritten`);
    }
    // A damaged file of an exported pair is replaced by the next run.
    await writeFile(join(out, w.other, 'mask.png'), 'damaged');
    const repaired = await run(['--out', out]);
    assert.match(repaired.stdout, /\(1 written, 1 already there\)/);
    assert.equal((await tree(out))[join(w.other, 'mask.png')]!.sha, before[join(w.other, 'mask.png')]!.sha);

    const all = join(work, 'all-a');
    const a = await run(['--out', all, '--all-corrections', '--farm', w.farmA]);
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual(
      (await manifestOf(all)).map((m) => m.result_id),
      [w.first, w.second],
    );
    const since = join(work, 'since');
    const s = await run(['--out', since, '--all-corrections', '--since', w.between]);
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(
      (await manifestOf(since)).map((m) => m.result_id),
      [w.second, w.other],
    );
    // The same directory with a narrower selection: the other pairs stay, and the summary says so.
    const narrowed = await run(['--out', all, '--farm', w.farmA]);
    assert.match(narrowed.stdout, /1 of 1 .*; 1 older pair\(s\) not in this selection left as they are/);
  });

  test('--dry-run counts without S3 and writes nothing', async () => {
    const fresh = join(work, 'dry-new');
    const down = { S3_ENDPOINT: 'http://127.0.0.1:9' }; // no S3 request is made
    const r = await run(['--out', fresh, '--dry-run'], down);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /dry run: 2 of 2 correction\(s\) would be in .* \(2 to download, 0 already there\); 0 not exportable/,
    );
    await assert.rejects(stat(fresh), { code: 'ENOENT' }, 'no directory made');
    const existing = join(work, 'latest');
    const before = await tree(existing);
    const again = await run(['--out', existing, '--dry-run', '--all-corrections'], down);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /3 of 3 .* \(1 to download, 2 already there\)/);
    assert.deepEqual(await tree(existing), before, 'not a byte or mtime changed');
  });

  test('S3 lost in the middle: finished pairs are complete, the previous manifest stays, no temp file', async () => {
    const out = join(work, 'outage');
    const first = await run(['--out', out, '--farm', w.farmB]);
    assert.equal(first.status, 0, first.stderr);
    const previous = await readFile(join(out, 'manifest.jsonl'), 'utf8');
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    const client = createS3Client({
      endpoint: `http://127.0.0.1:${proxy.port}`,
      region: 'us-east-1',
      forcePathStyle: true,
    });
    // The third GET is the second pair's first: the first pair (two GETs) is read and written by then.
    let gets = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && ++gets === 3) await proxy.cut();
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      await assert.rejects(
        exportLabels({
          sql: db.sql,
          s3: client,
          out,
          selection: { allCorrections: true },
          problem: assert.fail,
        }),
        (err: Error) => err instanceof StorageUnavailableError && /S3 unavailable/.test(err.message),
      );
    } finally {
      client.destroy();
      await proxy.close();
    }
    assert.equal(
      await readFile(join(out, 'manifest.jsonl'), 'utf8'),
      previous,
      'the manifest is the previous run’s',
    );
    const files = Object.keys(await tree(out)).sort();
    assert.deepEqual(
      files,
      [
        'manifest.jsonl',
        ...[w.first, w.other]
          .sort()
          .flatMap((id) => ['image.png', 'label.json', 'mask.png'].map((f) => join(id, f))),
      ].sort(),
      'the first pair whole, the second not started, nothing half-written',
    );
    // The re-run finishes what the outage stopped.
    const rerun = await run(['--out', out, '--all-corrections']);
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stdout, /3 of 3 .* \(1 written, 2 already there\)/);
  });

  test('an image whose bytes differ from assets.sha256 is not exported (exit 1, named); the others are', async () => {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: w.scan2.imageKey,
        Body: await sharp(frame.png).negate().png().toBuffer(),
      }),
    );
    const out = join(work, 'tampered');
    const r = await run(['--out', out]);
    assert.equal(r.status, 1);
    const [image] = await db.sql`SELECT sha256 FROM assets WHERE object_key = ${w.scan2.imageKey}`;
    assert.match(
      r.stderr,
      new RegExp(
        `correction ${w.other} of scan ${w.scan2.scanId} \\(cap_two\\): s3://${BUCKET}/${w.scan2.imageKey} has sha256 [0-9a-f]{64}, not the ${image!.sha256.trim()} recorded in assets; not exported`,
      ),
    );
    assert.match(r.stderr, /1 correction\(s\) could not be exported/);
    assert.match(r.stdout, /1 of 2 correction\(s\) .*; 1 failed/);
    assert.deepEqual(
      (await manifestOf(out)).map((m) => m.result_id),
      [w.second],
    );
    assert.deepEqual(await readdir(out).then((e) => e.sort()), [w.second, 'manifest.jsonl'].sort());
  });

  test('clear errors: usage (2), configuration (78), an unknown farm (1), S3 down (1), an unusable directory (1)', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'not a directory');
    const usage = /usage: cti-server export-labels --out <dir>/;
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [[], {}, 2, /say where: --out <directory>/],
      [['--out', 'x', '--since', 'soon'], {}, 2, /--since "soon" is not a date/],
      [['--out', 'x', '--since', '2025-09-31'], {}, 2, /--since "2025-09-31" is not a date/],
      [['--out', 'x', '--farm', 'north'], {}, 2, /--farm "north" is not a farm uuid/],
      [['--out', 'x', '--everything'], {}, 2, /Unknown option '--everything'/],
      [['--out', join(work, 'x')], { DATABASE_URL: '' }, 78, /configuration error: DATABASE_URL/],
      [['--out', join(work, 'x')], { S3_ENDPOINT: 'ftp://nowhere' }, 78, /configuration error: S3_ENDPOINT/],
      [
        ['--out', join(work, 'x'), '--farm', '00000000-0000-4000-8000-000000000000'],
        {},
        1,
        /no farm with id 00000000-0000-4000-8000-000000000000/,
      ],
      [
        ['--out', join(work, 'down')],
        { S3_ENDPOINT: 'http://127.0.0.1:9' },
        1,
        /S3 unavailable.*re-run when S3 answers/,
      ],
      [['--out', file], {}, 1, new RegExp(`cannot write to ${file}`)],
    ];
    // Separate processes, so they may run at once.
    const results = await Promise.all(cases.map(([args, env]) => run(args, env)));
    for (const [i, [args, , status, problem]] of cases.entries()) {
      const r = results[i]!;
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, problem);
      if (status === 2) assert.match(r.stderr, usage);
    }
  });

  test('--out where no directory can be made (/proc) fails at once, naming it, instead of hanging', async () => {
    // Node's mkdir(…, { recursive: true }) never settles where the kernel answers ENOENT for a
    // directory whose parent exists, as /proc does: the export hung there, spinning.
    for (const out of ['/proc/cti-labels', '/proc/cti-labels/deeper', '/proc/self/cti-labels']) {
      const r = await run(['--out', out], {}, 60_000);
      assert.equal(r.status, 1, `${out}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot write to ${out}: ENOENT`), out);
    }
  });

  test('arguments parse into the selection', () => {
    const env = { S3_ENDPOINT: 'http://127.0.0.1:9000' };
    assert.deepEqual(parseExportLabelsArgs(['--out', 'd'], env).selection, { allCorrections: false });
    assert.equal(parseExportLabelsArgs(['--out', 'd'], env).dryRun, false);
    assert.equal(parseExportLabelsArgs(['--out', 'd', '--dry-run'], env).dryRun, true);
    assert.deepEqual(
      parseExportLabelsArgs(
        ['--out', 'd', '--all-corrections', '--since', '2025-09-01', '--farm', w.farmA.toUpperCase()],
        env,
      ).selection,
      { allCorrections: true, since: new Date('2025-09-01'), farmId: w.farmA },
    );
  });
});
