import type { Sql } from 'postgres';
import type { RoleName } from '../auth/roles.ts';
import { createUser } from '../auth/user-accounts.ts';
import { HttpError } from '../errors.ts';
import type { Db } from './farm-access.ts';
import { isoUtc } from './sql-fragments.ts';

export type RegistrationRow = {
  id: string;
  email: string;
  full_name: string;
  requested_role: 'farmer' | 'technician';
  message: string | null;
  status: 'pending' | 'approved' | 'rejected';
  created_at: string | null;
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
  user_id: string | null;
};

const columns = (sql: Db) => sql`
  r.id, r.email, r.full_name, r.requested_role, r.message, r.status, ${isoUtc(sql, sql`r.created_at`)} AS created_at,
  ${isoUtc(sql, sql`r.decided_at`)} AS decided_at, r.decided_by, r.decision_reason, r.user_id`;

export function listRegistrations(sql: Db, status?: string) {
  return sql<RegistrationRow[]>`
    SELECT ${columns(sql)} FROM registration_requests r ${status ? sql`WHERE r.status = ${status}` : sql``}
     ORDER BY r.created_at DESC, r.id DESC LIMIT 1000`;
}

export async function findRegistration(sql: Db, id: string): Promise<RegistrationRow | undefined> {
  const [row] = await sql<
    RegistrationRow[]
  >`SELECT ${columns(sql)} FROM registration_requests r WHERE r.id = ${id}`;
  return row;
}

const notPending = () =>
  new HttpError(409, 'already_decided', 'this request was already approved or rejected');

/**
 * Approves a pending request: creates the account with the requested (or the admin's chosen) role —
 * never admin — moves the password hash to it, links the chosen farms in that role (as farmer or as
 * technician). false = no such request.
 */
export async function approveRegistration(
  sql: Sql,
  adminId: string,
  id: string,
  { role, farms = [] }: { role?: RoleName; farms?: { farm_id: string; is_owner?: boolean }[] },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [req] = await tx<
      {
        email: string;
        full_name: string;
        password_hash: string | null;
        requested_role: RoleName;
        status: string;
      }[]
    >`
      SELECT email, full_name, password_hash, requested_role, status FROM registration_requests WHERE id = ${id} FOR UPDATE`;
    if (!req) return false;
    if (req.status !== 'pending' || !req.password_hash) throw notPending();
    const finalRole = role ?? req.requested_role;
    for (const [i, farm] of farms.entries()) {
      const [exists] = await tx`SELECT 1 FROM farms WHERE id = ${farm.farm_id}`;
      if (!exists)
        throw new HttpError(422, 'invalid_request', 'unknown farm', {
          problems: [{ pointer: `/farms/${i}/farm_id`, message: 'names no farm' }],
        });
      if (farm.is_owner && finalRole !== 'farmer') {
        throw new HttpError(422, 'invalid_request', 'only farmers own farms', {
          problems: [{ pointer: `/farms/${i}/is_owner`, message: 'only a farmer can be an owner' }],
        });
      }
    }
    const userId = await createUser(tx, {
      email: req.email,
      fullName: req.full_name,
      roles: [finalRole],
      passwordHash: req.password_hash,
    });
    for (const farm of farms) {
      // The links are made in the account's role: a technician's give write access, a farmer's read.
      await tx`INSERT INTO user_farms (user_id, farm_id, role, is_owner)
               VALUES (${userId}, ${farm.farm_id}, ${finalRole}, ${farm.is_owner ?? false})
               ON CONFLICT DO NOTHING`;
    }
    await tx`
      UPDATE registration_requests SET status = 'approved', decided_by = ${adminId}, decided_at = now(), user_id = ${userId},
             password_hash = NULL
       WHERE id = ${id}`;
    return true;
  });
}

/** Rejects a pending request with a reason (kept); the password hash is discarded. */
export async function rejectRegistration(
  sql: Db,
  adminId: string,
  id: string,
  reason: string,
): Promise<boolean> {
  const [req] = await sql<{ status: string }[]>`SELECT status FROM registration_requests WHERE id = ${id}`;
  if (!req) return false;
  const rows = await sql`
    UPDATE registration_requests SET status = 'rejected', decided_by = ${adminId}, decided_at = now(),
           decision_reason = ${reason.trim()}, password_hash = NULL
     WHERE id = ${id} AND status = 'pending'`;
  if (rows.count === 0) throw notPending();
  return true;
}
