-- Migration 23: when a device changed farms (review r11 F12).
--
-- A Pi moved between farms (a technician going farm to farm) carried its device-wide activity to the
-- new farm's farmer: its heartbeat history, last seen and latest snapshot from the other farm. Each
-- change of devices.farm_id now leaves a row here, whoever makes it (PATCH /api/v1/devices/{id}, the
-- device page, `cti-server device add --farm`, psql): the trigger is the one place that sees them all.
-- The server shows a device's heartbeats, last seen and snapshot to a non-admin only from the latest
-- move away from a farm they cannot read; a device without a row here was never moved ("since ever",
-- as for every device before this migration).
--
-- No foreign key on the farm ids: a farm a device left may be deleted (it then has no reader but
-- admins), and a move must not keep it from being deleted.
--
-- Additive only: a new table, function and trigger; a running older server is unaffected (its
-- updates of farm_id are recorded too).
CREATE TABLE device_farm_moves (
  id bigserial PRIMARY KEY,
  device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  from_farm_id uuid,
  to_farm_id uuid,
  moved_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_device_farm_moves_device ON device_farm_moves (device_id, moved_at DESC);

CREATE FUNCTION record_device_farm_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO device_farm_moves (device_id, from_farm_id, to_farm_id) VALUES (NEW.id, OLD.farm_id, NEW.farm_id);
  RETURN NULL;
END $$;

CREATE TRIGGER devices_record_farm_move AFTER UPDATE OF farm_id ON devices
  FOR EACH ROW WHEN (OLD.farm_id IS DISTINCT FROM NEW.farm_id) EXECUTE FUNCTION record_device_farm_move();
