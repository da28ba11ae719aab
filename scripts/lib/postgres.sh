#!/usr/bin/env bash
# Starts the local Postgres 15 cluster and creates the app role and databases (idempotent).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Admin commands go over the local socket (peer auth), never the TCP settings exported for the app.
as_pg() { if [ "$(id -u)" -eq 0 ]; then env -u PGHOST -u PGPORT runuser -u postgres -- "$@"; else sudo -u postgres env -u PGHOST -u PGPORT "$@"; fi; }

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "15 main"; then
  log "creating Postgres 15 cluster"
  if [ "$(id -u)" -eq 0 ]; then pg_createcluster 15 main >/dev/null; else sudo pg_createcluster 15 main >/dev/null; fi
fi
# Tests open many short-lived pools (one fresh database per test file) and a 200-way concurrency test.
conf_dir=/etc/postgresql/15/main/conf.d
if [ ! -f "$conf_dir/cti.conf" ]; then
  printf "max_connections = 300\nshared_buffers = 256MB\n" | as_pg tee "$conf_dir/cti.conf" >/dev/null
  pg_ctlcluster 15 main status >/dev/null 2>&1 && { log "restarting Postgres for new settings"; pg_ctlcluster 15 main restart; }
fi
if ! pg_ctlcluster 15 main status >/dev/null 2>&1; then
  log "starting Postgres 15"
  pg_ctlcluster 15 main start
fi
for _ in $(seq 1 50); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 0.2; done
pg_isready -q -h "$PGHOST" -p "$PGPORT" || { echo "postgres.sh: Postgres is not accepting connections on $PGHOST:$PGPORT" >&2; exit 1; }

psql_admin() { as_pg psql -X -q -v ON_ERROR_STOP=1 -d "${2:-postgres}" -c "$1"; }
exists() { as_pg psql -X -tAc "$1" | grep -q 1; }
exists "SELECT 1 FROM pg_roles WHERE rolname = '$CTI_DB_USER'" ||
  psql_admin "CREATE ROLE \"$CTI_DB_USER\" LOGIN CREATEDB PASSWORD '$CTI_DB_PASSWORD'"
for db in cti cti_base; do
  exists "SELECT 1 FROM pg_database WHERE datname = '$db'" || psql_admin "CREATE DATABASE $db OWNER \"$CTI_DB_USER\""
  # Extensions need a superuser; migration 1's CREATE EXTENSION IF NOT EXISTS then finds them present.
  psql_admin 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto; CREATE EXTENSION IF NOT EXISTS postgis;' "$db" 2>/dev/null
done
