-- Migration 22: retiring a device, and the end of a silence (review r11 F7, F8).
--
-- A retired or replaced Pi used to stay red "silent" first on every fleet page and in the
-- cti_device_silent gauge for ever, with no way out but psql. `cti-server device retire` now revokes
-- the device's keys and sets retired_at (when), retired_by (who: the admin's account, or the OS user
-- who ran the command) and retired_reason (their words, optional). A retired device is left out of
-- silence checks, episodes, notifications and gauges, and listed apart on the fleet; its page, its
-- heartbeat history and its scans stay. `device unretire` clears the three columns.
--
-- device_health.silence_ended_at: when the device's last notified silence ended (its next heartbeat,
-- which also writes a `device_back` notification). The fleet check does not notify a device silent
-- again within CTI_DEVICE_SILENT_RENOTIFY_S of it unless the new silence lasts longer than that (a
-- Pi on barn Wi-Fi that drops a few times a day notifies once, not each time).
--
-- Additive only: nullable columns, no rewrite of either table (Postgres 11+), so a running older
-- server is unaffected; its heartbeats write no silence_ended_at and its checks ignore retired_at.
ALTER TABLE devices
  ADD COLUMN retired_at timestamptz,
  ADD COLUMN retired_by text,
  ADD COLUMN retired_reason text,
  ADD CONSTRAINT devices_retired_reason_length CHECK (char_length(retired_reason) <= 500),
  ADD CONSTRAINT devices_retired_by_length CHECK (char_length(retired_by) <= 320),
  ADD CONSTRAINT devices_retired_fields CHECK (retired_at IS NOT NULL OR (retired_by IS NULL AND retired_reason IS NULL));

ALTER TABLE device_health ADD COLUMN silence_ended_at timestamptz;
