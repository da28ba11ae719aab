import { parseArgs } from 'node:util';
import type { Sql } from 'postgres';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import { CommandError, databaseCommand, UsageError } from './database-command.ts';

const USAGE = COMMAND_USAGE.calibration;

export type CalibrationRequest =
  | {
      action: 'set' | 'clear';
      deviceCode: string;
      pixelSpacingMm: number | null;
      imageSize: [number, number] | null;
      validFrom: Date | null;
      note: string | null;
    }
  | { action: 'list'; deviceCode: string };

/** Parses and checks the arguments; throws UsageError naming the problem. */
export function parseCalibrationArgs(args: string[]): CalibrationRequest {
  const [action, ...rest] = args;
  if (action !== 'set' && action !== 'clear' && action !== 'list') {
    throw new UsageError(`expected set, clear or list, got ${JSON.stringify(action ?? '')}`);
  }
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        device: { type: 'string' },
        'pixel-spacing-mm': { type: 'string' },
        'image-size': { type: 'string' },
        'valid-from': { type: 'string' },
        note: { type: 'string' },
      },
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const deviceCode = values.device;
  if (!deviceCode) throw new UsageError('--device <code> is required');
  if (action === 'list') return { action, deviceCode };
  let pixelSpacingMm: number | null = null;
  if (action === 'set') {
    const text = values['pixel-spacing-mm'];
    pixelSpacingMm = Number(text);
    if (text === undefined || !Number.isFinite(pixelSpacingMm) || pixelSpacingMm <= 0 || pixelSpacingMm > 5) {
      throw new UsageError(
        `--pixel-spacing-mm must be a number of mm per pixel in (0, 5], got ${JSON.stringify(text ?? '')}`,
      );
    }
  } else if (values['pixel-spacing-mm'] !== undefined) {
    throw new UsageError('clear takes no --pixel-spacing-mm');
  }
  let imageSize: [number, number] | null = null;
  if (values['image-size'] !== undefined) {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(values['image-size']);
    if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) {
      throw new UsageError(
        `--image-size must be WIDTHxHEIGHT in pixels, e.g. 940x720, got ${JSON.stringify(values['image-size'])}`,
      );
    }
    imageSize = [Number(m[1]), Number(m[2])];
  }
  let validFrom: Date | null = null;
  if (values['valid-from'] !== undefined) {
    validFrom = new Date(values['valid-from']);
    if (!/^\d{4}-\d{2}-\d{2}/.test(values['valid-from']) || Number.isNaN(validFrom.getTime())) {
      throw new UsageError(
        `--valid-from ${JSON.stringify(values['valid-from'])} is not a date such as 2025-09-01`,
      );
    }
  }
  return { action, deviceCode, pixelSpacingMm, imageSize, validFrom, note: values.note ?? null };
}

/** Runs one request; returns the lines to print, or throws CommandError for an unknown device. */
export async function runCalibration(sql: Sql, request: CalibrationRequest): Promise<string[]> {
  const [device] = await sql<
    { id: string }[]
  >`SELECT id FROM devices WHERE device_code = ${request.deviceCode}`;
  if (!device) throw new CommandError(`no device with code ${JSON.stringify(request.deviceCode)}`);
  if (request.action === 'list') {
    const rows = await sql<
      {
        id: string;
        mm: string | null;
        w: number | null;
        h: number | null;
        valid_from: Date;
        note: string | null;
      }[]
    >`
      SELECT id, pixel_spacing_mm::text AS mm, image_width AS w, image_height AS h, valid_from, note
      FROM device_calibrations WHERE device_id = ${device.id} ORDER BY valid_from DESC, id DESC`;
    if (rows.length === 0)
      return [`${request.deviceCode}: no calibration (grading uses meta.json or the on-screen ruler)`];
    return rows.map(
      (r) =>
        `#${r.id} from ${r.valid_from.toISOString()}: ${r.mm === null ? 'withdrawn' : `${r.mm} mm/px`}` +
        `${r.w ? ` for ${r.w}x${r.h} images` : ''}${r.note ? ` — ${r.note}` : ''}`,
    );
  }
  const [row] = await sql<{ id: string; valid_from: Date }[]>`
    INSERT INTO device_calibrations (device_id, pixel_spacing_mm, image_width, image_height, valid_from, note)
    VALUES (${device.id}, ${request.pixelSpacingMm}, ${request.imageSize?.[0] ?? null}, ${request.imageSize?.[1] ?? null},
            coalesce(${request.validFrom}::timestamptz, now()), ${request.note})
    RETURNING id, valid_from`;
  const what = request.action === 'set' ? `${request.pixelSpacingMm} mm/px` : 'no calibration';
  return [
    `${request.deviceCode}: ${what}${request.imageSize ? ` for ${request.imageSize.join('x')} images` : ''} from ${row!.valid_from.toISOString()} (#${row!.id}); regrade earlier scans with cti-server regrade --device ${request.deviceCode}`,
  ];
}

/** `cti-server calibration`: per-device pixel spacing, the second source grading tries. */
export const calibrationCommand = databaseCommand({
  name: 'calibration',
  usage: USAGE,
  parse: parseCalibrationArgs,
  run: runCalibration,
});
