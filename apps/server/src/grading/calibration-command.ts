import { parseArgs } from 'node:util';
import { startsWithCalendarDate } from '@cti/runtime';
import type { Sql } from 'postgres';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import { CommandError, databaseCommand, parseDeviceCode, UsageError } from './database-command.ts';
import {
  ASPECT_MESSAGE,
  aspectProblem,
  type CalibrationInput,
  calibrationProblems,
  listCalibrations,
  recordCalibrationWithRegrade,
  SPACING_MESSAGE,
  spacingProblem,
  tooManyRegradesAdvice,
} from './device-calibration.ts';
import { TooManyRegradesError } from './regrade.ts';

const USAGE = COMMAND_USAGE.calibration;

export type CalibrationRequest =
  | {
      action: 'set' | 'clear';
      deviceCode: string;
      pixelSpacingMm: number | null;
      pixelAspect: number | null;
      imageSize: [number, number] | null;
      validFrom: Date | null;
      note: string | null;
      /** Also queue, in the same transaction, a regrade of each scan the row applies to (the API's `regrade`). */
      regrade: boolean;
    }
  | { action: 'list'; deviceCode: string };

/** Parses and checks the arguments; throws UsageError naming the problem. */
export function parseCalibrationArgs(args: string[]): CalibrationRequest {
  const [action, ...rest] = args;
  if (action !== 'set' && action !== 'clear' && action !== 'list') {
    throw new UsageError(`expected set, clear or list, got ${JSON.stringify(action ?? '')}`);
  }
  let values: Record<string, string | undefined>;
  let regrade: boolean;
  try {
    const parsed = parseArgs({
      args: rest,
      strict: true,
      options: {
        device: { type: 'string' },
        'pixel-spacing-mm': { type: 'string' },
        'pixel-aspect': { type: 'string' },
        'image-size': { type: 'string' },
        'valid-from': { type: 'string' },
        note: { type: 'string' },
        regrade: { type: 'boolean' },
      },
    });
    ({ regrade = false, ...values } = parsed.values);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const deviceCode = values.device;
  if (!deviceCode) throw new UsageError('--device <code> is required');
  parseDeviceCode(deviceCode);
  if (action === 'list') {
    if (regrade) throw new UsageError('list takes no --regrade');
    return { action, deviceCode };
  }
  let pixelSpacingMm: number | null = null;
  let pixelAspect: number | null = null;
  if (action === 'set') {
    const mm = values['pixel-spacing-mm'];
    const aspect = values['pixel-aspect'];
    // The aspect alone is a row too: the spacing then comes from meta.json or the on-screen ruler.
    if (mm === undefined && aspect === undefined)
      throw new UsageError('set needs --pixel-spacing-mm <mm>, --pixel-aspect <w/h> or both');
    if (mm !== undefined) {
      pixelSpacingMm = mm.trim() === '' ? Number.NaN : Number(mm);
      if (spacingProblem(pixelSpacingMm))
        throw new UsageError(`--pixel-spacing-mm ${SPACING_MESSAGE}, got ${JSON.stringify(mm)}`);
    }
    if (aspect !== undefined) {
      pixelAspect = aspect.trim() === '' ? Number.NaN : Number(aspect);
      if (aspectProblem(pixelAspect))
        throw new UsageError(`--pixel-aspect ${ASPECT_MESSAGE}, got ${JSON.stringify(aspect)}`);
    }
  } else {
    for (const flag of ['pixel-spacing-mm', 'pixel-aspect'])
      if (values[flag] !== undefined) throw new UsageError(`clear takes no --${flag}`);
  }
  let imageSize: [number, number] | null = null;
  if (values['image-size'] !== undefined) {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(values['image-size']);
    imageSize = m ? [Number(m[1]), Number(m[2])] : null;
    if (!imageSize || calibrationProblems('clear', { ...NOTHING, imageSize }).length > 0) {
      throw new UsageError(
        `--image-size must be WIDTHxHEIGHT in pixels, e.g. 940x720, got ${JSON.stringify(values['image-size'])}`,
      );
    }
  }
  let validFrom: Date | null = null;
  if (values['valid-from'] !== undefined) {
    validFrom = new Date(values['valid-from']);
    if (
      !startsWithCalendarDate(values['valid-from']) ||
      calibrationProblems('clear', { ...NOTHING, validFrom }).length > 0
    ) {
      throw new UsageError(
        `--valid-from ${JSON.stringify(values['valid-from'])} is not a date such as 2025-09-01`,
      );
    }
  }
  const note = values.note ?? null;
  const noteProblem = calibrationProblems('clear', { ...NOTHING, note })[0];
  if (noteProblem) throw new UsageError(`--note ${noteProblem.message}`);
  return { action, deviceCode, pixelSpacingMm, pixelAspect, imageSize, validFrom, note, regrade };
}

const NOTHING: CalibrationInput = {
  pixelSpacingMm: null,
  pixelAspect: null,
  imageSize: null,
  validFrom: null,
  note: null,
};

/** ", pixel aspect 0.889" for a declared aspect; nothing for none (square). */
const aspectText = (aspect: number | null) => (aspect === null ? '' : `, pixel aspect ${aspect}`);

/** What a row declares: "0.3 mm/px, pixel aspect 0.889", "spacing from meta.json or the ruler, pixel aspect 0.889", or `cleared`. */
function rowText(mm: number | null, aspect: number | null, cleared: string): string {
  if (mm !== null) return `${mm} mm/px${aspectText(aspect)}`;
  return aspect === null ? cleared : `spacing from meta.json or the ruler${aspectText(aspect)}`;
}

/** Runs one request; returns the lines to print, or throws CommandError for an unknown device. */
export async function runCalibration(sql: Sql, request: CalibrationRequest): Promise<string[]> {
  const [device] = await sql<
    { id: string }[]
  >`SELECT id FROM devices WHERE device_code = ${request.deviceCode}`;
  if (!device) throw new CommandError(`no device with code ${JSON.stringify(request.deviceCode)}`);
  if (request.action === 'list') {
    const rows = await listCalibrations(sql, device.id);
    if (rows.length === 0)
      return [`${request.deviceCode}: no calibration (grading uses meta.json or the on-screen ruler)`];
    return rows.map(
      (r) =>
        `#${r.id} from ${r.valid_from}: ${rowText(r.pixel_spacing_mm, r.pixel_aspect, 'withdrawn')}` +
        `${r.image_width ? ` for ${r.image_width}x${r.image_height} images` : ''}${r.note ? ` — ${r.note}` : ''}` +
        `${r.created_by ? ` (by ${r.created_by.email})` : ''}`,
    );
  }
  let row: Awaited<ReturnType<typeof recordCalibrationWithRegrade>>;
  try {
    row = await recordCalibrationWithRegrade(sql, device.id, request, null, { regrade: request.regrade });
  } catch (err) {
    if (!(err instanceof TooManyRegradesError)) throw err;
    throw new CommandError(tooManyRegradesAdvice(err, request.deviceCode, request.validFrom).message);
  }
  const what = rowText(request.pixelSpacingMm, request.pixelAspect, 'no calibration');
  const regraded = row.regrade
    ? `queued ${row.regrade.enqueued} regrade job(s) for ${row.regrade.matched} scan(s) it applies to, ${row.regrade.alreadyPending} already had a job waiting or running${row.regrade.keptCorrected > 0 ? `, ${row.regrade.keptCorrected} corrected by hand left as they are (their figures keep the spacing of their correction: correct them again, or cti-server regrade --scan <id> --include-corrected)` : ''}`
    : request.validFrom === null
      ? 'it applies to scans captured from now on: no existing scan is affected'
      : `regrade the scans it applies to with cti-server regrade --device ${request.deviceCode} --since ${row.valid_from.toISOString()} (or add --regrade)`;
  return [
    `${request.deviceCode}: ${what}${request.imageSize ? ` for ${request.imageSize.join('x')} images` : ''} from ${row.valid_from.toISOString()} (#${row.id}); ${regraded}`,
  ];
}

/** `cti-server calibration`: per-device pixel spacing (the second source grading tries) and pixel aspect. */
export const calibrationCommand = databaseCommand({
  name: 'calibration',
  usage: USAGE,
  parse: parseCalibrationArgs,
  run: runCalibration,
});
