import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { LOCK_DEVICE_CLASS } from '@cti/db';
import { waitFor } from '@cti/testkit';
import { MAX_REFILE_SCANS } from '../access/device-move.ts';
import { addDeviceKey } from '../devices/device-keys.ts';
import { INGEST_DEVICE_LOCK_WAIT_MS } from '../devices/device-lock.ts';
import { heartbeatBody, signedHeartbeat } from '../devices/test-heartbeats.ts';
import { clientsByEmail, problemPointers } from '../test-api-client.ts';
import { sha256, signedInit, withRelayFields } from '../test-helpers.ts';
import { seedFarm } from '../test-seed.ts';
import { useDashboardApp } from '../web/pages/test-dashboard-seed.ts';

// A move recorded late, given the time it happened (review r15, design note; migration 0025), through
// PATCH /api/v1/devices/{id} on a real database (responses checked against the OpenAPI document), real
// webhooks and signed heartbeats. Maple Farm (A): farmer@, technician@; Birch Farm (B): stranger@ (its
// farmer). The Pi is carried from A to B two days ago and the move recorded now.

const { ctx, w } = useDashboardApp();
const as = clientsByEmail(() => ctx.server.app);
const ADMIN = 'admin@example.com';
const HOUR = 3_600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString().replace(/\.\d+Z$/, 'Z');
/** Away from both farms' geofences: the device's farm alone decides. */
const NOWHERE = { lon: 150, lat: -30 };

let n = 0;
/** A capture of `code` taken at `capturedAt`, through the real webhook: its scan's farm and animal. */
async function ingest(
  code: string,
  capturedAt: string,
  extra: {
    eid?: string;
    farmId?: string;
    clock?: { synced: boolean; source?: string };
    /** Send again on 503, as the relay does (ingest waits at most INGEST_DEVICE_LOCK_WAIT_MS for a move). */
    retry?: boolean;
  } = {},
) {
  n++;
  const meta = exampleMeta({
    device_code: code,
    capture_id: `cap_${1765200000 + n}`,
    captured_at: capturedAt,
    image_sha256: sha256(`late move ${n}`),
    gps: NOWHERE,
    ...(extra.farmId ? { farm_id: extra.farmId } : {}),
    ...(extra.eid ? { animal: { eid: extra.eid, read_at: capturedAt } } : {}),
    ...(extra.clock ? { clock: extra.clock } : {}),
  });
  const body = withRelayFields(exampleWebhookBody({ meta_json: meta }), `late-${n}`);
  let res = await ctx.server.app.request('/ingest/webhook', signedInit(body));
  for (let tries = 1; extra.retry && res.status === 503 && tries < 10; tries++)
    res = await ctx.server.app.request('/ingest/webhook', signedInit(body));
  assert.equal(res.status, 201, await res.clone().text());
  const { scan_id } = (await res.json()) as { scan_id: string };
  return scan_id;
}

/** Until `n` sessions of this database wait on a lock: the order of the racers, not a sleep's guess. */
const lockWaiters = (n: number, what: string) =>
  waitFor(
    async () =>
      (
        await ctx.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'`
      )[0]!.n >= n,
    { what },
  );

const scanRow = async (id: string) =>
  (
    await ctx.db.sql<{ farm_id: string; animal_id: string | null }[]>`
    SELECT farm_id, animal_id FROM scans WHERE id = ${id}`
  )[0]!;
const farmOf = async (id: string) => (await scanRow(id)).farm_id;

/** A Pi on Maple with a key (no move recorded), heard `hoursAgo` (one heartbeat each). */
async function pi(code: string, heardHoursAgo: number[] = []) {
  const { secret } = await addDeviceKey(ctx.db.sql, code, { farm: w.farmA });
  const [d] = await ctx.db.sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = ${code}`;
  for (const h of heardHoursAgo) {
    const body = heartbeatBody(code, new Date(), { uptime_s: 60 });
    const res = await ctx.server.app.request('/devices/heartbeat', signedHeartbeat(secret, body));
    assert.ok(res.status < 300, `heartbeat ${res.status}`);
    const shift = `${h} hours`;
    await ctx.db.sql`UPDATE device_heartbeats SET received_at = now() - ${shift}::interval
                      WHERE device_id = ${d!.id} AND received_at > now() - interval '1 minute'`;
    await ctx.db
      .sql`UPDATE device_health SET received_at = now() - ${shift}::interval WHERE device_id = ${d!.id}`;
  }
  return d!.id;
}

/** The heartbeats `email` is shown of `device` over three days (404: not shown the device). */
async function beatsSeen(email: string, device: string): Promise<number | 'not shown'> {
  const res = await (await as(email)).request('GET', `/api/v1/devices/${device}/health?days=3`);
  if (res.status === 404) return 'not shown';
  assert.equal(res.status, 200, res.text);
  return (res.body.hours as { heartbeats: number }[]).reduce((s, h) => s + h.heartbeats, 0);
}

const patch = async (device: string, body: object, email = ADMIN) =>
  (await as(email)).request('PATCH', `/api/v1/devices/${device}`, { body });

describe('a move recorded late, at the time it happened', () => {
  test('backdated A → B two days: the backlog taken since files on B; B’s farmer sees those two days of heartbeats, A’s does not', async () => {
    const device = await pi('dev-late-1', [60, 36]);
    const carried = ago(48);
    const moved = await patch(device, { farm_id: w.farmB, moved_at: carried });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(
      [moved.body.farm.id, moved.body.refile_candidates, moved.body.scans_refiled],
      [w.farmB, 0, 0],
    );
    const [move] = await ctx.db.sql<{ moved_at: Date; recorded_at: Date }[]>`
      SELECT moved_at, recorded_at FROM device_farm_moves WHERE device_id = ${device}`;
    assert.equal(move!.moved_at.toISOString(), new Date(carried).toISOString());
    assert.ok(Date.now() - move!.recorded_at.getTime() < 60_000, 'recorded now');

    // The outbox uploads after the move was recorded: taken on B, and on A before the move.
    assert.equal((await scanRow(await ingest('dev-late-1', ago(40)))).farm_id, w.farmB);
    assert.equal((await scanRow(await ingest('dev-late-1', ago(50)))).farm_id, w.farmA);
    assert.equal(
      (await scanRow(await ingest('dev-late-1', carried))).farm_id,
      w.farmB,
      'taken at the move’s very instant: the new farm’s (strict >, as for a move recorded on time)',
    );

    // B's farmer: the heartbeat heard on B (36 h ago), not the one on A (60 h ago); history from the move.
    assert.equal(await beatsSeen(w.users.stranger.email, device), 1);
    const seenByB = await (await as(w.users.stranger.email)).request('GET', `/api/v1/devices/${device}`);
    assert.equal(seenByB.body.history_from, new Date(carried).toISOString());
    // Back on A (recorded now): A's farmer sees its time on A, not the two days on B.
    assert.equal((await patch(device, { farm_id: w.farmA })).status, 200);
    assert.equal(await beatsSeen(w.users.farmer.email, device), 1);
    const trend = await (await as(w.users.farmer.email)).request(
      'GET',
      `/api/v1/devices/${device}/health?days=3`,
    );
    const heard = (trend.body.hours as { t: string; heartbeats: number }[]).filter((h) => h.heartbeats > 0);
    assert.ok(
      Date.now() - Date.parse(heard[0]!.t) > 59 * HOUR,
      `A's farmer is shown A's hour only: ${heard[0]!.t}`,
    );
  });

  test('scans filed on A since the move: counted, moved only with refile_scans, through the scan path (events, counts, animal by ear tag)', async () => {
    const sql = ctx.db.sql;
    const [cowA] = await sql<{ id: string }[]>`
      INSERT INTO animals (farm_id, tag_id, eid) VALUES (${w.farmA}, 'A-9', '982000000000909') RETURNING id`;
    const [cowB] = await sql<{ id: string }[]>`
      INSERT INTO animals (farm_id, tag_id, eid) VALUES (${w.farmB}, 'B-9', '982000000000910') RETURNING id`;
    const counted = async (device: string) =>
      Object.fromEntries(
        (
          await sql<{ farm_id: string; n: number }[]>`
          SELECT farm_id, n FROM device_farm_captures WHERE device_id = ${device}`
        ).map((r) => [r.farm_id, r.n]),
      );
    const carried = ago(48);
    const backlog = async (code: string) => ({
      before: await ingest(code, ago(50)),
      at: await ingest(code, carried),
      tagged: await ingest(code, ago(40), { eid: '982000000000909' }),
      taggedB: await ingest(code, ago(39), { eid: '982000000000910' }),
      named: await ingest(code, ago(30), { farmId: w.farmA }),
    });

    const kept = await pi('dev-late-2');
    const k = await backlog('dev-late-2');
    assert.equal(
      (await scanRow(k.tagged)).animal_id,
      cowA!.id,
      'filed on A with A’s cow while the move was unrecorded',
    );
    assert.equal((await scanRow(k.taggedB)).animal_id, null, 'B’s cow is not A’s');
    const told = await patch(kept, { farm_id: w.farmB, moved_at: carried });
    assert.equal(told.status, 200, told.text);
    assert.deepEqual(
      [told.body.refile_candidates, told.body.scans_refiled],
      [3, 0],
      'taken at and after the move, by the device’s farm',
    );
    for (const id of Object.values(k))
      assert.equal((await scanRow(id)).farm_id, w.farmA, 'nothing moved silently');

    const refiled = await pi('dev-late-3');
    const r = await backlog('dev-late-3');
    const done = await patch(refiled, { farm_id: w.farmB, moved_at: carried, refile_scans: true });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual([done.body.refile_candidates, done.body.scans_refiled], [3, 3]);
    const after = [];
    for (const id of [r.before, r.at, r.tagged, r.taggedB, r.named]) {
      const row = await scanRow(id);
      after.push([row.farm_id, row.animal_id]);
    }
    assert.deepEqual(
      after,
      [
        [w.farmA, null],
        [w.farmB, null],
        [w.farmB, null],
        [w.farmB, cowB!.id],
        [w.farmA, null],
      ],
      'a capture at the move’s instant is B’s (as ingest files it); the animal follows its tag; meta.json’s farm is kept',
    );
    const [edited] = await sql<
      {
        meta: {
          changes: object;
          previous: { farm_id: string; animal_id: string };
          device_move: { recorded_late: boolean };
        };
      }[]
    >`
      SELECT meta FROM scan_events WHERE scan_id = ${r.tagged} AND event = 'edited'`;
    assert.deepEqual(edited!.meta.changes, { farm_id: w.farmB, animal_id: null });
    assert.equal(edited!.meta.previous.farm_id, w.farmA);
    assert.equal(edited!.meta.previous.animal_id, cowA!.id);
    assert.equal(edited!.meta.device_move.recorded_late, true);
    assert.deepEqual(await counted(refiled), { [w.farmA]: 2, [w.farmB]: 3 }, 'per-farm counts follow');
    const bFarmer = await (await as(w.users.stranger.email)).request('GET', `/api/v1/devices/${refiled}`);
    assert.equal(bFarmer.body.captures_count, 3);
  });

  test('more scans to refile than one request moves: 422 naming refile_scans, nothing written (no move, no scan moved)', async () => {
    const sql = ctx.db.sql;
    const device = await pi('dev-late-many');
    await sql`
      WITH s AS (
        INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at)
        SELECT 'many-' || i, 'many-' || i, ${device}, ${w.farmA}, now() - make_interval(secs => i)
          FROM generate_series(1, ${MAX_REFILE_SCANS + 1}) i RETURNING id)
      INSERT INTO scan_events (scan_id, event, meta) SELECT id, 'ingested', '{"farm_source": "device"}' FROM s`;
    const res = await patch(device, { farm_id: w.farmB, moved_at: ago(48), refile_scans: true });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.error, 'too_many_scans');
    assert.deepEqual(problemPointers(res), ['/refile_scans']);
    assert.match(res.text, new RegExp(`would move ${MAX_REFILE_SCANS + 1} scans`));
    const [left] =
      await sql`SELECT count(*)::int AS n FROM scans WHERE device_id = ${device} AND farm_id = ${w.farmA}`;
    assert.equal(left!.n, MAX_REFILE_SCANS + 1);
    assert.equal((await sql`SELECT 1 FROM device_farm_moves WHERE device_id = ${device}`).length, 0);
    const counted = await patch(device, { farm_id: w.farmB, moved_at: ago(48) });
    assert.equal(counted.body.refile_candidates, MAX_REFILE_SCANS + 1, 'without refile_scans: counted only');
  });

  test('every refusal is a 422 naming moved_at or refile_scans, and changes nothing', async () => {
    const device = await pi('dev-late-4');
    const previous = ago(10);
    assert.equal((await patch(device, { farm_id: w.farmB, moved_at: previous })).status, 200);
    const cases: [object, string, RegExp][] = [
      [{ farm_id: w.farmA, moved_at: ago(-1) }, '/moved_at', /in the future/],
      [{ farm_id: w.farmA, moved_at: ago(11) }, '/moved_at', /not after the device's previous move \(.+\)/],
      [{ farm_id: w.farmA, moved_at: previous }, '/moved_at', /not after the device's previous move/],
      [{ farm_id: w.farmA, moved_at: ago(24 * 31) }, '/moved_at', /more than 30 days ago/],
      [{ farm_id: w.farmB, moved_at: ago(5) }, '/moved_at', /only with a change of farm_id/],
      [{ label: 'x', moved_at: ago(5) }, '/moved_at', /only with a change of farm_id/],
      [{ farm_id: w.farmA, moved_at: '2026-12-05T10:00:00' }, '/moved_at', /date-time|offset/],
      [{ farm_id: w.farmA, moved_at: 'yesterday' }, '/moved_at', /date-time/],
      [{ farm_id: w.farmA, refile_scans: true }, '/refile_scans', /only with moved_at/],
      [{ farm_id: null, moved_at: ago(5), refile_scans: true }, '/refile_scans', /needs a farm_id/],
    ];
    for (const [body, pointer, words] of cases) {
      const res = await patch(device, body);
      assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`);
      assert.deepEqual(problemPointers(res), [pointer], JSON.stringify(body));
      assert.match(res.text, words, JSON.stringify(body));
    }
    const rows = await ctx.db.sql`SELECT to_farm_id FROM device_farm_moves WHERE device_id = ${device}`;
    assert.deepEqual(
      rows.map((m) => m.to_farm_id),
      [w.farmB],
    );
    const [d] = await ctx.db.sql`SELECT farm_id FROM devices WHERE id = ${device}`;
    assert.equal(d!.farm_id, w.farmB);
    // Same rights as any move: Maple's technician cannot take it from Birch.
    const tech = await patch(device, { farm_id: w.farmA, moved_at: ago(5) }, w.users.technician.email);
    assert.equal(tech.status, 404, tech.text);
  });

  test('two dated moves of one device at once: the second is checked against the first; no out-of-order rows', async () => {
    for (const code of ['dev-late-5', 'dev-late-6', 'dev-late-7']) {
      const device = await pi(code);
      // Whichever locks the device first is recorded; the other is checked against it once it commits:
      // to Birch 5 h ago then unassigned 3 h ago is a history, unassigned 3 h ago then Birch 5 h ago is not.
      const answers = await Promise.all([
        patch(device, { farm_id: w.farmB, moved_at: ago(5) }),
        patch(device, { farm_id: null, moved_at: ago(3) }),
      ]);
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.includes(200), answers.map((a) => a.text).join(' '));
      for (const a of answers.filter((x) => x.status !== 200)) {
        assert.equal(a.status, 422, a.text);
        assert.deepEqual(problemPointers(a), ['/moved_at'], a.text);
      }
      const moves = await ctx.db.sql<{ moved_at: Date }[]>`
        SELECT moved_at FROM device_farm_moves WHERE device_id = ${device} ORDER BY id`;
      const times = moves.map((m) => m.moved_at.getTime());
      assert.equal(moves.length, statuses.filter((s) => s === 200).length);
      assert.deepEqual(
        times,
        [...times].sort((x, y) => x - y),
        'rows in time order',
      );
    }
  });
});

describe('review r17: a move recorded late, against the other writers', () => {
  test('two legs recorded late, oldest first: the second refiles what the first moved (F7); a hand move still wins', async () => {
    const farmC = await seedFarm(ctx.db.sql, 'Cedar Farm', { lon: 10, lat: 10 });
    const device = await pi('dev-two-legs');
    const onB = await ingest('dev-two-legs', ago(40));
    const onC = await ingest('dev-two-legs', ago(20));
    const handB = await ingest('dev-two-legs', ago(19));
    const first = await patch(device, { farm_id: w.farmB, moved_at: ago(45), refile_scans: true });
    assert.deepEqual([first.body.refile_candidates, first.body.scans_refiled], [3, 3], first.text);
    // A farmer puts one back on B by hand after the first refile: not the device's to move again.
    const hand = await (await as(ADMIN)).request('PATCH', `/api/v1/scans/${handB}`, {
      body: { farm_id: w.farmA },
    });
    assert.equal(hand.status, 200, hand.text);
    assert.equal(
      (await (await as(ADMIN)).request('PATCH', `/api/v1/scans/${handB}`, { body: { farm_id: w.farmB } }))
        .status,
      200,
    );
    const second = await patch(device, { farm_id: farmC, moved_at: ago(30), refile_scans: true });
    assert.deepEqual([second.body.refile_candidates, second.body.scans_refiled], [1, 1], second.text);
    assert.deepEqual(
      [await farmOf(onB), await farmOf(onC), await farmOf(handB)],
      [w.farmB, farmC, w.farmB],
      'each leg on its farm, as ingest files them; the hand-moved one stays',
    );
    assert.equal(await farmOf(await ingest('dev-two-legs', ago(21))), farmC, 'ingest agrees');
  });

  test('a Pi whose clock was not synced: scans the move falls inside the window of are left and counted apart (F2)', async () => {
    const device = await pi('dev-unsynced');
    const unsynced = { clock: { synced: false, source: 'fake-hwclock' } };
    const near = await ingest('dev-unsynced', ago(40), unsynced); // window 64 h … now: holds the move
    const before = await ingest('dev-unsynced', ago(50), unsynced); // window 74 h … now: holds it too
    const far = await ingest('dev-unsynced', ago(10), unsynced); // window 34 h … now: after the move
    const synced = await ingest('dev-unsynced', ago(40));
    const res = await patch(device, { farm_id: w.farmB, moved_at: ago(45), refile_scans: true });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      [res.body.refile_candidates, res.body.scans_refiled, res.body.refile_unsynced],
      [2, 2, 2],
      res.text,
    );
    assert.deepEqual(
      [await farmOf(near), await farmOf(before), await farmOf(far), await farmOf(synced)],
      [w.farmA, w.farmA, w.farmB, w.farmB],
    );
    // What ingest does with the same captures uploaded now: no farm for the two the move falls inside.
    const again = await ingest('dev-unsynced', ago(40), { clock: { synced: false } });
    assert.equal(await farmOf(again), null);
    assert.equal(await farmOf(await ingest('dev-unsynced', ago(10), unsynced)), w.farmB);
  });

  test('a capture ingested while a refiling move runs waits for it and files on the new farm (F1)', async () => {
    const sql = ctx.db.sql;
    const device = await pi('dev-race');
    const first = await ingest('dev-race', ago(40));
    // A session holding the first candidate keeps the PATCH inside its refile (as a long refile would).
    const hold = await sql.reserve();
    try {
      await hold`BEGIN`;
      await hold`SELECT 1 FROM scans WHERE id = ${first} FOR UPDATE`;
      const moving = patch(device, { farm_id: w.farmB, moved_at: ago(48), refile_scans: true });
      await lockWaiters(1, 'the PATCH waiting on the held candidate');
      // On a loaded machine the test may see the wait only after ingest gave up (503): it sends again.
      const racing = ingest('dev-race', ago(30), { retry: true });
      await lockWaiters(2, 'the ingest waiting on the device the PATCH moves');
      await hold`COMMIT`;
      const [moved, raced] = await Promise.all([moving, racing]);
      assert.deepEqual([moved.status, moved.body.scans_refiled], [200, 1], moved.text);
      assert.deepEqual([await farmOf(first), await farmOf(raced)], [w.farmB, w.farmB]);
    } finally {
      hold.release();
    }
  });

  test('a scan edited while its device’s move refiles: one waits for the other, no deadlock (F6)', async () => {
    const sql = ctx.db.sql;
    const farmC = await seedFarm(ctx.db.sql, 'Cedar Farm 2', { lon: 11, lat: 11 });
    const device = await pi('dev-edit-race');
    await ingest('dev-edit-race', ago(44), { farmId: farmC }); // its (device, C) counter exists
    const s1 = await ingest('dev-edit-race', ago(40));
    const s2 = await ingest('dev-edit-race', ago(30));
    const hold = await sql.reserve();
    try {
      await hold`BEGIN`;
      await hold`SELECT 1 FROM scans WHERE id = ${s1} FOR UPDATE`;
      const moving = patch(device, { farm_id: w.farmB, moved_at: ago(48), refile_scans: true });
      await lockWaiters(1, 'the PATCH waiting on the held candidate');
      const edit = (await as(ADMIN)).request('PATCH', `/api/v1/scans/${s2}`, { body: { farm_id: farmC } });
      await lockWaiters(2, 'the scan edit waiting on the device the PATCH moves');
      await hold`COMMIT`;
      const [moved, edited] = await Promise.all([moving, edit]);
      assert.equal(moved.status, 200, moved.text);
      assert.equal(edited.status, 200, edited.text);
      assert.equal(await farmOf(s2), farmC, 'the hand edit, made after the refile, wins');
    } finally {
      hold.release();
    }
  });

  test('a plain farm change right after a move dated a little ahead is no 422 (F4)', async () => {
    const farmC = await seedFarm(ctx.db.sql, 'Cedar Farm 3', { lon: 12, lat: 12 });
    const device = await pi('dev-ahead');
    const ahead = new Date(Date.now() + 50_000).toISOString();
    assert.equal((await patch(device, { farm_id: w.farmB, moved_at: ahead })).status, 200);
    const plain = await patch(device, { farm_id: farmC });
    assert.equal(plain.status, 200, plain.text);
    const [order] = await ctx.db.sql<{ after: boolean; to: string }[]>`
      SELECT m2.moved_at > m1.moved_at AS after, m2.to_farm_id AS to
        FROM device_farm_moves m1 JOIN device_farm_moves m2 ON m2.device_id = m1.device_id AND m2.id > m1.id
       WHERE m1.device_id = ${device}`;
    assert.deepEqual([order!.after, order!.to], [true, farmC], 'stamped after the dated one');
  });

  test('claiming an unassigned Pi with a date and refile: 0 candidates, its farmless scan left for an admin (F8, as documented)', async () => {
    await addDeviceKey(ctx.db.sql, 'dev-claim', {});
    const [d] = await ctx.db.sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = 'dev-claim'`;
    const early = await ingest('dev-claim', ago(30));
    const res = await patch(d!.id, { farm_id: w.farmB, moved_at: ago(40), refile_scans: true });
    assert.deepEqual([res.status, res.body.refile_candidates, res.body.scans_refiled], [200, 0, 0]);
    assert.equal(await farmOf(early), null, 'left for an admin to place');
  });
});

test('README’s psql refile moves exactly the scans the API counts, each with its edited event (review r17 F5)', async () => {
  const sql = ctx.db.sql;
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('WITH moved AS (');
  const statement = readme.slice(start, readme.indexOf('```', start));
  const device = await pi('dev-psql');
  const moved = ago(48);
  const scan = async (name: string, hoursAgo: number, ingested: object, edits: object[] = []) => {
    const [s] = await sql<{ id: string }[]>`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at)
      VALUES (${name}, ${name}, ${device}, ${w.farmA}, ${ago(hoursAgo)}) RETURNING id`;
    for (const meta of [ingested, ...edits])
      await sql`INSERT INTO scan_events (scan_id, event, meta)
                VALUES (${s!.id}, ${meta === ingested ? 'ingested' : 'edited'}, ${sql.json(meta as never)})`;
    return s!.id;
  };
  const byDevice = { farm_source: 'device' };
  const expected = [
    await scan('psql-device', 40, byDevice),
    await scan('psql-refiled-before', 30, byDevice, [{ changes: { farm_id: w.farmA }, device_move: {} }]),
    await scan('psql-far-unsynced', 10, { ...byDevice, clock_unsynced: true }),
  ];
  const left = [
    await scan('psql-before', 50, byDevice),
    await scan('psql-meta', 40, { farm_source: 'meta' }),
    await scan('psql-geofence', 40, { farm_source: 'geofence' }),
    await scan('psql-hand', 40, byDevice, [{ changes: { farm_id: w.farmA } }]),
    await scan('psql-unsynced', 40, { ...byDevice, clock_unsynced: true }),
    await scan('psql-arrived-before', 40, byDevice), // uploaded before the move (r19 F5), below
  ];
  await sql`UPDATE scans SET created_at = now() - interval '50 hours' WHERE id = ${left.at(-1)!}`;
  const told = await patch(device, { farm_id: w.farmB, moved_at: moved });
  assert.deepEqual([told.body.refile_candidates, told.body.refile_unsynced], [expected.length, 1], told.text);
  const filled = statement
    .replaceAll("'<new farm id>'", `'${w.farmB}'`)
    .replaceAll("'<old farm id>'", `'${w.farmA}'`)
    .replaceAll("'<device id>'", `'${device}'`)
    .replaceAll("'<moved_at>'", `'${moved}'`);
  await sql.unsafe(filled);
  const onB = await sql<
    { id: string }[]
  >`SELECT id FROM scans WHERE device_id = ${device} AND farm_id = ${w.farmB}`;
  assert.deepEqual(onB.map((r) => r.id).sort(), [...expected].sort());
  const events = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM scan_events
     WHERE scan_id = ANY(${expected}::uuid[]) AND event = 'edited' AND meta->'device_move'->>'psql' = 'true'`;
  assert.equal(events[0]!.n, expected.length);
  const onA = await sql<
    { id: string }[]
  >`SELECT id FROM scans WHERE device_id = ${device} AND farm_id = ${w.farmA}`;
  assert.deepEqual(
    onA.map((r) => r.id).sort(),
    [...left].sort(),
    'meta.json, geofence, by hand, before, unsynced, uploaded before: left',
  );
});

describe('review r19: a Pi’s uploads against its move, heartbeat and the pool', () => {
  test('`cti-server device add --farm` is a move too: it waits for an upload holding the device and files after it', async () => {
    // A Pi known from its uploads (no key yet), given its farm at the command line while one uploads.
    const scan = await ingest('dev-cli-claim', ago(1));
    const [d] = await ctx.db.sql<{ id: string }[]>`SELECT device_id AS id FROM scans WHERE id = ${scan}`;
    const upload = await ctx.db.sql.reserve();
    try {
      await upload`BEGIN`;
      await upload`SELECT pg_advisory_xact_lock_shared(${LOCK_DEVICE_CLASS}, hashtext(${d!.id}::text))`;
      const adding = addDeviceKey(ctx.db.sql, 'dev-cli-claim', { farm: w.farmB });
      await lockWaiters(1, 'the farm change waiting on the upload in flight');
      assert.equal((await ctx.db.sql`SELECT farm_id FROM devices WHERE id = ${d!.id}`)[0]!.farm_id, null);
      await upload`COMMIT`;
      await adding;
    } finally {
      upload.release();
    }
    assert.equal((await ctx.db.sql`SELECT farm_id FROM devices WHERE id = ${d!.id}`)[0]!.farm_id, w.farmB);
  });

  /** One Pi's backlog streamed through the webhook `concurrency` at a time until `stop()` or `cap` captures. */
  function stream(code: string, concurrency: number, cap: number) {
    const state = { done: 0, statuses: new Set<number>(), stopped: false, ended: false };
    let k = 0;
    const worker = async () => {
      while (!state.stopped && k < cap) {
        k++;
        n++;
        const meta = exampleMeta({
          device_code: code,
          capture_id: `cap_${1766200000 + n}`,
          captured_at: new Date().toISOString(),
          image_sha256: sha256(`backlog ${n}`),
          gps: NOWHERE,
        });
        const body = withRelayFields(exampleWebhookBody({ meta_json: meta }), `backlog-${n}`);
        const res = await ctx.server.app.request('/ingest/webhook', signedInit(body));
        state.statuses.add(res.status);
        state.done++;
      }
    };
    const all = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
      state.ended = true;
    });
    const stop = () => {
      state.stopped = true;
      return all;
    };
    return { state, stop };
  }

  test('while the Pi streams its backlog, its heartbeat and a move of it go through before the stream ends (F2)', async () => {
    const code = 'dev-streaming';
    const { secret } = await addDeviceKey(ctx.db.sql, code, { farm: w.farmA });
    const [d] = await ctx.db.sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = ${code}`;
    const s = stream(code, 6, 1500);
    try {
      await waitFor(() => s.state.done >= 20, { what: 'the backlog streaming', timeoutMs: 60_000 });
      const beat = await ctx.server.app.request(
        '/devices/heartbeat',
        signedHeartbeat(secret, heartbeatBody(code, new Date(), { uptime_s: 60 })),
      );
      assert.ok(beat.status < 300, `heartbeat ${beat.status}`);
      assert.equal(s.state.ended, false, `the heartbeat waited for the whole backlog (${s.state.done})`);
      const moved = await patch(d!.id, { farm_id: w.farmB });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(s.state.ended, false, `the move waited for the whole backlog (${s.state.done})`);
      const atMove = s.state.done;
      await waitFor(() => s.state.done >= atMove + 12, { what: 'uploads after the move', timeoutMs: 60_000 });
    } finally {
      await s.stop();
    }
    assert.deepEqual([...s.state.statuses], [201], 'every upload filed');
    const [counts] = await ctx.db.sql<{ a: number; b: number }[]>`
      SELECT count(*) FILTER (WHERE farm_id = ${w.farmA})::int AS a, count(*) FILTER (WHERE farm_id = ${w.farmB})::int AS b
        FROM scans WHERE device_id = ${d!.id}`;
    assert.equal(counts!.a + counts!.b, s.state.done);
    assert.ok(counts!.b > 0, 'uploads after the move file on the new farm');
  });

  test('an unsynced clock far behind (stamped two days before the move, uploaded after it) is counted in refile_unsynced and left (F3)', async () => {
    const device = await pi('dev-behind');
    const unsynced = { clock: { synced: false, source: 'fake-hwclock' } };
    const behind = await ingest('dev-behind', ago(45 + 48), unsynced);
    const near = await ingest('dev-behind', ago(40), unsynced);
    const res = await patch(device, { farm_id: w.farmB, moved_at: ago(45), refile_scans: true });
    assert.deepEqual(
      [res.status, res.body.refile_candidates, res.body.scans_refiled, res.body.refile_unsynced],
      [200, 0, 0, 2],
      res.text,
    );
    assert.deepEqual([await farmOf(behind), await farmOf(near)], [w.farmA, w.farmA]);
    // Ingest, given the same capture now, files it on no farm: the refile's count agrees.
    assert.equal(await farmOf(await ingest('dev-behind', ago(45 + 48), unsynced)), null);
  });

  test('a scan uploaded before the move stays on the old farm even when its clock ran ahead past the move (F5)', async () => {
    const device = await pi('dev-ahead-clock');
    const unsynced = await ingest('dev-ahead-clock', ago(1), { clock: { synced: false } });
    const plain = await ingest('dev-ahead-clock', ago(1));
    await ctx.db.sql`UPDATE scans SET created_at = now() - interval '5 hours'
                      WHERE id = ANY(${[unsynced, plain]}::uuid[])`;
    const later = await ingest('dev-ahead-clock', ago(1)); // uploaded after the move, not recorded yet
    const res = await patch(device, { farm_id: w.farmB, moved_at: ago(2), refile_scans: true });
    assert.deepEqual(
      [res.status, res.body.refile_candidates, res.body.scans_refiled, res.body.refile_unsynced],
      [200, 1, 1, 0],
      res.text,
    );
    assert.deepEqual(
      [await farmOf(unsynced), await farmOf(plain), await farmOf(later)],
      [w.farmA, w.farmA, w.farmB],
    );
  });

  test('an upload behind a move that refiles: 503 + Retry-After after INGEST_DEVICE_LOCK_WAIT_MS, nothing written; its retry files on the new farm (F1)', async () => {
    const sql = ctx.db.sql;
    const device = await pi('dev-held');
    const first = await ingest('dev-held', ago(40));
    n++;
    const meta = exampleMeta({
      device_code: 'dev-held',
      capture_id: `cap_${1765200000 + n}`,
      captured_at: ago(30),
      image_sha256: sha256(`late move ${n}`),
      gps: NOWHERE,
    });
    const body = withRelayFields(exampleWebhookBody({ meta_json: meta }), `late-${n}`);
    const hold = await sql.reserve();
    let held = true;
    try {
      await hold`BEGIN`;
      await hold`SELECT 1 FROM scans WHERE id = ${first} FOR UPDATE`;
      const moving = patch(device, { farm_id: w.farmB, moved_at: ago(48), refile_scans: true });
      await lockWaiters(1, 'the PATCH waiting on the held candidate (the device locked)');
      let answer: Response | undefined;
      const started = Date.now();
      void Promise.resolve(ctx.server.app.request('/ingest/webhook', signedInit(body))).then((r) => {
        answer = r;
      });
      await waitFor(() => answer, { what: 'the upload giving up its wait', timeoutMs: 15_000 });
      const waited = Date.now() - started;
      assert.equal(answer!.status, 503, await answer!.clone().text());
      assert.ok(Number(answer!.headers.get('retry-after')) > 0, 'Retry-After');
      assert.ok(waited >= INGEST_DEVICE_LOCK_WAIT_MS - 100, `gave up after ${waited} ms`);
      const [written] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM scans WHERE ingest_key LIKE ${`%${meta.capture_id}%`}`;
      assert.equal(written!.n, 0, 'nothing written');
      await hold`COMMIT`;
      held = false;
      const moved = await moving;
      assert.deepEqual([moved.status, moved.body.scans_refiled], [200, 1], moved.text);
      const retry = await ctx.server.app.request('/ingest/webhook', signedInit(body));
      assert.equal(retry.status, 201, await retry.clone().text());
      const { scan_id } = (await retry.json()) as { scan_id: string };
      assert.deepEqual([await farmOf(first), await farmOf(scan_id)], [w.farmB, w.farmB]);
    } finally {
      if (held) await hold`ROLLBACK`;
      hold.release();
    }
  });
});
