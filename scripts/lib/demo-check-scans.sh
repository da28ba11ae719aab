#!/usr/bin/env bash
# The demo's verdict on the scans it printed (called by scripts/demo.sh once every scan is graded or in
# error): a scan that ended in `error` fails the demo, loudly — which capture, and why, from its latest
# `grading_failed` scan event (the reason code and message the worker recorded). Silent and exit 0 when
# every scan is graded. Usage: demo-check-scans.sh DATABASE_URL
set -euo pipefail
db_url="${1:?usage: demo-check-scans.sh DATABASE_URL}"

failed=$(psql -X -q -t -A -F ' | ' "$db_url" -c "
  SELECT s.capture_id, coalesce(e.meta->>'reason', 'no grading_failed event'),
         coalesce(e.meta->>'message', 'see .cti/demo/logs/worker.log')
    FROM scans s
    LEFT JOIN LATERAL (SELECT meta FROM scan_events
                        WHERE scan_id = s.id AND event = 'grading_failed'
                        ORDER BY created_at DESC, id DESC LIMIT 1) e ON true
   WHERE s.status = 'error'
   ORDER BY s.captured_at, s.capture_id")
[ -z "$failed" ] && exit 0

{
  echo
  echo "demo.sh: FAILED — $(printf '%s\n' "$failed" | wc -l) scan(s) ended in error instead of graded:"
  printf '%s\n' "$failed" | sed 's/^/  /'
  echo "  (capture_id | reason | message, from the scan's grading_failed event; logs in .cti/demo/logs/)"
} >&2
exit 1
