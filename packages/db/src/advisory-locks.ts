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
