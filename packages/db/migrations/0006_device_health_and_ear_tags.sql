-- Migration 6: per-device authentication, device heartbeats and fleet health, and the linking of scans
-- to animals by ear tag. Owned by apps/server (src/devices, src/ingest). Decisions:
-- docs/adr/0002-device-authentication.md; the tables are documented for readers (the dashboard's fleet
-- page) in apps/server/README.md, "Devices and fleet health". Additive only.

-- Per-device public keys (Ed25519, SubjectPublicKeyInfo DER). The private half is the device secret that
-- `cti-server device add` prints once; it exists only on the Pi, so neither the server nor a copy of this
-- table can sign a heartbeat. Rotation (`cti-server device rotate-secret`) adds a key and gives the older
-- ones an expiry (the overlap); the first request signed with the new key expires them at once.
CREATE TABLE device_keys(
  id bigserial PRIMARY KEY,
  device_id uuid NOT NULL REFERENCES devices(id),
  algorithm text NOT NULL DEFAULT 'ed25519',
  public_key bytea NOT NULL,
  -- 16 hex of sha256(public_key): how logs, listings and the agent's status name a key.
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- NULL: valid until rotated. A key is accepted while expires_at IS NULL OR expires_at > now().
  expires_at timestamptz,
  last_used_at timestamptz,
  CONSTRAINT device_keys_algorithm_check CHECK (algorithm = 'ed25519'),
  CONSTRAINT device_keys_public_key_check CHECK (octet_length(public_key) = 44),
  CONSTRAINT device_keys_public_key_key UNIQUE (public_key)
);
CREATE INDEX idx_device_keys_device ON device_keys (device_id, created_at DESC);

-- Every accepted heartbeat, kept CTI_DEVICE_HISTORY_DAYS (7) days for trends, then deleted by the
-- server's fleet check. The whole body is kept; the figures a trend chart needs are columns too.
CREATE TABLE device_heartbeats(
  id bigserial PRIMARY KEY,
  device_id uuid NOT NULL REFERENCES devices(id),
  key_id bigint NOT NULL REFERENCES device_keys(id),
  received_at timestamptz NOT NULL,
  sent_at timestamptz NOT NULL,
  -- sha256 of the request's signature: an identical request sent again inside the ±300 s window is a
  -- replay and is refused (Ed25519 signatures are deterministic: same timestamp and body, same bytes).
  signature_sha256 bytea NOT NULL,
  pending_captures int NOT NULL,
  pending_bytes bigint NOT NULL,
  oldest_pending_age_s int,
  quarantined int NOT NULL,
  disk_free_bytes bigint,
  clock_synced boolean NOT NULL,
  clock_offset_ms int,
  probe_connected boolean NOT NULL,
  frame_rate_fps real,
  body jsonb NOT NULL
);
CREATE UNIQUE INDEX idx_device_heartbeats_signature ON device_heartbeats (device_id, signature_sha256);
CREATE INDEX idx_device_heartbeats_device_time ON device_heartbeats (device_id, received_at DESC);
CREATE INDEX idx_device_heartbeats_received ON device_heartbeats (received_at);

-- The latest heartbeat of each device that ever sent one (what the fleet page shows), plus the state of
-- its health episodes. An episode column holds the start of the current episode, NULL when there is
-- none; a notification is raised when an episode starts, keyed '<type>:<device id>:<start>', so it is
-- raised once per episode whichever replica sees it first.
CREATE TABLE device_health(
  device_id uuid PRIMARY KEY REFERENCES devices(id),
  -- device_heartbeats.id of this snapshot (no foreign key: history is pruned, the latest row is not).
  heartbeat_id bigint NOT NULL,
  -- When the server accepted it: "last heard".
  received_at timestamptz NOT NULL,
  sent_at timestamptz NOT NULL,
  -- sent_at - received_at as the server saw it (device clock error plus transit time).
  clock_skew_ms int NOT NULL,
  agent_version text NOT NULL,
  models jsonb NOT NULL DEFAULT '[]',
  uptime_s bigint NOT NULL,
  system_uptime_s bigint,
  pending_captures int NOT NULL,
  pending_bytes bigint NOT NULL,
  oldest_pending_age_s int,
  quarantined int NOT NULL,
  last_capture_at timestamptz,
  last_upload_at timestamptz,
  disk_free_bytes bigint,
  disk_floor_bytes bigint,
  clock_synced boolean NOT NULL,
  clock_source text,
  -- The device's own measurement against the server's clock (NTP-style, previous round trip).
  clock_offset_ms int,
  probe_connected boolean NOT NULL,
  probe_kind text,
  probe_model text,
  frame_rate_fps real,
  health_ok boolean,
  health_reason text,
  last_error_at timestamptz,
  last_error text,
  ear_tag_reader_connected boolean,
  body jsonb NOT NULL,
  heartbeats_total bigint NOT NULL DEFAULT 1,
  -- Episode starts. silent_since is set by the silence check to received_at of a device found silent,
  -- and cleared by its next heartbeat; the other three are evaluated on every heartbeat.
  silent_since timestamptz,
  backlog_since timestamptz,
  disk_low_since timestamptz,
  clock_unsynced_since timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_device_health_received ON device_health (received_at);

-- Refused device requests (bad or missing signature, unknown device, stale timestamp, replay, bad body):
-- one row each, for the operator looking for a misconfigured or impersonated Pi. device_code is what the
-- request claimed ('' when it named none); pruned like the heartbeat history.
CREATE TABLE device_request_rejections(
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  device_code text NOT NULL,
  http_status int NOT NULL,
  error_code text NOT NULL,
  message text,
  request_id text,
  remote_addr text
);
CREATE INDEX idx_device_request_rejections_time ON device_request_rejections (created_at);
CREATE INDEX idx_device_request_rejections_device ON device_request_rejections (device_code, created_at DESC);

-- Ear tags: a scan keeps the tag read at the chute (scans.animal_eid, migration 5) and is linked to the
-- animal with that tag ON THE SCAN'S FARM. Ingest links at insert time; this trigger links the scans that
-- waited for their animal, whichever code path registers it or corrects its tag, and unlinks the scans
-- a corrected tag no longer matches. Never an animal created from a tag.
CREATE FUNCTION cti_link_scans_to_animal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.eid IS NOT NULL AND OLD.eid IS DISTINCT FROM NEW.eid THEN
    UPDATE scans SET animal_id = NULL WHERE animal_id = OLD.id AND animal_eid = OLD.eid;
  END IF;
  IF NEW.eid IS NOT NULL AND NEW.farm_id IS NOT NULL THEN
    UPDATE scans SET animal_id = NEW.id
    WHERE animal_eid = NEW.eid AND animal_id IS NULL AND farm_id = NEW.farm_id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER animals_link_scans AFTER INSERT OR UPDATE OF eid, farm_id ON animals
  FOR EACH ROW EXECUTE FUNCTION cti_link_scans_to_animal();
-- "The scans of this animal", and the unlinking above without a full scan of scans.
CREATE INDEX IF NOT EXISTS idx_scans_animal ON scans (animal_id) WHERE animal_id IS NOT NULL;
