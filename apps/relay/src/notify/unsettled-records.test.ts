import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createUnsettledRecords } from './unsettled-records.ts';

const record = (n: number, etag = 'e1') => ({ bucket: 'cti', key: `raw/dev-${n}/meta.json`, etag });

test('keeps when a record was first seen; the same key with another ETag is another record', () => {
  const unsettled = createUnsettledRecords();
  assert.deepEqual(unsettled.sighted(record(1), 1000), { since: 1000, isNew: true, evicted: [] });
  assert.deepEqual(unsettled.sighted(record(1), 5000), { since: 1000, isNew: false, evicted: [] });
  assert.equal(unsettled.sighted(record(1, 'e2'), 6000).since, 6000, 'a rewritten meta.json');
  // Two deliveries in flight at once may report back out of order: the earlier time wins.
  assert.equal(unsettled.sighted(record(1), 500).since, 500);
  assert.equal(unsettled.size, 2);
});

test('a settled record is forgotten: seen again, it starts over', () => {
  const unsettled = createUnsettledRecords();
  unsettled.sighted(record(1), 1000);
  unsettled.settle(record(1));
  assert.equal(unsettled.size, 0);
  assert.deepEqual(unsettled.sighted(record(1), 9000), { since: 9000, isNew: true, evicted: [] });
});

test('beyond the limit, the record re-sent least recently is dropped first', () => {
  const unsettled = createUnsettledRecords({ limit: 3 });
  for (const n of [1, 2, 3]) unsettled.sighted(record(n), n * 1000);
  unsettled.sighted(record(1), 4000); // re-sent: now the most recently seen, first seen still at 1000
  assert.deepEqual(unsettled.sighted(record(4), 5000).evicted, [record(2)]);
  assert.deepEqual(unsettled.sighted(record(5), 6000).evicted, [record(3)]);
  assert.equal(unsettled.size, 3);
  assert.equal(unsettled.sighted(record(1), 7000).since, 1000, 'kept, with its first sighting');
  assert.deepEqual(unsettled.sighted(record(2), 8000), {
    since: 8000,
    isNew: true,
    evicted: [record(4)],
  });
});

test('a limit that is not a positive integer is refused, naming it', () => {
  for (const limit of [0, -1, 1.5, Number.NaN])
    assert.throws(() => createUnsettledRecords({ limit }), /limit must be an integer ≥ 1, got/);
});
