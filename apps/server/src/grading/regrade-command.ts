import type { Sql } from 'postgres';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import {
  CommandError,
  databaseCommand,
  parseDeviceCode,
  parseOptions,
  parseSince,
  UsageError,
} from './database-command.ts';
import { enqueueRegrades, type RegradeSelection } from './regrade.ts';

const USAGE = COMMAND_USAGE.regrade;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Parsed = { selection: RegradeSelection; modelVersion: string | null; dryRun: boolean };

/** Parses and checks the arguments; throws UsageError with the problem. */
export function parseRegradeArgs(args: string[]): Parsed {
  const values = parseOptions(args, {
    scan: { type: 'string' },
    device: { type: 'string' },
    since: { type: 'string' },
    all: { type: 'boolean' },
    'model-version': { type: 'string' },
    'dry-run': { type: 'boolean' },
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
  if (scan !== undefined) {
    if (device !== undefined || sinceText !== undefined || all)
      throw new UsageError('--scan cannot be combined with --device, --since or --all');
    if (!UUID.test(scan))
      throw new UsageError(`--scan ${JSON.stringify(scan)} is not a scan uuid (scans.id)`);
    return { selection: { scanId: scan.toLowerCase() }, modelVersion, dryRun };
  }
  if (all) {
    if (device !== undefined || sinceText !== undefined)
      throw new UsageError('--all cannot be combined with --device or --since');
    return { selection: { all: true }, modelVersion, dryRun };
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
  };
}

/** Queues the jobs and says what it did; an unknown device is a CommandError (exit 1). */
export async function runRegrade(sql: Sql, parsed: Parsed): Promise<string[]> {
  const summary = await enqueueRegrades(sql, parsed);
  if (summary.unknownDevice) {
    const device = 'deviceCode' in parsed.selection ? parsed.selection.deviceCode : '';
    throw new CommandError(`no device with code ${JSON.stringify(device)}`);
  }
  const pin = parsed.modelVersion ? ` (model version ${parsed.modelVersion} only)` : '';
  const verb = parsed.dryRun ? 'would queue' : 'queued';
  const queued = parsed.dryRun ? summary.matched - summary.alreadyPending : summary.enqueued;
  return [
    `${verb} ${queued} regrade job(s)${pin} for ${summary.matched} matching scan(s); ${summary.alreadyPending} already had a job waiting or running`,
    JSON.stringify({ ...summary, dry_run: parsed.dryRun, model_version: parsed.modelVersion }),
  ];
}

/** `cti-server regrade`: queue regrade jobs for the selected scans (DATABASE_URL from the environment). */
export const regradeCommand = databaseCommand({
  name: 'regrade',
  usage: USAGE,
  parse: parseRegradeArgs,
  run: runRegrade,
});
