import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { sha256, signedInit, useTestApp, withRelayFields } from '../test-helpers.ts';
import { seedUser } from '../test-seed.ts';
import { eventSummary } from '../web/components/event-summary.ts';
import { describe as noticeText } from '../web/pages/notifications-page.tsx';

// A Pi carried from farm Birch to farm Maple while its outbox still holds Birch's captures (review r14
// F1): each capture goes to the farm the device was on when it was taken (device_farm_moves, migration
// 0023), not to the device's farm at upload; a clock that cannot place a capture on one side of a move
// defers to the geofence, and else leaves the scan ambiguous between the farms (ADR 0001 §5). Through
// the real webhook path on a real database with the real migrations.

const ctx = useTestApp();
beforeEach(async () => {
  await ctx.server.ingestionLog.flush();
  await ctx.db
    .sql`TRUNCATE notifications, scan_events, grading_jobs, scans, assets, devices, device_farm_moves,
                    ingestion_log, animals, user_farms, farms, users CASCADE`;
});

const HOUR = 3_600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString().replace(/\.\d+Z$/, 'Z');
/** Away from every farm's geofence: the device's farm alone decides. */
const NOWHERE = { lon: 150, lat: -30 };
const BIRCH_GATE = { lon: -79.3832, lat: 43.6532 };
const MAPLE_GATE = { lon: 10, lat: 10 };

let n = 0;
type Capture = {
  capturedAt: string;
  gps?: { lon: number; lat: number } | null;
  clock?: { synced: boolean; source?: string };
  farmId?: string;
  eid?: string;
};

async function ingest(c: Capture) {
  n++;
  const meta = exampleMeta({
    capture_id: `cap_${1765100000 + n}`,
    captured_at: c.capturedAt,
    image_sha256: sha256(`moved image ${n}`),
    gps: c.gps === undefined ? NOWHERE : c.gps,
    ...(c.clock ? { clock: c.clock } : {}),
    ...(c.farmId ? { farm_id: c.farmId } : {}),
    ...(c.eid ? { animal: { eid: c.eid, read_at: c.capturedAt } } : {}),
  });
  const body = withRelayFields(exampleWebhookBody({ meta_json: meta }), `moved-${n}`);
  const res = await ctx.server.app.request('/ingest/webhook', signedInit(body));
  assert.equal(res.status, 201, await res.clone().text());
  const { scan_id } = (await res.json()) as { scan_id: string };
  const [scan] = await ctx.db.sql`SELECT id, farm_id, animal_id FROM scans WHERE id = ${scan_id}`;
  const events = await ctx.db.sql`SELECT event, meta FROM scan_events WHERE scan_id = ${scan_id} ORDER BY id`;
  const meta_ = (event: string) => events.find((e) => e.event === event)?.meta as Record<string, unknown>;
  return { scan: scan!, ingested: meta_('ingested'), ambiguous: meta_('farm_ambiguous') };
}

async function farm(name: string, gate: { lon: number; lat: number }): Promise<string> {
  const [row] = await ctx.db.sql`
    INSERT INTO farms (name, geofence)
    VALUES (${name}, ST_Expand(ST_SetSRID(ST_MakePoint(${gate.lon}, ${gate.lat}), 4326), 0.05)::geometry(Polygon, 4326))
    RETURNING id`;
  return row!.id;
}

/** dev-0001 on `from`, moved to `to` `hoursAgo` hours ago by a plain UPDATE (the 0023 trigger records it). */
async function moveDevice(from: string | null, to: string | null, hoursAgo: number) {
  await ctx.db.sql`INSERT INTO devices (device_code, farm_id) VALUES ('dev-0001', ${from})
                   ON CONFLICT (device_code) DO NOTHING`;
  await ctx.db.sql`UPDATE devices SET farm_id = ${to} WHERE device_code = 'dev-0001'`;
  const moved = await ctx.db.sql`
    UPDATE device_farm_moves SET moved_at = now() - make_interval(secs => ${hoursAgo * 3600})
     WHERE id = (SELECT max(id) FROM device_farm_moves) RETURNING from_farm_id, to_farm_id`;
  assert.deepEqual([...moved], [{ from_farm_id: from, to_farm_id: to }]);
}

describe('a capture goes to the farm its device was on when it was taken', () => {
  test('taken on Birch before the move, uploaded on Maple after it: Birch’s scan, with Birch’s animal', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    const [birchCow] = await ctx.db
      .sql`INSERT INTO animals (farm_id, tag_id, eid) VALUES (${birch}, 'B-7', '982000000000777') RETURNING id`;
    await moveDevice(birch, maple, 2);
    const { scan, ingested } = await ingest({ capturedAt: ago(3), eid: '982000000000777' });
    assert.equal(scan.farm_id, birch, 'the device was on Birch then; Maple’s farmer must not get it');
    assert.equal(scan.animal_id, birchCow!.id);
    assert.equal(ingested.farm_source, 'device');
    const [device] = await ctx.db.sql`SELECT farm_id, captures_count FROM devices`;
    assert.deepEqual({ ...device }, { farm_id: maple, captures_count: 1 }, 'the device stays on Maple');
  });

  test('taken after the move: Maple’s; the device’s farm then still wins over another farm’s geofence', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    await moveDevice(birch, maple, 2);
    assert.equal((await ingest({ capturedAt: ago(1) })).scan.farm_id, maple);
    const inBirchFence = await ingest({ capturedAt: ago(1), gps: BIRCH_GATE });
    assert.equal(inBirchFence.scan.farm_id, maple);
    assert.equal(inBirchFence.ingested.farm_source, 'device');
    const before = await ingest({ capturedAt: ago(3), gps: MAPLE_GATE });
    assert.equal(
      before.scan.farm_id,
      birch,
      'before the move the device’s farm was Birch, whatever the fence',
    );
  });

  test('several moves: the farm between them; unassigned then: the geofence decides, not today’s farm', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    const [oak] = await ctx.db.sql`INSERT INTO farms (name) VALUES ('Oak') RETURNING id`;
    await moveDevice(null, birch, 10);
    await moveDevice(birch, oak!.id, 6);
    await moveDevice(oak!.id, null, 4);
    await moveDevice(null, maple, 2);
    assert.equal((await ingest({ capturedAt: ago(7) })).scan.farm_id, birch);
    assert.equal((await ingest({ capturedAt: ago(5) })).scan.farm_id, oak!.id);
    const unassigned = await ingest({ capturedAt: ago(3), gps: BIRCH_GATE });
    assert.equal(unassigned.scan.farm_id, birch);
    assert.equal(unassigned.ingested.farm_source, 'geofence');
    const nowhere = await ingest({ capturedAt: ago(3) });
    assert.equal(nowhere.scan.farm_id, null, 'unassigned and outside every fence: no farm, not Maple');
    // Before its first farm it was being set up: that time is Birch's (review r15 F2) — unless one
    // geofence holds the point, as for any unassigned time (review r16 G1).
    const setup = await ingest({ capturedAt: ago(12), gps: null });
    assert.equal(setup.scan.farm_id, birch);
    assert.equal(setup.ingested.farm_source, 'device');
    const setupFenced = await ingest({ capturedAt: ago(12), gps: MAPLE_GATE });
    assert.equal(setupFenced.scan.farm_id, maple);
    assert.equal(setupFenced.ingested.farm_source, 'geofence');
  });

  test('meta.json’s farm_id still wins, however the clock stands', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    await moveDevice(birch, maple, 2);
    const named = await ingest({ capturedAt: ago(3), farmId: maple });
    assert.equal(named.scan.farm_id, maple);
    assert.equal(named.ingested.farm_source, 'meta');
    const unsynced = await ingest({ capturedAt: ago(1), clock: { synced: false }, farmId: birch });
    assert.equal(unsynced.scan.farm_id, birch);
    assert.equal(unsynced.ambiguous, undefined);
  });
});

describe('a clock that cannot place the capture on one side of a move', () => {
  test('unsynchronised near the move: the one geofence settles it when it is one of the device’s farms', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    await moveDevice(birch, maple, 50);
    const clock = { synced: false, source: 'fake-hwclock' };
    // Stamped after the move, but the clock may be days behind: it may well have been taken on Birch.
    const inBirch = await ingest({ capturedAt: ago(40), clock, gps: BIRCH_GATE });
    assert.equal(inBirch.scan.farm_id, birch);
    assert.equal(inBirch.ingested.farm_source, 'geofence');
    assert.equal(inBirch.ambiguous, undefined);
    // Stamped before the move, but the clock may be up to a day ahead (or behind by any time).
    const inMaple = await ingest({ capturedAt: ago(60), clock, gps: MAPLE_GATE });
    assert.equal(inMaple.scan.farm_id, maple);
    assert.equal(inMaple.ingested.farm_source, 'geofence');
    // A synchronised clock places the same time before the move: Birch's, whatever the fence.
    const synced = await ingest({ capturedAt: ago(60), clock: { synced: true }, gps: MAPLE_GATE });
    assert.equal(synced.scan.farm_id, birch);
    assert.equal(synced.ingested.farm_source, 'device');
    // Stamped more than a day after the move: taken on Maple even if the clock ran a day fast.
    const wellAfter = await ingest({ capturedAt: ago(20), clock, gps: BIRCH_GATE });
    assert.equal(wellAfter.scan.farm_id, maple);
    assert.equal(wellAfter.ingested.farm_source, 'device');
  });

  test('no geofence settles it: no farm, ambiguous between the device’s farms, admins notified', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    const [oak] = await ctx.db
      .sql`INSERT INTO farms (name, geofence) VALUES ('Oak', ST_Expand(ST_SetSRID(ST_MakePoint(150, -30), 4326), 0.05)::geometry(Polygon, 4326)) RETURNING id`;
    const admin = await seedUser(ctx.db.sql, 'admin@example.com', ['admin']);
    await seedUser(ctx.db.sql, 'tech@example.com', ['technician'], { farms: [{ id: maple }] });
    await moveDevice(birch, maple, 2);
    // In Oak's fence, a farm the device was never on: the device's farm (one of them) outranks it.
    const { scan, ingested, ambiguous } = await ingest({ capturedAt: ago(1), clock: { synced: false } });
    assert.equal(scan.farm_id, null, 'neither Birch’s nor Maple’s, and not Oak’s');
    assert.notEqual(scan.farm_id, oak!.id);
    assert.equal(ingested.farm_source, null);
    assert.equal(ingested.device_farm_ambiguous, true);
    assert.equal(ingested.geofence_ambiguous, undefined);
    const candidates = [
      { id: birch, name: 'Birch' },
      { id: maple, name: 'Maple' },
    ];
    assert.deepEqual(ambiguous, { candidate_farms: candidates, reason: 'device_moved' });
    const notes = await ctx.db.sql`SELECT user_id, type, payload FROM notifications`;
    assert.deepEqual(
      notes.map((x) => [x.user_id, x.type, x.payload.candidate_farms, x.payload.reason]),
      [[admin.id, 'scan_farm_ambiguous', candidates, 'device_moved']],
    );
    assert.match(eventSummary('farm_ambiguous', ambiguous) ?? '', /moved between 2 farms \(Birch, Maple\)/);
    assert.match(eventSummary('ingested', ingested) ?? '', /on no farm: its device moved between farms/);
  });

  test('a time the server did not take (1970) places it nowhere: any move makes it the geofence’s or ambiguous', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    await moveDevice(birch, maple, 24 * 200);
    const epoch = { capturedAt: '1970-01-01T00:00:42Z', clock: { synced: false } };
    const inBirch = await ingest({ ...epoch, gps: BIRCH_GATE });
    assert.equal(inBirch.scan.farm_id, birch);
    assert.equal(inBirch.ingested.farm_source, 'geofence');
    const noGps = await ingest({ ...epoch, gps: null });
    assert.equal(noGps.scan.farm_id, null);
    assert.equal(noGps.ambiguous?.reason, 'device_moved');
  });

  test('a device never moved keeps its farm whatever its clock says', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    await ctx.db.sql`INSERT INTO devices (device_code, farm_id) VALUES ('dev-0001', ${maple})`;
    const epoch = await ingest({
      capturedAt: '1970-01-01T00:00:42Z',
      clock: { synced: false },
      gps: BIRCH_GATE,
    });
    assert.equal(epoch.scan.farm_id, maple);
    assert.equal(epoch.ingested.farm_source, 'device');
    assert.notEqual(epoch.scan.farm_id, birch);
  });
});

describe('review r15: a new Pi’s first farm, a farm deleted since, one farm and no farm', () => {
  test('F2: a Pi registered by its first upload, then claimed for Alder: a capture from before the claim is Alder’s, unless one geofence holds it (r16 G1)', async () => {
    const alder = await farm('Alder', BIRCH_GATE);
    const maple = await farm('Maple', MAPLE_GATE);
    const first = await ingest({ capturedAt: ago(0.5) });
    assert.equal(first.scan.farm_id, null, 'unassigned, outside every fence');
    // What PATCH /api/v1/devices/{id} and the device page do; the 0023 trigger records NULL → Alder.
    await ctx.db.sql`UPDATE devices SET farm_id = ${alder} WHERE device_code = 'dev-0001'`;
    await ctx.db.sql`UPDATE device_farm_moves SET moved_at = now() - interval '2 hours'`;
    const cases: [string, Capture][] = [
      ['synced backlog from before the claim, no GPS', { capturedAt: ago(3), gps: null }],
      ['unsynced near the claim', { capturedAt: ago(1), clock: { synced: false, source: 'fake-hwclock' } }],
      ['a 1970 clock, no GPS', { capturedAt: '1970-01-01T00:00:42Z', clock: { synced: false }, gps: null }],
    ];
    for (const [what, c] of cases) {
      const { scan, ingested, ambiguous } = await ingest(c);
      assert.equal(scan.farm_id, alder, what);
      assert.equal(ingested.farm_source, 'device', what);
      assert.equal(ambiguous, undefined, what);
    }
    // Tried out on Maple before it was claimed (or claimed for the wrong farm first): the GPS inside
    // Maple's fence places it there, as for any unassigned time (review r16 G1).
    const tried = await ingest({ capturedAt: ago(3), gps: MAPLE_GATE });
    assert.equal(tried.scan.farm_id, maple, 'before the claim, in Maple’s fence');
    assert.equal(tried.ingested.farm_source, 'geofence');
    // After the claim the device's farm wins over another farm's fence, as always.
    const after = await ingest({ capturedAt: ago(1), gps: MAPLE_GATE });
    assert.equal(after.scan.farm_id, alder, 'after the claim');
    assert.equal((await ctx.db.sql`SELECT 1 FROM notifications`).length, 0, 'no admin notice');
  });

  test('r16 G1: claimed for the wrong farm and corrected a minute later: the backlog from before either goes by its geofence, else to the first farm', async () => {
    const alder = await farm('Alder', BIRCH_GATE);
    const beech = await farm('Beech', MAPLE_GATE);
    await moveDevice(null, alder, 2);
    await ctx.db.sql`UPDATE devices SET farm_id = ${beech} WHERE device_code = 'dev-0001'`;
    await ctx.db
      .sql`UPDATE device_farm_moves SET moved_at = now() - interval '119 minutes' WHERE to_farm_id = ${beech}`;
    const inBeech = await ingest({ capturedAt: ago(3), gps: MAPLE_GATE });
    assert.equal(inBeech.scan.farm_id, beech, 'GPS inside Beech: Beech, not the mistaken first farm');
    const nowhere = await ingest({ capturedAt: ago(3), gps: null });
    assert.equal(nowhere.scan.farm_id, alder, 'no GPS: the first farm, as before');
    const taken = await ingest({ capturedAt: ago(1), gps: null });
    assert.equal(taken.scan.farm_id, beech, 'after the correction: Beech');
  });

  test('r16 G2: the farm a capture belongs to deleted while its ingest waits on it: filed as for a farm deleted since, not a 500', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', { lon: 20, lat: 20 });
    await moveDevice(birch, maple, 2);
    // An admin's delete of Birch, open while the capture taken on Birch arrives, committed after.
    let deleting!: () => void;
    const held = new Promise<void>((resolve) => {
      deleting = resolve;
    });
    const deletion = ctx.db.sql.begin(async (tx) => {
      await tx`DELETE FROM farms WHERE id = ${birch}`;
      deleting();
      await tx`SELECT pg_sleep(0.4)`;
    });
    await held;
    const late = await ingest({ capturedAt: ago(3) });
    await deletion;
    assert.equal(late.scan.farm_id, null);
    assert.equal(late.ingested.device_farm_deleted, true);
  });

  test('F1: a capture taken on a farm the device left, deleted since: filed by the geofence, else on no farm saying why — never a 500', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    const maple = await farm('Maple', { lon: 20, lat: 20 });
    const oak = await farm('Oak', MAPLE_GATE);
    await seedUser(ctx.db.sql, 'admin@example.com', ['admin']);
    await moveDevice(birch, maple, 2);
    await ctx.db.sql`DELETE FROM farms WHERE id = ${birch}`;

    const nowhere = await ingest({ capturedAt: ago(3) });
    assert.equal(nowhere.scan.farm_id, null);
    assert.equal(nowhere.ingested.farm_source, null);
    assert.equal(nowhere.ingested.device_farm_deleted, true);
    assert.equal(nowhere.ambiguous, undefined);
    assert.match(eventSummary('ingested', nowhere.ingested) ?? '', /has been deleted since/);

    const fenced = await ingest({ capturedAt: ago(3), gps: MAPLE_GATE });
    assert.equal(fenced.scan.farm_id, oak);
    assert.equal(fenced.ingested.farm_source, 'geofence');
    assert.equal(fenced.ingested.device_farm_deleted, true);

    const after = await ingest({ capturedAt: ago(1) });
    assert.equal(after.scan.farm_id, maple, 'after the move: its farm now');
    assert.equal(after.ingested.device_farm_deleted, undefined);

    const unsynced = await ingest({ capturedAt: ago(1), clock: { synced: false } });
    assert.equal(unsynced.scan.farm_id, null);
    assert.deepEqual(unsynced.ambiguous, {
      candidate_farms: [{ id: maple, name: 'Maple' }],
      reason: 'device_moved',
      farm_deleted: true,
    });
    assert.match(
      eventSummary('farm_ambiguous', unsynced.ambiguous) ?? '',
      /between Maple and a farm deleted since/,
    );
  });

  test('F5: moved from Birch to no farm, a clock that cannot tell: “between Birch and no farm (unassigned)”', async () => {
    const birch = await farm('Birch', BIRCH_GATE);
    await seedUser(ctx.db.sql, 'admin@example.com', ['admin']);
    await moveDevice(birch, null, 2);
    const { scan, ambiguous } = await ingest({ capturedAt: ago(1), clock: { synced: false } });
    assert.equal(scan.farm_id, null);
    assert.deepEqual(ambiguous, {
      candidate_farms: [{ id: birch, name: 'Birch' }],
      reason: 'device_moved',
      unassigned: true,
    });
    assert.match(
      eventSummary('farm_ambiguous', ambiguous) ?? '',
      /moved between Birch and no farm \(unassigned\) about/,
    );
    const [note] = await ctx.db.sql`SELECT type, payload FROM notifications`;
    assert.match(
      noticeText({ type: note!.type, payload: note!.payload }).text,
      /when its device moved between Birch and no farm \(unassigned\), by a clock/,
    );
  });
});
