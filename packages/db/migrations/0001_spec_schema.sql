-- Migration 1: the canonical DDL of spec/data-model-and-contracts.md §4, verbatim.
--
-- Every statement below is copied unchanged from the spec; nothing needed fixing to run under the
-- migration runner (one transaction, simple-query protocol). Notes on points that look like fixes
-- but are deliberately NOT made here (later changes are separate, additive migrations, spec §9):
--   * Extensions: CREATE EXTENSION IF NOT EXISTS is a no-op for a non-superuser when the extension is
--     already installed (verified on Postgres 15). "uuid-ossp" and pgcrypto are trusted extensions
--     that the database owner may create; postgis is not, so on a fresh database a superuser must
--     create it first (scripts/lib/postgres.sh does this for `cti` and `cti_base`).
--   * Foreign keys carry no ON DELETE clause, i.e. Postgres' default NO ACTION. For these
--     non-deferrable constraints that behaves as the RESTRICT that spec §6 asks for: deleting a
--     referenced row fails with SQLSTATE 23503.
--   * scans.scan_id stays nullable as written here (the DBML says NOT NULL); see ARCHITECTURE.md.
--   * gen_random_uuid() is built into Postgres 13+; pgcrypto is still created because the spec does.

-- Enable extensions
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS "pgcrypto";
CREATE EXTENSION IF NOT EXISTS postgis;

-- Roles
CREATE TABLE roles(
  id serial PRIMARY KEY,
  name text UNIQUE NOT NULL
);
INSERT INTO roles(name) VALUES ('admin'), ('technician'), ('farmer')
ON CONFLICT DO NOTHING;

-- Users & user_roles
CREATE TABLE users(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE NOT NULL,
  full_name text,
  password_hash text,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE TABLE user_roles(
  user_id uuid NOT NULL REFERENCES users(id),
  role_id int  NOT NULL REFERENCES roles(id),
  PRIMARY KEY (user_id, role_id)
);

-- Farms & animals (4326)
CREATE TABLE farms(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  geofence geometry(Polygon, 4326),
  centroid geometry(Point, 4326),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_farms_geofence_gist ON farms USING gist(geofence);

CREATE TABLE animals(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  farm_id uuid REFERENCES farms(id),
  tag_id text NOT NULL,
  breed text,
  sex text,
  birth_date date,
  created_at timestamptz DEFAULT now(),
  UNIQUE(farm_id, tag_id)
);

-- Devices
CREATE TABLE devices(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_code text UNIQUE NOT NULL,
  label text,
  farm_id uuid REFERENCES farms(id),
  s3_prefix_hint text,
  last_seen_at timestamptz,
  last_upload_at timestamptz,
  captures_count int DEFAULT 0,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

-- Assets
CREATE TABLE assets(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket text NOT NULL,
  object_key text NOT NULL,
  sha256 char(64) NOT NULL,
  size_bytes bigint,
  mime_type text,
  created_at timestamptz DEFAULT now(),
  UNIQUE(bucket, object_key)
);

-- Scans
DO $$ BEGIN
  CREATE TYPE scan_status AS ENUM ('uploaded','ingested','graded','error');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE scans(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scan_id text,
  capture_id text NOT NULL,
  ingest_key text NOT NULL,
  device_id uuid NOT NULL REFERENCES devices(id),
  farm_id uuid REFERENCES farms(id),
  animal_id uuid REFERENCES animals(id),
  operator_id uuid REFERENCES users(id),
  gps geometry(Point, 4326),
  captured_at timestamptz,
  status scan_status DEFAULT 'uploaded',
  image_asset_id uuid REFERENCES assets(id),
  mask_asset_id uuid REFERENCES assets(id),
  created_at timestamptz DEFAULT now(),
  UNIQUE(ingest_key)
);
CREATE INDEX idx_scans_device_captured ON scans(device_id, captured_at DESC);
CREATE INDEX idx_scans_farm_captured   ON scans(farm_id, captured_at DESC);

-- Events & ingest logs
CREATE TABLE scan_events(
  id bigserial PRIMARY KEY,
  scan_id uuid NOT NULL REFERENCES scans(id),
  event text NOT NULL,
  meta jsonb,
  created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_scan_events_scan_time ON scan_events(scan_id, created_at);

CREATE TABLE ingestion_log(
  id bigserial PRIMARY KEY,
  capture_id text NOT NULL,
  ingest_key text NOT NULL,
  http_status int,
  bytes_in int,
  ms int,
  error text,
  created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_ingest_log_capture ON ingestion_log(capture_id);
CREATE INDEX idx_ingest_log_key_time ON ingestion_log(ingest_key, created_at);

-- Grading
CREATE TABLE grading_results(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scan_id uuid NOT NULL REFERENCES scans(id),
  model_name text NOT NULL,
  model_version text NOT NULL,
  inference_sha256 char(64),
  confidence numeric(5,4),
  confidence_breakdown jsonb,
  features_used jsonb,
  created_by uuid REFERENCES users(id),
  created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_grading_scan_time ON grading_results(scan_id, created_at);
CREATE INDEX idx_grading_model_ver ON grading_results(model_name, model_version);

-- Notifications
CREATE TABLE notifications(
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id),
  type text NOT NULL,
  payload jsonb,
  is_read boolean DEFAULT false,
  created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_notifications_user ON notifications(user_id, created_at);
