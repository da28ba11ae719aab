-- Migration 30: a primary key for scan_status_counts (review r23), so it has a replica identity.
--
-- 0028 made scan_status_counts without a key (its rows are deltas: nothing needed one), the only table
-- of the schema without one. A table without a replica identity that a publication covers for DELETE
-- (`CREATE PUBLICATION … FOR ALL TABLES`, as logical replication, a managed service's blue/green
-- upgrade or a logical read replica sets up) refuses every DELETE: compact_scan_status_counts() then
-- failed every minute ("cannot delete from table … does not have a replica identity", 55000), so the
-- deltas were never folded and each overview read summed all of them (1,000,000 rows: ~0.3 s). With the
-- key the compaction's deletes replicate by key, and its sums and the triggers' deltas as inserts.
--
-- An identity column: the triggers and the compaction insert (farm_id, status, n) as before and get
-- the next number (a sequence: no row lock, nothing a writer waits on). Adding it rewrites the table
-- under an exclusive lock, so writes to `scans` (their triggers append here) and the counts' reads
-- wait for it. Compacted first, under that lock, the table is a few rows per farm and status: ~0.1 s
-- (1,000,000 uncompacted rows would take ~7 s to rewrite; a compaction of them ~2–3 s).
LOCK TABLE scan_status_counts IN ACCESS EXCLUSIVE MODE;
SELECT compact_scan_status_counts();
ALTER TABLE scan_status_counts ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
