// Child process for testing.test.ts: creates one test database from CTI_TEST_DATABASE_URL, reports
// its name and migration status as JSON on stdout, then drops it.
import { migrationStatus } from './migrate.ts';
import { createTestDatabase } from './testing.ts';

const db = await createTestDatabase();
try {
  const status = await migrationStatus(db.sql);
  process.stdout.write(`${JSON.stringify({ name: db.name, current: status.current })}\n`);
} finally {
  await db.drop();
}
