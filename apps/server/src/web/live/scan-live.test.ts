import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { silentLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import type { ScanListRow } from '../../access/scan-list-query.ts';
import type { Principal } from '../../auth/principal.ts';
import type { RoleName } from '../../auth/roles.ts';
import { createSessionStore } from '../../auth/session-store.ts';
import { testAuthConfig } from '../../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../../test-seed.ts';
import { createScanChangeFeed, SCAN_CHANNEL, type ScanChangeFeed } from './scan-change-feed.ts';
import { createScanLiveHub, type ScanLiveHub } from './scan-live-hub.ts';

// The live scans path on a real database: the trigger of migration 0008 announces every new scan and
// every status write, whoever makes it; one LISTEN connection feeds the hub, which re-checks the
// viewer's session and their access to the scan (the list's own query) before delivering.

let db: TestDatabase;
let feed: ScanChangeFeed;
let hub: ScanLiveHub;
const ids: Record<string, string> = {};
const principals: Record<string, Principal> = {};
const sessions = () => createSessionStore({ sql: db.sql, config: testAuthConfig() });

before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  ids.farmA = await seedFarm(sql, 'A');
  ids.farmB = await seedFarm(sql, 'B', { lon: -80, lat: 42 });
  ids.deviceA = await seedDevice(sql, 'dev-a', ids.farmA);
  ids.deviceB = await seedDevice(sql, 'dev-b', ids.farmB);
  const people = {
    farmerA: await seedUser(sql, 'a@example.com', ['farmer'], { farms: [{ id: ids.farmA }] }),
    farmerB: await seedUser(sql, 'b@example.com', ['farmer'], { farms: [{ id: ids.farmB }] }),
    admin: await seedUser(sql, 'admin@example.com', ['admin']),
  };
  for (const [name, user] of Object.entries(people)) {
    const session = await sessions().create(user.id, { address: '127.0.0.1', userAgent: 'test' });
    principals[name] = (await sessions().find(session.token))!;
  }
  feed = createScanChangeFeed({ sql, log: silentLogger(), watchdogMs: 300 });
  hub = createScanLiveHub({ sql, feed, sessions: sessions(), log: silentLogger(), recheckMs: 50 });
});
after(async () => {
  await feed?.close();
  await db?.drop();
});

/** Watches as `who` with `filters`; returns what arrived and whether the stream was ended. */
async function watchAs(who: string | Principal, filters = {}) {
  const rows: ScanListRow[] = [];
  const state = { ended: false };
  const stop = await hub.watch({
    principal: typeof who === 'string' ? principals[who]! : who,
    filters,
    deliver: (row) => void rows.push(row),
    end: () => (state.ended = true),
  });
  return { rows, state, stop };
}

describe('the scans trigger (migration 0008)', () => {
  test('announces inserts and status writes with id and status; other updates are silent', async () => {
    const heard: string[] = [];
    const listener = await db.sql.listen(SCAN_CHANNEL, (p) => heard.push(p));
    try {
      const id = await seedScan(db.sql, { farmId: ids.farmA!, deviceId: ids.deviceA! });
      await db.sql`UPDATE scans SET review_label = 'quiet' WHERE id = ${id}`;
      await db.sql`UPDATE scans SET status = 'graded' WHERE id = ${id}`;
      await db.sql`UPDATE scans SET status = 'graded' WHERE id = ${id}`; // same value: still announced
      await waitFor(() => heard.length >= 3, { what: `3 notifications, got ${heard.join(' ')}` });
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        heard.map((p) => JSON.parse(p)),
        [
          { id, status: 'ingested' },
          { id, status: 'graded' },
          { id, status: 'graded' },
        ],
      );
      // A rolled-back insert announces nothing (NOTIFY is sent at commit).
      await db.sql
        .begin(async (tx) => {
          await tx`INSERT INTO scans (capture_id, ingest_key, device_id) VALUES ('cap_rb', 's3://b/rb/', ${ids.deviceA!})`;
          throw new Error('roll back');
        })
        .catch(() => {});
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(heard.length, 3);
    } finally {
      await listener.unlisten();
    }
  });
});

describe('the live hub', () => {
  test("a new scan reaches the viewers who may see it — its farm's farmer and the admin — and nobody else", async () => {
    const [a, b, admin] = [await watchAs('farmerA'), await watchAs('farmerB'), await watchAs('admin')];
    const id = await seedScan(db.sql, {
      farmId: ids.farmA!,
      deviceId: ids.deviceA!,
      captureId: 'cap_live_a',
    });
    await waitFor(() => a.rows.length > 0 && admin.rows.length > 0, { what: 'delivery to A and admin' });
    const other = await seedScan(db.sql, { farmId: ids.farmB!, deviceId: ids.deviceB! });
    // Both deliveries of the B scan: to B and to the admin (each viewer's stream is its own).
    await waitFor(() => b.rows.length > 0 && admin.rows.length > 1, {
      what: 'delivery of the B scan to B and the admin',
    });
    assert.deepEqual(
      a.rows.map((r) => r.capture_id),
      ['cap_live_a'],
    );
    assert.deepEqual(
      b.rows.map((r) => r.id),
      [other],
    );
    assert.deepEqual(
      admin.rows.map((r) => r.id),
      [id, other],
    );
    for (const w of [a, b, admin]) w.stop();
  });

  test("the viewer's filters apply: a scan shows up when it starts matching (graded), with its grading", async () => {
    const graded = await watchAs('farmerA', { status: 'graded' });
    const id = await seedScan(db.sql, { farmId: ids.farmA!, deviceId: ids.deviceA! });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(graded.rows.length, 0, 'not graded yet: not in this list');
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO grading_results (scan_id, model_name, model_version, grade, features_used)
               VALUES (${id}, 'ribeye-seg', '2.3.0', 'A', ${tx.json({ rea_cm2: 80.5, fat_thickness_mm: 5.5 })})`;
      await tx`UPDATE scans SET status = 'graded' WHERE id = ${id}`;
    });
    await waitFor(() => graded.rows.length === 1, { what: 'the graded scan' });
    assert.deepEqual([graded.rows[0]!.id, graded.rows[0]!.grade, graded.rows[0]!.rea_cm2], [id, 'A', 80.5]);
    graded.stop();
  });

  test('losing access to the farm stops delivery and ends the stream, with no scan change needed', async () => {
    const a = await watchAs('farmerA');
    await db.sql`DELETE FROM user_farms WHERE user_id = ${principals.farmerA!.userId}`;
    await waitFor(() => a.state.ended, { what: 'the removed viewer’s stream ended' });
    await seedScan(db.sql, { farmId: ids.farmA!, deviceId: ids.deviceA! });
    const admin = await watchAs('admin');
    // The scan before the admin's stream opened may reach it too, when its notice was still being read
    // as the stream opened (seen on a loaded machine): the one after it must.
    const later = await seedScan(db.sql, { farmId: ids.farmA!, deviceId: ids.deviceA! });
    await waitFor(() => admin.rows.some((r) => r.id === later), { what: 'the admin still hears' });
    assert.equal(a.rows.length, 0, 'no longer on the farm: nothing');
    a.stop();
    admin.stop();
  });

  describe('the periodic re-check (every recheckMs, no scan change needed)', () => {
    let n = 0;
    /** A new user with a session; `farms` are farm keys of `ids`. */
    async function viewer(roles: RoleName[], farms: string[] = []) {
      const user = await seedUser(db.sql, `viewer${++n}@example.com`, roles, {
        farms: farms.map((f) => ({ id: ids[f]! })),
      });
      const session = await sessions().create(user.id, { address: '127.0.0.1', userAgent: 'test' });
      return (await sessions().find(session.token))!;
    }
    /** Watches as `lost` and `kept`; `lose` takes something away from `lost`; `lost`'s stream must end and
     * `kept`'s not (both are checked in the same tick, so `kept` was checked once `lost` ended). */
    async function endsOnlyFor(lost: Principal, kept: Principal, lose: () => Promise<unknown>) {
      const [gone, stays] = [await watchAs(lost), await watchAs(kept)];
      await new Promise((r) => setTimeout(r, 120)); // a few ticks with nothing changed: both stay
      assert.deepEqual([gone.state.ended, stays.state.ended], [false, false]);
      await lose();
      await waitFor(() => gone.state.ended, { what: 'the stream ended' });
      assert.equal(stays.state.ended, false, 'a viewer who kept access keeps the stream');
      gone.stop();
      stays.stop();
    }

    test('signed out in another tab', async () => {
      const [lost, kept] = [await viewer(['farmer'], ['farmA']), await viewer(['farmer'], ['farmA'])];
      await endsOnlyFor(lost, kept, () => sessions().end(lost.sessionHash));
    });

    test('session expired', async () => {
      const [lost, kept] = [await viewer(['farmer'], ['farmA']), await viewer(['farmer'], ['farmA'])];
      await endsOnlyFor(
        lost,
        kept,
        () => db.sql`UPDATE sessions SET expires_at = now() WHERE token_hash = ${lost.sessionHash}`,
      );
    });

    test('user disabled', async () => {
      const [lost, kept] = [await viewer(['technician'], ['farmA']), await viewer(['admin'])];
      await endsOnlyFor(
        lost,
        kept,
        () => db.sql`UPDATE users SET status = 'disabled' WHERE id = ${lost.userId}`,
      );
    });

    test('a farmer removed from one of their farms; a farmer added to one keeps the stream', async () => {
      const [lost, kept] = [
        await viewer(['farmer'], ['farmA', 'farmB']),
        await viewer(['farmer'], ['farmA']),
      ];
      await endsOnlyFor(lost, kept, async () => {
        await db.sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${kept.userId}, ${ids.farmB!}, 'farmer')`;
        await db.sql`DELETE FROM user_farms WHERE user_id = ${lost.userId} AND farm_id = ${ids.farmB!}`;
      });
    });

    test('a technician unassigned from their farm', async () => {
      const [lost, kept] = [await viewer(['technician'], ['farmA']), await viewer(['technician'], ['farmA'])];
      await endsOnlyFor(lost, kept, () => db.sql`DELETE FROM user_farms WHERE user_id = ${lost.userId}`);
    });

    test('the admin role taken (a farmer on no farm now); an admin keeping it keeps the stream', async () => {
      const [lost, kept] = [await viewer(['admin', 'farmer']), await viewer(['admin'])];
      await endsOnlyFor(
        lost,
        kept,
        () =>
          db.sql`DELETE FROM user_roles WHERE user_id = ${lost.userId}
                 AND role_id = (SELECT id FROM roles WHERE name = 'admin')`,
      );
    });
  });

  test('signed out: a scan change ends the stream too (the per-event check)', async () => {
    const a = await watchAs('farmerB');
    await sessions().end(principals.farmerB!.sessionHash);
    await seedScan(db.sql, { farmId: ids.farmB!, deviceId: ids.deviceB! });
    await waitFor(() => a.state.ended, { what: 'the signed-out viewer’s stream ended' });
    assert.equal(a.rows.length, 0);
    a.stop();
  });

  test('the LISTEN connection killed by the database: events flow again', async () => {
    const admin = await watchAs('admin');
    const killed = await db.sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query ILIKE 'listen%'`;
    assert.ok(killed.length >= 1, 'a listening backend was found');
    await waitFor(
      async () => {
        await seedScan(db.sql, { farmId: ids.farmA!, deviceId: ids.deviceA! });
        return admin.rows.length > 0;
      },
      { what: 'delivery after the LISTEN connection was killed', timeoutMs: 10_000, intervalMs: 300 },
    );
    admin.stop();
  });
});
