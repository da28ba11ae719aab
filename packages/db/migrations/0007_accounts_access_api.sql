-- Migration 7: accounts, sessions and sign-in throttling; registrations with an approval gate; farm
-- owners; contemporary groups; review fields on scans; announcements; the indexes of the JSON API.
-- Owned by apps/server (issue 12); why each piece exists: apps/server/README.md "Accounts and access"
-- and docs/access-matrix.md. Additive only: new tables, new columns with defaults, new indexes.

-- Users: an account is active or disabled (disabled accounts cannot sign in; their sessions are
-- deleted). Emails are stored lower-cased by the server; the index makes case variants one account.
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled'));
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;
CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email));

-- Server-side sessions. The cookie carries a random 256-bit token; only its SHA-256 is stored, so a
-- leaked table cannot be replayed as cookies. csrf_token is the per-session token page scripts send
-- in X-CSRF-Token (it is not a credential on its own: it only works together with the cookie).
-- Idle expiry is last_seen_at + CTI_SESSION_IDLE_TIMEOUT_S; absolute expiry is expires_at.
CREATE TABLE sessions(
  token_hash bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  address text,
  user_agent text,
  CONSTRAINT sessions_token_hash_length CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX idx_sessions_user ON sessions(user_id);
CREATE INDEX idx_sessions_expires ON sessions(expires_at);

-- Failed sign-ins per account ('account:<email>') and per client address ('address:<ip>'), shared
-- by every server container. A key is locked until locked_until after too many failures in a window.
CREATE TABLE auth_throttle(
  key text PRIMARY KEY,
  failures int NOT NULL DEFAULT 0,
  window_started_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_auth_throttle_updated ON auth_throttle(updated_at);

-- Self-registration: a request, not an account. An admin approves (a user is created with the
-- requested role; the password hash moves to it and is cleared here) or rejects with a reason.
-- Nobody becomes admin by registering (CHECK). One pending request per address.
CREATE TABLE registration_requests(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  full_name text NOT NULL,
  password_hash text,
  requested_role text NOT NULL,
  message text,
  status text NOT NULL DEFAULT 'pending',
  decided_by uuid REFERENCES users(id),
  decided_at timestamptz,
  decision_reason text,
  user_id uuid REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT registration_requests_role_check CHECK (requested_role IN ('farmer', 'technician')),
  CONSTRAINT registration_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected')),
  CONSTRAINT registration_requests_pending_hash CHECK (status <> 'pending' OR password_hash IS NOT NULL),
  CONSTRAINT registration_requests_decided CHECK (status = 'pending' OR decided_at IS NOT NULL),
  CONSTRAINT registration_requests_reason CHECK (status <> 'rejected' OR decision_reason IS NOT NULL)
);
CREATE UNIQUE INDEX idx_registration_requests_pending_email ON registration_requests (lower(email))
  WHERE status = 'pending';
CREATE INDEX idx_registration_requests_created ON registration_requests (created_at DESC, id DESC);

-- Farm membership (0002's user_farms) for farmers and technicians; a farmer may own the farm.
-- Owners add and remove technicians on their farm; the last owner cannot be removed.
ALTER TABLE user_farms ADD COLUMN is_owner boolean NOT NULL DEFAULT false;

-- Contemporary groups: a named group of animals on one farm, born within a window — what breed
-- associations compare animals within. Members must be animals of the group's farm (the API
-- enforces it; moving an animal to another farm removes it from the old farm's groups).
CREATE TABLE contemporary_groups(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  farm_id uuid NOT NULL REFERENCES farms(id),
  name text NOT NULL,
  birth_date_from date,
  birth_date_to date,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT contemporary_groups_farm_name_key UNIQUE (farm_id, name),
  CONSTRAINT contemporary_groups_window_check CHECK (birth_date_from <= birth_date_to)
);
CREATE TABLE contemporary_group_animals(
  group_id uuid NOT NULL REFERENCES contemporary_groups(id) ON DELETE CASCADE,
  animal_id uuid NOT NULL REFERENCES animals(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, animal_id)
);
CREATE INDEX idx_contemporary_group_animals_animal ON contemporary_group_animals(animal_id);

-- Human triage of a scan: a short label, clarity 1..5, usability; who reviewed it and when.
ALTER TABLE scans ADD COLUMN review_label text;
ALTER TABLE scans ADD COLUMN review_clarity smallint;
ALTER TABLE scans ADD COLUMN review_usability text;
ALTER TABLE scans ADD COLUMN reviewed_by uuid REFERENCES users(id);
ALTER TABLE scans ADD COLUMN reviewed_at timestamptz;
ALTER TABLE scans ADD CONSTRAINT scans_review_label_check
  CHECK (review_label IS NULL OR char_length(review_label) BETWEEN 1 AND 64);
ALTER TABLE scans ADD CONSTRAINT scans_review_clarity_check CHECK (review_clarity BETWEEN 1 AND 5);
ALTER TABLE scans ADD CONSTRAINT scans_review_usability_check
  CHECK (review_usability IN ('usable', 'marginal', 'unusable'));

-- Admin announcements: the source text is stored as written; the server renders Markdown with raw
-- HTML disabled and only http(s)/mailto links, so stored text can never become markup.
CREATE TABLE announcements(
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL,
  body text NOT NULL,
  format text NOT NULL DEFAULT 'plain',
  published_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  created_by uuid REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT announcements_format_check CHECK (format IN ('plain', 'markdown')),
  CONSTRAINT announcements_window_check CHECK (expires_at IS NULL OR expires_at > published_at)
);
CREATE INDEX idx_announcements_published ON announcements (published_at DESC, id DESC);

-- The scans list: newest first by capture time, keyset-paginated. A scan without a capture time
-- sorts at its arrival time (and one without both at the very end), so the order is total and stable:
-- (sort key, id). Every list index leads with the column a filter pins and ends with that order.
CREATE INDEX idx_scans_sort ON scans ((coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC);
CREATE INDEX idx_scans_farm_sort ON scans (farm_id, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC);
CREATE INDEX idx_scans_device_sort ON scans (device_id, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC);
CREATE INDEX idx_scans_animal_sort ON scans (animal_id, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC)
  WHERE animal_id IS NOT NULL;
CREATE INDEX idx_scans_status_sort ON scans (status, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC);
CREATE INDEX idx_scans_capture_id ON scans (capture_id);
CREATE INDEX idx_scans_review_label ON scans (review_label) WHERE review_label IS NOT NULL;
CREATE INDEX idx_scans_gps ON scans USING gist (gps);
-- The latest grading result of a scan (newest created_at, ties by id; a NULL created_at counts as oldest)
-- in one index probe.
CREATE INDEX idx_grading_results_latest ON grading_results (scan_id, created_at DESC NULLS LAST, id DESC);
-- Notifications newest first (id is a bigserial: insertion order) per user.
CREATE INDEX idx_notifications_user_id ON notifications (user_id, id DESC);
-- Assets are reached from scans (image, mask) and grading results; these make "may this user see
-- this asset" one probe each way.
CREATE INDEX idx_scans_image_asset ON scans (image_asset_id) WHERE image_asset_id IS NOT NULL;
CREATE INDEX idx_scans_mask_asset ON scans (mask_asset_id) WHERE mask_asset_id IS NOT NULL;
