import type { TransactionSql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { changeScan } from './scan-update.ts';

// A device's move between farms recorded with the time it happened (review r15, design note): the
// technician who carried the Pi on Monday and records it on Wednesday gives Monday's time, so ingest
// files the backlog taken on the new farm there and the stays cut its history at the real move. The
// time reaches migration 0025's trigger through the transaction-local setting `cti.device_moved_at`.

/** How far back PATCH /devices/{id} and the device page date a move (psql is not bounded: README). */
export const MOVE_BACKDATE_MAX_DAYS = 30;

const unprocessable = (pointer: string, message: string) =>
  new HttpError(422, 'invalid_request', `${pointer} ${message}`, { problems: [{ pointer, message }] });

export type MoveTime = {
  /** When the device really moved (RFC 3339 with an offset); absent: now. */
  movedAt?: string | undefined;
  /** Also move the scans filed on the farm it left that were captured since movedAt. */
  refile?: boolean | undefined;
};

/**
 * Before the device's UPDATE, in its transaction: the API's rules for a move time (only with a change
 * of farm, not older than MOVE_BACKDATE_MAX_DAYS; refile only with a time and a farm to file on), then
 * the time handed to the trigger, which refuses one in the future or not after the previous move.
 */
export async function setMoveTime(
  tx: TransactionSql,
  { movedAt, refile }: MoveTime,
  change: { farmChanged: boolean; to: string | null },
): Promise<void> {
  if (movedAt === undefined) {
    if (refile)
      throw unprocessable(
        '/refile_scans',
        'only with moved_at: the scans to move are those captured since then',
      );
    return;
  }
  if (!change.farmChanged)
    throw unprocessable(
      '/moved_at',
      "only with a change of farm_id: it is when the device moved to its new farm (give farm_id, not the device's farm now)",
    );
  if (refile && change.to === null)
    throw unprocessable(
      '/refile_scans',
      'needs a farm_id to move the scans to: an unassigned device has no farm to file them on',
    );
  const [row] = await tx<{ too_old: boolean }[]>`
    SELECT set_config('cti.device_moved_at', ${movedAt}, true),
           ${movedAt}::timestamptz < now() - make_interval(days => ${MOVE_BACKDATE_MAX_DAYS}) AS too_old`;
  if (row!.too_old)
    throw unprocessable(
      '/moved_at',
      `is more than ${MOVE_BACKDATE_MAX_DAYS} days ago: record an older move in psql (apps/server/README.md, "A Pi moved between farms")`,
    );
}

/** Migration 0025's refusals of a move time as 422s naming moved_at; undefined for any other error. */
export function moveTimeRefusal(err: unknown): HttpError | undefined {
  const e = err as { code?: string; detail?: string };
  if (e.code === 'CTIM2')
    return unprocessable(
      '/moved_at',
      'is in the future: give the time the device was moved, at the latest now',
    );
  if (e.code === 'CTIM3')
    return unprocessable(
      '/moved_at',
      `is not after the device's previous move (${e.detail}): its moves are kept in time order; give a later time`,
    );
  if (e.code === 'CTIM1') return unprocessable('/moved_at', 'is not a time Postgres reads');
  return undefined;
}

/**
 * Scans one request refiles at most (1,000 took 1.5 s here, at load 11, the device row locked and its
 * ingest waiting meanwhile); more is a 422, nothing written.
 */
export const MAX_REFILE_SCANS = 5000;

export type Refile = { candidates: number; refiled: number };

/**
 * After a move dated `movedAt` from farm `from` to `to`: the device's scans still filed on `from` that
 * were captured at or after that time (a capture at the move's very instant is the new farm's, as in
 * ingest and the stays), filed there by the device's farm (not by meta.json or a geofence) and not
 * reassigned by hand since — the backlog uploaded while the move was not recorded. With `refile` each is
 * moved to `to` through changeScan (the scan form's checks, counts and `edited` event), its animal link
 * following its ear tag to `to`'s animal (none when `to` has no such animal).
 */
export async function refileScans(
  tx: TransactionSql,
  principal: Principal,
  move: { deviceId: string; from: string | null; to: string | null; movedAt: string },
  refile: boolean,
): Promise<Refile> {
  if (move.from === null) return { candidates: 0, refiled: 0 };
  const scans = await tx<{ id: string; animal_id: string | null; to_animal: string | null }[]>`
    SELECT s.id, s.animal_id,
           (SELECT a.id FROM animals a WHERE a.eid = s.animal_eid AND a.farm_id = ${move.to}::uuid) AS to_animal
      FROM scans s
     WHERE s.device_id = ${move.deviceId} AND s.farm_id = ${move.from}
       AND s.captured_at >= ${move.movedAt}::timestamptz
       AND EXISTS (SELECT 1 FROM scan_events e WHERE e.scan_id = s.id AND e.event = 'ingested'
                     AND e.meta->>'farm_source' = 'device')
       AND NOT EXISTS (SELECT 1 FROM scan_events e WHERE e.scan_id = s.id AND e.event = 'edited'
                         AND e.meta->'changes' ? 'farm_id')
     ORDER BY s.captured_at, s.id`;
  if (!refile || move.to === null) return { candidates: scans.length, refiled: 0 };
  if (scans.length > MAX_REFILE_SCANS)
    throw new HttpError(
      422,
      'too_many_scans',
      `${scans.length} scans to move, more than ${MAX_REFILE_SCANS} in one request: nothing was changed`,
      {
        problems: [
          {
            pointer: '/refile_scans',
            message: `would move ${scans.length} scans, more than ${MAX_REFILE_SCANS}: record the move without it and move them in psql (apps/server/README.md, "Recording a move late")`,
          },
        ],
      },
    );
  const why = { device_move: { device_id: move.deviceId, moved_at: move.movedAt, recorded_late: true } };
  let refiled = 0;
  for (const s of scans) {
    const changes = {
      farm_id: move.to,
      ...(s.animal_id !== s.to_animal ? { animal_id: s.to_animal } : {}),
    };
    if (await changeScan(tx, principal, s.id, changes, why)) refiled++;
  }
  return { candidates: scans.length, refiled };
}
