import { PIXEL_ASPECT_RANGE } from '@cti/contracts';
import type { Sql, TransactionSql } from 'postgres';
import type { Db } from '../access/farm-access.ts';
import { isoUtc } from '../access/sql-fragments.ts';
import { queueRegrades, type RegradeSummary, type TooManyRegradesError } from './regrade.ts';

/**
 * Per-device pixel spacing (device_calibrations, migration 0009) and pixel aspect (migrations 0020, 0021):
 * the rules and the reads/writes shared by `cti-server calibration` and the JSON API / dashboard
 * (POST /api/v1/devices/{id}/calibrations, the device page). Rows are history, never edited: setting adds
 * a row with a spacing, an aspect or both; clearing adds a row with neither (a withdrawal of both).
 */
export type CalibrationInput = {
  /**
   * mm per pixel (vertical); null: the row fixes no spacing — with an aspect, "aspect only: the spacing
   * comes from meta.json or the ruler"; without one, a withdrawal (clear).
   */
  pixelSpacingMm: number | null;
  /**
   * A pixel's width ÷ its height (packages/contracts/README.md, "Pixel aspect"); null declares none
   * (square unless meta.json says otherwise). With or without a spacing; a clear withdraws both.
   */
  pixelAspect: number | null;
  /** The image size [width, height] it applies to; null for any size. */
  imageSize: [number, number] | null;
  /** From when it applies; null = now. */
  validFrom: Date | null;
  note: string | null;
};

/** The fields a problem is about (the CLI names its flag, the API its JSON pointer). */
export type CalibrationField = 'pixel_spacing_mm' | 'pixel_aspect' | 'image_size' | 'valid_from' | 'note';
export type CalibrationProblem = { field: CalibrationField; message: string };

/** The column is numeric(8, 5): a spacing under 0.00001 would be stored as 0, which the table refuses. */
export const MIN_SPACING_MM = 0.00001;
export const MAX_SPACING_MM = 5;
export const MAX_IMAGE_SIDE = 99_999;
export const MAX_NOTE_LENGTH = 500;
/**
 * The most regrade jobs setting a calibration queues in its request (API `regrade: true`, the device
 * page's checkbox); more is refused with nothing written: `cti-server regrade` queues any number.
 */
export const MAX_CALIBRATION_REGRADE_JOBS = 10_000;

export const SPACING_MESSAGE = `must be a number of mm per pixel in (0, ${MAX_SPACING_MM}] (at least ${MIN_SPACING_MM})`;
export const ASPECT_MESSAGE = `must be a pixel's width ÷ its height from ${PIXEL_ASPECT_RANGE[0]} to ${PIXEL_ASPECT_RANGE[1]} (1 = square, 0.889 = 720×480 of a 4:3 picture)`;
export const IMAGE_SIDE_MESSAGE = `must be a whole number of pixels from 1 to ${MAX_IMAGE_SIDE}`;
/**
 * A set that declares neither, by field (each reads after its field's name: "Pixel spacing or the pixel
 * aspect must be given…"): a calibration row sets one of them or both.
 */
export const NEITHER_MESSAGES = {
  pixel_spacing_mm:
    'or the pixel aspect must be given: a calibration sets a spacing, an aspect or both (a clear withdraws both)',
  pixel_aspect:
    'or the pixel spacing must be given: a calibration sets a spacing, an aspect or both (a clear withdraws both)',
} as const;

/** The spacing problem of a set (null when fine). */
export function spacingProblem(mm: number): string | null {
  return Number.isFinite(mm) && mm >= MIN_SPACING_MM && mm <= MAX_SPACING_MM ? null : SPACING_MESSAGE;
}

/** The aspect problem of a set (null when fine). */
export function aspectProblem(aspect: number): string | null {
  return Number.isFinite(aspect) && aspect >= PIXEL_ASPECT_RANGE[0] && aspect <= PIXEL_ASPECT_RANGE[1]
    ? null
    : ASPECT_MESSAGE;
}

/**
 * Problems of a whole request, by field: a set declares a spacing, an aspect or both (each in range), a
 * clear neither; image size (both sides or none), valid-from, note.
 */
export function calibrationProblems(action: 'set' | 'clear', input: CalibrationInput): CalibrationProblem[] {
  const out: CalibrationProblem[] = [];
  const { pixelSpacingMm: mm, pixelAspect: aspect } = input;
  if (action === 'set' && mm === null && aspect === null) {
    out.push(
      { field: 'pixel_spacing_mm', message: NEITHER_MESSAGES.pixel_spacing_mm },
      { field: 'pixel_aspect', message: NEITHER_MESSAGES.pixel_aspect },
    );
  }
  for (const [field, value, problem] of [
    ['pixel_spacing_mm', mm, spacingProblem],
    ['pixel_aspect', aspect, aspectProblem],
  ] as const) {
    if (value === null) continue;
    const p = action === 'set' ? problem(value) : 'must be left out to clear a calibration';
    if (p) out.push({ field, message: p });
  }
  if (
    input.imageSize &&
    !input.imageSize.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_IMAGE_SIDE)
  ) {
    out.push({ field: 'image_size', message: IMAGE_SIDE_MESSAGE });
  }
  const year = input.validFrom?.getUTCFullYear();
  if (input.validFrom && (year === undefined || Number.isNaN(year) || year < 1 || year > 9999)) {
    out.push({ field: 'valid_from', message: 'is not a date between the years 0001 and 9999' });
  }
  if (input.note !== null && (input.note.length > MAX_NOTE_LENGTH || input.note.includes('\u0000'))) {
    out.push({ field: 'note', message: `must be at most ${MAX_NOTE_LENGTH} characters without NUL` });
  }
  return out;
}

export type CalibrationRow = {
  id: string;
  /** null: the row fixes no spacing (meta.json or the ruler) — with no aspect either, it withdrew the calibration. */
  pixel_spacing_mm: number | null;
  /** null: the row declares no aspect (square unless meta.json says otherwise). */
  pixel_aspect: number | null;
  image_width: number | null;
  image_height: number | null;
  valid_from: string;
  note: string | null;
  created_by: { id: string; email: string } | null;
  created_at: string;
  /** The newest row already valid (valid_from ≤ now) for its image size, i.e. what grades a scan captured now. */
  in_effect: boolean;
};

/** A device's calibrations, newest first (as grading reads them: valid_from DESC, id DESC). */
export async function listCalibrations(sql: Db, deviceId: string): Promise<CalibrationRow[]> {
  const rows = await sql<
    (Omit<CalibrationRow, 'pixel_spacing_mm' | 'pixel_aspect'> & {
      mm: string | null;
      aspect: string | null;
      due: boolean;
    })[]
  >`
    SELECT c.id::text AS id, c.pixel_spacing_mm::text AS mm, c.pixel_aspect::text AS aspect, c.image_width, c.image_height,
           ${isoUtc(sql, sql`c.valid_from`)} AS valid_from, c.note,
           CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('id', u.id, 'email', u.email) END AS created_by,
           ${isoUtc(sql, sql`c.created_at`)} AS created_at, c.valid_from <= now() AS due
      FROM device_calibrations c LEFT JOIN users u ON u.id = c.created_by
     WHERE c.device_id = ${deviceId}
     ORDER BY c.valid_from DESC, c.id DESC`;
  const seen = new Set<string>();
  let anySize = false;
  return rows.map(({ mm, aspect, due, ...r }) => {
    // Grading takes the first due row whose size matches or that names none: a row is in effect
    // for its size unless a newer due row already covers that size (or every size).
    const size = r.image_width === null ? '*' : `${r.image_width}x${r.image_height}`;
    const in_effect = due && !anySize && !seen.has(size);
    if (due) {
      if (size === '*') anySize = true;
      seen.add(size);
    }
    return {
      ...r,
      pixel_spacing_mm: mm === null ? null : Number(mm),
      pixel_aspect: aspect === null ? null : Number(aspect),
      in_effect,
    };
  });
}

/** Adds a row (set, or clear when it has neither spacing nor aspect); returns its id and valid_from. */
export async function recordCalibration(
  sql: Db,
  deviceId: string,
  input: CalibrationInput,
  createdBy: string | null,
): Promise<{ id: string; valid_from: Date }> {
  const [row] = await sql<{ id: string; valid_from: Date }[]>`
    INSERT INTO device_calibrations (device_id, pixel_spacing_mm, pixel_aspect, image_width, image_height, valid_from, note, created_by)
    VALUES (${deviceId}, ${input.pixelSpacingMm}, ${input.pixelAspect}, ${input.imageSize?.[0] ?? null}, ${input.imageSize?.[1] ?? null},
            coalesce(${input.validFrom}::timestamptz, now()), ${input.note}, ${createdBy})
    RETURNING id::text AS id, valid_from`;
  return row!;
}

export type RecordedCalibration = {
  id: string;
  valid_from: Date;
  /** What the regrade queued; null when none was asked for. */
  regrade: RegradeSummary | null;
};

/**
 * Adds the row and, with `regrade`, queues a regrade job for each scan it applies to (regrade.ts's
 * calibration selection, the same enqueue as `cti-server regrade`: no second job for a scan that has
 * one waiting or running) — in ONE transaction, so a refusal (TooManyRegradesError over
 * MAX_CALIBRATION_REGRADE_JOBS) or a failure leaves neither the row nor any job.
 */
export async function recordCalibrationWithRegrade(
  sql: Sql,
  deviceId: string,
  input: CalibrationInput,
  createdBy: string | null,
  { regrade }: { regrade: boolean },
): Promise<RecordedCalibration> {
  return sql.begin((tx) => recordCalibrationAndRegrades(tx, deviceId, input, createdBy, { regrade }));
}

/** recordCalibrationWithRegrade's work in the caller's transaction (the dashboard's once-per-form claim). */
export async function recordCalibrationAndRegrades(
  tx: TransactionSql,
  deviceId: string,
  input: CalibrationInput,
  createdBy: string | null,
  { regrade }: { regrade: boolean },
): Promise<RecordedCalibration> {
  const row = await recordCalibration(tx, deviceId, input, createdBy);
  if (!regrade) return { ...row, regrade: null };
  const summary = await queueRegrades(tx, {
    selection: { calibrationId: row.id },
    modelVersion: null,
    maxJobs: MAX_CALIBRATION_REGRADE_JOBS,
  });
  return { ...row, regrade: summary };
}

/**
 * Why `regrade` was refused and what to run instead, worded once for the API (422 `too_many_regrades`,
 * its `/regrade` problem) and `cti-server calibration --regrade`: the count, the cap, nothing saved,
 * and the `cti-server regrade` command (no cap) for the scans from the row's valid_from.
 */
export function tooManyRegradesAdvice(
  err: TooManyRegradesError,
  deviceCode: string,
  validFrom: Date | null,
): { message: string; problem: string } {
  const command = `cti-server regrade --device ${deviceCode} --since ${(validFrom ?? new Date()).toISOString()}`;
  return {
    message: `this calibration applies to ${err.jobs} scans to regrade, more than ${err.maxJobs} in one request: nothing was saved; save it without regrade, then run ${command} (add --dry-run to count first)`,
    problem: `would queue ${err.jobs} regrade jobs, more than ${err.maxJobs}: save without it, then run ${command}`,
  };
}
