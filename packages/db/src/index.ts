export { LOCK_DEVICE_CLASS, LOCK_FLEET_CHECK, LOCK_NAMESPACE } from './advisory-locks.ts';
export { type MigrateOptions, type MigrationStatus, migrate, migrationStatus } from './migrate.ts';
export { MigrationError } from './migration-error.ts';
export { listMigrations, MIGRATIONS_DIR, type Migration } from './migration-files.ts';
