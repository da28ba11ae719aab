-- Migration 15: the dashboard's create forms remember the one-time tokens they have used.
-- Each render of a create form (farm, announcement, group, animal, user, device calibration) carries a
-- random token. The first POST with a token claims it here, in the same transaction as the row it makes,
-- and records that row's id: a second POST of the same form (double click, back button, a resent
-- request) finds the claim and lands on that row, or — when the row has since been deleted — is refused
-- ("this form was already submitted") instead of making it again. Two POSTs at once: the second waits on
-- the primary key until the first commits (or rolls back, and then it makes the row itself).
-- Only a hash of the token is kept. Claims older than the retention (FORM_TOKEN_RETENTION_DAYS in
-- apps/server/src/web/pages/create-token.ts) are swept by `cti-server serve`.
CREATE TABLE form_submissions(
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  form text NOT NULL,
  row_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, token_hash),
  CONSTRAINT form_submissions_token_hash_length CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX idx_form_submissions_created ON form_submissions(created_at);
