import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { signedInit, useTestApp } from '../test-helpers.ts';
import { linkWaitingScans } from './animal-link-sweep.ts';

// Ear tags at ingest (meta.json `animal`): the scan keeps the tag and is linked to the animal with that
// tag on the scan's farm — at ingest, or when the animal is registered later (trigger, migration 0006).

const EID = '982000123456789';
const OTHER_EID = '982000987654321';
const ctx = useTestApp();
let farm: string;
let otherFarm: string;

beforeEach(async () => {
  await ctx.server.ingestionLog.flush();
  await ctx.db
    .sql`TRUNCATE scan_events, grading_jobs, scans, assets, devices, ingestion_log, animals, farms CASCADE`;
  const rows = await ctx.db.sql<
    { id: string }[]
  >`INSERT INTO farms (name) VALUES ('Home'), ('Neighbour') RETURNING id`;
  farm = rows[0]!.id;
  otherFarm = rows[1]!.id;
});

let seq = 0;
async function ingest(animal: { eid: string; read_at: string } | undefined, farmId: string | null = farm) {
  seq += 1;
  const meta = exampleMeta({
    capture_id: `cap_animal_${seq}`,
    farm_id: farmId,
    ...(animal ? { animal } : {}),
  });
  const res = await ctx.server.app.request(
    '/ingest/webhook',
    signedInit(exampleWebhookBody({ meta_json: meta })),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const { scan_id } = (await res.json()) as { scan_id: string };
  return scan_id;
}

const scanRow = async (id: string) => {
  const [row] = await ctx.db.sql<{ animal_id: string | null; animal_eid: string | null }[]>`
    SELECT animal_id, animal_eid FROM scans WHERE id = ${id}`;
  return row!;
};

async function registerAnimal(tag: string, eid: string | null, farmId: string | null = farm) {
  const [row] = await ctx.db.sql<{ id: string }[]>`
    INSERT INTO animals (farm_id, tag_id, eid) VALUES (${farmId}, ${tag}, ${eid}) RETURNING id`;
  return row!.id;
}

const read = { eid: EID, read_at: '2025-09-09T14:17:50Z' };

describe('scans and animals by ear tag', () => {
  test("a known tag on the scan's farm links the scan at ingest", async () => {
    const animal = await registerAnimal('A-17', EID);
    const scan = await ingest(read);
    assert.deepEqual(await scanRow(scan), { animal_id: animal, animal_eid: EID });
    const [event] = await ctx.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'ingested'`;
    assert.equal(event!.meta.animal_matched, true);
  });

  test('an unknown tag is kept on the scan, no animal is created, and it links when the animal is registered', async () => {
    const scan = await ingest(read);
    assert.deepEqual(await scanRow(scan), { animal_id: null, animal_eid: EID });
    const [{ count }] = (await ctx.db.sql`SELECT count(*)::int AS count FROM animals`) as unknown as [
      { count: number },
    ];
    assert.equal(count, 0, 'never a junk animal made from a tag');
    const [event] = await ctx.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'ingested'`;
    assert.equal(event!.meta.animal_matched, false);
    // Registered later by whatever code path (the dashboard's API, an import, psql): the trigger links.
    const animal = await registerAnimal('A-17', EID);
    assert.deepEqual(await scanRow(scan), { animal_id: animal, animal_eid: EID });
  });

  test('an animal registered without a tag links its scans when the tag is added', async () => {
    const scan = await ingest(read);
    const animal = await registerAnimal('A-18', null);
    assert.equal((await scanRow(scan)).animal_id, null);
    await ctx.db.sql`UPDATE animals SET eid = ${EID} WHERE id = ${animal}`;
    assert.equal((await scanRow(scan)).animal_id, animal);
  });

  test('the tag of an animal on another farm does not link (neither at ingest, on registration nor by the sweep)', async () => {
    await registerAnimal('N-1', EID, otherFarm);
    const scan = await ingest(read);
    assert.deepEqual(await scanRow(scan), { animal_id: null, animal_eid: EID });
    await linkWaitingScans(ctx.db.sql, { now: new Date() });
    assert.equal((await scanRow(scan)).animal_id, null);
    // A scan on no farm at all is not linked either.
    const farmless = await ingest({ ...read }, null);
    assert.deepEqual(await scanRow(farmless), { animal_id: null, animal_eid: EID });
  });

  test('a corrected tag unlinks the scans of the old tag and links those of the new one', async () => {
    const animal = await registerAnimal('A-19', EID);
    const first = await ingest(read);
    const second = await ingest({ eid: OTHER_EID, read_at: read.read_at });
    assert.equal((await scanRow(first)).animal_id, animal);
    assert.equal((await scanRow(second)).animal_id, null);
    await ctx.db.sql`UPDATE animals SET eid = ${OTHER_EID} WHERE id = ${animal}`;
    assert.deepEqual(await scanRow(first), { animal_id: null, animal_eid: EID });
    assert.deepEqual(await scanRow(second), { animal_id: animal, animal_eid: OTHER_EID });
  });

  test('a scan without a tag has neither column set; a manual link without a tag survives tag edits', async () => {
    const scan = await ingest(undefined);
    assert.deepEqual(await scanRow(scan), { animal_id: null, animal_eid: null });
    const [event] = await ctx.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'ingested'`;
    assert.equal(event!.meta.animal_matched, null);
    const animal = await registerAnimal('A-20', EID);
    await ctx.db.sql`UPDATE scans SET animal_id = ${animal} WHERE id = ${scan}`;
    await ctx.db.sql`UPDATE animals SET eid = ${OTHER_EID} WHERE id = ${animal}`;
    assert.equal((await scanRow(scan)).animal_id, animal);
  });

  test('the sweep links a scan that missed its animal in a race (both committed at the same moment)', async () => {
    const animal = await registerAnimal('A-21', EID);
    // What a lost race leaves behind: the scan was inserted without seeing the animal, and the animal's
    // trigger ran without seeing the scan.
    const scan = await ingest(read);
    await ctx.db.sql`UPDATE scans SET animal_id = NULL WHERE id = ${scan}`;
    assert.equal(await linkWaitingScans(ctx.db.sql, { now: new Date() }), 1);
    assert.equal((await scanRow(scan)).animal_id, animal);
    assert.equal(await linkWaitingScans(ctx.db.sql, { now: new Date() }), 0, 'idempotent');
  });
});
