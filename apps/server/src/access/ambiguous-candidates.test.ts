import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { clientsByEmail } from '../test-api-client.ts';
import { signedInit, useTestApp } from '../test-helpers.ts';
import { seedUser } from '../test-seed.ts';
import { pageClient, strip } from '../web/pages/test-page-client.ts';

// Review r5 F2: a capture inside two admin-drawn overlapping fences gets no farm and a `farm_ambiguous`
// event listing both candidates. Once an admin put the scan on one farm, that farm's users read it:
// the other candidate is counted, never named, in the API and on the page; an admin sees both.

const ids = {} as Record<'A' | 'B', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      for (const [key, name, half] of [
        ['A', 'Alpha Farm', 0.1],
        ['B', 'Secret Beta Ranch', 0.05],
      ] as const) {
        // Centred on the example capture's gps point (lon -79.3832, lat 43.6532).
        const [farm] = await db.sql`
          INSERT INTO farms (name, geofence)
          VALUES (${name}, ST_Expand(ST_SetSRID(ST_MakePoint(-79.3832, 43.6532), 4326), ${half})::geometry(Polygon, 4326))
          RETURNING id`;
        ids[key] = farm!.id;
      }
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: ids.A }] });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);

const ambiguousEvent = (body: { events?: { event: string; meta: Record<string, unknown> }[] }) =>
  body.events?.find((e) => e.event === 'farm_ambiguous')?.meta;

describe('the farm_ambiguous event, read after an admin chose the farm', () => {
  test('a user of the chosen farm learns how many farms, not which other ones; an admin sees them all', async () => {
    const res = await ctx.server.app.request(
      '/ingest/webhook',
      signedInit(exampleWebhookBody({ meta_json: exampleMeta() })),
    );
    assert.equal(res.status, 201, await res.clone().text());
    const { scan_id: scan } = (await res.json()) as { scan_id: string };
    const admin = await as('admin@example.com');
    const set = await admin.request('PATCH', `/api/v1/scans/${scan}`, { body: { farm_id: ids.A } });
    assert.equal(set.status, 200, set.text);

    const farmer = await as('farmer@example.com');
    const api = await farmer.request('GET', `/api/v1/scans/${scan}`);
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(ambiguousEvent(api.body), {
      candidate_farms: [{ id: ids.A, name: 'Alpha Farm' }],
      other_candidate_farms: 1,
    });
    assert.doesNotMatch(api.text, /Secret Beta/);
    assert.equal(api.text.includes(ids.B), false, 'nor its id');

    const page = await (await pageClient(ctx.server.app, 'farmer@example.com')).get(`/scans/${scan}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.html, /Secret Beta/);
    assert.equal(page.html.includes(ids.B), false);
    assert.match(
      strip(page.html),
      /at ingest its position lay inside 2 farms’ geofences \(Alpha Farm, 1 other farm\); no farm was chosen then/,
    );

    const full = await admin.request('GET', `/api/v1/scans/${scan}`);
    assert.deepEqual(ambiguousEvent(full.body), {
      candidate_farms: [
        { id: ids.A, name: 'Alpha Farm' },
        { id: ids.B, name: 'Secret Beta Ranch' },
      ],
      other_candidate_farms: 0,
    });
    const adminPage = await (await pageClient(ctx.server.app, 'admin@example.com')).get(`/scans/${scan}`);
    assert.match(strip(adminPage.html), /inside 2 farms’ geofences \(Alpha Farm, Secret Beta Ranch\)/);
  });
});
