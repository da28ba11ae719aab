import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ApiClient, clientsByEmail, problemPointers } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, squareAround } from '../test-seed.ts';
import { pageClient, strip } from '../web/pages/test-page-client.ts';

// Typed names (farms, tags, breeds, groups, labels, people, titles) through the API and the pages on a
// real database: blank-looking, reversed or multi-line text is a 422 naming the field, and names are
// NFC-normalised before the uniqueness checks, so a look-alike tag collides instead of being a second
// animal. (Every answer is also checked against the OpenAPI document by the API client.)

let farm: string;
let legacy: string;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      farm = await seedFarm(db.sql, 'Names Farm');
      // Stored before the rule (the old pattern allowed a soft hyphen), as review r5 F5 found it.
      legacy = await seedFarm(db.sql, 'Hof\u00adMüller', { lon: -81, lat: 44 });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
      await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: farm }, { id: legacy }] });
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm, owner: true }] });
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);
const pointers = problemPointers;

/** Text that must never be a typed name, with why. */
const BAD: [string, string][] = [
  ['\u200b', 'zero-width space only'],
  ['\u3164', 'Hangul filler only'],
  ['\u00ad', 'soft hyphen only'],
  ['\u202e', 'right-to-left override only'],
  ['\u0301', 'a combining mark alone'],
  [' \u2060 ', 'word joiner and spaces'],
  ['T-1\u200b', 'a zero-width space making a look-alike'],
  ['\u202eevil\u202c', 'a bidi override'],
  ['\u2066x\u2069', 'a bidi isolate'],
  ['a\u200fb', 'a right-to-left mark'],
  ['a\u2028b', 'a line separator'],
  ['a\u2029b', 'a paragraph separator'],
  ['a\u0085b', 'NEL (a C1 control)'],
  ['a\u009bb', 'CSI (a C1 control)'],
  ['\ufeffT-1', 'a byte order mark'],
];

describe('typed names', () => {
  test('blank-looking, reversed or multi-line names are a 422 naming the field, for every kind of name', async () => {
    const admin = await as('admin@example.com');
    const tech = await as('tech@example.com');
    const farmer = await as('farmer@example.com');
    const before = await ctx.db
      .sql`SELECT (SELECT count(*) FROM farms)::int AS f, (SELECT count(*) FROM animals)::int AS a`;
    for (const [text, why] of BAD) {
      const cases: [ApiClient, string, string, Record<string, unknown>, string][] = [
        [admin, 'POST', '/api/v1/farms', { name: text }, '/name'],
        [tech, 'POST', '/api/v1/animals', { farm_id: farm, tag_id: text }, '/tag_id'],
        [
          tech,
          'POST',
          '/api/v1/animals',
          { farm_id: farm, tag_id: `B-${why.length}`, breed: text },
          '/breed',
        ],
        [tech, 'POST', '/api/v1/groups', { farm_id: farm, name: text }, '/name'],
        [farmer, 'PATCH', '/api/v1/me', { full_name: text }, '/full_name'],
        [admin, 'POST', '/api/v1/announcements', { title: text, body: 'b' }, '/title'],
      ];
      for (const [client, method, path, body, pointer] of cases) {
        const res = await client.request(method, path, { body });
        assert.equal(res.status, 422, `${path} ${pointer}: ${why}`);
        assert.ok(pointers(res).includes(pointer), `${path} names ${pointer}: ${why} (${pointers(res)})`);
        assert.match(res.body.message, /at least one visible character/, why);
      }
    }
    assert.deepEqual(
      [
        ...(await ctx.db
          .sql`SELECT (SELECT count(*) FROM farms)::int AS f, (SELECT count(*) FROM animals)::int AS a`),
      ],
      [...before],
      'nothing written',
    );
  });

  test('the 422 names each refused character with its code point, name and position', async () => {
    const admin = await as('admin@example.com');
    const cases: [string, RegExp][] = [
      ['Hof\u00adMüller', /; it contains U\+00AD \(soft hyphen\) at position 4: remove it$/],
      [
        '\u202eevil\u202c',
        /; it contains U\+202E \(right-to-left override\) at position 1, U\+202C \(pop directional formatting\) at position 6: remove them$/,
      ],
      ['a\u0085b', /; it contains U\+0085 \(control character\) at position 2: remove it$/],
      ['\u3164', /; it has no visible character$/],
      [' \u2060 ', /; it has no visible character and contains U\+2060 \(word joiner\) at position 2$/],
      [`T${'\u200b'.repeat(7)}`, /U\+200B \(zero-width space\) at position 6 and 2 more: remove them$/],
    ];
    for (const [name, fault] of cases) {
      const res = await admin.request('PATCH', `/api/v1/farms/${farm}`, { body: { name } });
      assert.equal(res.status, 422, JSON.stringify(name));
      assert.deepEqual(pointers(res), ['/name']);
      assert.match(res.body.problems[0].message, /^must be 1–200 characters on one line, .*characters; it/);
      assert.match(res.body.problems[0].message, fault, JSON.stringify(name));
      assert.match(res.body.message, fault);
    }
    const nested = await admin.request('POST', '/api/v1/animals', {
      body: { farm_id: farm, tag_id: 'N-1', breed: 'Angus\u200b' },
    });
    assert.equal(nested.status, 422);
    assert.match(
      nested.body.message,
      /\/breed must be .*; it contains U\+200B \(zero-width space\) at position 6/,
    );
  });

  test('a stored name from before the rule is refused when a form re-sends it, naming the character; retyped, the edit is saved', async () => {
    // Decision (review r5 F5): an unchanged stored name is not let through. The rule exists so that no
    // record shows a look-alike or reversed name; letting a re-sent one pass would keep it for good,
    // and the person editing the record is the one who can fix it — the message says what and where.
    const tech = await pageClient(ctx.server.app, 'tech@example.com');
    const page = await tech.get(`/farms/${legacy}`);
    const rendered = /<input[^>]*name="name"[^>]*value="([^"]*)"/.exec(page.html)?.[1];
    assert.equal(rendered, 'Hof\u00adMüller', 'the form carries the stored name');
    const fence = JSON.stringify(squareAround(-81, 44, 0.005));
    const refused = await tech.post(`/farms/${legacy}`, { name: rendered!, geofence: fence });
    assert.equal(refused.status, 422);
    assert.match(strip(refused.html), /U\+00AD \(soft hyphen\) at position 4: remove it/);
    const area = async () =>
      (
        await ctx.db
          .sql`SELECT round(ST_Area(geofence)::numeric, 6)::text AS a FROM farms WHERE id = ${legacy}`
      )[0]!.a;
    assert.equal(await area(), '0.000400', 'nothing written');
    const saved = await tech.post(`/farms/${legacy}`, { name: 'HofMüller', geofence: fence });
    assert.equal(saved.status, 303);
    const [row] = await ctx.db.sql`SELECT name FROM farms WHERE id = ${legacy}`;
    assert.equal(row!.name, 'HofMüller');
    assert.equal(await area(), '0.000100');
  });

  test('limits count the text as stored, after NFC (which can lengthen it): a 422 naming the field and the limit', async () => {
    // U+0958 (क़) is a composition exclusion: NFC makes it two code points, so 500 pass a 500-character
    // schema check and then broke the database's CHECK (a 500), or were stored at twice a label's limit (review r13 F8).
    const admin = await as('admin@example.com');
    const device = await seedDevice(ctx.db.sql, 'pi-nfc');
    const cases: [string, string, Record<string, unknown>, string, number][] = [
      ['POST', `/api/v1/devices/${device}/retire`, { reason: '\u0958'.repeat(500) }, '/reason', 500],
      ['PATCH', `/api/v1/devices/${device}`, { label: '\u0958'.repeat(100) }, '/label', 100],
      ['PATCH', `/api/v1/farms/${farm}`, { name: '\u0958'.repeat(101) }, '/name', 200],
    ];
    for (const [method, path, body, pointer, max] of cases) {
      const res = await admin.request(method, path, { body });
      assert.equal(res.status, 422, `${path}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(pointers(res), [pointer]);
      assert.match(
        res.body.message,
        new RegExp(
          `${pointer} must be at most ${max} characters once Unicode-normalised \\(NFC\\), as it is stored: it is ${2 * (body[pointer.slice(1)] as string).length}`,
        ),
      );
    }
    const [row] = await ctx.db.sql`
      SELECT d.label, d.retired_at, f.name FROM devices d, farms f WHERE d.id = ${device} AND f.id = ${farm}`;
    assert.deepEqual(row, { label: null, retired_at: null, name: 'Names Farm' }, 'nothing written');
    const page = await pageClient(ctx.server.app, 'admin@example.com');
    const form = await page.post(`/fleet/${device}/retire`, { reason: '\u0958'.repeat(500) });
    assert.equal(form.status, 422, 'the device page refuses it beside the field');
    assert.match(strip(form.html), /must be at most 500 characters once Unicode-normalised/);
    const [after] = await ctx.db.sql`SELECT retired_at FROM devices WHERE id = ${device}`;
    assert.equal(after!.retired_at, null, 'not retired');
    const fits = await admin.request('PATCH', `/api/v1/devices/${device}`, {
      body: { label: '\u0958'.repeat(50) },
    });
    assert.equal(fits.status, 200);
  });

  test('names are NFC before the uniqueness checks: "é" and "e" + U+0301 are one tag', async () => {
    const tech = await as('tech@example.com');
    const first = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: farm, tag_id: 'R\u00e9-1' },
    });
    assert.equal(first.status, 201);
    const lookalike = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: farm, tag_id: 'Re\u0301-1' },
    });
    assert.equal(lookalike.status, 409, 'the decomposed spelling is the same tag');
    const decomposed = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: farm, tag_id: 'Ve\u0301-2', breed: 'Limousin  ' },
    });
    assert.equal(decomposed.status, 201);
    const [row] = await ctx.db.sql`SELECT tag_id FROM animals WHERE id = ${decomposed.body.id}`;
    assert.equal(row!.tag_id, 'V\u00e9-2', 'stored composed');
    const renamed = await tech.request('PATCH', `/api/v1/animals/${decomposed.body.id}`, {
      body: { tag_id: 'Re\u0301-1' },
    });
    assert.equal(renamed.status, 409, 'a rename to a look-alike collides too');
  });

  test('real names pass: accents, other scripts, emoji with joiners', async () => {
    const admin = await as('admin@example.com');
    for (const name of ['Ferme Bélanger – Müller', 'Nguyễn Văn An', 'مزرعة النخيل', '👨‍🌾 Farm', 'नमस्ते']) {
      const res = await admin.request('POST', '/api/v1/farms', { body: { name } });
      assert.equal(res.status, 201, name);
      assert.equal(res.body.name, name.normalize('NFC'));
    }
  });

  test('pages: the forms refuse the same text and store names NFC (registration and account included)', async () => {
    const tech = await pageClient(ctx.server.app, 'tech@example.com');
    const bad = await tech.post('/animals', { farm_id: farm, tag_id: 'T-9\u200b' });
    assert.equal(bad.status, 422);
    assert.match(strip(bad.html), /at least one visible character/);
    const ok = await tech.post('/animals', { farm_id: farm, tag_id: 'Pe\u0301-3' });
    assert.equal(ok.status, 303);
    assert.equal(
      (await ctx.db.sql`SELECT count(*)::int AS n FROM animals WHERE tag_id = 'P\u00e9-3'`)[0]!.n,
      1,
    );

    const farmer = await pageClient(ctx.server.app, 'farmer@example.com');
    const reversed = await farmer.post('/account', { full_name: '\u202eevil\u202c \u200b' });
    assert.equal(reversed.status, 422);
    assert.match(strip(reversed.html), /at least one visible character/);
    assert.match(strip(reversed.html), /U\+202E \(right-to-left override\) at position 1/);
    const anon = await pageClient(ctx.server.app);
    const blank = await anon.post('/register', {
      email: 'blank@example.com',
      full_name: '\u3164',
      requested_role: 'farmer',
      password: 'meadow-lark-river-9',
    });
    assert.equal(blank.status, 422);
    assert.match(strip(blank.html), /it has no visible character/);
    assert.equal(
      (
        await ctx.db
          .sql`SELECT count(*)::int AS n FROM registration_requests WHERE email = 'blank@example.com'`
      )[0]!.n,
      0,
    );
    const saved = await farmer.post('/account', { full_name: 'Zoe\u0301 Martin' });
    assert.equal(saved.status, 303);
    const [me] = await ctx.db.sql`SELECT full_name FROM users WHERE email = 'farmer@example.com'`;
    assert.equal(me!.full_name, 'Zo\u00e9 Martin');
  });
});
