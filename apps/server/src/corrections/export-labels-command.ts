import type { Sql } from 'postgres';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import {
  CommandError,
  databaseCommand,
  parseOptions,
  parseSince,
  UsageError,
} from '../grading/database-command.ts';
import { createS3Client } from '../storage/s3-client.ts';
import { loadS3Settings, type S3Settings } from '../storage/s3-settings.ts';
import { StorageUnavailableError } from '../storage/storage-unavailable.ts';
import { UUID_RE } from '../text/uuid.ts';
import { exportLabels, type LabelExportSummary } from './label-export.ts';
import type { LabelSelection } from './label-query.ts';

const USAGE = COMMAND_USAGE['export-labels'];

type Request = { out: string; selection: LabelSelection; dryRun: boolean; s3: S3Settings };

/** Parses and checks the arguments (UsageError), then reads the S3 settings (ConfigError, exit 78). */
export function parseExportLabelsArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Request {
  const values = parseOptions(args, {
    out: { type: 'string' },
    since: { type: 'string' },
    farm: { type: 'string' },
    'all-corrections': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  const out = values.out as string | undefined;
  if (out === undefined || out.trim() === '') throw new UsageError('say where: --out <directory>');
  const selection: LabelSelection = { allCorrections: values['all-corrections'] === true };
  const since = values.since as string | undefined;
  if (since !== undefined) selection.since = parseSince(since);
  const farm = values.farm as string | undefined;
  if (farm !== undefined) {
    if (!UUID_RE.test(farm))
      throw new UsageError(`--farm ${JSON.stringify(farm)} is not a farm uuid (farms.id)`);
    selection.farmId = farm.toLowerCase();
  }
  return { out, selection, dryRun: values['dry-run'] === true, s3: loadS3Settings(env) };
}

function summaryLine({ out, dryRun }: Request, s: LabelExportSummary): string {
  const older =
    s.notSelected > 0 ? `; ${s.notSelected} older pair(s) not in this selection left as they are` : '';
  if (dryRun) {
    return (
      `dry run: ${s.selected - s.failed} of ${s.selected} correction(s) would be in ${out} ` +
      `(${s.written} to download, ${s.unchanged} already there); ${s.failed} not exportable${older}`
    );
  }
  return (
    `${s.selected - s.failed} of ${s.selected} correction(s) in ${out} ` +
    `(${s.written} written, ${s.unchanged} already there); ${s.failed} failed${older}`
  );
}

/** Runs the export and says what it did; pairs that could not be exported make it exit 1. */
export async function runExportLabels(sql: Sql, request: Request): Promise<string[]> {
  if (request.selection.farmId) {
    const [farm] = await sql`SELECT 1 FROM farms WHERE id = ${request.selection.farmId}`;
    if (!farm) throw new CommandError(`no farm with id ${request.selection.farmId}`);
  }
  const s3 = createS3Client(request.s3);
  try {
    const summary = await exportLabels({
      sql,
      s3,
      out: request.out,
      selection: request.selection,
      dryRun: request.dryRun,
      problem: (line) => console.error(`cti-server export-labels: ${line}`),
    });
    const lines = [
      summaryLine(request, summary),
      JSON.stringify({ out: request.out, dry_run: request.dryRun, ...summary }),
    ];
    if (summary.failed === 0) return lines;
    for (const line of lines) console.log(line);
    throw new CommandError(
      `${summary.failed} correction(s) ${request.dryRun ? 'cannot' : 'could not'} be exported (reasons above)`,
    );
  } catch (err) {
    if (err instanceof StorageUnavailableError) {
      throw new CommandError(`${err.message}; pairs finished so far are kept, re-run when S3 answers`);
    }
    // File-system errors name their path (a database or network error does not).
    if (typeof (err as NodeJS.ErrnoException).path === 'string') {
      throw new CommandError(`cannot write to ${request.out}: ${(err as Error).message}`);
    }
    throw err;
  } finally {
    s3.destroy();
  }
}

/** `cti-server export-labels`: corrected masks as training data (DATABASE_URL and S3 from the environment). */
export const exportLabelsCommand = databaseCommand({
  name: 'export-labels',
  usage: USAGE,
  parse: (args) => parseExportLabelsArgs(args),
  run: runExportLabels,
});
