-- Migration 33: coordinates the database can trust. `scans.gps`, `farms.centroid` and
-- `farms.geofence` took anything PostGIS takes: a NaN or infinite coordinate, latitude 95, longitude
-- 400, an empty point (POINT EMPTY), a self-intersecting fence. The API (access/geofence.ts) and the
-- ingest (meta.json's schema) refuse those, but a row written by hand (psql, a restore, another tool)
-- got in, and then broke what reads it: a NaN exports as `[null, x]` in GeoJSON and breaks the map.
--
-- CHECK constraints, each named for what it checks:
--   <table>_<column>_finite           no NaN or ±Infinity coordinate
--   <table>_<column>_latitude_range   every latitude in −90..90
--   <table>_<column>_longitude_range  every longitude in −180..180
--   <table>_<column>_not_empty        not an empty geometry (POINT EMPTY, POLYGON EMPTY)
--   farms_geofence_valid              ST_IsValid: no self-intersection, rings that do not cross, holes
--                                     inside the shell (what validateGeofence asks PostGIS)
-- NULL stays allowed everywhere (a scan without a fix, a farm without a fence). Postgres tests a row's
-- CHECKs in the order of their names, so a NaN is reported as `…_finite`, not as out of range.
-- A geofence vertex's range is its bounding box's (ST_XMin… read the exact coordinates). Its
-- finiteness is its perimeter's: a NaN or infinite vertex makes its edges' lengths NaN or infinite,
-- and a fence within range is far from overflowing (the bounding box of a NaN vertex is not reliable).
-- Not checked here, though the API refuses them: a fence crossing the antimeridian (an edge jumping
-- more than 180° of longitude, which needs a look at every edge) and a fence enclosing no area (a
-- valid polygon always encloses some).
--
-- Two files, so that checking the existing rows does not lock the tables: a migration is one
-- transaction, and ADD CONSTRAINT takes an ACCESS EXCLUSIVE lock until it commits. This file counts
-- the rows that would violate each constraint (no lock but a reader's: ingest and the API go on),
-- refuses to go further if there are any — naming the table, the constraint and the query that
-- lists them, nothing changed — then adds the constraints NOT VALID, checked for every row written
-- from now on (a brief exclusive lock, no scan). 0034 VALIDATEs them, a scan under SHARE UPDATE
-- EXCLUSIVE: writes go on meanwhile.
CREATE TEMPORARY TABLE geometry_checks (tbl text, con text, expr text) ON COMMIT DROP;
INSERT INTO geometry_checks (tbl, con, expr) VALUES
  ('scans', 'scans_gps_finite',
   $$ST_X(gps) NOT IN ('NaN', 'Infinity', '-Infinity') AND ST_Y(gps) NOT IN ('NaN', 'Infinity', '-Infinity')$$),
  ('scans', 'scans_gps_latitude_range', 'ST_Y(gps) BETWEEN -90 AND 90'),
  ('scans', 'scans_gps_longitude_range', 'ST_X(gps) BETWEEN -180 AND 180'),
  ('scans', 'scans_gps_not_empty', 'NOT ST_IsEmpty(gps)'),
  ('farms', 'farms_centroid_finite',
   $$ST_X(centroid) NOT IN ('NaN', 'Infinity', '-Infinity') AND ST_Y(centroid) NOT IN ('NaN', 'Infinity', '-Infinity')$$),
  ('farms', 'farms_centroid_latitude_range', 'ST_Y(centroid) BETWEEN -90 AND 90'),
  ('farms', 'farms_centroid_longitude_range', 'ST_X(centroid) BETWEEN -180 AND 180'),
  ('farms', 'farms_centroid_not_empty', 'NOT ST_IsEmpty(centroid)'),
  ('farms', 'farms_geofence_finite', $$ST_Perimeter(geofence) < 'Infinity'$$),
  ('farms', 'farms_geofence_latitude_range', 'ST_YMin(geofence) >= -90 AND ST_YMax(geofence) <= 90'),
  ('farms', 'farms_geofence_longitude_range', 'ST_XMin(geofence) >= -180 AND ST_XMax(geofence) <= 180'),
  ('farms', 'farms_geofence_not_empty', 'NOT ST_IsEmpty(geofence)'),
  ('farms', 'farms_geofence_valid', 'ST_IsValid(geofence)');

-- One pass over each table counts the rows against all of its checks (NOT (check) is NULL, not
-- true, where the column is NULL: such rows pass, as they pass the CHECK).
DO $$
DECLARE
  t text;
  counts bigint[];
  names text[];
  exprs text[];
  problems text[] := '{}';
BEGIN
  FOR t IN SELECT DISTINCT tbl FROM geometry_checks ORDER BY tbl LOOP
    SELECT array_agg(con ORDER BY con), array_agg(expr ORDER BY con) INTO names, exprs
      FROM geometry_checks WHERE tbl = t;
    EXECUTE format('SELECT ARRAY[%s] FROM %I',
                   (SELECT string_agg(format('count(*) FILTER (WHERE NOT (%s))', e), ', ') FROM unnest(exprs) e), t)
      INTO counts;
    FOR i IN 1 .. array_length(names, 1) LOOP
      IF counts[i] > 0 THEN
        problems := problems || format('%s row(s) of %s violate %s; list them: SELECT * FROM %s WHERE NOT (%s);',
                                       counts[i], t, names[i], t, exprs[i]);
      END IF;
    END LOOP;
  END LOOP;
  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'migration 0033: rows with coordinates the new constraints refuse: %', array_to_string(problems, ' ')
      USING ERRCODE = 'check_violation',
            HINT = 'Correct those coordinates (or set them to NULL: a scan without a position, a farm without a centre or fence), then migrate again. Nothing was changed.';
  END IF;
END $$;

DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT tbl, con, expr FROM geometry_checks ORDER BY tbl, con LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%s) NOT VALID', c.tbl, c.con, c.expr);
  END LOOP;
END $$;
