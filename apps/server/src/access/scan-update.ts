import type { Sql, TransactionSql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { lockScanDevice } from '../devices/device-lock.ts';
import { HttpError } from '../errors.ts';
import { farmRights, readableFarm, writableFarm } from './farm-access.ts';

export type ScanChanges = {
  review_label?: string | null;
  review_clarity?: number | null;
  review_usability?: 'usable' | 'marginal' | 'unusable' | null;
  animal_id?: string | null;
  farm_id?: string;
};

const unprocessable = (pointer: string, message: string) =>
  new HttpError(422, 'invalid_request', `${pointer} ${message}`, { problems: [{ pointer, message }] });

/**
 * Review fields, the animal link and the farm of one scan, in one transaction. 404 when the caller
 * cannot see the scan; 403 when they can see but not write it. Moving it to another farm needs write
 * rights on BOTH farms; a linked animal must be visible to the caller and live on the scan's (new)
 * farm. A `scan_events` row records who changed what. Returns false when the scan is not visible.
 */
export async function updateScan(
  sql: Sql,
  principal: Principal,
  id: string,
  changes: ScanChanges,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    // The scan's device's lock first, as a device's move refiling its scans takes them (device, then
    // scans): the farm counter this update writes holds the device row too, and in the other order an
    // edit during a refile deadlocked (review r17 F6). Shared (device-lock.ts): edits do not wait on
    // uploads, only on a move.
    await lockScanDevice(tx, id);
    return changeScan(tx, principal, id, changes);
  });
}

/**
 * updateScan's work in the caller's transaction: the same checks, update and `edited` event (with `why`
 * merged into its meta: a device's move recorded late refiles its scans through here, device-move.ts).
 */
export async function changeScan(
  tx: TransactionSql,
  principal: Principal,
  id: string,
  changes: ScanChanges,
  why: Record<string, unknown> = {},
): Promise<boolean> {
  const [scan] = await tx<{ farm_id: string | null; animal_id: string | null; writable: boolean }[]>`
    SELECT s.farm_id, s.animal_id, ${writableFarm(tx, principal, tx`s.farm_id`)} AS writable
      FROM scans s WHERE s.id = ${id} AND ${readableFarm(tx, principal, tx`s.farm_id`)} FOR UPDATE OF s`;
  if (scan === undefined) return false;
  if (!scan.writable) throw forbidden('you may not change scans of this farm');
  const farmId = changes.farm_id ?? scan.farm_id;
  if (changes.farm_id !== undefined && changes.farm_id !== scan.farm_id) {
    const target = await farmRights(tx, principal, changes.farm_id);
    if (target === null) throw unprocessable('/farm_id', 'is not a farm you can see');
    if (!target.writable) throw forbidden('you may not move scans to that farm');
  }
  const animalId = changes.animal_id !== undefined ? changes.animal_id : scan.animal_id;
  if (animalId !== null) {
    const [animal] = await tx<{ farm_id: string | null }[]>`
      SELECT a.farm_id FROM animals a WHERE a.id = ${animalId} AND ${readableFarm(tx, principal, tx`a.farm_id`)}`;
    const pointer = changes.animal_id !== undefined ? '/animal_id' : '/farm_id';
    if (animal === undefined) throw unprocessable('/animal_id', 'is not an animal you can see');
    if (animal.farm_id !== farmId) {
      throw unprocessable(
        pointer,
        changes.animal_id !== undefined
          ? "belongs to another farm than the scan's"
          : "the scan's animal stays on its farm: set animal_id too (another animal, or null)",
      );
    }
  }
  const review = ['review_label', 'review_clarity', 'review_usability'].some((k) => k in changes);
  const pick = <K extends keyof ScanChanges>(k: K, current: unknown) => (k in changes ? changes[k] : current);
  await tx`
    UPDATE scans s SET
      farm_id = ${farmId},
      animal_id = ${animalId},
      review_label = ${pick('review_label', tx`s.review_label`) as never},
      review_clarity = ${pick('review_clarity', tx`s.review_clarity`) as never},
      review_usability = ${pick('review_usability', tx`s.review_usability`) as never},
      reviewed_by = ${review ? principal.userId : tx`s.reviewed_by`},
      reviewed_at = ${review ? tx`now()` : tx`s.reviewed_at`}
    WHERE s.id = ${id}`;
  await tx`
    INSERT INTO scan_events (scan_id, event, meta)
    VALUES (${id}, 'edited', ${tx.json({ by: principal.userId, changes, previous: { farm_id: scan.farm_id, animal_id: scan.animal_id }, ...why } as never)})`;
  return true;
}
