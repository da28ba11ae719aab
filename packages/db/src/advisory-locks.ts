/**
 * Advisory lock keys (two-int form). The namespace spells "CTID" so the keys do not collide with
 * locks the application may take. Advisory locks are scoped to one database.
 */
export const LOCK_NAMESPACE = 0x43544944;
/** Held (transaction-level) by `migrate` in the database being migrated. */
export const LOCK_MIGRATE = 1;
/** Held (session-level) in the admin database while a test template is built or cleaned up. */
export const LOCK_TEST_TEMPLATE = 2;
/**
 * Held (transaction-level, try-lock) by the server's fleet check (silence notifications, history
 * pruning), so several replicas do not repeat the same work; correctness does not depend on it.
 */
export const LOCK_FLEET_CHECK = 3;
/**
 * Held (transaction-level, try-lock) by `compact_scan_status_counts()` (migrations 0028, 0030: the key is
 * written in that SQL), so two replicas' compactions do not queue on each other's rows; correctness
 * does not depend on it.
 */
export const LOCK_SCAN_COUNTS_COMPACT = 4;
/**
 * Class (first int) of the per-device lock; the second int is `hashtext(devices.id::text)`. Ingest and
 * a hand scan edit hold it shared (transaction-level), a move of the device between farms exclusive,
 * before they touch the device's row or scans: a waiting move queues later uploads behind it (a
 * heavyweight lock is granted in order, a row lock's shared holders are not), and the move gets in
 * after the uploads in flight (review r19 F2). Its own class, not LOCK_NAMESPACE: a device's hash
 * could be 1–3 and take the locks above. Two-int keys never meet one-bigint keys
 * (`pg_advisory_xact_lock(hashtext('cti:user-admin-changes'))`, pg_locks.objsubid 1 vs 2). Spells "CTDV".
 */
export const LOCK_DEVICE_CLASS = 0x43544456;
