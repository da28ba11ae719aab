import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeDirectory, writeFileAtomically } from '@cti/runtime';
import type { Sql } from 'postgres';
import { GradingError } from '../grading/grading-errors.ts';
import { readVerifiedObject } from '../grading/object-store.ts';
import { StorageUnavailableError } from '../storage/storage-unavailable.ts';
import { type LabelSelection, selectCorrections } from './label-query.ts';
import { type ExportableRow, imageFileName, labelJson, manifestLine } from './label-record.ts';

export type LabelExportSummary = {
  selected: number;
  /** Pairs downloaded and written (in a dry run: that would be). */
  written: number;
  /** Pairs already in the output with the right bytes. */
  unchanged: number;
  failed: number;
  /** Pair directories already in the output that this selection did not name (left as they are). */
  notSelected: number;
};

export type LabelExportOptions = {
  sql: Sql;
  s3: S3Client;
  out: string;
  selection: LabelSelection;
  /** Reads the database and the output directory only: no S3 request, nothing written. */
  dryRun?: boolean;
  /** One line per pair that could not be exported (the command prints them on stderr). */
  problem: (line: string) => void;
};

const BATCH = 100;
const MAX_OBJECT_BYTES = 256 << 20;
const TMP = /\.tmp-\d+$/;

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

async function fileSha256(path: string): Promise<string | null> {
  try {
    return sha256(await readFile(path));
  } catch {
    return null;
  }
}

/** A pair already exported with exactly these bytes (label, image and mask checked by sha256)? */
async function alreadyThere(dir: string, r: ExportableRow, labelSha: string) {
  return (
    (await fileSha256(join(dir, 'label.json'))) === labelSha &&
    (await fileSha256(join(dir, imageFileName(r.image.key)))) === r.image.sha256 &&
    (await fileSha256(join(dir, 'mask.png'))) === r.mask.sha256
  );
}

/** Downloads image and mask (each checked against its assets.sha256), then writes the pair, label last. */
async function writePair(s3: S3Client, dir: string, r: ExportableRow, label: string) {
  const read = (a: ExportableRow['image']) =>
    readVerifiedObject(
      s3,
      { bucket: a.bucket, key: a.key, sha256: a.sha256 },
      { maxBytes: MAX_OBJECT_BYTES },
    );
  const [image, mask] = await Promise.all([read(r.image), read(r.mask)]);
  await makeDirectory(dir);
  // Temp files a killed run left behind in this pair's directory.
  for (const entry of await readdir(dir)) if (TMP.test(entry)) await rm(join(dir, entry), { force: true });
  await writeFileAtomically(join(dir, imageFileName(r.image.key)), image);
  await writeFileAtomically(join(dir, 'mask.png'), mask);
  // Last: a label.json is only there when its image and mask are.
  await writeFileAtomically(join(dir, 'label.json'), label);
}

/** The operator's words for a pair that failed for a reason of its own (not an outage). */
function pairProblem(err: GradingError, r: ExportableRow): string {
  if (err.code !== 'sha256_mismatch') return `${err.message}; not exported`;
  const object = err.message.split(' ')[0];
  const actual = /has sha256 ([0-9a-f]{64})/.exec(err.message)?.[1];
  const recorded = object === `s3://${r.image.bucket}/${r.image.key}` ? r.image.sha256 : r.mask.sha256;
  return `${object} has sha256 ${actual}, not the ${recorded} recorded in assets; not exported`;
}

/**
 * Exports corrected masks as training pairs into `out`: per correction a directory named by its
 * result id with the scan's image (its exact bytes, checked against `assets.sha256` while reading),
 * the corrected mask (checked against its asset's sha256) and `label.json` (lineage), plus
 * `manifest.jsonl` (one line per pair of this selection, oldest first, with each file's sha256).
 *
 * Nothing is ever half-written: every file is written to a temp name and renamed; a pair's label.json
 * is written after its image and mask; manifest.jsonl is written last, so every pair it lists is
 * complete (a run that stops early leaves the previous manifest, whose pairs are all still there).
 * Re-runs are idempotent: a pair whose files are there with the right sha256 is not downloaded again.
 * A pair that cannot be exported (no image, no mask, a missing object, bytes that differ from their
 * sha256) is reported through `problem`, counted as failed and left out of the manifest; an S3
 * outage stops the export (StorageUnavailableError) before the manifest is written.
 *
 * @example await exportLabels({ sql, s3, out: 'labels', selection: { allCorrections: false }, problem: console.error });
 */
export async function exportLabels({
  sql,
  s3,
  out,
  selection,
  dryRun = false,
  problem,
}: LabelExportOptions): Promise<LabelExportSummary> {
  // Not mkdir's recursive: it never settles under /proc (makeDirectory fails fast, naming the path).
  if (!dryRun) await makeDirectory(out);
  const summary: LabelExportSummary = { selected: 0, written: 0, unchanged: 0, failed: 0, notSelected: 0 };
  const manifest: string[] = [];
  const selected = new Set<string>();
  for await (const rows of selectCorrections(sql, selection).cursor(BATCH)) {
    for (const r of rows) {
      summary.selected++;
      selected.add(r.result_id);
      const where = `correction ${r.result_id} of scan ${r.scan_id} (${r.capture_id})`;
      if (!r.image || !r.mask) {
        summary.failed++;
        problem(`${where}: ${r.image ? 'its mask asset' : "the scan's image"} is not recorded; not exported`);
        continue;
      }
      const row = { ...r, image: r.image, mask: r.mask };
      const label = labelJson(row);
      const labelSha = sha256(label);
      const dir = join(out, r.result_id);
      if (await alreadyThere(dir, row, labelSha)) {
        summary.unchanged++;
      } else if (dryRun) {
        summary.written++;
      } else {
        try {
          await writePair(s3, dir, row, label);
          summary.written++;
        } catch (err) {
          if (!(err instanceof GradingError)) throw err;
          if (err.code === 's3_unavailable') throw new StorageUnavailableError(err.message, { cause: err });
          summary.failed++;
          problem(`${where}: ${pairProblem(err, row)}`);
          continue;
        }
      }
      manifest.push(manifestLine(row, labelSha));
    }
  }
  if (!dryRun) await writeFileAtomically(join(out, 'manifest.jsonl'), manifest.map((l) => `${l}\n`).join(''));
  summary.notSelected = await pairsNotSelected(out, selected);
  return summary;
}

/** Pair directories in `out` (named by a result id) that this selection did not name. */
async function pairsNotSelected(out: string, selected: Set<string>): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // a dry run into a new directory
    throw err;
  }
  let count = 0;
  for (const entry of entries) {
    if (!/^[0-9a-f-]{36}$/.test(entry) || selected.has(entry)) continue;
    if ((await stat(join(out, entry))).isDirectory()) count++;
  }
  return count;
}
