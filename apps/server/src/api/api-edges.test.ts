import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientsByEmail } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser } from '../test-seed.ts';

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
    // The JSON escapes of `"` and `\` double them too; U+1D160 is three code points (12 bytes) in NFC.
    const tags = ['牛'.repeat(63), '牛'.repeat(64), '\u{1D160}'.repeat(64), `${'"'.repeat(63)}\\`, 'ZZ-last'];
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
