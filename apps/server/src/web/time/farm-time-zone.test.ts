import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FALLBACK_TIME_ZONE, timeZoneAt } from './farm-time-zone.ts';

describe('timeZoneAt', () => {
  it('finds the zone of farm locations offline', () => {
    assert.equal(timeZoneAt({ lat: 43.6532, lon: -79.3832 }), 'America/Toronto'); // the spec's GPS point
    assert.equal(timeZoneAt({ lat: 50.45, lon: -104.61 }), 'America/Regina'); // Saskatchewan: no DST
    assert.equal(timeZoneAt({ lat: 51.05, lon: -114.07 }), 'America/Edmonton');
    assert.equal(timeZoneAt({ lat: -27.47, lon: 153.03 }), 'Australia/Brisbane');
    assert.equal(timeZoneAt({ lat: 30.47, lon: 114.35 }), 'Asia/Shanghai'); // Wuhan
  });

  it('falls back to UTC without a location and rejects nonsense', () => {
    assert.equal(timeZoneAt(null), FALLBACK_TIME_ZONE);
    assert.equal(timeZoneAt(undefined), 'UTC');
    assert.throws(() => timeZoneAt({ lat: 91, lon: 0 }), RangeError);
    assert.throws(() => timeZoneAt({ lat: Number.NaN, lon: 0 }), RangeError);
  });
});
