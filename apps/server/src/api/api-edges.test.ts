import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientsByEmail, problemPointers } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../test-seed.ts';
import { pageClient } from '../web/pages/test-page-client.ts';

// Review r12: the JSON API keeps its own contract at the edges — what it hands out it takes back.

const f = {} as Record<'A' | 'B' | 'both' | 'techA' | 'admin', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'Alpha Farm', { lon: -80, lat: 44 });
      f.B = await seedFarm(db.sql, 'Beta Ranch', { lon: -81, lat: 44 });
      // An owner holding both roles: a farmer owner link and a technician link on A.
      f.both = (
        await seedUser(db.sql, 'both@example.com', ['farmer', 'technician'], {
          farms: [{ id: f.A, owner: true }],
        })
      ).id;
      f.techA = (await seedUser(db.sql, 'techa@example.com', ['technician'], { farms: [{ id: f.A }] })).id;
      f.admin = (await seedUser(db.sql, 'admin@example.com', ['admin'])).id;
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);

describe('the animals list pages through the longest tags it accepts (r12 F1)', () => {
  test('a 64-character CJK tag and 64 characters that grow under NFC: every next_cursor is taken back', async () => {
    const tech = await as('techa@example.com');
    // The JSON escapes of `"` and `\` double them too; U+1D160 is three code points (12 bytes) in NFC,
    // and the 64 are counted after it (review r13 F8): 21 of them and one more character are the longest.
    const tags = [
      '牛'.repeat(63),
      '牛'.repeat(64),
      `${'\u{1D160}'.repeat(21)}x`,
      `${'"'.repeat(63)}\\`,
      'ZZ-last',
    ];
    const grown = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: '\u{1D160}'.repeat(22) },
    });
    assert.equal(grown.status, 422, 'U+1D160 × 22 is 66 code points once normalised');
    for (const tag_id of tags) {
      const res = await tech.request('POST', '/api/v1/animals', { body: { farm_id: f.A, tag_id } });
      assert.equal(res.status, 201, res.text);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await tech.request(
        'GET',
        `/api/v1/animals?farm_id=${f.A}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(page.status, 200, page.text);
      seen.push(...page.body.items.map((a: { tag_id: string }) => a.tag_id));
      cursor = page.body.next_cursor;
    } while (cursor !== null && seen.length < 20);
    assert.deepEqual(seen.sort(), tags.map((t) => t.normalize('NFC')).sort());
  });
});

describe('upper-case uuids are the same ids (r12 F5)', () => {
  const up = (id: string) => id.toUpperCase();

  test('a scan moves with its new animal and stays on its farm when the ids are sent in upper case', async () => {
    const sql = ctx.db.sql;
    const device = await seedDevice(sql, 'dev-f5', f.A);
    const [onA] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.A}, 'F5-A') RETURNING id`;
    const [onB] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.B}, 'F5-B') RETURNING id`;
    const scan = await seedScan(sql, { farmId: f.A, deviceId: device, animalId: onA!.id });
    const tech = await as('techa@example.com');
    const same = await tech.request('PATCH', `/api/v1/scans/${up(scan)}`, { body: { farm_id: up(f.A) } });
    assert.equal(same.status, 200, same.text);
    const admin = await as('admin@example.com');
    const moved = await admin.request('PATCH', `/api/v1/scans/${scan}`, {
      body: { farm_id: up(f.B), animal_id: up(onB!.id) },
    });
    assert.equal(moved.status, 200, moved.text);
    const [row] = await sql`SELECT farm_id, animal_id FROM scans WHERE id = ${scan}`;
    assert.deepEqual({ ...row }, { farm_id: f.B, animal_id: onB!.id });
    const [edit] = await sql`
      SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'edited' ORDER BY id DESC LIMIT 1`;
    assert.equal(
      JSON.stringify(edit!.meta).includes(up(onB!.id)),
      false,
      'the event stores the ids in lower case',
    );
  });

  test('an owner’s own link is an admin’s to remove, whatever the case of the id (403, nothing removed)', async () => {
    const me = await as('both@example.com');
    const links = () =>
      ctx.db.sql`SELECT role FROM user_farms WHERE farm_id = ${f.A} AND user_id = ${f.both} ORDER BY role`;
    const before = (await links()).map((r) => r.role);
    assert.deepEqual(before, ['farmer', 'technician']);
    for (const id of [f.both, up(f.both)]) {
      const res = await me.request('DELETE', `/api/v1/farms/${up(f.A)}/members/${id}?linked_as=technician`);
      assert.equal(res.status, 403, `${id}: ${res.text}`);
    }
    assert.deepEqual(
      (await links()).map((r) => r.role),
      before,
    );
  });

  test('the reports page takes a farm id in upper case with a group of that farm', async () => {
    const [group] = await ctx.db.sql`
      INSERT INTO contemporary_groups (farm_id, name) VALUES (${f.A}, 'F5 group') RETURNING id`;
    const page = await pageClient(ctx.server.app, 'admin@example.com');
    const res = await page.get(`/reports?farm_id=${up(f.A)}&group_id=${up(group!.id)}`);
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.html, /This group is on another farm/);
    assert.match(res.html, /F5 group/);
  });
});

describe('a farm read with GET can be sent back with PATCH (r12 F4)', () => {
  test('centroid as {lat, lon} (what answers give) or as a GeoJSON Point; out of range is a 422 naming it', async () => {
    const admin = await as('admin@example.com');
    const farm = (await admin.request('GET', `/api/v1/farms/${f.B}`)).body;
    assert.deepEqual(farm.centroid, { lat: 44, lon: -81 });
    const back = await admin.request('PATCH', `/api/v1/farms/${f.B}`, {
      body: { name: farm.name, geofence: farm.geofence, centroid: farm.centroid },
    });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.body.centroid, farm.centroid);
    const moved = await admin.request('PATCH', `/api/v1/farms/${f.B}`, {
      body: { centroid: { lat: 45.5, lon: -80.25 } },
    });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(moved.body.centroid, { lat: 45.5, lon: -80.25 });
    const [row] = await ctx.db
      .sql`SELECT ST_X(centroid) AS lon, ST_Y(centroid) AS lat FROM farms WHERE id = ${f.B}`;
    assert.deepEqual({ ...row }, { lon: -80.25, lat: 45.5 });
    const point = await admin.request('PATCH', `/api/v1/farms/${f.B}`, {
      body: { centroid: { type: 'Point', coordinates: [-81, 44] } },
    });
    assert.deepEqual(point.body.centroid, { lat: 44, lon: -81 });
    const cases: [unknown, string][] = [
      [{ lat: 91, lon: 0 }, '/centroid/lat'],
      [{ lat: 1 }, '/centroid/lon'],
      [{ lat: 1, lon: 2, alt: 3 }, '/centroid/alt'],
      [{ lat: '1', lon: 2 }, '/centroid/lat'],
      [{ type: 'Point', coordinates: [200, 0] }, '/centroid/coordinates/0'],
    ];
    for (const [centroid, pointer] of cases) {
      const bad = await admin.request('PATCH', `/api/v1/farms/${f.B}`, { body: { centroid } });
      assert.equal(bad.status, 422, JSON.stringify(centroid));
      assert.deepEqual(problemPointers(bad), [pointer], bad.text);
    }
    assert.deepEqual((await admin.request('GET', `/api/v1/farms/${f.B}`)).body.centroid, {
      lat: 44,
      lon: -81,
    });
  });
});

describe('text filters are normalised like the stored text (r12 F10)', () => {
  test('review_label and the animals q find what was stored, sent decomposed or with spaces', async () => {
    const sql = ctx.db.sql;
    const device = await seedDevice(sql, 'dev-f10', f.A);
    const scan = await seedScan(sql, { farmId: f.A, deviceId: device });
    const tech = await as('techa@example.com');
    const label = await tech.request('PATCH', `/api/v1/scans/${scan}`, {
      body: { review_label: ' Cafe\u0301 ' },
    });
    assert.equal(label.status, 200, label.text);
    const [row] = await sql`SELECT review_label FROM scans WHERE id = ${scan}`;
    assert.equal(row!.review_label, 'Caf\u00e9');
    for (const sent of [' Cafe\u0301 ', 'Cafe\u0301', 'Caf\u00e9']) {
      const q = `farm_id=${f.A}&review_label=${encodeURIComponent(sent)}`;
      const list = await tech.request('GET', `/api/v1/scans?${q}`);
      assert.deepEqual(
        list.body.items.map((s: { id: string }) => s.id),
        [scan],
        JSON.stringify(sent),
      );
      assert.equal(
        (await tech.request('GET', `/api/v1/scans/counts?${q}`)).body.total,
        1,
        JSON.stringify(sent),
      );
    }
    const animal = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: ' Ame\u0301lie ' },
    });
    assert.equal(animal.body.tag_id, 'Am\u00e9lie');
    for (const sent of ['Ame\u0301', ' Ame\u0301lie', 'Am\u00e9l']) {
      const list = await tech.request('GET', `/api/v1/animals?farm_id=${f.A}&q=${encodeURIComponent(sent)}`);
      assert.deepEqual(
        list.body.items.map((a: { id: string }) => a.id),
        [animal.body.id],
        JSON.stringify(sent),
      );
    }
  });
});

describe('a method a path does not take (r12 F11)', () => {
  test('405 naming the methods in Allow; OPTIONS 204 with the same Allow and no CORS grant; unknown paths stay 404', async () => {
    const admin = await as('admin@example.com');
    const cases: [string, string, string][] = [
      ['PUT', '/api/v1/scans', 'GET, HEAD, OPTIONS'],
      ['POST', '/api/v1/scans', 'GET, HEAD, OPTIONS'],
      ['DELETE', `/api/v1/scans/${f.A}`, 'GET, HEAD, PATCH, OPTIONS'],
      ['PUT', `/api/v1/farms/${f.A}`, 'GET, HEAD, PATCH, DELETE, OPTIONS'],
      ['POST', '/api/v1/scans/counts', 'GET, HEAD, OPTIONS'],
      // matched by PATCH /scans/{id} first ("counts" is no uuid): still this path's 405 (review r13 F5)
      ['PATCH', '/api/v1/scans/counts', 'GET, HEAD, OPTIONS'],
    ];
    // Not through the client: it checks answers against the document, which has no such operation.
    const headers = {
      cookie: admin.cookie!,
      'x-csrf-token': admin.csrf!,
      'content-type': 'application/json',
    };
    for (const [method, path, allow] of cases) {
      const res = await ctx.server.app.request(path, {
        method,
        headers,
        body: method === 'DELETE' ? null : '{}',
      });
      const text = await res.text();
      assert.equal(res.status, 405, `${method} ${path}: ${text}`);
      assert.equal(JSON.parse(text).error, 'method_not_allowed');
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
    }
    const anonymous = await ctx.server.app.request('/api/v1/scans', { method: 'PUT' });
    assert.equal(anonymous.status, 405);
    const options = await ctx.server.app.request('/api/v1/scans', {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('allow'), 'GET, HEAD, OPTIONS');
    assert.equal(options.headers.get('access-control-allow-origin'), null);
    assert.equal((await ctx.server.app.request('/api/v1/scanz', { headers })).status, 404);
    assert.equal(
      (await admin.request('GET', `/api/v1/scans/${f.A}`)).status,
      404,
      'a right method still finds no row',
    );
  });
});

describe('from/to are honoured to the microsecond (r12 F9)', () => {
  test('a bound past the millisecond is not truncated; digits past the microsecond round up', async () => {
    const sql = ctx.db.sql;
    const device = await seedDevice(sql, 'dev-f9', f.B);
    const scan = await seedScan(sql, {
      farmId: f.B,
      deviceId: device,
      capturedAt: '2025-09-09T14:00:00.000Z',
    });
    const admin = await as('admin@example.com');
    const ids = async (from: string, to: string) => {
      const q = `farm_id=${f.B}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      const list = await admin.request('GET', `/api/v1/scans?${q}`);
      assert.equal(list.status, 200, list.text);
      const counts = await admin.request('GET', `/api/v1/scans/counts?${q}`);
      assert.equal(counts.body.total, list.body.items.length, `${from} ${to}: counts agree`);
      return list.body.items.map((s: { id: string }) => s.id);
    };
    assert.deepEqual(
      await ids('2025-09-09T14:00:00.0005Z', '2025-09-09T14:00:01Z'),
      [],
      'captured before from',
    );
    assert.deepEqual(await ids('2025-09-09T14:00:00.000001Z', '2025-09-09T14:00:01Z'), []);
    assert.deepEqual(await ids('2025-09-09T13:59:59.999999Z', '2025-09-09T14:00:00.000001Z'), [scan]);
    assert.deepEqual(await ids('2025-09-09T13:59:59.9999999Z', '2025-09-09T14:00:00.0000001Z'), [scan]);
    assert.deepEqual(await ids('2025-09-09T14:00:00.0000001Z', '2025-09-09T14:00:01Z'), [], '0.1 µs after');
    assert.deepEqual(await ids('2025-09-09T16:00:00.000000+02:00', '2025-09-09T14:00:00.0000000Z'), []);
    assert.deepEqual(await ids('2025-09-09T16:00:00.000000+02:00', '2025-09-09T14:00:00.0000001Z'), [scan]);
  });
});

describe('a scan moved in from another farm (r12 F13)', () => {
  test('its events show the new farm’s readers none of the old farm’s ids; admins see them all', async () => {
    const sql = ctx.db.sql;
    const techB = await seedUser(sql, 'techb@example.com', ['technician'], { farms: [{ id: f.B }] });
    const device = await seedDevice(sql, 'dev-f13', f.B);
    const [animalB] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.B}, 'F13-B') RETURNING id`;
    const scan = await seedScan(sql, { farmId: f.B, deviceId: device, animalId: animalB!.id });
    // What ingest keeps for a spec §5.3 body (ADR 0003 §9): the signed meta.json on `uploaded` (r13 F10).
    const metaJson = {
      farm_id: f.B,
      operator_id: 'techb-op',
      animal: { eid: '982000123456789', read_at: '2026-01-01T00:00:00Z' },
      gps: { lat: 44.1, lon: -81.2 },
    };
    await sql`INSERT INTO scan_events (scan_id, event, meta)
              VALUES (${scan}, 'uploaded', ${sql.json({ source: 'webhook', meta_json: metaJson })})`;
    const byB = await (await as('techb@example.com')).request('PATCH', `/api/v1/scans/${scan}`, {
      body: { review_label: 'seen on B' },
    });
    assert.equal(byB.status, 200, byB.text);
    const admin = await as('admin@example.com');
    const moved = await admin.request('PATCH', `/api/v1/scans/${scan}`, {
      body: { farm_id: f.A, animal_id: null },
    });
    assert.equal(moved.status, 200, moved.text);
    const hidden = [f.B, animalB!.id, techB.id, 'techb-op', '982000123456789'];
    for (const email of ['techa@example.com', 'both@example.com']) {
      const detail = await (await as(email)).request('GET', `/api/v1/scans/${scan}`);
      assert.equal(detail.status, 200, detail.text);
      const events = JSON.stringify(detail.body.events);
      for (const id of hidden)
        assert.equal(events.includes(id), false, `${email} must not see ${id}: ${events}`);
      const move = detail.body.events.findLast((e: { event: string }) => e.event === 'edited');
      assert.deepEqual(move.meta.previous, { farm_id: null, animal_id: null });
      assert.deepEqual(move.meta.changes, { farm_id: f.A, animal_id: null });
      assert.equal(move.meta.by, f.admin);
      const uploaded = detail.body.events.find((e: { event: string }) => e.event === 'uploaded');
      assert.deepEqual(uploaded.meta.meta_json, {
        farm_id: null,
        operator_id: null,
        animal: null,
        gps: metaJson.gps,
      });
      const page = await pageClient(ctx.server.app, email);
      const html = (await page.get(`/scans/${scan}`)).html;
      for (const id of hidden) assert.equal(html.includes(id), false, `${email}'s page must not show ${id}`);
    }
    const all = JSON.stringify((await admin.request('GET', `/api/v1/scans/${scan}`)).body.events);
    for (const id of hidden) assert.ok(all.includes(id), `the admin sees ${id}`);
  });
});
