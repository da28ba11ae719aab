import type { Sql } from 'postgres';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import { UUID_RE } from '../text/uuid.ts';
import {
  CommandError,
  databaseCommand,
  parseDeviceCode,
  parseOptions,
  parseSince,
  UsageError,
} from './database-command.ts';
import { enqueueRegrades, type RegradeSelection } from './regrade.ts';
import { cancelRegrades } from './regrade-cancel.ts';
import { type LoadedModel, pinnedVersionWarnings, readLoadedModel } from './regrade-version-check.ts';

const USAGE = COMMAND_USAGE.regrade;

type Selection = Exclude<RegradeSelection, { calibrationId: string }>;
type Parsed = {
  selection: Selection;
  modelVersion: string | null;
  dryRun: boolean;
  cancel: boolean;
  includeCorrected: boolean;
};

/** Parses and checks the arguments; throws UsageError with the problem. */
export function parseRegradeArgs(args: string[]): Parsed {
  const values = parseOptions(args, {
    scan: { type: 'string' },
    device: { type: 'string' },
    since: { type: 'string' },
    all: { type: 'boolean' },
    'model-version': { type: 'string' },
    'dry-run': { type: 'boolean' },
    cancel: { type: 'boolean' },
    'include-corrected': { type: 'boolean' },
  });
  const scan = values.scan as string | undefined;
  const device = values.device as string | undefined;
  const sinceText = values.since as string | undefined;
  const all = values.all === true;
  const modelVersion = (values['model-version'] as string | undefined) ?? null;
  if (modelVersion !== null && !/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/.test(modelVersion)) {
    throw new UsageError(`--model-version ${JSON.stringify(modelVersion)} is not a version such as 2.3.0`);
  }
  const dryRun = values['dry-run'] === true;
  const cancel = values.cancel === true;
  const includeCorrected = values['include-corrected'] === true;
  if (cancel && includeCorrected)
    throw new UsageError('--include-corrected is for queueing, not with --cancel');
  if (scan !== undefined) {
    if (device !== undefined || sinceText !== undefined || all)
      throw new UsageError('--scan cannot be combined with --device, --since or --all');
    if (!UUID_RE.test(scan))
      throw new UsageError(`--scan ${JSON.stringify(scan)} is not a scan uuid (scans.id)`);
    return { selection: { scanId: scan.toLowerCase() }, modelVersion, dryRun, cancel, includeCorrected };
  }
  if (all) {
    if (device !== undefined || sinceText !== undefined)
      throw new UsageError('--all cannot be combined with --device or --since');
    return { selection: { all: true }, modelVersion, dryRun, cancel, includeCorrected };
  }
  if (device === undefined && sinceText === undefined) {
    throw new UsageError('say which scans: --scan <uuid>, --device <code>, --since <date>, or --all');
  }
  const since = sinceText === undefined ? undefined : parseSince(sinceText);
  const deviceCode = device === undefined ? undefined : parseDeviceCode(device);
  return {
    selection: { ...(deviceCode !== undefined && { deviceCode }), ...(since && { since }) },
    modelVersion,
    dryRun,
    cancel,
    includeCorrected,
  };
}

export type RegradeEnvironment = {
  /** The model a worker started here would load (the pinned version is checked against it). */
  loadedModel: () => Promise<LoadedModel>;
  /** Where warnings go (stderr). */
  warn: (line: string) => void;
};

/**
 * Queues the jobs (or, with --cancel, cancels waiting ones) and says what it did; an unknown device
 * or scan is a CommandError (exit 1). A pinned version no worker seems to run is warned about, not refused:
 * the workers for it may be starting.
 */
export async function runRegrade(sql: Sql, parsed: Parsed, env: RegradeEnvironment): Promise<string[]> {
  if (parsed.cancel) return runCancel(sql, parsed);
  const summary = await enqueueRegrades(sql, parsed);
  if (summary.unknownDevice) throw unknownDevice(parsed);
  if (summary.unknownScan) throw unknownScan(parsed);
  if (parsed.modelVersion !== null) {
    const cancelCommand = `cti-server regrade --cancel ${selectionArgs(parsed.selection)} --model-version ${parsed.modelVersion}`;
    const warnings = await pinnedVersionWarnings(sql, {
      version: parsed.modelVersion,
      loaded: await env.loadedModel(),
      cancelCommand,
    });
    for (const line of warnings) env.warn(line);
  }
  const pin = parsed.modelVersion ? ` (model version ${parsed.modelVersion} only)` : '';
  const verb = parsed.dryRun ? 'would queue' : 'queued';
  const queued = parsed.dryRun
    ? summary.matched - summary.keptCorrected - summary.alreadyPending
    : summary.enqueued;
  const kept =
    summary.keptCorrected > 0
      ? `; ${summary.keptCorrected} corrected by hand left as they are (--include-corrected regrades them too)`
      : '';
  return [
    `${verb} ${queued} regrade job(s)${pin} for ${summary.matched} matching scan(s); ${summary.alreadyPending} already had a job waiting or running${kept}`,
    JSON.stringify({ ...summary, dry_run: parsed.dryRun, model_version: parsed.modelVersion }),
  ];
}

async function runCancel(sql: Sql, parsed: Parsed): Promise<string[]> {
  const summary = await cancelRegrades(sql, parsed);
  if (summary.unknownDevice) throw unknownDevice(parsed);
  if (summary.unknownScan) throw unknownScan(parsed);
  const pin = parsed.modelVersion ? ` pinned to model version ${parsed.modelVersion}` : '';
  const verb = parsed.dryRun ? 'would cancel' : 'cancelled';
  return [
    `${verb} ${summary.cancelled.length} waiting regrade job(s)${pin}; ${summary.held} held by a worker left alone; scans and results unchanged`,
    ...summary.cancelled.map(
      (j) =>
        `  job ${j.id}: scan ${j.scan_id}, model version ${j.model_version ?? 'any'}, queued ${j.created_at.toISOString()}`,
    ),
    JSON.stringify({
      cancelled: summary.cancelled.length,
      held: summary.held,
      job_ids: summary.cancelled.map((j) => j.id),
      dry_run: parsed.dryRun,
      model_version: parsed.modelVersion,
    }),
  ];
}

function unknownDevice(parsed: Parsed): CommandError {
  const device = 'deviceCode' in parsed.selection ? parsed.selection.deviceCode : '';
  return new CommandError(`no device with code ${JSON.stringify(device)}`);
}

function unknownScan(parsed: Parsed): CommandError {
  const scan = 'scanId' in parsed.selection ? parsed.selection.scanId : '';
  return new CommandError(`no scan with id ${scan}`);
}

/** The selection as command-line options again (for the cancel command a warning suggests). */
function selectionArgs(selection: Selection): string {
  if ('scanId' in selection) return `--scan ${selection.scanId}`;
  if ('all' in selection && selection.all) return '--all';
  const parts: string[] = [];
  if ('deviceCode' in selection && selection.deviceCode) parts.push(`--device ${selection.deviceCode}`);
  if ('since' in selection && selection.since) parts.push(`--since ${selection.since.toISOString()}`);
  return parts.join(' ');
}

/** `cti-server regrade`: queue (or cancel waiting) regrade jobs for the selected scans (DATABASE_URL from the environment). */
export const regradeCommand = databaseCommand({
  name: 'regrade',
  usage: USAGE,
  parse: parseRegradeArgs,
  run: (sql, parsed) =>
    runRegrade(sql, parsed, {
      // The worker's own setting (worker-config.ts), read from the same environment: same image, same models.
      loadedModel: () => readLoadedModel(process.env.CTI_MODELS_DIR || undefined),
      warn: (line) => console.error(line),
    }),
});
