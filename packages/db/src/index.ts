export { type MigrateOptions, type MigrationStatus, migrate, migrationStatus } from './migrate.ts';
export { MigrationError } from './migration-error.ts';
export { listMigrations, MIGRATIONS_DIR, type Migration } from './migration-files.ts';
