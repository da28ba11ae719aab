import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MIGRATIONS_DIR, migrate } from '@cti/db';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';

// Migration 0016 gives every existing farm link the role it works in today, on a database that holds
// links made before it: the links are written under 0015, then 0016 is applied.

let db: TestDatabase;
const ids: Record<string, string> = {};
let before0016: string;

before(async () => {
  db = await createTestDatabase({ migrated: false, max: 2 });
  before0016 = mkdtempSync(join(tmpdir(), 'cti-migrations-0015-'));
  cpSync(MIGRATIONS_DIR, before0016, {
    recursive: true,
    filter: (src) => Number(/^(\d{4})_/.exec(basename(src))?.[1] ?? 0) < 16,
  });
  await migrate({ sql: db.sql, dir: before0016 });
  const sql = db.sql;
  const [north] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('North') RETURNING id`;
  const [south] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('South') RETURNING id`;
  ids.north = north!.id;
  ids.south = south!.id;
  const people = [
    ['farmer', ['farmer'], [[ids.north, true]]],
    ['tech', ['technician'], [[ids.north, false]]],
    // Both roles: owns North, linked to South without owning it.
    [
      'both',
      ['farmer', 'technician'],
      [
        [ids.north, true],
        [ids.south, false],
      ],
    ],
    ['admin', ['admin'], [[ids.south, false]]],
    // Owner marked by hand although not a farmer: keeps the link, not the ownership.
    ['odd', ['technician'], [[ids.south, true]]],
  ] as const;
  for (const [name, roles, links] of people) {
    const [u] = await sql<
      { id: string }[]
    >`INSERT INTO users (email) VALUES (${`${name}@x.test`}) RETURNING id`;
    ids[name] = u!.id;
    await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${u!.id}, id FROM roles WHERE name = ANY(${[...roles]}::text[])`;
    for (const [farm, owner] of links) {
      await sql`INSERT INTO user_farms (user_id, farm_id, is_owner) VALUES (${u!.id}, ${farm}, ${owner})`;
    }
  }
});
after(async () => {
  rmSync(before0016, { recursive: true, force: true });
  await db.drop();
});

const links = async () =>
  (
    await db.sql<{ who: string; farm: string; role: string; is_owner: boolean }[]>`
      SELECT split_part(u.email, '@', 1) AS who, f.name AS farm, uf.role, uf.is_owner
        FROM user_farms uf JOIN users u ON u.id = uf.user_id JOIN farms f ON f.id = uf.farm_id
       ORDER BY who, farm, uf.role`
  ).map((r) => `${r.who} ${r.farm} ${r.role}${r.is_owner ? ' owner' : ''}`);

describe('migration 0016: farm links made in a role', () => {
  test('existing links keep the access they give: technicians write, owners keep owning', async () => {
    // 0016 and whatever landed after it (the links are checked under the latest schema).
    const { applied } = await migrate({ sql: db.sql });
    assert.equal(applied[0], '0016_farm_link_role.sql');
    assert.deepEqual(await links(), [
      'admin South farmer',
      'both North farmer owner',
      'both North technician',
      'both South technician',
      'farmer North farmer owner',
      'odd South technician',
      'tech North technician',
    ]);
  });

  test('a link names a known role; only a farmer link owns; one link per user, farm and role', async () => {
    const insert = (role: string, owner: boolean) =>
      db.sql`INSERT INTO user_farms (user_id, farm_id, role, is_owner) VALUES (${ids.tech!}, ${ids.south!}, ${role}, ${owner})`;
    await assert.rejects(insert('owner', false), { code: '23514' });
    await assert.rejects(insert('technician', true), { code: '23514' });
    await assert.rejects(
      db.sql`INSERT INTO user_farms (user_id, farm_id) VALUES (${ids.tech!}, ${ids.south!})`,
      { code: '23502' },
      'every writer says the role: no default',
    );
    await insert('technician', false);
    await assert.rejects(insert('technician', false), { code: '23505' });
  });
});
