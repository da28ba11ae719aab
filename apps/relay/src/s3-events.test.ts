import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeS3Key, targetsFromEvent } from './s3-events.ts';
import {
  cephNotificationRecord,
  eventBridgeObjectCreated,
  minioNotification,
  s3NotificationRecord,
} from './test-events.ts';

const META_KEY = 'raw/dev-0001/2025/09/09/cap_1757423584/meta.json';

test('URL-encoded keys decode: + is a space, %2B a plus, percent escapes and UTF-8', () => {
  assert.equal(decodeS3Key('raw/dev+1/a%2Bb.png'), 'raw/dev 1/a+b.png');
  assert.equal(decodeS3Key('raw/caf%C3%A9/x%25y+%2B+z'), 'raw/café/x%y + z');
  assert.equal(decodeS3Key(META_KEY), META_KEY, 'layout keys are unchanged by decoding');
});

test('the EventBridge Object Created example gives one decoded target with the event id', () => {
  const event = eventBridgeObjectCreated('cti-dev-406214277746', 'raw/dev+0001/my+scan%2B1/meta.json');
  assert.deepEqual(targetsFromEvent(event), {
    targets: [
      {
        bucket: 'cti-dev-406214277746',
        key: 'raw/dev 0001/my scan+1/meta.json',
        eventId: '17793124-05d4-b198-2fde-7ededc63b103',
      },
    ],
    skipped: [],
  });
  const deleted = { ...event, 'detail-type': 'Object Deleted' };
  assert.deepEqual(targetsFromEvent(deleted), { targets: [], skipped: ['EventBridge Object Deleted event'] });
});

test('S3 notification records: every object-created record, others skipped', () => {
  const event = {
    Records: [
      s3NotificationRecord('b1', 'raw/a+b/c%2Bd.png'),
      s3NotificationRecord('b1', META_KEY, 'ObjectRemoved:Delete'),
      s3NotificationRecord('b2', META_KEY, 'ObjectCreated:CompleteMultipartUpload'),
    ],
  };
  assert.deepEqual(targetsFromEvent(event), {
    targets: [
      { bucket: 'b1', key: 'raw/a b/c+d.png', eventId: '0A1B2C3D4E5F678901' },
      { bucket: 'b2', key: META_KEY, eventId: '0A1B2C3D4E5F678901' },
    ],
    skipped: ['Records[1]: aws:s3 ObjectRemoved:Delete'],
  });
});

test('Ceph RGW records: keys as stored (not decoded), the event id; MinIO: s3:-prefixed names, encoded keys', () => {
  const ceph = { Records: [cephNotificationRecord('b', 'raw/a+b c/meta.json')] };
  assert.deepEqual(targetsFromEvent(ceph).targets, [
    {
      bucket: 'b',
      key: 'raw/a+b c/meta.json',
      eventId: '1733369400.123456.0123456789abcdef0123456789abcdef',
    },
  ]);
  assert.deepEqual(targetsFromEvent(minioNotification('b', 'raw/a+b c/meta.json')).targets, [
    { bucket: 'b', key: 'raw/a+b c/meta.json', eventId: '17E0D5A5C4E3A2B1' },
  ]);
  const removed = {
    Records: [{ ...cephNotificationRecord('b', META_KEY), eventName: 'ObjectRemoved:Delete' }],
  };
  assert.deepEqual(targetsFromEvent(removed), {
    targets: [],
    skipped: ['Records[0]: ceph:s3 ObjectRemoved:Delete'],
  });
});

test('a key that is not valid URL encoding skips its record, naming the key; the other records are relayed', () => {
  const event = {
    Records: [s3NotificationRecord('b1', 'raw/a%ZZ/meta.json'), s3NotificationRecord('b1', META_KEY)],
  };
  assert.deepEqual(targetsFromEvent(event), {
    targets: [{ bucket: 'b1', key: META_KEY, eventId: '0A1B2C3D4E5F678901' }],
    skipped: ['Records[0]: key "raw/a%ZZ/meta.json" is not valid URL encoding'],
  });
  assert.deepEqual(targetsFromEvent(eventBridgeObjectCreated('b', 'raw/%E2%82/meta.json')), {
    targets: [],
    skipped: ['EventBridge Object Created: key "raw/%E2%82/meta.json" is not valid URL encoding'],
  });
});

test('unrecognised or malformed events throw, naming what was expected', () => {
  assert.throws(() => targetsFromEvent({ hello: 1 }), /unrecognised event \(expected EventBridge/);
  assert.throws(() => targetsFromEvent(null), /not an object/);
  // nested too deep for JSON.stringify: still the TypeError (a 400 from the notify server), not a RangeError (500)
  const deep = JSON.parse(`{"detail":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  assert.throws(
    () => targetsFromEvent(deep),
    (e: unknown) => e instanceof TypeError && /keys \["detail"\]/.test(String(e)),
  );
  assert.throws(
    () => targetsFromEvent({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: {} }] }),
    /Records\[0\] has no s3.bucket.name/,
  );
  const broken = eventBridgeObjectCreated('b', 'k');
  broken.detail.object = undefined as never;
  assert.throws(() => targetsFromEvent(broken), /without detail.bucket.name/);
});
