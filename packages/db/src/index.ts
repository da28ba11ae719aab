export {
  LOCK_DEVICE_CLASS,
  LOCK_FLEET_CHECK,
  LOCK_NAMESPACE,
  LOCK_SCAN_COUNTS_COMPACT,
} from './advisory-locks.ts';
export {
  DEFAULT_MIGRATE_LOCK_TIMEOUT_MS,
  type MigrateOptions,
  type MigrationStatus,
  migrate,
  migrationStatus,
} from './migrate.ts';
export { type MigrateCommandIo, runMigrateCommand } from './migrate-command.ts';
export { MigrationError } from './migration-error.ts';
export { listMigrations, MIGRATIONS_DIR, type Migration } from './migration-files.ts';
