import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedDevice, seedFarm, seedScan, seedUser } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { animalFieldOf, assignmentTyped, pageClient, textById } from './test-page-client.ts';

// What the Animal field (animal-field.tsx) takes for an animal besides the tag and EID as stored
// (scan-animal-field.test.ts): a reader's line pasted whole, its EID read by the agent's parser
// (@cti/contracts parseEidLine), and an ear tag typed in another case. The tag as typed still comes
// first, so no tag stops naming its animal; two tags that differ only in case on one farm are a
// question, never a guess. Through the pages (scans filter, "Farm and animal" form) on real Postgres
// with the real migrations (0026's index on lower(tag_id)).

const x = {} as Record<
  | 'feedlot'
  | 'hill'
  | 'hillDevice'
  | 'f0005'
  | 'f0017'
  | 'f0018'
  | 'f0042'
  | 'hillF0042'
  | 'ab7'
  | 'aB7'
  | 'holdsEid'
  | 'digits'
  | 'feedlotGh1'
  | 'hillGh1'
  | 'ecole',
  string
>;
const { ctx, w } = useDashboardApp(async (sql) => {
  x.feedlot = await seedFarm(sql, 'Big Feedlot');
  x.hill = await seedFarm(sql, 'Hill Farm');
  x.hillDevice = await seedDevice(sql, 'dev-hill', x.hill);
  // F-0001 … F-0050, EIDs 826000000000001 …
  await sql`
    INSERT INTO animals (farm_id, tag_id, eid)
    SELECT ${x.feedlot}, 'F-' || lpad(i::text, 4, '0'), '826' || lpad(i::text, 12, '0')
      FROM generate_series(1, 50) i`;
  const add = async (farm: string, tag: string) =>
    (
      await sql<{ id: string }[]>`INSERT INTO animals (farm_id, tag_id) VALUES (${farm}, ${tag}) RETURNING id`
    )[0]!.id;
  const idOf = async (tag: string) =>
    (await sql<{ id: string }[]>`SELECT id FROM animals WHERE farm_id = ${x.feedlot} AND tag_id = ${tag}`)[0]!
      .id;
  x.f0005 = await idOf('F-0005');
  x.f0017 = await idOf('F-0017');
  x.f0018 = await idOf('F-0018');
  x.f0042 = await idOf('F-0042');
  x.feedlotGh1 = await add(x.feedlot, 'Gh-1');
  // Hill Farm: F-0042 in lower case; two tags that differ only in case; a tag that holds F-0005's EID
  // as a reader prints it; a tag of 15 digits that is no animal's EID.
  x.hillF0042 = await add(x.hill, 'f-0042');
  x.ab7 = await add(x.hill, 'Ab-7');
  x.aB7 = await add(x.hill, 'aB-7');
  x.holdsEid = await add(x.hill, 'T 826 000000000005');
  x.digits = await add(x.hill, '124000000000042');
  x.hillGh1 = await add(x.hill, 'gH-1');
  x.ecole = await add(x.hill, 'ÉCOLE-9');
  await seedUser(sql, 'feedlot-farmer@example.com', ['farmer'], { farms: [{ id: x.feedlot }] });
  await seedUser(sql, 'hill-tech@example.com', ['technician'], {
    farms: [{ id: x.feedlot }, { id: x.hill }],
  });
});
const as = (email: string) => pageClient(ctx.server.app, email);
const errorOf = (html: string) => textById(html, 'field-animal-error') ?? '';
/** The animal the scans filter found for `text` (its id kept beside the field), or its error. */
async function filterFor(email: string, text: string, farmId?: string) {
  const farm = farmId ? `&farm_id=${farmId}` : '';
  const res = await (await as(email)).get(`/scans?animal=${encodeURIComponent(text)}${farm}`);
  assert.equal(res.status, 200);
  assert.equal(animalFieldOf(res.html)?.value, text, 'the text is shown as typed');
  const id = /<input type="hidden" name="animal_id" value="([^"]*)"/.exec(res.html)?.[1];
  return id ?? errorOf(res.html);
}
const animalOf = async (scan: string) =>
  (await ctx.db.sql<{ animal_id: string | null }[]>`SELECT animal_id FROM scans WHERE id = ${scan}`)[0]!
    .animal_id;

describe('a reader line pasted into the Animal field', () => {
  test('names the animal by the EID in it, whatever the prefix, suffix or framing', async () => {
    for (const line of [
      'LA 826 000000000017',
      '826000000000017 FDX-B',
      '$826000000000017#',
      'EID:826.000000000017;W=452',
      'hdx 826_000000000017',
    ]) {
      assert.equal(await filterFor('feedlot-farmer@example.com', line), x.f0017, line);
    }
  });

  test('links a scan in the "Farm and animal" form', async () => {
    const t = await as('hill-tech@example.com');
    const scan = await seedScan(ctx.db.sql, { farmId: x.feedlot, deviceId: x.hillDevice });
    const page = (await t.get(`/scans/${scan}`)).html;
    const res = await t.post(`/scans/${scan}/assignment`, assignmentTyped(page, 'LA 826 000000000018 FDX-B'));
    assert.equal(res.status, 303);
    assert.equal(await animalOf(scan), x.f0018);
  });

  test('the tag as typed comes first: a tag holding another animal’s EID, or of 15 digits, names its animal', async () => {
    const tech = 'hill-tech@example.com';
    assert.equal(await filterFor(tech, 'T 826 000000000005'), x.holdsEid, 'the tag, not F-0005 by its EID');
    assert.equal(await filterFor(tech, 't 826 000000000005'), x.holdsEid, 'the tag in another case too');
    assert.equal(await filterFor(tech, '124000000000042'), x.digits);
    assert.equal(await filterFor(tech, 'F-0005'), x.f0005);
    // Who cannot read Hill Farm has no such tag: the line's EID names F-0005.
    assert.equal(await filterFor('feedlot-farmer@example.com', 'T 826 000000000005'), x.f0005);
  });
});

describe('ear tags typed in another case', () => {
  test('a tag in lower case finds the tag printed in capitals; an exact tag anywhere wins', async () => {
    assert.equal(await filterFor('feedlot-farmer@example.com', 'f-0042'), x.f0042);
    const tech = 'hill-tech@example.com';
    assert.equal(await filterFor(tech, 'f-0042'), x.hillF0042, "Hill Farm's exact f-0042, no question");
    assert.equal(await filterFor(tech, 'F-0042'), x.f0042, "the feedlot's exact F-0042");
    assert.equal(await filterFor(tech, 'F-0042', x.hill), x.hillF0042, 'on Hill Farm: its f-0042');
    assert.equal(await filterFor(tech, 'gh-1', x.hill), x.hillGh1);
    // Not only ASCII: É in lower case, typed precomposed or as e + U+0301 (NFC makes them one).
    assert.equal(await filterFor(tech, 'école-9'), x.ecole);
    assert.equal(await filterFor(tech, 'e\u0301cole-9'), x.ecole);
    assert.equal(
      await filterFor(tech, 'gh-1'),
      'Error: Ear tag “gh-1” is on 2 of your farms (Big Feedlot, Hill Farm): choose the farm, or type the EID.',
    );
  });

  test('two tags on one farm that differ only in case: a field error naming both, not a guess', async () => {
    const tech = 'hill-tech@example.com';
    const question =
      'Error: Ear tag “ab-7” matches “Ab-7” and “aB-7” on Hill Farm when case is ignored: type the tag as printed, or type the EID.';
    assert.equal(await filterFor(tech, 'ab-7'), question);
    assert.equal(await filterFor(tech, 'ab-7', x.hill), question);
    assert.equal(await filterFor(tech, 'Ab-7'), x.ab7);
    assert.equal(await filterFor(tech, 'aB-7'), x.aB7);
    const t = await as(tech);
    const scan = await seedScan(ctx.db.sql, { farmId: x.hill, deviceId: x.hillDevice });
    const res = await t.post(
      `/scans/${scan}/assignment`,
      assignmentTyped((await t.get(`/scans/${scan}`)).html, 'AB-7'),
    );
    assert.equal(res.status, 422);
    assert.equal(errorOf(res.html), question.replace('ab-7', 'AB-7'));
    assert.equal(animalFieldOf(res.html)?.value, 'AB-7');
    assert.equal(await animalOf(scan), null, 'nothing written');
  });
});

test('an animal on a farm the viewer cannot read is not found, in the words of one that does not exist', async () => {
  const stranger = w.users.stranger.email;
  for (const text of ['ab-7', 'f-0042', 'la 826 000000000017', 'T 826 000000000005']) {
    assert.equal(
      await filterFor(stranger, text),
      `Error: No animal with ear tag or EID “${text}” on your farms.`,
      text,
    );
  }
  assert.equal(
    await filterFor(stranger, 'gh-1', x.hill),
    'Error: No animal with ear tag or EID “gh-1” on that farm.',
  );
  assert.equal(
    await filterFor('feedlot-farmer@example.com', 'ab-7'),
    'Error: No animal with ear tag or EID “ab-7” on your farms.',
  );
});
