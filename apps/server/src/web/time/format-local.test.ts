import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { formatLocal, localDayBounds, offsetMinutes, toUtcIso, utcOfLocal } from './format-local.ts';

describe('formatLocal', () => {
  it('formats the spec example in the farm zone, with the zone name', () => {
    assert.equal(formatLocal('2025-09-09T14:18:32Z', 'America/Toronto'), '2025-09-09 10:18 EDT');
    assert.equal(formatLocal('2025-09-09T14:18:32Z', 'America/Toronto', { style: 'date' }), '2025-09-09');
    assert.equal(formatLocal('2025-09-09T14:18:32Z', 'America/Toronto', { style: 'time' }), '10:18 EDT');
    assert.equal(
      formatLocal(new Date('2025-09-09T14:18:32Z'), 'UTC', { style: 'datetime-seconds' }),
      '2025-09-09 14:18:32 UTC',
    );
  });

  it('crosses the spring-forward gap (America/Toronto, 2025-03-09 02:00 → 03:00)', () => {
    assert.equal(formatLocal('2025-03-09T06:59:00Z', 'America/Toronto'), '2025-03-09 01:59 EST');
    assert.equal(formatLocal('2025-03-09T07:00:00Z', 'America/Toronto'), '2025-03-09 03:00 EDT');
  });

  it('tells the two 01:30s of the fall-back night apart by zone name', () => {
    assert.equal(formatLocal('2025-11-02T05:30:00Z', 'America/Toronto'), '2025-11-02 01:30 EDT');
    assert.equal(formatLocal('2025-11-02T06:30:00Z', 'America/Toronto'), '2025-11-02 01:30 EST');
  });

  it('handles the southern hemisphere, half-hour zones and midnight rollover', () => {
    // Sydney leaves DST on 2025-04-06 03:00 AEDT → 02:00 AEST.
    assert.equal(formatLocal('2025-04-05T15:30:00Z', 'Australia/Sydney'), '2025-04-06 02:30 GMT+11');
    assert.equal(formatLocal('2025-04-05T16:30:00Z', 'Australia/Sydney'), '2025-04-06 02:30 GMT+10');
    assert.equal(formatLocal('2025-07-01T02:00:00Z', 'America/St_Johns'), '2025-06-30 23:30 NDT');
    assert.equal(
      formatLocal('2025-12-31T23:30:00Z', 'Asia/Kolkata', { zoneName: false }),
      '2026-01-01 05:00',
    );
  });

  it('rejects an unknown zone and a non-time', () => {
    assert.throws(() => formatLocal('2025-01-01T00:00:00Z', 'Mars/Olympus_Mons'), RangeError);
    assert.throws(() => formatLocal('yesterday', 'UTC'), RangeError);
  });

  it('gives the same text whatever TZ the server process runs with', () => {
    const script = `
      import { formatLocal, localDayBounds, offsetMinutes } from ${JSON.stringify(new URL('./format-local.ts', import.meta.url).href)};
      const b = localDayBounds('2025-03-09', 'America/Toronto');
      console.log(JSON.stringify([
        formatLocal('2025-03-09T07:00:00Z', 'America/Toronto'),
        formatLocal('2025-11-02T05:30:00Z', 'America/Toronto'),
        offsetMinutes('2025-07-01T00:00:00Z', 'Europe/Berlin'),
        b.start.toISOString(), b.end.toISOString(),
        new Date('2025-03-09T07:00:00Z').getTimezoneOffset(),
      ]));`;
    const outputs = ['Pacific/Kiritimati', 'Etc/GMT+12', 'UTC'].map((tz) => {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(run.stdout) as unknown[];
    });
    // The process offset proves each child really ran in its zone (+14 h, -12 h, 0).
    assert.deepEqual(
      outputs.map((o) => o.at(-1)),
      [-840, 720, 0],
    );
    for (const o of outputs) {
      assert.deepEqual(o.slice(0, -1), [
        '2025-03-09 03:00 EDT',
        '2025-11-02 01:30 EDT',
        120,
        '2025-03-09T05:00:00.000Z',
        '2025-03-10T04:00:00.000Z',
      ]);
    }
  });
});

describe('offsetMinutes', () => {
  it('is the zone offset at that instant', () => {
    assert.equal(offsetMinutes('2025-01-15T12:00:00Z', 'America/Toronto'), -300);
    assert.equal(offsetMinutes('2025-07-15T12:00:00Z', 'America/Toronto'), -240);
    assert.equal(offsetMinutes('2025-07-15T12:00:00Z', 'Asia/Kathmandu'), 345);
    assert.equal(offsetMinutes('2025-07-15T12:00:00Z', 'UTC'), 0);
  });
});

describe('localDayBounds', () => {
  it('is 24 h on a normal day, 23 h on spring-forward day, 25 h on fall-back day', () => {
    const hours = (day: string, tz: string) => {
      const { start, end } = localDayBounds(day, tz);
      return (end.getTime() - start.getTime()) / 3_600_000;
    };
    assert.deepEqual(localDayBounds('2025-09-09', 'America/Toronto'), {
      start: new Date('2025-09-09T04:00:00Z'),
      end: new Date('2025-09-10T04:00:00Z'),
    });
    assert.equal(hours('2025-03-09', 'America/Toronto'), 23);
    assert.equal(hours('2025-11-02', 'America/Toronto'), 25);
    assert.equal(hours('2025-04-06', 'Australia/Sydney'), 25);
  });

  it('starts at the first instant of the day where midnight is skipped (America/Santiago)', () => {
    // Chile springs forward at 24:00 on 2025-09-06: 2025-09-07 begins at 01:00 local (-03).
    const { start } = localDayBounds('2025-09-07', 'America/Santiago');
    assert.equal(start.toISOString(), '2025-09-07T04:00:00.000Z');
    assert.equal(formatLocal(start, 'America/Santiago', { zoneName: false }), '2025-09-07 01:00');
    assert.equal(formatLocal(start.getTime() - 1000, 'America/Santiago', { style: 'date' }), '2025-09-06');
  });

  it('rejects a malformed day', () => {
    assert.throws(() => localDayBounds('9/9/2025', 'UTC'), RangeError);
  });

  it('refuses, naming the range, a day it cannot compute as written instead of answering another day', () => {
    // Date.UTC reads years below 100 as 19xx: 0050-06-15 gave the bounds of 1950-06-15; 2025-02-30
    // gave 2025-03-02; the end of 9999-12-31 is in year 10000.
    for (const day of ['0050-06-15', '0099-12-31', '9999-12-31']) {
      assert.throws(() => localDayBounds(day, 'UTC'), {
        name: 'RangeError',
        message: `${day}: must be a day from 0100-01-01 to 9999-12-30`,
      });
    }
    assert.throws(() => localDayBounds('2025-02-30', 'UTC'), {
      name: 'RangeError',
      message: '2025-02-30: must be a day written YYYY-MM-DD',
    });
    // The first day it takes: the day before it was read as 1999-12-31, and the walk to midnight never ended.
    assert.deepEqual(localDayBounds('0100-01-01', 'UTC'), {
      start: new Date('0100-01-01T00:00:00Z'),
      end: new Date('0100-01-02T00:00:00Z'),
    });
    assert.equal(localDayBounds('0100-01-01', 'Asia/Kolkata').start.toISOString().slice(0, 10), '0099-12-31');
  });
});

describe('toUtcIso', () => {
  it('writes UTC with a Z, milliseconds only when present', () => {
    assert.equal(toUtcIso('2025-09-09T10:18:32-04:00'), '2025-09-09T14:18:32Z');
    assert.equal(toUtcIso(Date.UTC(2025, 0, 1, 0, 0, 0, 5)), '2025-01-01T00:00:00.005Z');
  });
});

describe('utcOfLocal', () => {
  it('reads a wall time in a gap an hour on and in an overlap the earlier, west and east of UTC (review r17 F3)', () => {
    const cases: [string, string, string][] = [
      ['2026-07-01T08:30', 'America/Toronto', '2026-07-01T12:30:00.000Z'],
      ['2026-03-08T02:30', 'America/Toronto', '2026-03-08T07:30:00.000Z'], // gap: 03:30 EDT
      ['2026-03-08T03:30', 'America/Toronto', '2026-03-08T07:30:00.000Z'],
      ['2026-03-08T01:30', 'America/Toronto', '2026-03-08T06:30:00.000Z'],
      ['2026-11-01T01:30', 'America/Toronto', '2026-11-01T05:30:00.000Z'], // overlap: 01:30 EDT
      ['2026-03-29T02:30', 'Europe/Berlin', '2026-03-29T01:30:00.000Z'], // gap: 03:30 CEST
      ['2026-10-25T02:30', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'], // overlap: 02:30 CEST
      ['2026-10-04T02:30', 'Australia/Sydney', '2026-10-03T16:30:00.000Z'], // gap: 03:30 AEDT
      ['2026-04-05T02:30', 'Australia/Sydney', '2026-04-04T15:30:00.000Z'], // overlap: 02:30 AEDT
      ['2026-12-05T08:30:15', 'UTC', '2026-12-05T08:30:15.000Z'],
    ];
    for (const [local, zone, utc] of cases) assert.equal(utcOfLocal(local, zone), utc, `${local} ${zone}`);
    assert.equal(utcOfLocal('2026-02-30T10:00', 'UTC'), undefined);
    assert.equal(utcOfLocal('2026-12-05', 'UTC'), undefined);
  });

  it('takes a space for the "T", as people type it and as the form\'s error shows it (review r18 F3)', () => {
    assert.equal(utcOfLocal('2026-12-05 08:30', 'America/Toronto'), '2026-12-05T13:30:00.000Z');
    assert.equal(utcOfLocal(' 2026-12-05 08:30 ', 'UTC'), '2026-12-05T08:30:00.000Z');
    assert.equal(utcOfLocal('2026-12-05  08:30', 'UTC'), undefined);
  });
});
