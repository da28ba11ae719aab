import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientsByEmail, problemPointers } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser } from '../test-seed.ts';
import { pageClient, textById } from '../web/pages/test-page-client.ts';

// A group holding a member born outside its window — what the code before the window was enforced
// allowed (a birth date corrected after the animal joined, a window narrowed) — through the API and
// the pages on a real database: the member is flagged, and only a change of the window or of a birth
// date is judged; values re-sent unchanged (the pages send every field) never refuse (review r5 F3).

const ids = {} as Record<'farm' | 'late' | 'inside' | 'group', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      ids.farm = await seedFarm(db.sql, 'Maple Farm');
      await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: ids.farm }] });
      const animal = async (tag: string, born: string) =>
        (
          await db.sql`INSERT INTO animals (farm_id, tag_id, birth_date) VALUES (${ids.farm}, ${tag}, ${born}) RETURNING id`
        )[0]!.id as string;
      ids.late = await animal('A-1', '2024-03-01');
      ids.inside = await animal('B-1', '2024-03-15');
      const [g] = await db.sql`
        INSERT INTO contemporary_groups (farm_id, name, birth_date_from, birth_date_to)
        VALUES (${ids.farm}, 'Spring 2024', '2024-02-01', '2024-04-30') RETURNING id`;
      ids.group = g!.id;
      for (const id of [ids.late, ids.inside])
        await db.sql`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${ids.group}, ${id})`;
      // The birth date corrected after the animal joined, as the code before 607f229 let through.
      await db.sql`UPDATE animals SET birth_date = '2024-06-15' WHERE id = ${ids.late}`;
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);
const pointers = problemPointers;

const stored = async () => {
  const [g] = await ctx.db.sql`
    SELECT name, birth_date_from::text AS f, birth_date_to::text AS t FROM contemporary_groups WHERE id = ${ids.group}`;
  const animals = await ctx.db.sql`
    SELECT tag_id, breed, birth_date::text AS born FROM animals WHERE farm_id = ${ids.farm} ORDER BY tag_id`;
  return { group: { ...g }, animals: animals.map((a) => ({ ...a })) };
};

describe('a group holding a member outside its window (data from before the window was enforced)', () => {
  test('the API and the group page flag the member', async () => {
    const api = await as('tech@example.com');
    const g = await api.request('GET', `/api/v1/groups/${ids.group}`);
    assert.equal(g.status, 200);
    assert.deepEqual(
      g.body.animals.map((a: { tag_id: string; outside_window: boolean }) => [a.tag_id, a.outside_window]),
      [
        ['A-1', true],
        ['B-1', false],
      ],
    );
    const page = await (await pageClient(ctx.server.app, 'tech@example.com')).get(`/groups/${ids.group}`);
    assert.equal(page.status, 200);
    assert.match(textById(page.html, 'outside-window') ?? '', /1 animal is born outside the group's window/);
    assert.match(textById(page.html, 'group-animals') ?? '', /2024-06-15 outside the window/);
  });

  test('renaming the group (API: name only; page: the window re-sent unchanged) is saved', async () => {
    const api = await as('tech@example.com');
    const renamed = await api.request('PATCH', `/api/v1/groups/${ids.group}`, {
      body: { name: 'Spring calves 2024' },
    });
    assert.equal(renamed.status, 200, renamed.text);
    const pc = await pageClient(ctx.server.app, 'tech@example.com');
    const page = await pc.post(`/groups/${ids.group}`, {
      name: 'Spring calves',
      birth_date_from: '2024-02-01',
      birth_date_to: '2024-04-30',
    });
    assert.equal(page.status, 303, page.html.slice(0, 300));
    assert.deepEqual((await stored()).group, { name: 'Spring calves', f: '2024-02-01', t: '2024-04-30' });
  });

  test("the animal is saved with its stored birth date re-sent (API and the animal page's form)", async () => {
    const api = await as('tech@example.com');
    const res = await api.request('PATCH', `/api/v1/animals/${ids.late}`, {
      body: { breed: 'Angus', birth_date: '2024-06-15' },
    });
    assert.equal(res.status, 200, res.text);
    const pc = await pageClient(ctx.server.app, 'tech@example.com');
    const page = await pc.post(`/animals/${ids.late}`, {
      farm_id: ids.farm,
      tag_id: 'A-1',
      eid: '',
      breed: 'Hereford',
      sex: '',
      birth_date: '2024-06-15',
    });
    assert.equal(page.status, 303, page.html.slice(0, 300));
    assert.deepEqual((await stored()).animals[0], { tag_id: 'A-1', breed: 'Hereford', born: '2024-06-15' });
  });

  test('a widened bound that still leaves the member out is saved; a real narrowing is still refused', async () => {
    const api = await as('tech@example.com');
    const wider = await api.request('PATCH', `/api/v1/groups/${ids.group}`, {
      body: { birth_date_from: '2024-01-01', birth_date_to: '2024-05-31' },
    });
    assert.equal(wider.status, 200, wider.text);
    const narrower = await api.request('PATCH', `/api/v1/groups/${ids.group}`, {
      body: { birth_date_to: '2024-03-10' },
    });
    assert.equal(narrower.status, 422);
    assert.deepEqual(pointers(narrower), ['/birth_date_to']);
    assert.match(
      narrower.body.problems[0].message,
      /^would leave out animals of the group born later: B-1 \(born 2024-03-15\); remove them/,
      'names what the change leaves out, not the member already outside',
    );
    const pc = await pageClient(ctx.server.app, 'tech@example.com');
    const page = await pc.post(`/groups/${ids.group}`, {
      name: 'Spring calves',
      birth_date_from: '2024-03-20',
      birth_date_to: '2024-05-31',
    });
    assert.equal(page.status, 422);
    assert.match(page.html, /would leave out animals of the group born earlier: B-1 \(born 2024-03-15\)/);
    assert.deepEqual((await stored()).group, { name: 'Spring calves', f: '2024-01-01', t: '2024-05-31' });
  });

  test('a changed birth date is judged: still outside → 422; inside → saved and no longer flagged', async () => {
    const api = await as('tech@example.com');
    const still = await api.request('PATCH', `/api/v1/animals/${ids.late}`, {
      body: { birth_date: '2024-06-16' },
    });
    assert.equal(still.status, 422);
    assert.deepEqual(pointers(still), ['/birth_date']);
    assert.match(still.body.message, /outside the birth-date window of the animal's group "Spring calves"/);
    assert.equal((await stored()).animals[0]!.born, '2024-06-15', 'nothing written');
    const fixed = await api.request('PATCH', `/api/v1/animals/${ids.late}`, {
      body: { birth_date: '2024-04-01' },
    });
    assert.equal(fixed.status, 200, fixed.text);
    const g = await api.request('GET', `/api/v1/groups/${ids.group}`);
    assert.deepEqual(
      g.body.animals.map((a: { outside_window: boolean }) => a.outside_window),
      [false, false],
    );
  });
});
