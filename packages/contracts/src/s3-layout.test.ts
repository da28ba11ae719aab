import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fromIngestKeyUri,
  isValidCaptureId,
  isValidDeviceCode,
  isValidFileName,
  LayoutError,
  META_FILE,
  mimeTypeForFile,
  parseProcessedKey,
  parseRawKey,
  processedObjectKey,
  rawCaptureDir,
  rawObjectKey,
  toIngestKeyUri,
} from './index.ts';

const parts = { deviceCode: 'dev-0001', capturedAt: '2025-09-09T14:18:32Z', captureId: 'cap_1757423584' };
const DIR = 'raw/dev-0001/2025/09/09/cap_1757423584/';

function assertLayoutError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof LayoutError && e.code === code && e.name === 'LayoutError');
}

describe('raw keys', () => {
  test('build the spec example directory and file keys', () => {
    assert.equal(rawCaptureDir(parts), DIR);
    assert.equal(rawObjectKey({ ...parts, file: META_FILE }), `${DIR}meta.json`);
  });

  test('use the UTC date, whatever the Date was built from', () => {
    const lateEvening = new Date('2025-09-09T23:30:00-02:00'); // 2025-09-10T01:30Z
    assert.equal(
      rawCaptureDir({ ...parts, capturedAt: lateEvening }),
      'raw/dev-0001/2025/09/10/cap_1757423584/',
    );
    assert.equal(
      rawCaptureDir({ ...parts, capturedAt: '2024-02-29T00:00:00.5Z' }),
      'raw/dev-0001/2024/02/29/cap_1757423584/',
    );
  });

  test('round-trip: build → parse → same parts', () => {
    for (const file of ['image.jpg', 'mask.png', META_FILE]) {
      const key = rawObjectKey({ ...parts, file });
      assert.deepEqual(parseRawKey(key), {
        deviceCode: 'dev-0001',
        year: '2025',
        month: '09',
        day: '09',
        captureId: 'cap_1757423584',
        dir: DIR,
        file,
      });
    }
    assert.equal(parseRawKey(DIR).file, null);
    assert.equal(parseRawKey(DIR).dir, DIR);
  });

  test('accept real calendar edges', () => {
    for (const date of ['2024/02/29', '2025/12/31', '1970/01/01', '2025/04/30']) {
      assert.equal(parseRawKey(`raw/d1/${date}/cap_1/`).dir, `raw/d1/${date}/cap_1/`);
    }
  });

  const badKeys: [string, string][] = [
    ['raw/dev-0001/2025/09/09/cap_1/../../x', 'invalid_key'],
    ['raw/dev-0001/2025/09/09/cap_1/..', 'invalid_file_name'],
    ['raw/dev-0001/2025/09/09/cap_1/.hidden', 'invalid_file_name'],
    ['raw/dev-0001/2025/09/09/cap_1/a b.png', 'invalid_file_name'],
    ['raw/../2025/09/09/cap_1/', 'invalid_device_code'],
    ['raw/../../2025/09/09/cap_1/x', 'invalid_key'],
    ['raw/Dev-0001/2025/09/09/cap_1/', 'invalid_device_code'],
    ['raw/dev%2F1/2025/09/09/cap_1/', 'invalid_device_code'],
    ['raw/dev-0001/2025/13/09/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/09/32/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/02/30/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2023/02/29/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/9/09/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/09/9/cap_1/', 'invalid_date'],
    ['raw/dev-0001/25/09/09/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/00/09/cap_1/', 'invalid_date'],
    ['raw/dev-0001/1969/12/31/cap_1/', 'invalid_date'],
    ['raw/dev-0001/2025/09/09/1757423584/', 'invalid_capture_id'],
    ['raw/dev-0001/2025/09/09/cap_/', 'invalid_capture_id'],
    ['raw/dev-0001/2025/09/09/cap_1', 'invalid_key'],
    ['raw/dev-0001/2025/09/09/cap_1/sub/file.png', 'invalid_key'],
    ['/raw/dev-0001/2025/09/09/cap_1/', 'invalid_key'],
    ['processed/cap_1/x.png', 'invalid_key'],
    ['other/dev-0001/2025/09/09/cap_1/', 'invalid_key'],
    ['raw//2025/09/09/cap_1/', 'invalid_device_code'],
    ['', 'invalid_key'],
  ];
  for (const [key, code] of badKeys) {
    test(`parseRawKey refuses ${JSON.stringify(key)} (${code})`, () =>
      assertLayoutError(() => parseRawKey(key), code));
  }

  test('building refuses parts that could escape the layout', () => {
    assertLayoutError(() => rawCaptureDir({ ...parts, deviceCode: '../x' }), 'invalid_device_code');
    assertLayoutError(() => rawCaptureDir({ ...parts, deviceCode: 'a/b' }), 'invalid_device_code');
    assertLayoutError(() => rawCaptureDir({ ...parts, captureId: 'cap_1/..' }), 'invalid_capture_id');
    assertLayoutError(() => rawObjectKey({ ...parts, file: '../meta.json' }), 'invalid_file_name');
    assertLayoutError(() => rawObjectKey({ ...parts, file: 'a/b.png' }), 'invalid_file_name');
    assertLayoutError(() => rawObjectKey({ ...parts, file: '..' }), 'invalid_file_name');
    assertLayoutError(
      () => rawCaptureDir({ ...parts, capturedAt: '2025-09-09T14:18:32+02:00' }),
      'invalid_captured_at',
    );
    assertLayoutError(() => rawCaptureDir({ ...parts, capturedAt: 'yesterday' }), 'invalid_captured_at');
    assertLayoutError(
      () => rawCaptureDir({ ...parts, capturedAt: new Date(Number.NaN) }),
      'invalid_captured_at',
    );
  });

  test('error messages name the offending value', () => {
    assert.throws(() => parseRawKey('raw/dev-0001/2025/02/30/cap_1/'), /invalid date parts 2025\/02\/30/);
    assert.throws(() => rawObjectKey({ ...parts, file: '../x' }), /invalid file name "\.\.\/x"/);
  });
});

describe('processed keys', () => {
  test('round-trip', () => {
    const key = processedObjectKey('cap_1757423584', 'overlay.png');
    assert.equal(key, 'processed/cap_1757423584/overlay.png');
    assert.deepEqual(parseProcessedKey(key), { captureId: 'cap_1757423584', file: 'overlay.png' });
  });

  test('refuse escapes and keys outside processed/', () => {
    assertLayoutError(() => processedObjectKey('cap_1', '../x.png'), 'invalid_file_name');
    assertLayoutError(() => processedObjectKey('../cap_1', 'x.png'), 'invalid_capture_id');
    assertLayoutError(() => parseProcessedKey('processed/cap_1/a/b.png'), 'invalid_key');
    assertLayoutError(() => parseProcessedKey('processed/cap_1/'), 'invalid_file_name');
    assertLayoutError(() => parseProcessedKey('processed/../x.png'), 'invalid_capture_id');
    assertLayoutError(() => parseProcessedKey('raw/cap_1/x.png'), 'invalid_key');
  });
});

describe('ingest_key URIs', () => {
  const URI = `s3://cti-dev-406214277746/${DIR}`;

  test('map the webhook ingest_key to the DB form (spec §2) and back', () => {
    assert.equal(toIngestKeyUri('cti-dev-406214277746', DIR), URI);
    assert.deepEqual(fromIngestKeyUri(URI), { bucket: 'cti-dev-406214277746', dir: DIR });
  });

  test('refuse file keys, bad buckets and foreign URIs', () => {
    assertLayoutError(() => toIngestKeyUri('cti-dev', `${DIR}meta.json`), 'invalid_key');
    assertLayoutError(() => toIngestKeyUri('Bad_Bucket', DIR), 'invalid_bucket');
    assertLayoutError(() => toIngestKeyUri('a..b', DIR), 'invalid_bucket');
    assertLayoutError(() => toIngestKeyUri('192.168.1.1', DIR), 'invalid_bucket');
    assertLayoutError(() => toIngestKeyUri('cti-dev', 'raw/dev-0001/2025/09/09/../'), 'invalid_capture_id');
    assertLayoutError(() => fromIngestKeyUri(`https://cti-dev/${DIR}`), 'invalid_uri');
    assertLayoutError(() => fromIngestKeyUri(`${URI}image.jpg`), 'invalid_uri');
    assertLayoutError(() => fromIngestKeyUri('s3://cti-dev/processed/cap_1/x.png'), 'invalid_key');
    assertLayoutError(() => fromIngestKeyUri('s3:///raw/x'), 'invalid_uri');
  });
});

describe('name predicates and MIME types', () => {
  test('device codes, capture ids and file names', () => {
    assert.deepEqual(['dev-0001', 'pi_5', '0', 'a'.repeat(63)].map(isValidDeviceCode), [
      true,
      true,
      true,
      true,
    ]);
    assert.deepEqual(
      ['', '-dev', 'Dev', 'a'.repeat(64), 'a.b', 'a/b', 7].map(isValidDeviceCode),
      Array(7).fill(false),
    );
    assert.deepEqual(['cap_1', 'cap_20250909T141832Z-3', `cap_${'x'.repeat(96)}`].map(isValidCaptureId), [
      true,
      true,
      true,
    ]);
    assert.deepEqual(
      ['cap_', 'CAP_1', 'cap_1.2', `cap_${'x'.repeat(97)}`, null].map(isValidCaptureId),
      Array(5).fill(false),
    );
    assert.deepEqual(['image.png', 'a', 'x.tar.gz'].map(isValidFileName), [true, true, true]);
    assert.deepEqual(
      ['', '.', '..', '.env', 'a/b', 'a\\b', 'é.png', 'a b'].map(isValidFileName),
      Array(8).fill(false),
    );
  });

  test('mimeTypeForFile', () => {
    const table: [string, string][] = [
      ['image.png', 'image/png'],
      ['image.JPG', 'image/jpeg'],
      ['image.jpeg', 'image/jpeg'],
      ['frame.bmp', 'image/bmp'],
      [META_FILE, 'application/json'],
      ['notes', 'application/octet-stream'],
      ['.png', 'application/octet-stream'],
      ['blob.xyz', 'application/octet-stream'],
    ];
    for (const [name, type] of table) assert.equal(mimeTypeForFile(name), type, name);
  });
});
