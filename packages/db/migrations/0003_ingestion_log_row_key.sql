-- ingestion_log rows are written in batches off the request path and retried while the database is
-- unreachable. A batch can commit while its acknowledgement is lost (connection cut mid-commit); the
-- retry must not log those requests twice. The writer mints a uuid per row (request_id cannot serve:
-- a client may send its own X-Request-Id) and inserts with ON CONFLICT (row_key) DO NOTHING.
ALTER TABLE ingestion_log ADD COLUMN row_key uuid;
CREATE UNIQUE INDEX idx_ingest_log_row_key ON ingestion_log (row_key);
