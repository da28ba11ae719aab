import type { TransactionSql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { placeWindow } from '../ingest/capture-time.ts';
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
 * Scans one request refiles at most; more is a 422, nothing written. The device is locked meanwhile: its
 * uploads give up after INGEST_DEVICE_LOCK_WAIT_MS (503, the relay retries) and its heartbeats wait (the
 * agent's timeout is 10 s). 1,000 took 1.4 s here at load 3, 4.6 s at load 11 (review r19 F1; 5,000
 * took 23 s).
 */
export const MAX_REFILE_SCANS = 1000;

/**
 * What a dated move found on the farm it left: `candidates` (moved when asked: `refiled`), and
 * `unsynced`, the scans ingest could not place on either side of the move because the Pi's clock was not
 * synchronised (placeWindow), which are left where they are. `claim`: the device had no farm before, so
 * there is no farm to move scans from (its earlier scans were filed without a farm or by a geofence).
 */
export type Refile = { candidates: number; refiled: number; unsynced: number; claim: boolean };

export const NO_REFILE: Refile = { candidates: 0, refiled: 0, unsynced: 0, claim: false };

type FiledScan = {
  id: string;
  animal_id: string | null;
  to_animal: string | null;
  captured_at: Date | null;
  created_at: Date | null;
  clock_unsynced: boolean;
  untrusted: boolean;
};

/**
 * After a move dated `movedAt` from farm `from` to `to`: the device's scans still filed on `from` that
 * were captured at or after that time (a capture at the move's very instant is the new farm's, as in
 * ingest and the stays), filed there by the device's farm (not by meta.json or a geofence) and not
 * reassigned by hand since (a refile of an earlier late move is no hand edit: review r17 F7) — the
 * backlog uploaded while the move was not recorded. Only scans that arrived at or after the move are
 * looked at: one uploaded before it was taken before it, whatever its clock said (review r19 F5). A scan
 * whose capture time ingest would not place against the move (placeWindow: the Pi's clock was not
 * synchronised and its window holds the move, however far behind the clock was: review r19 F3) is
 * neither: ingest would have left it to an admin (review r17 F2), so it stays, counted in `unsynced`.
 * With `refile` each candidate is moved to `to` through changeScan (the scan form's checks, counts and
 * `edited` event), its animal link following its ear tag to `to`'s animal (none when `to` has no such
 * animal). The candidates are locked in id order before the first is changed (review r17 F6).
 */
export async function refileScans(
  tx: TransactionSql,
  principal: Principal,
  move: { deviceId: string; from: string | null; to: string | null; movedAt: string },
  refile: boolean,
): Promise<Refile> {
  if (move.from === null) return { ...NO_REFILE, claim: true };
  const filed = await tx<FiledScan[]>`
    SELECT s.id, s.animal_id, s.captured_at, s.created_at,
           (SELECT a.id FROM animals a WHERE a.eid = s.animal_eid AND a.farm_id = ${move.to}::uuid) AS to_animal,
           coalesce((i.meta->>'clock_unsynced')::boolean, false) AS clock_unsynced,
           i.meta ? 'capture_time_untrusted' AS untrusted
      FROM scans s
      JOIN scan_events i ON i.scan_id = s.id AND i.event = 'ingested' AND i.meta->>'farm_source' = 'device'
     WHERE s.device_id = ${move.deviceId} AND s.farm_id = ${move.from}
       AND coalesce(s.created_at, 'infinity') >= ${move.movedAt}::timestamptz
       AND ${notMovedByHand(tx)}
     ORDER BY s.captured_at, s.id`;
  const movedAt = Date.parse(move.movedAt);
  const scans: FiledScan[] = [];
  let unsynced = 0;
  for (const s of filed) {
    const placed = placedAgainst(s, movedAt);
    if (placed === 'unplaced') unsynced++;
    else if (placed === 'after') scans.push(s);
  }
  const found = { candidates: scans.length, refiled: 0, unsynced, claim: false };
  if (!refile || move.to === null) return found;
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
  await tx`SELECT 1 FROM scans WHERE id = ANY(${scans.map((s) => s.id)}::uuid[]) ORDER BY id FOR UPDATE`;
  const why = { device_move: { device_id: move.deviceId, moved_at: move.movedAt, recorded_late: true } };
  for (const s of scans) {
    const changes = {
      farm_id: move.to,
      ...(s.animal_id !== s.to_animal ? { animal_id: s.to_animal } : {}),
    };
    if (await changeScan(tx, principal, s.id, changes, why)) found.refiled++;
  }
  return found;
}

/**
 * A scan whose farm nobody set by hand: no `edited` event changed its farm_id, or the newest that did
 * was a refile of a move recorded late (its meta carries `device_move`). README's psql statement for a
 * refile past MAX_REFILE_SCANS uses this same condition.
 */
const notMovedByHand = (tx: TransactionSql) => tx`
  coalesce((SELECT e.meta ? 'device_move' FROM scan_events e
             WHERE e.scan_id = s.id AND e.event = 'edited' AND e.meta->'changes' ? 'farm_id'
             ORDER BY e.id DESC LIMIT 1), true)`;

/**
 * Where ingest's rule (placeWindow, the one it files a capture by) puts a stored scan against a move at
 * `movedAt`: 'unplaced' when its clock was not synchronised (or its time not taken) and its window —
 * from placeWindow's start up to the scan's arrival — holds the move; else after or before it.
 */
function placedAgainst(s: FiledScan, movedAt: number): 'after' | 'before' | 'unplaced' {
  // Uploaded before the move: taken before it, whatever its clock said (review r19 F5).
  if (s.created_at !== null && s.created_at.getTime() < movedAt) return 'before';
  const capturedAt = s.untrusted || s.captured_at === null ? null : s.captured_at.toISOString();
  const w = placeWindow({ capturedAt, untrusted: null, clockSynced: !s.clock_unsynced, clockSource: null });
  if (
    w.uncertain &&
    (w.from === null || movedAt > Date.parse(w.from)) &&
    movedAt <= (s.created_at?.getTime() ?? Number.POSITIVE_INFINITY)
  )
    return 'unplaced';
  return capturedAt !== null && Date.parse(capturedAt) >= movedAt ? 'after' : 'before';
}
