import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { apiClient } from '../test-api-client.ts';
import { createTestApp } from '../test-helpers.ts';

// scripts/lib/demo-accounts.sh, the README's demo data: run as the demo runs it, against the real
// migrations (it writes SQL by hand, so a schema change that breaks it shows here, not in the demo).

const SCRIPT = fileURLToPath(new URL('../../../../scripts/lib/demo-accounts.sh', import.meta.url));
const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('demo accounts: the farm, the animal, one user per role; the technician and the owning farmer linked in their roles', async () => {
  assert.ok(existsSync(MAIN_JS), `build first: ${MAIN_JS} missing (the script runs the built cti-server)`);
  const child = spawn('bash', [SCRIPT, db.url, '8080'], {
    env: { PATH: process.env.PATH, CTI_SCRYPT_LOG2_N: '10', CTI_SCRYPT_P: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, err);
  assert.match(out, /farmer +farmer@demo\.cti +demo-maple-barn-43 +\(owner of Demo Farm\)/);
  const links = await db.sql<{ email: string; role: string; is_owner: boolean }[]>`
    SELECT u.email, uf.role, uf.is_owner FROM user_farms uf
      JOIN users u ON u.id = uf.user_id JOIN farms f ON f.id = uf.farm_id
     WHERE f.name = 'Demo Farm' ORDER BY u.email`;
  assert.deepEqual(
    links.map((l) => ({ ...l })),
    [
      { email: 'farmer@demo.cti', role: 'farmer', is_owner: true },
      { email: 'technician@demo.cti', role: 'technician', is_owner: false },
    ],
  );
  const server = createTestApp(db.sql);
  try {
    for (const [email, password] of [
      ['farmer@demo.cti', 'demo-maple-barn-43'],
      ['technician@demo.cti', 'demo-chute-probe-42'],
    ] as const) {
      const client = apiClient(server.app);
      assert.equal((await client.signIn(email, password)).status, 200, email);
      const animals = await client.request('GET', '/api/v1/animals');
      assert.equal(animals.status, 200);
      assert.deepEqual(
        (animals.body as { items: { tag_id: string }[] }).items.map((a) => a.tag_id),
        ['DEMO-001'],
        `${email} reads the demo farm's animal`,
      );
    }
  } finally {
    await server.close();
  }
});
