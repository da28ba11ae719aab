-- Migration 8: live scans in the dashboard.
-- Every write that creates a scan or sets its status — ingest, the grading worker, a manual edit in
-- psql — announces the scan on channel `cti_scans` when it commits, so the dashboard's scans list
-- (one LISTEN connection per server process, fanned out to Server-Sent Events) shows new and graded
-- scans without knowing who wrote them. The payload carries only the id and the status; each listener
-- re-reads the scan through the viewer's own access-checked query before sending anything.
-- An UPDATE that assigns `status` announces even when the value is unchanged: a writer that adds a
-- grading result to an already graded scan (a regrade, a correction by hand) refreshes the open lists
-- with `UPDATE scans SET status = 'graded' WHERE id = …`.
CREATE FUNCTION notify_scan_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cti_scans', json_build_object('id', NEW.id, 'status', NEW.status)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER scans_notify_change
  AFTER INSERT OR UPDATE OF status ON scans
  FOR EACH ROW EXECUTE FUNCTION notify_scan_change();
