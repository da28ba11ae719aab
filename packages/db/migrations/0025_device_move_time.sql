-- Migration 25: a device's move between farms recorded at the time it really moved (review r15, design
-- note).
--
-- Since 0023/0024 a move is stamped when someone changes devices.farm_id. A technician who carries a
-- Pi from farm A to farm B on Monday and records it on Wednesday made the backlog taken on B meanwhile
-- file on A at upload (ingest files a capture on the farm the device was on at its captured_at), and
-- A's people see B's heartbeats of those two days. The caller who changes the farm may now say when the
-- device moved: `SET LOCAL cti.device_moved_at = '<time with offset>'` (or set_config(…, true)) in the
-- transaction before the UPDATE; without it the move is stamped with clock_timestamp() as before.
-- `recorded_at` is when the row was written, so a backdated move shows as one.
--
-- The time must be after the device's previous move: the stays (device pages, fleet, API) and ingest's
-- filing read the moves in moved_at order and take the farm left by the first later move — a move
-- placed before an earlier one would make the from/to chain lie. It may not lie in the future beyond
-- the replicas' clock skew (60 s): a move not yet made would file today's captures on the new farm.
-- A move without a time right after one dated within that skew is stamped a microsecond after it, not
-- refused: correcting a farm chosen wrong is not a move back in time (review r17 F4).
-- The device's row is locked by the UPDATE that fires this trigger, so two moves of one device are
-- checked one after the other, each against the other's row. The API bounds how far back (30 days);
-- an operator in psql is not bounded, only ordered.
ALTER TABLE device_farm_moves ADD COLUMN recorded_at timestamptz;
-- Every earlier row was stamped when it was written.
UPDATE device_farm_moves SET recorded_at = moved_at;
ALTER TABLE device_farm_moves ALTER COLUMN recorded_at SET NOT NULL,
  ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();

CREATE OR REPLACE FUNCTION record_device_farm_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  given text := nullif(current_setting('cti.device_moved_at', true), '');
  recorded timestamptz := clock_timestamp();
  at timestamptz := recorded;
  previous timestamptz;
BEGIN
  IF given IS NOT NULL THEN
    BEGIN
      at := given::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_parameter_value THEN
      RAISE EXCEPTION 'cti.device_moved_at % is not a time (give one with an offset, e.g. 2026-12-05T08:00:00Z)',
        quote_literal(given) USING ERRCODE = 'CTIM1';
    END;
    IF at > recorded + interval '60 seconds' THEN
      RAISE EXCEPTION 'device move time % is in the future (now %)', at, recorded USING ERRCODE = 'CTIM2';
    END IF;
  END IF;
  SELECT max(m.moved_at) INTO previous FROM device_farm_moves m WHERE m.device_id = NEW.id;
  IF given IS NULL AND previous IS NOT NULL THEN
    -- A move without a time is "now", and now is after a previous move dated within the clock skew.
    at := greatest(recorded, previous + interval '1 microsecond');
  END IF;
  IF previous IS NOT NULL AND at <= previous THEN
    RAISE EXCEPTION 'device move time % is not after the device''s previous move (%)', at, previous
      USING ERRCODE = 'CTIM3',
            DETAIL = to_char(previous AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  END IF;
  INSERT INTO device_farm_moves (device_id, from_farm_id, to_farm_id, moved_at, recorded_at)
  VALUES (NEW.id, OLD.farm_id, NEW.farm_id, at, recorded);
  RETURN NULL;
END $$;
