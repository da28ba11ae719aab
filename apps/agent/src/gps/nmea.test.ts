import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { SerialPort } from 'serialport';
import { createPtyPair } from '../test-support/pty-pair.ts';
import { createNmeaGps } from './gps-source.ts';
import { parseNmea } from './nmea.ts';

const GGA = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47';
const RMC = '$GPRMC,123519,A,4807.038,N,01131.000,W,022.4,084.4,230394,003.1,W*78';

test('GGA and RMC sentences give signed decimal degrees; bad checksum or no fix give null', () => {
  assert.deepEqual(parseNmea(GGA), { lat: 48.1173, lon: 11.5166667, accuracy_m: 4.5, alt_m: 545.4 });
  assert.deepEqual(parseNmea(`${RMC}\r`), { lat: 48.1173, lon: -11.5166667 });
  assert.equal(parseNmea(GGA.replace('*47', '*48')), null);
  assert.equal(parseNmea('$GPGGA,123519,,,,,0,00,,,M,,M,,*6B'), null);
  assert.equal(parseNmea('$GPGSV,1,1,00*79'), null);
});

/** A sentence with its checksum, as a corrupted line that happens to pass the XOR check would be. */
function sentence(body: string): string {
  let sum = 0;
  for (const ch of body) sum ^= ch.charCodeAt(0);
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`;
}

test('fields meta.json cannot hold never make a fix (they made every capture an InvalidMetaError)', () => {
  const gga = (lat: string, ns: string, lon: string, ew: string, hdop = '0.9', alt = '545.4') =>
    parseNmea(sentence(`GPGGA,123519,${lat},${ns},${lon},${ew},1,08,${hdop},${alt},M,46.9,M,,`));
  assert.deepEqual(
    gga('4807.038', 'N', '01131.000', 'E'),
    parseNmea(GGA),
    'the helper signs like the receiver',
  );
  assert.equal(gga('9512.000', 'N', '01131.000', 'E'), null, 'latitude 95');
  assert.equal(gga('4875.000', 'N', '01131.000', 'E'), null, 'minute 75');
  assert.equal(gga('4807.038', 'N', '18100.000', 'E'), null, 'longitude 181');
  assert.equal(gga('4807.038', 'N', '-1131.000', 'E'), null, 'a sign inside the field');
  assert.equal(gga('4807.038', 'X', '01131.000', 'E'), null, 'no hemisphere');
  assert.equal(gga('9000.000', 'S', '18000.000', 'W')?.lat, -90, 'the poles and the antimeridian are fine');
  assert.deepEqual(gga('4807.038', 'N', '01131.000', 'E', '0.:', 'x'), { lat: 48.1173, lon: 11.5166667 });
  assert.deepEqual(gga('4807.038', 'N', '01131.000', 'E', '-1', '-12.5'), {
    lat: 48.1173,
    lon: 11.5166667,
    alt_m: -12.5,
  });
});

test('an NMEA receiver on a serial PTY: the latest fix, and none once it is stale', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-gps-'));
  const pty = await createPtyPair(dir, 'gps');
  let clock = 0;
  const gps = createNmeaGps({ path: pty.hostPath, maxAgeS: 30, now: () => clock });
  const receiver = new SerialPort({ path: pty.devicePath, baudRate: 9600, autoOpen: false });
  try {
    await gps.start();
    await new Promise<void>((resolve, reject) => receiver.open((e) => (e ? reject(e) : resolve())));
    await waitFor(
      () => {
        receiver.write(`garbage\r\n${GGA}\r\n`);
        return gps.current();
      },
      { what: 'a GPS fix', intervalMs: 100 },
    );
    assert.deepEqual(gps.current(), { lat: 48.1173, lon: 11.5166667, accuracy_m: 4.5, alt_m: 545.4 });
    clock += 31_000;
    assert.equal(gps.current(), null);
  } finally {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await gps.stop();
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
