import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { createFarmCommand } from './farm-command.ts';

// Review r5 F6: `cti-server farm overlaps` lists the farms whose geofences overlap (scans taken there get
// no farm since review r1 F12), against a real migrated database; spawned once as an operator runs it.

const MAIN = new URL('../main.ts', import.meta.url).pathname;
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db?.drop());

type Run = { code: number; stdout: string; stderr: string };

async function farm(args: string[], env: Record<string, string | undefined> = { DATABASE_URL: db.url }) {
  let stdout = '';
  let stderr = '';
  const command = createFarmCommand({ io: { out: (s) => (stdout += s), err: (s) => (stderr += s) }, env });
  return { code: (await command.run(args)) ?? 0, stdout, stderr } satisfies Run;
}

const spawned = (args: string[]) =>
  new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [...SOURCE_NODE_ARGS, MAIN, 'farm', ...args],
      { env: { PATH: process.env.PATH, DATABASE_URL: db.url } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

/** A farm with the rectangle [west, south, east, north] as its geofence; its id. */
async function fenced(name: string, w: number, s: number, e: number, n: number): Promise<string> {
  const [row] = await db.sql`
    INSERT INTO farms (name, geofence) VALUES (${name}, ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326)) RETURNING id`;
  return row!.id;
}

describe('cti-server farm overlaps', () => {
  test('no fences overlap: nothing on stdout, says so on stderr, exit 0', async () => {
    await fenced('Ranch', -80.1, 43.9, -79.9, 44.1);
    await fenced('Neighbour', -79.9, 43.9, -79.8, 44.1); // shares the Ranch's east line only
    const res = await farm(['overlaps']);
    assert.deepEqual(res, { code: 0, stdout: '', stderr: 'no overlapping geofences\n' });
  });

  test('lists each overlapping pair once, largest first, and says which is nested', async () => {
    const [ranch] = await db.sql`SELECT id FROM farms WHERE name = 'Ranch'`;
    const paddock = await fenced('Paddock', -80.01, 43.99, -79.99, 44.01);
    const edge = await fenced('Edge Acres', -79.801, 43.9, -79.7, 44.1); // 0.001° into the Neighbour
    const [neighbour] = await db.sql`SELECT id FROM farms WHERE name = 'Neighbour'`;
    const res = await spawned(['overlaps']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2, res.stdout);
    const [a, b] = [ranch!.id, paddock].sort();
    assert.match(
      lines[0]!,
      new RegExp(
        `^".+" \\(${a}\\) and ".+" \\(${b}\\): 3\\d\\d\\.\\d\\d ha in both geofences, one inside the other$`,
      ),
    );
    const [c, d] = [neighbour!.id, edge].sort();
    assert.match(
      lines[1]!,
      new RegExp(`\\(${c}\\) and .*\\(${d}\\): 1\\d\\d\\.\\d\\d ha in both geofences$`),
    );
  });

  test('a bad command line exits 2 with the usage; DATABASE_URL missing exits 78', async () => {
    const bad = await farm(['overlap']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown arguments "overlap"\nusage: cti-server farm +overlaps/);
    const none = await farm(['overlaps'], {});
    assert.equal(none.code, 78);
    assert.match(none.stderr, /configuration error: .*DATABASE_URL/);
  });
});
