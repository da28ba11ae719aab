-- Migration 4: notifications that are written at most once per user per event.
-- Grading retries a job, device health re-evaluates every minute: each producer names the event with a
-- stable key (e.g. 'scan_graded:<grading_result id>', 'device_silent:<device id>:<episode start>') and
-- inserts with ON CONFLICT DO NOTHING, so a retry never notifies anyone twice.
-- Rows written before this migration (none in production) keep a NULL key and are not deduplicated.
ALTER TABLE notifications ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX idx_notifications_user_dedupe ON notifications (user_id, dedupe_key)
  WHERE dedupe_key IS NOT NULL;
-- The dashboard's unread badge: count(*) of a user's unread rows without reading the read ones.
CREATE INDEX idx_notifications_user_unread ON notifications (user_id, created_at DESC) WHERE NOT is_read;
