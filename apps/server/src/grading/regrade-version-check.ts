import { join } from 'node:path';
import type { Sql } from 'postgres';

/** How far back a worker's result counts as "a worker runs this version". */
export const RECENT_HOURS = 24;

/** The segmentation model this installation would load (its card), or why it cannot be read. */
export type LoadedModel = { name: string; version: string; where: string } | { error: string };

/**
 * The segmentation model card a worker started here would load: `CTI_MODELS_DIR` (the worker's
 * setting, read from the same environment) or the models bundled with @cti/models. Only the card is
 * read (no model session); @cti/models is imported on demand so `regrade` without a pin never loads it.
 */
export async function readLoadedModel(modelsDir: string | undefined): Promise<LoadedModel> {
  const models = await import('@cti/models');
  const dir = modelsDir ?? models.DEFAULT_MODELS_DIR;
  try {
    const card = await models.readModelCard(join(dir, 'ribeye-seg.card.json'));
    return {
      name: card.name,
      version: card.version,
      where: modelsDir ? `CTI_MODELS_DIR=${modelsDir}` : 'the bundled models',
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Why a regrade pinned to `version` may never run: the database knows no result a worker graded with
 * it in the last RECENT_HOURS (grading_results.model_version; workers record no heartbeat of their
 * own), and/or it is not the version of the model this installation loads. Empty when neither holds.
 * A pinned job waits for a worker running that version; meanwhile it holds the scan's one active job
 * slot, so the lines end with the command that cancels such jobs.
 */
export async function pinnedVersionWarnings(
  sql: Sql,
  { version, loaded, cancelCommand }: { version: string; loaded: LoadedModel; cancelCommand: string },
): Promise<string[]> {
  const [seen] = await sql<{ last: Date | null; recent: boolean }[]>`
    SELECT max(created_at) AS last, coalesce(max(created_at) > now() - ${`${RECENT_HOURS} hours`}::interval, false) AS recent
    FROM grading_results WHERE model_version = ${version} AND model_name <> 'manual'`;
  const warnings: string[] = [];
  if (!seen?.recent) {
    const [latest] = await sql<{ model: string; created_at: Date }[]>`
      SELECT model_name || '@' || model_version AS model, created_at FROM grading_results
      WHERE model_name <> 'manual' ORDER BY created_at DESC, id DESC LIMIT 1`;
    warnings.push(
      `warning: no worker has graded with model version ${version} in the last ${RECENT_HOURS} h ` +
        `(its last result: ${seen?.last ? seen.last.toISOString() : 'never'}; the newest result of any worker: ` +
        `${latest ? `${latest.model} at ${latest.created_at.toISOString()}` : 'none'})`,
    );
  }
  if ('error' in loaded) {
    warnings.push(`warning: cannot read this installation's model card: ${loaded.error}`);
  } else if (loaded.version !== version) {
    warnings.push(
      `warning: model version ${version} is not the model this installation loads (${loaded.name}@${loaded.version}, ${loaded.where})`,
    );
  }
  if (warnings.length > 0) {
    warnings.push(
      `warning: only a worker running ${version} claims these jobs; until one does they wait, and later regrades ` +
        `skip their scans. Cancel them with: ${cancelCommand}`,
    );
  }
  return warnings;
}
