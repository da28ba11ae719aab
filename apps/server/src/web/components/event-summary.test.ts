import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventSummary } from './event-summary.ts';

describe('eventSummary: the timeline in words', () => {
  test('each event the system writes', () => {
    assert.equal(
      eventSummary('uploaded', { bucket: 'b', source: 'local', objects: ['image.png', 'meta.json'] }),
      'to the store: image.png, meta.json (local relay)',
    );
    assert.equal(
      eventSummary('ingested', { farm_source: 'device', animal_matched: null, operator_matched: true }),
      "on the device's farm, operator known",
      'true of events before review r14 F1’s fix (its farm at upload) and after (its farm then): review r15 F6',
    );
    assert.equal(
      eventSummary('ingested', { farm_source: null, animal_matched: false }),
      'on no farm (no farm named, no device farm, outside every geofence), ear tag of no registered animal (kept on the scan)',
    );
    assert.equal(
      eventSummary('ingested', { farm_source: null, geofence_ambiguous: true }),
      'on no farm: its position was inside several farms’ geofences (an admin chooses)',
    );
    assert.equal(
      eventSummary('farm_ambiguous', {
        candidate_farms: [
          { id: 'x', name: 'Big' },
          { id: 'y', name: 'Small' },
        ],
      }),
      'at ingest its position lay inside 2 farms’ geofences (Big, Small); no farm was chosen then (an admin sets it under Farm and animal)',
    );
    assert.equal(
      eventSummary('farm_ambiguous', {
        candidate_farms: [{ id: 'x', name: 'Big' }],
        other_candidate_farms: 2,
      }),
      'at ingest its position lay inside 3 farms’ geofences (Big, 2 other farms); no farm was chosen then (an admin sets it under Farm and animal)',
    );
    assert.equal(
      eventSummary('farm_ambiguous', {
        candidate_farms: [{ id: 'x', name: 'Maple' }],
        other_candidate_farms: 1,
        reason: 'device_moved',
      }),
      'at ingest its device had moved between 2 farms (Maple, 1 other farm) about when it was taken and its clock could not tell on which side of the move; no farm was chosen then (an admin sets it under Farm and animal)',
    );
    const moved = (m: object) =>
      eventSummary('farm_ambiguous', { reason: 'device_moved', ...m })?.replace(/ about when.*/, '');
    const alder = [{ id: 'x', name: 'Alder' }];
    assert.equal(
      moved({ candidate_farms: alder, unassigned: true }),
      'at ingest its device had moved between Alder and no farm (unassigned)',
      'review r15 F5: one farm and no farm',
    );
    assert.equal(
      moved({ candidate_farms: alder, farm_deleted: true }),
      'at ingest its device had moved between Alder and a farm deleted since',
    );
    assert.equal(
      moved({ candidate_farms: alder }),
      'at ingest its device had moved between Alder and another farm or no farm',
      'an event written before review r15 says neither',
    );
    assert.equal(
      eventSummary('ingested', { farm_source: null, device_farm_deleted: true }),
      'on no farm: the device’s farm when it was taken has been deleted since, and no geofence holds its position',
    );
    assert.equal(
      eventSummary('graded', {
        grade: 'A',
        rea_cm2: 27.834,
        fat_thickness_mm: 27.35,
        confidence: 0.9402,
        grade_reasons: [],
        model: 'ribeye-seg@3.0.0',
      }),
      'A (usable): ribeye area 27.8 cm², fat 27.4 mm, confidence 94 % — ribeye-seg@3.0.0',
    );
    assert.equal(
      eventSummary('graded', {
        grade: 'M',
        rea_cm2: null,
        fat_thickness_mm: null,
        grade_reasons: ['no_spacing'],
      }),
      'M (marginal): ribeye area not measured, fat not measured; no pixel spacing (no cm/mm)',
      'a missing figure is said, never a 0',
    );
    assert.equal(
      eventSummary('grading_failed', {
        reason: 'sha256_mismatch',
        message: 'bytes differ',
        earlier_result_kept: true,
      }),
      'sha256 mismatch: bytes differ (the earlier result is kept)',
    );
    assert.equal(
      eventSummary('corrected', { grade: 'A', rea_cm2: 30, fat_thickness_mm: 5 }),
      'mask corrected by hand, regraded A (usable): ribeye area 30.0 cm², fat 5.0 mm',
    );
    assert.equal(
      eventSummary('edited', { changes: { farm_id: 'x', animal_id: 'y' } }),
      'changed: farm, animal',
    );
    assert.equal(
      eventSummary('edited', {
        changes: { farm_id: 'x' },
        device_move: { device_id: 'd', moved_at: '2026-12-05T08:00:00Z', recorded_late: true },
      }),
      'changed: farm, with its device’s move recorded late',
    );
  });

  test('an unknown event or a malformed record is shown by name only, never a crash', () => {
    assert.equal(eventSummary('something_new', { a: 1 }), null);
    assert.equal(eventSummary('ingested', { source: 'test' }), null, 'an older record without farm_source');
    assert.equal(eventSummary('graded', null), 'no grade: ribeye area not measured, fat not measured');
    assert.equal(eventSummary('uploaded', 'text'), 'to the store');
    assert.equal(eventSummary('edited', { changes: 5 }), null);
  });
});
