#!/usr/bin/env bash
# The main job: the local end-to-end demo on one machine.
#   agent (simulated probe) → local S3 (s3rver) → relay (watch mode) → server → Postgres + PostGIS
#   → grading worker (segmentation, REA, fat, grade, overlays in S3)
# Sets the machine up (idempotent), builds, starts every part with its logs under .cti/demo/logs,
# presses the capture "button" a few times, waits until every capture is graded, prints the scans
# with their grades and overlays and where to look, then keeps running until Ctrl-C. A scan that ended
# in `error` fails the demo (exit 1, naming the capture and the reason from its grading_failed event).
#   --once          exit (stopping everything) after printing instead of waiting for Ctrl-C
#   --captures N    how many captures to take (default 5)
# Ports: CTI_DEMO_SERVER_PORT (8080), CTI_DEMO_S3_PORT (4569), CTI_DEMO_AGENT_PORT (8787),
#        CTI_DEMO_WORKER_PORT (9464: the grading worker's /healthz and /metrics).
# Database: CTI_DEMO_DATABASE (cti_demo), cloned from the base database named by CTI_TEST_DATABASE_URL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$CTI_ROOT"

once=0 captures=5
while [ $# -gt 0 ]; do
  case "$1" in
    --once) once=1 ;;
    --captures) captures="${2:?--captures needs a number}"; shift ;;
    *) echo "demo.sh: unknown argument $1 (use --once, --captures N)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$captures" =~ ^[1-9][0-9]*$ ]] || { echo "demo.sh: --captures must be a positive integer" >&2; exit 2; }

server_port="${CTI_DEMO_SERVER_PORT:-8080}" s3_port="${CTI_DEMO_S3_PORT:-4569}" agent_port="${CTI_DEMO_AGENT_PORT:-8787}"
worker_port="${CTI_DEMO_WORKER_PORT:-9464}"
for port in "$server_port" "$s3_port" "$agent_port" "$worker_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo.sh: port $port on 127.0.0.1 is in use (another demo still running?). Stop it or set CTI_DEMO_*_PORT." >&2
    exit 1
  fi
done

bash scripts/setup.sh
# setup.sh may have just installed Node 24 + pnpm (a new machine): put them on this shell's PATH.
source scripts/lib/env.sh
log "building"
pnpm exec turbo run build --output-logs=errors-only >/dev/null

demo="$CTI_ROOT/.cti/demo"
rm -rf "$demo"
mkdir -p "$demo/logs" "$demo/s3" "$demo/agent"
bucket="cti-dev-406214277746"
secret="demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
db_name="${CTI_DEMO_DATABASE:-cti_demo}"
base_db="${CTI_TEST_DATABASE_URL##*/}" base_db="${base_db%%\?*}"
admin_url="postgres://$CTI_DB_USER:$CTI_DB_PASSWORD@$PGHOST:$PGPORT/postgres"
demo_db_url="postgres://$CTI_DB_USER:$CTI_DB_PASSWORD@$PGHOST:$PGPORT/$db_name"

log "fresh database $db_name (cloned from $base_db, which holds the extensions)"
psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name TEMPLATE $base_db"

pids=()
cleanup() {
  trap - EXIT INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    log "stopping demo services"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name, command...
  local name="$1"; shift
  "$@" >"$demo/logs/$name.log" 2>&1 &
  pids+=("$!")
  log "started $name (pid $!, log .cti/demo/logs/$name.log)"
}

# Polls an HTTP URL until it answers 200 (node's fetch: curl may not be installed).
wait_http() { # url, what
  node -e '
    const [url, what] = process.argv.slice(1); const end = Date.now() + 60_000;
    (async () => { for (;;) {
      try { if ((await fetch(url)).ok) return; } catch {}
      if (Date.now() > end) { console.error(`demo.sh: ${what} did not come up (${url}); see .cti/demo/logs`); process.exit(1); }
      await new Promise((r) => setTimeout(r, 200));
    } })();' "$1" "$2"
}

# The dashboard's origin may read objects from a script (the mask editor), as a production bucket's CORS rule allows.
start local-s3 node packages/testkit/dist/local-s3-cli.js --port "$s3_port" --dir "$demo/s3" --bucket "$bucket" \
  --cors-origin "http://127.0.0.1:$server_port" --cors-origin "http://localhost:$server_port"

DATABASE_URL="$demo_db_url" CTI_WEBHOOK_SECRETS="$secret" CTI_S3_BUCKETS="$bucket" HOST=127.0.0.1 \
  PORT="$server_port" CTI_MIGRATE_ON_START=1 CTI_INSECURE_LOCALHOST_COOKIES=1 S3_ENDPOINT="http://127.0.0.1:$s3_port" \
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER start server node apps/server/dist/main.js
wait_http "http://127.0.0.1:$server_port/readyz" "the server"
accounts="$(bash scripts/lib/demo-accounts.sh "$demo_db_url" "$server_port")"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
# The grading worker: same package as the server, its own command (a second service in production).
DATABASE_URL="$demo_db_url" CTI_S3_BUCKETS="$bucket" S3_ENDPOINT="http://127.0.0.1:$s3_port" \
  CTI_WORKER_HOST=127.0.0.1 CTI_WORKER_PORT="$worker_port" CTI_WORKER_ID=demo-worker MALLOC_ARENA_MAX=2 \
  start worker node --initial-old-space-size=64 --max-semi-space-size=4 --single-threaded apps/server/dist/main.js worker
wait_http "http://127.0.0.1:$worker_port/healthz" "the grading worker"
CTI_WEBHOOK_URL="http://127.0.0.1:$server_port/ingest/webhook" CTI_WEBHOOK_SECRETS="$secret" \
  S3_ENDPOINT="http://127.0.0.1:$s3_port" \
  start relay node apps/relay/dist/cli.js watch --bucket "$bucket" --state "$demo/relay-state.json" --poll-ms 500

# The Pi's own key, as an admin issues it (`cti-server device add`): the agent signs its heartbeats with
# it, so the fleet page shows the demo device live (backlog, disk, clock, probe). The device works on
# the demo farm (`--farm`, by its exact name; admins change it later on the device page).
(umask 077 && DATABASE_URL="$demo_db_url" node apps/server/dist/main.js device add dev-0001 \
  --label "Demo Pi (simulated probe)" --farm "Demo Farm" >"$demo/device-secret" 2>"$demo/logs/device-add.log") ||
  { cat "$demo/logs/device-add.log" >&2; exit 1; }

cat >"$demo/agent.json" <<JSON
{
  "device_code": "dev-0001",
  "operator_id": "tech-abc",
  "data_dir": "$demo/agent",
  "source": { "kind": "simulated", "fps": 15 },
  "probe": { "model": "Linear-3.5MHz", "frequency_mhz": 3.5 },
  "trigger": { "kind": "none" },
  "gps": { "kind": "fixed", "lat": 43.6532, "lon": -79.3832 },
  "http": { "host": "127.0.0.1", "port": $agent_port },
  "upload": { "bucket": "$bucket", "region": "us-east-1", "endpoint": "http://127.0.0.1:$s3_port" },
  "heartbeat": { "server_url": "http://127.0.0.1:$server_port", "secret_file": "$demo/device-secret", "interval_s": 15 }
}
JSON
agent=(node apps/agent/dist/cli.js --config "$demo/agent.json")
start agent "${agent[@]}" run
wait_http "http://127.0.0.1:$agent_port/healthz" "the agent"
# The simulated probe renders a phantom clip first (synthetic frames, of unknown scale, until then).
for _ in $(seq 1 120); do
  grep -q 'phantom clip ready' "$demo/logs/agent.log" && break
  sleep 0.5
done
if grep -q 'phantom clip ready' "$demo/logs/agent.log"; then
  # The capture ring (capture.ring_ms, 2 s) still holds synthetic stand-in frames right after the clip
  # starts: a press then may pick one, and the view gate rightly refuses it ("not a ribeye view").
  sleep 2.2
else
  log "the phantom clip is not ready yet: captures may be synthetic frames (no pixel spacing)"
fi

log "pressing the capture button $captures times (cti-agent capture)"
taken=0
for i in $(seq 1 "$captures"); do
  if "${agent[@]}" capture; then taken=$((taken + 1)); fi
  sleep 0.7 # let the probe move: the quality gate refuses a frame identical to the previous capture
done
[ "$taken" -gt 0 ] || { echo "demo.sh: no capture was taken; see .cti/demo/logs/agent.log" >&2; exit 1; }

log "waiting for $taken capture(s) to travel agent → S3 → relay → server → Postgres → grading worker"
node -e '
  const [url, want] = [process.argv[1], Number(process.argv[2])];
  const { default: postgres } = await import(process.argv[3]);
  const sql = postgres(url, { max: 1, onnotice: () => {} }); const end = Date.now() + 120_000;
  for (;;) {
    const [{ n, done }] = await sql`select count(*)::int as n, count(*) filter (where status::text in (${"graded"}, ${"error"}))::int as done from scans`;
    if (n >= want && done >= n) break;
    if (Date.now() > end) { console.error(`demo.sh: ${n}/${want} scans, ${done} graded or failed after 120 s; see .cti/demo/logs`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 300));
  }
  await sql.end();' "$demo_db_url" "$taken" "$CTI_ROOT/packages/db/node_modules/postgres/src/index.js"

echo
psql -X "$demo_db_url" -P pager=off -c "
  SELECT s.capture_id, d.device_code, s.captured_at, s.status,
         round(ST_Y(s.gps)::numeric, 4) AS lat, round(ST_X(s.gps)::numeric, 4) AS lon,
         a.object_key AS image_key, left(a.sha256, 12) AS sha256, a.size_bytes
    FROM scans s JOIN devices d ON d.id = s.device_id LEFT JOIN assets a ON a.id = s.image_asset_id
   ORDER BY s.captured_at" \
  -c "SELECT device_code, captures_count, last_upload_at FROM devices" \
  -c "SELECT event, count(*) FROM scan_events GROUP BY event ORDER BY event" \
  -c "SELECT status, count(*) AS grading_jobs FROM grading_jobs GROUP BY status" \
  -c "SELECT DISTINCT ON (s.id) s.capture_id, s.status, g.grade, array_to_string(g.grade_reasons, ' ') AS reasons,
            g.features_used->>'rea_cm2' AS rea_cm2, g.features_used->>'fat_thickness_mm' AS fat_mm,
            g.confidence, g.features_used->>'pixel_spacing_source' AS spacing,
            (SELECT a.object_key FROM grading_result_assets l JOIN assets a ON a.id = l.asset_id
              WHERE l.grading_result_id = g.id AND l.role = 'overlay') AS overlay
       FROM scans s LEFT JOIN grading_results g ON g.scan_id = s.id
      ORDER BY s.id, g.created_at DESC, g.id DESC"

# A scan in `error` (counted as finished above) fails the demo, naming it and why, after the tables.
bash scripts/lib/demo-check-scans.sh "$demo_db_url"

echo "$accounts"
cat <<EOF
Where to look:
  dashboard     http://127.0.0.1:$server_port/   (sign in with a demo account above; the scans list updates live)
  database      psql '$demo_db_url'
  server        http://127.0.0.1:$server_port/readyz   http://127.0.0.1:$server_port/metrics
  agent         ${agent[*]} status      (or: capture, outbox list)
  worker        http://127.0.0.1:$worker_port/healthz   http://127.0.0.1:$worker_port/metrics
  local S3      $demo/s3/$bucket/raw/   (relay cursor: $demo/relay-state.json)
  overlays      $demo/s3/$bucket/processed/<capture_id>/   (the overlay keys above; s3rver keeps each object as a directory)
  logs          $demo/logs/
The dashboard shows the graded scans (sign in above); in SQL, the latest result per scan is
DISTINCT ON (scan_id) … ORDER BY scan_id, created_at DESC, id DESC.
EOF

if [ "$once" -eq 1 ]; then exit 0; fi
log "running; press Ctrl-C to stop"
wait "${pids[@]}"
