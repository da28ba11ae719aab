import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fakeCapture, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { createOutbox } from './outbox.ts';
import { runOutboxCommand } from './outbox-command.ts';

const t = outboxTempDir();
after(() => t.remove());

function run(outbox: ReturnType<typeof createOutbox>, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = runOutboxCommand(argv, {
    outbox,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

test('outbox list, show, quarantine and retry as the CLI prints them', async () => {
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  for (const n of [1, 2]) await outbox.commitCapture(fakeCapture(n));
  outbox.store.quarantine('cap_t00002', 'image.png', 'image.png: AccessDenied (HTTP 403): Access Denied', 5);
  const cli = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false });

  const list = run(cli, 'list');
  assert.equal(list.code, 0);
  assert.match(list.out, /^cap_t00001 {2}pending .*\ncap_t00002 {2}quarantined .*AccessDenied/);
  assert.deepEqual(
    JSON.parse(run(cli, 'list', '--state', 'pending', '--json').out).map(
      (c: { captureId: string }) => c.captureId,
    ),
    ['cap_t00001'],
  );

  const show = run(cli, 'show', 'cap_t00002');
  assert.match(
    show.out,
    /image\.png +quarantined .*raw\/dev-test\/2025\/09\/09\/cap_t00002\/image\.png {2}last error/,
  );
  assert.match(show.out, /meta\.json +pending/);
  assert.equal(JSON.parse(run(cli, 'show', 'cap_t00001', '--json').out).objects.length, 3);

  assert.match(run(cli, 'quarantine').out, /cap_t00002 .*AccessDenied/);
  const retried = run(cli, 'retry', 'cap_t00002');
  assert.equal(retried.code, 0);
  assert.match(retried.out, /^1 quarantined capture\(s\) requeued/);
  assert.equal(outbox.show('cap_t00002')?.state, 'pending', 'the service sees the CLI change');
  assert.match(run(cli, 'quarantine').out, /no quarantined captures/);
  cli.close();
  outbox.close();
});

test('outbox command errors name the problem and return a non-zero code', () => {
  const cli = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false });
  assert.deepEqual(
    [run(cli, 'show', 'cap_nope').code, run(cli, 'show', 'cap_nope').err],
    [1, 'no capture cap_nope in the outbox\n'],
  );
  const bad = run(cli, 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown outbox command "frobnicate"\nusage: cti-agent outbox/);
  // Names inherited from Object.prototype are not sub-commands either (`constructor` ran Object()).
  for (const name of ['constructor', 'toString', '__proto__']) {
    const inherited = run(cli, name);
    assert.equal(inherited.code, 2, name);
    assert.match(inherited.err, new RegExp(`unknown outbox command "${name}"\nusage: cti-agent outbox`));
  }
  assert.match(
    run(cli, 'list', '--state', 'lost').err,
    /--state must be pending, uploaded, quarantined or discarded, got "lost"/,
  );
  assert.equal(run(cli, 'retry', 'cap_nope').code, 1);
  // A typo or a missing value is a usage error, not "list everything, exit 0".
  for (const [args, problem] of [
    [['list', '--jsno'], /unknown option "--jsno"/],
    [['list', '--state'], /--state needs a value/],
    [['list', '--limit', '--json'], /--limit needs a value/],
    [['list', 'pending'], /unexpected argument "pending"/],
    [['show', 'cap_a', 'cap_b'], /unexpected argument "cap_b"/],
    [['retry', '--all'], /unknown option "--all"/],
    [['quarantine', '--state', 'x'], /unknown option "--state"/],
    [['discard', 'cap_a', '--keep'], /unknown option "--keep"/],
    [['discard', 'cap_a', '--reason'], /--reason needs a value/],
    [['discard', '--force'], /discard needs a capture id/],
    [['export', 'cap_a'], /export needs a capture id and a directory/],
    [['export', 'cap_a', '/tmp', 'x'], /unexpected argument "x"/],
  ] as const) {
    const res = run(cli, ...args);
    assert.equal(res.code, 2, args.join(' '));
    assert.match(res.err, problem);
    assert.match(res.err, /usage: cti-agent outbox/);
  }
  cli.close();
});
