import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { seedFarm, seedUser } from '../../test-seed.ts';
import { pageClient } from './test-page-client.ts';

// CTI_MAP_TILE_URL: the farm map draws the configured tiles under the geofence, the tile server's
// origin joins the CSP's img-src (and nothing else does), and the attribution is written on the map.
let farm: string;
const ctx = useTestApp(
  { web: { mapTileUrl: 'https://tiles.example.org/{z}/{x}/{y}.png', mapTileAttribution: '© Example Maps' } },
  {
    async seed({ db }) {
      farm = await seedFarm(db.sql, 'Tiled Farm');
      await seedUser(db.sql, 'tiles@example.com', ['farmer'], { farms: [{ id: farm }] });
    },
  },
);

test('the farm map has tiles from the configured server, allowed by the CSP', async () => {
  const res = await (await pageClient(ctx.server.app, 'tiles@example.com')).get(`/farms/${farm}`);
  assert.equal(res.status, 200);
  assert.match(res.html, /<image href="https:\/\/tiles\.example\.org\/\d+\/\d+\/\d+\.png"/);
  assert.match(res.html, /© Example Maps/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /img-src 'self' data: blob: [^;]*https:\/\/tiles\.example\.org/);
  assert.doesNotMatch(csp, /script-src[^;]*tiles/);
});
