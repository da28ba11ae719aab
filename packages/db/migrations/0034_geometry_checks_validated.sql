-- Migration 34: VALIDATE the geometry constraints 0033 added NOT VALID (see its header). In a
-- transaction of its own: VALIDATE CONSTRAINT scans the table under SHARE UPDATE EXCLUSIVE, so
-- ingest, grading and the API write on meanwhile, which they could not had 0033 validated them under
-- its ACCESS EXCLUSIVE lock. 0033 found no row violating them before it added them, and every row
-- written since was checked; a row can only have slipped in between 0033's count and its lock. If one
-- did, the failure names the table, the constraint and the query that lists the rows, not a bare
-- check violation.
DO $$
DECLARE
  c record;
  n bigint;
BEGIN
  FOR c IN SELECT conrelid::regclass AS tbl, conname AS con, pg_get_expr(conbin, conrelid) AS expr
             FROM pg_constraint
            WHERE contype = 'c' AND NOT convalidated AND conrelid IN ('scans'::regclass, 'farms'::regclass)
              AND conname ~ '^(scans_gps|farms_centroid|farms_geofence)_'
            ORDER BY conrelid::regclass::text, conname LOOP
    BEGIN
      EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', c.tbl, c.con);
    EXCEPTION WHEN check_violation THEN
      EXECUTE format('SELECT count(*) FROM %s WHERE NOT (%s)', c.tbl, c.expr) INTO n;
      RAISE EXCEPTION 'migration 0034: % row(s) of % violate %; list them: SELECT * FROM % WHERE NOT (%);',
                      n, c.tbl, c.con, c.tbl, c.expr
        USING ERRCODE = 'check_violation',
              HINT = 'Correct those coordinates (or set them to NULL: a scan without a position, a farm without a centre or fence), then migrate again.';
    END;
  END LOOP;
END $$;
