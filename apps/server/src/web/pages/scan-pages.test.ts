import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApp } from '../../test-helpers.ts';
import { seedScan, seedUser } from '../../test-seed.ts';
import { type DashboardWorld, useDashboardApp } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// The scans pages through app.request on a real database: who sees which scan (the API's queries),
// 404 for another farm's scan exactly as for a missing one, filters and keyset pages, measurements
// that are missing shown as "—" with the reason (never 0), the review form (errors beside the
// fields, stored text escaped, CSRF), the mask editor for admins and technicians only.

const { ctx, w } = useDashboardApp();
const as = (who: keyof DashboardWorld['users']) => pageClient(ctx.server.app, w.users[who].email);
const rowIds = (html: string) => [...html.matchAll(/<tr data-scan-id="([^"]+)"/g)].map((m) => m[1]);

describe('scans list', () => {
  test('anonymous visitors are sent to sign in, and come back to the page they asked for', async () => {
    const anon = await pageClient(ctx.server.app);
    const res = await anon.get('/scans?status=graded');
    assert.equal(res.status, 303);
    assert.equal(res.location, `/sign-in?next=${encodeURIComponent('/scans?status=graded')}`);
  });

  test('HEAD /scans/events answers like the stream but opens none (no watch, no LISTEN)', async () => {
    const listening = async () =>
      (
        await ctx.db.sql`SELECT count(*)::int AS n FROM pg_stat_activity
                          WHERE datname = current_database() AND query ILIKE 'LISTEN%'`
      )[0]!.n as number;
    const farmer = await as('farmer');
    const cookie = { cookie: farmer.api.cookie! };
    const anon = await ctx.server.app.request('/scans/events', { method: 'HEAD' });
    assert.equal(anon.status, 401);
    const head = await ctx.server.app.request('/scans/events?status=graded', {
      method: 'HEAD',
      headers: cookie,
    });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await head.text(), '');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await listening(), 0, 'HEAD opened no live watch');
    // The GET of the same URL does open one: the check above can see it.
    const get = await ctx.server.app.request('/scans/events?status=graded', { headers: cookie });
    const reader = get.body!.getReader();
    let text = '';
    while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
    assert.equal(await listening(), 1);
    await reader.cancel();
  });

  test('GET /scans/events ends when the viewer is removed from the farm (the hub re-checks every liveRecheckMs)', async () => {
    const app = createTestApp(ctx.db.sql, {}, { liveRecheckMs: 50 });
    try {
      const user = await seedUser(ctx.db.sql, 'removed-live@example.com', ['farmer'], {
        farms: [{ id: w.farmA }],
      });
      const viewer = await pageClient(app.app, user.email);
      const res = await app.app.request('/scans/events', { headers: { cookie: viewer.api.cookie! } });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
      await ctx.db.sql`DELETE FROM user_farms WHERE user_id = ${user.id}`;
      // No scan changes: only the periodic re-check can end it. The body ends (done), not an error.
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        rest += new TextDecoder().decode(chunk.value);
      // The page is told to reload (its rows may be of a farm it no longer sees; a signed-out viewer
      // lands on sign-in) rather than reconnect and keep what it shows.
      assert.match(rest, /event: reload\n/);
    } finally {
      await app.closeStreams();
    }
  });

  test("a farmer sees their farm's scans, never another farm's; an admin sees all", async () => {
    const farmer = await as('farmer');
    const res = await farmer.get('/scans');
    assert.equal(res.status, 200);
    assert.deepEqual(rowIds(res.html), [w.scanWaiting, w.scanNoSpacing, w.scanGraded]);
    assert.ok(!res.html.includes('cap_other_farm'));
    const admin = await as('admin');
    assert.deepEqual(rowIds((await admin.get('/scans')).html), [
      w.scanB,
      w.scanWaiting,
      w.scanNoSpacing,
      w.scanGraded,
    ]);
  });

  test('rows carry local time, thumbnails through the asset redirector, and the live stream of the same filters', async () => {
    const res = await (await as('farmer')).get('/scans?status=graded');
    // The date in its own span: a narrow cell keeps it whole ("2025-09-09" / "10:18 EDT").
    assert.match(
      res.html,
      /<time datetime="2025-09-09T14:18:32Z"[^>]*><span class="local-date">2025-09-09<\/span> 10:18 EDT<\/time>/,
    );
    // Through the redirector: a lazily loaded thumbnail must not carry a URL that expires before it loads.
    assert.match(res.html, /<img class="thumb" src="\/api\/v1\/assets\/[0-9a-f-]{36}\/content"/);
    assert.doesNotMatch(res.html, /<img class="thumb" src="[^"]*X-Amz-Signature=/);
    assert.match(res.html, /data-live-src="\/scans\/events\?status=graded"/);
    assert.match(res.html, /\/static\/js\/live-scans\.js/);
  });

  test('filters: status, grade, local date range, review label, geofence; bad values are named beside their field', async () => {
    const farmer = await as('farmer');
    assert.deepEqual(rowIds((await farmer.get('/scans?grade=M')).html), [w.scanNoSpacing]);
    assert.deepEqual(rowIds((await farmer.get('/scans?status=ingested')).html), [w.scanWaiting]);
    // 2025-09-10 in Toronto (the farm's zone) holds 15:00 UTC (11:00 EDT).
    assert.deepEqual(rowIds((await farmer.get('/scans?from=2025-09-10&to=2025-09-10')).html), [
      w.scanNoSpacing,
    ]);
    assert.deepEqual(rowIds((await farmer.get(`/scans?in_geofence_of=${w.farmA}`)).html).length, 3);
    assert.deepEqual(rowIds((await farmer.get(`/scans?animal_id=${w.animal}`)).html), [
      w.scanNoSpacing,
      w.scanGraded,
    ]);
    assert.deepEqual(rowIds((await farmer.get(`/scans?group_id=${w.group}`)).html), [
      w.scanNoSpacing,
      w.scanGraded,
    ]);
    assert.deepEqual(rowIds((await farmer.get('/scans?capture_id=cap_waiting')).html), [w.scanWaiting]);
    // Another farm named in a filter narrows to nothing (the scope is in the query, not in the form).
    assert.deepEqual(rowIds((await farmer.get(`/scans?farm_id=${w.farmB}`)).html), []);
    const bad = await farmer.get('/scans?farm_id=nope&from=2025-13-45&grade=Z');
    assert.equal(bad.status, 200);
    assert.match(textById(bad.html, 'field-farm_id-error') ?? '', /Farm must be a valid uuid/);
    assert.match(textById(bad.html, 'field-from-error') ?? '', /From must be a date/);
    assert.match(textById(bad.html, 'field-grade-error') ?? '', /Grade must be one of "A", "M", "R"/);
    // Days a timestamp cannot bound (year 10000) or that were read as another century (0050 → 1950)
    // are named beside the field in words about days, not RFC 3339 or a silent 1950.
    const far = await farmer.get('/scans?from=0050-01-01&to=9999-12-31');
    assert.equal(far.status, 200);
    assert.match(
      textById(far.html, 'field-from-error') ?? '',
      /From must be a day from 0100-01-01 to 9999-12-30/,
    );
    assert.match(
      textById(far.html, 'field-to-error') ?? '',
      /To must be a day from 0100-01-01 to 9999-12-30/,
    );
    // A day no calendar has (Date.parse rolls 2025-02-30 over to March 2): named beside the field, not a 500.
    const rolled = await farmer.get(`/scans?from=2025-02-30&to=2025-04-31&farm_id=${w.farmA}`);
    assert.equal(rolled.status, 200);
    assert.match(textById(rolled.html, 'field-from-error') ?? '', /From must be a date/);
    assert.match(textById(rolled.html, 'field-to-error') ?? '', /To must be a date/);
  });

  test('keyset pages: Older and Newer walk 50 at a time, the same rows both ways', async () => {
    const sql = ctx.db.sql;
    const [device] = await sql<{ id: string }[]>`
      INSERT INTO devices (device_code, farm_id) VALUES ('dev-pages', ${w.farmA}) RETURNING id`;
    for (let i = 0; i < 62; i++) {
      await seedScan(sql, {
        farmId: w.farmA,
        deviceId: device!.id,
        capturedAt: new Date(Date.UTC(2025, 5, 1, 0, i)).toISOString(),
      });
    }
    const farmer = await as('farmer');
    const first = await farmer.get(`/scans?device_id=${device!.id}`);
    const page1 = rowIds(first.html);
    assert.equal(page1.length, 50);
    const older = /<a href="([^"]+)" rel="next"/.exec(first.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(
      older &&
        !/rel="prev"/.test(
          first.html.replace(/aria-disabled="true"[^>]*>[^<]*<span[^>]*>← <\/span>Newer/, ''),
        ),
    );
    const second = await farmer.get(older);
    const page2 = rowIds(second.html);
    assert.equal(page2.length, 12);
    assert.equal(new Set([...page1, ...page2]).size, 62);
    assert.ok(!second.html.includes('data-live-src'), 'no live rows on an older page');
    const newer = /<a href="([^"]+)" rel="prev"/.exec(second.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(newer);
    const back = await farmer.get(newer);
    // Fewer than a page above the cursor would be the first page: it is shown whole.
    const target = back.status === 303 ? await farmer.get(back.location!) : back;
    assert.deepEqual(rowIds(target.html), page1);
  });
});

describe('scan detail', () => {
  test("another farm's scan is the same 404 as a missing one, and so is a malformed id", async () => {
    const farmer = await as('farmer');
    const other = await farmer.get(`/scans/${w.scanB}`);
    const missing = await farmer.get('/scans/00000000-0000-4000-8000-000000000000');
    const malformed = await farmer.get('/scans/not-a-scan');
    assert.deepEqual([other.status, missing.status, malformed.status], [404, 404, 404]);
    assert.equal(strip(other.html), strip(missing.html));
    assert.ok(!other.html.includes('cap_other_farm'));
  });

  test('measurements, grade with reasons, confidence and breakdown, history with lineage, timeline, local time', async () => {
    const res = await (await as('farmer')).get(`/scans/${w.scanGraded}`);
    assert.equal(res.status, 200);
    const text = strip(res.html);
    assert.match(text, /Ribeye area 81\.4 cm²/);
    assert.match(text, /Fat thickness 6\.2 mm/);
    assert.match(text, /Image grade A Grade A, usable/);
    assert.match(text, /Confidence 87 %/);
    assert.match(
      text,
      /Scale: 0\.180 mm per pixel, from the device calibration; pixels 0\.889 as wide as tall, from meta\.json/,
    );
    for (const part of [/mask IoU 0\.84/, /edge quality 0\.78/, /SNR 18\.30/]) assert.match(text, part);
    assert.match(
      textById(res.html, 'history') ?? '',
      /ribeye-seg@2\.3\.0 dddddddddddd… system \(automatic\)/,
    );
    assert.match(text, /Captured 2025-09-09 10:18:32 EDT/);
    assert.match(text, /Timeline .*ingested Record \{"source":"test"\}/, 'the record one click away');
    assert.match(
      res.html,
      /<img class="scan-overlay" src="http:\/\/127\.0\.0\.1:9\/cti-dashboard-test\/processed\/cap_graded\/overlay\.png\?/,
    );
  });

  test('a missing measurement is "—" with its reason, never 0', async () => {
    const res = await (await as('farmer')).get(`/scans/${w.scanNoSpacing}`);
    const result =
      textById(res.html, 'result-title') && strip(res.html.slice(res.html.indexOf('id="result-title"')));
    assert.match(
      result ?? '',
      /Ribeye area — no value \(no pixel spacing\) Fat thickness — no value \(no pixel spacing\)/,
    );
    assert.ok(!/Ribeye area 0/.test(result ?? ''));
    assert.match(result ?? '', /Scale: no pixel spacing \(measured in pixels only\); square pixels assumed/);
    const waiting = strip((await (await as('farmer')).get(`/scans/${w.scanWaiting}`)).html);
    assert.match(waiting, /Ribeye area — no value \(not graded yet\)/);
    assert.match(waiting, /Not graded yet\./);
  });

  test('the mask editor is offered to admins and the farm’s technicians, never to farmers', async () => {
    for (const who of ['technician', 'admin'] as const) {
      const html = (await (await as(who)).get(`/scans/${w.scanGraded}`)).html;
      assert.match(html, /data-mask-editor=""/, who);
      assert.match(html, new RegExp(`data-submit-url="/api/v1/scans/${w.scanGraded}/corrections"`), who);
      assert.match(html, /data-width="640" data-height="480"/, who);
      assert.match(html, /\/static\/js\/mask-editor\.js/, who);
    }
    const farmer = (await (await as('farmer')).get(`/scans/${w.scanGraded}`)).html;
    assert.ok(!farmer.includes('data-mask-editor') && !farmer.includes('mask-editor.js'));
  });

  test('review: technicians save it (stored text escaped), errors beside the field, farmers refused, CSRF checked', async () => {
    const tech = await as('technician');
    const bad = await tech.post(`/scans/${w.scanGraded}/review`, { review_label: 'x', review_clarity: '9' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-review_clarity-error') ?? '', /Clarity must be/);
    assert.match(bad.html, /<input id="field-review_label" name="review_label" type="text" value="x"/);
    const script = '<script>alert(1)</script>';
    const ok = await tech.post(`/scans/${w.scanGraded}/review`, {
      review_label: script,
      review_clarity: '4',
      review_usability: 'usable',
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, `/scans/${w.scanGraded}?done=review-saved#review`);
    const [row] = await ctx.db
      .sql`SELECT review_label, review_clarity, reviewed_by FROM scans WHERE id = ${w.scanGraded}`;
    assert.deepEqual(
      { ...row },
      { review_label: script, review_clarity: 4, reviewed_by: w.users.technician.id },
    );
    const farmerView = await (await as('farmer')).get(`/scans/${w.scanGraded}`);
    assert.ok(!farmerView.html.includes(script));
    assert.match(farmerView.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    const list = await (await as('farmer')).get(`/scans?review_label=${encodeURIComponent(script)}`);
    assert.deepEqual(rowIds(list.html), [w.scanGraded]);
    const farmer = await as('farmer');
    assert.equal((await farmer.post(`/scans/${w.scanGraded}/review`, { review_label: 'mine' })).status, 403);
    assert.equal((await farmer.post(`/scans/${w.scanB}/review`, { review_label: 'mine' })).status, 404);
    assert.equal(
      (await tech.post(`/scans/${w.scanGraded}/review`, { review_label: 'y' }, { csrf: 'forged' })).status,
      403,
    );
    assert.equal(
      (await tech.post(`/scans/${w.scanGraded}/review`, { review_label: 'y' }, { csrf: false })).status,
      403,
    );
  });

  test('review: a field absent from the form keeps its value, a field sent empty clears it (r18 F9)', async () => {
    const tech = await as('technician');
    const review = async () =>
      ({
        ...(
          await ctx.db.sql`
          SELECT review_label, review_clarity, review_usability FROM scans WHERE id = ${w.scanGraded}`
        )[0],
      }) as Record<string, unknown>;
    const set = await tech.post(`/scans/${w.scanGraded}/review`, {
      review_label: 'ok',
      review_clarity: '4',
      review_usability: 'usable',
    });
    assert.equal(set.status, 303);
    const only = await tech.post(`/scans/${w.scanGraded}/review`, { review_clarity: '3' });
    assert.equal(only.status, 303);
    assert.deepEqual(await review(), { review_label: 'ok', review_clarity: 3, review_usability: 'usable' });
    const cleared = await tech.post(`/scans/${w.scanGraded}/review`, {
      review_label: '',
      review_usability: '',
    });
    assert.equal(cleared.status, 303);
    assert.deepEqual(await review(), { review_label: null, review_clarity: 3, review_usability: null });
  });
});

describe('home page', () => {
  test('counts by status (all and last 24 h), recent scans, announcements as sanitised Markdown', async () => {
    await seedScan(ctx.db.sql, { farmId: w.farmA, deviceId: w.deviceA, captureId: 'cap_today' });
    await ctx.db.sql`
      INSERT INTO announcements (title, body, format)
      VALUES ('Chute <b>closed</b>', ${'**Monday** <script>alert(1)</script> [map](javascript:alert(2)) <img src=x onerror=alert(3)>'}, 'markdown')`;
    const res = await (await as('farmer')).get('/');
    assert.equal(res.status, 200);
    const counts = textById(res.html, 'scan-counts') ?? '';
    const [n] = await ctx.db.sql<{ graded: number; waiting: number; day: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'graded')::int AS graded, count(*) FILTER (WHERE status = 'ingested')::int AS waiting,
             count(*) FILTER (WHERE captured_at > now() - interval '1 day')::int AS day
        FROM scans WHERE farm_id = ${w.farmA}`;
    assert.equal(n!.day, 1);
    assert.match(counts, new RegExp(`graded 0 ${n!.graded} `));
    assert.match(counts, new RegExp(`waiting for grading 1 ${n!.waiting} `));
    assert.match(counts, new RegExp(`Total 1 ${n!.graded + n!.waiting}$`));
    assert.match(res.html, /cap_today/);
    assert.ok(!res.html.includes('cap_other_farm'));
    assert.match(res.html, /<strong>Monday<\/strong>/);
    assert.match(res.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(res.html, /Chute &lt;b&gt;closed&lt;\/b&gt;/);
    assert.ok(!/<script>alert|href="javascript:|<img src=x/i.test(res.html));
  });
});
