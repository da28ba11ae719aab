import { GRADE_NAMES, reasonText } from './grade-reasons.ts';

// One line of words for each scan event of the timeline (scan_events.meta as ingest, the grading
// worker, a correction by hand and a scan edit write it). The record itself stays one click away for
// technicians; a farmer reads "Graded A (usable): ribeye area 27.8 cm², …", not a JSON object.

type Meta = Record<string, unknown>;

const num = (v: unknown, digits: number, unit: string): string | null =>
  typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : null;
const list = (parts: (string | null | false | undefined)[]) => parts.filter(Boolean).join(', ');

function gradeLine(m: Meta): string {
  const grade = typeof m.grade === 'string' ? m.grade : null;
  const name =
    grade && Object.hasOwn(GRADE_NAMES, grade) ? GRADE_NAMES[grade as keyof typeof GRADE_NAMES] : null;
  const reasons = Array.isArray(m.grade_reasons) ? m.grade_reasons.filter((r) => typeof r === 'string') : [];
  const confidence =
    typeof m.confidence === 'number' ? `confidence ${Math.round(m.confidence * 100)} %` : null;
  const figures = list([
    `ribeye area ${num(m.rea_cm2, 1, 'cm²') ?? 'not measured'}`,
    `fat ${num(m.fat_thickness_mm, 1, 'mm') ?? 'not measured'}`,
    confidence,
  ]);
  return `${grade ? `${grade}${name ? ` (${name})` : ''}` : 'no grade'}: ${figures}${reasons.length ? `; ${reasons.map(reasonText).join(', ')}` : ''}`;
}

const FARM_SOURCES: Record<string, string> = {
  meta: 'the farm named in meta.json',
  // Events before review r14 F1's fix meant the device's farm at upload, later ones its farm when the
  // capture was taken: the words are true of both (review r15 F6).
  device: "the device's farm",
  geofence: 'the farm whose geofence holds its position',
};

/**
 * Past tense: the line stays true after an admin put the scan on a farm. The candidates are those the
 * reader may see (scan-detail-query.ts drops the others and counts them in `other_candidate_farms`).
 */
function ambiguousLine(m: Meta): string {
  const names = Array.isArray(m.candidate_farms)
    ? m.candidate_farms
        .map((f) => (f && typeof f === 'object' ? (f as Meta).name : undefined))
        .filter((n): n is string => typeof n === 'string')
    : [];
  const others =
    typeof m.other_candidate_farms === 'number' && m.other_candidate_farms > 0 ? m.other_candidate_farms : 0;
  const count = names.length + others;
  const which = list([...names, others > 0 && (others === 1 ? '1 other farm' : `${others} other farms`)]);
  const then = 'no farm was chosen then (an admin sets it under Farm and animal)';
  if (m.reason === 'device_moved') {
    const farms = count > 1 ? `${count} farms (${which})` : which;
    return `at ingest its device had moved between ${movedBetween(farms, count, m)} about when it was taken and its clock could not tell on which side of the move; ${then}`;
  }
  const farms = count > 1 ? `${count} farms’ geofences (${which})` : 'several farms’ geofences';
  return `at ingest its position lay inside ${farms}; ${then}`;
}

/**
 * The sides of a device_moved ambiguity (event or notice): `farms`, the `count` candidate farms in
 * words, then no farm when the device was unassigned in the window (`unassigned`) and a farm deleted
 * since (`farm_deleted`), both written by ingest since review r15 F5. An older record with fewer than
 * two candidates says neither: its other side was no farm or a farm the reader cannot name.
 */
export function movedBetween(farms: string, count: number, m: Meta): string {
  const sides = [
    count > 0 && farms,
    m.unassigned === true && 'no farm (unassigned)',
    m.farm_deleted === true && 'a farm deleted since',
  ].filter((x): x is string => typeof x === 'string');
  if (sides.length > 1) return `${sides.slice(0, -1).join(', ')} and ${sides.at(-1)}`;
  if (count > 1) return farms;
  if (count === 1) return `${farms} and another farm or no farm`;
  return sides.length === 1 ? `farms and ${sides[0]}` : 'farms';
}

/** The `ingested` event's capture_time_untrusted (ingest/capture-time.ts) in words. */
function untrustedTimeLine(value: unknown): string | false {
  if (!value || typeof value !== 'object') return false;
  const u = value as Meta;
  const said = typeof u.device_time === 'string' ? ` (${u.device_time})` : '';
  const why =
    u.reason === 'far_ahead' ? 'more than a day ahead of the server' : 'before 2020: a clock never set';
  return `the device clock's time${said} was ${why}, so it is not the capture time — the arrival time stands in`;
}

/** The timeline's words for one event, or null when there is nothing to add to its name. */
export function eventSummary(event: string, meta: unknown): string | null {
  const m = (meta && typeof meta === 'object' ? meta : {}) as Meta;
  switch (event) {
    case 'uploaded': {
      const objects = Array.isArray(m.objects) ? m.objects.filter((o) => typeof o === 'string') : [];
      return `to the store${objects.length ? `: ${objects.join(', ')}` : ''}${m.source === 'local' ? ' (local relay)' : ''}`;
    }
    case 'ingested': {
      const source = typeof m.farm_source === 'string' ? FARM_SOURCES[m.farm_source] : undefined;
      const line = list([
        source && `on ${source}`,
        m.farm_source === null &&
          (m.device_farm_ambiguous === true
            ? 'on no farm: its device moved between farms about when it was taken and its clock could not place it (an admin chooses)'
            : m.geofence_ambiguous === true
              ? 'on no farm: its position was inside several farms’ geofences (an admin chooses)'
              : m.device_farm_deleted === true
                ? 'on no farm: the device’s farm when it was taken has been deleted since, and no geofence holds its position'
                : 'on no farm (no farm named, no device farm, outside every geofence)'),
        m.farm_source !== null &&
          m.device_farm_deleted === true &&
          'the device’s farm when it was taken has been deleted since',
        m.animal_matched === true && 'animal found by its ear tag',
        m.animal_matched === false && 'ear tag of no registered animal (kept on the scan)',
        m.operator_matched === true && 'operator known',
        m.operator_matched === false && 'operator code of nobody registered',
        untrustedTimeLine(m.capture_time_untrusted),
        m.clock_unsynced === true &&
          !m.capture_time_untrusted &&
          'the device clock was not synchronised: the capture time may be off',
      ]);
      return line || null;
    }
    case 'farm_ambiguous':
      return ambiguousLine(m);
    case 'graded':
      return `${gradeLine(m)}${typeof m.model === 'string' ? ` — ${m.model}` : ''}`;
    case 'corrected':
      return `mask corrected by hand, regraded ${gradeLine(m)}`;
    case 'grading_failed':
      return `${typeof m.reason === 'string' ? m.reason.replace(/_/g, ' ') : 'failed'}${typeof m.message === 'string' ? `: ${m.message}` : ''}${m.earlier_result_kept === true ? ' (the earlier result is kept)' : ''}`;
    case 'edited': {
      const changes = m.changes && typeof m.changes === 'object' ? Object.keys(m.changes) : [];
      const words: Record<string, string> = { farm_id: 'farm', animal_id: 'animal' };
      // Refiled with its device's move recorded late (PATCH /devices/{id} refile_scans).
      const why = m.device_move ? ', with its device’s move recorded late' : '';
      return changes.length
        ? `changed: ${changes.map((c) => words[c] ?? c.replace(/_/g, ' ')).join(', ')}${why}`
        : null;
    }
    default:
      return null;
  }
}
