#!/usr/bin/env bash
# Demo data for the dashboard (called by scripts/demo.sh once the server is up, before the captures):
# a farm whose geofence surrounds the demo GPS point (so ingest assigns the demo's scans to it), an
# animal, and one user per role (made with `cti-server user add`, as an operator would), then prints
# the demo credentials. Usage: demo-accounts.sh DATABASE_URL SERVER_PORT
set -euo pipefail
db_url="$1" port="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

farm_id=$(psql -X -q -t -A "$db_url" -c "
  INSERT INTO farms (name, geofence, centroid)
  VALUES ('Demo Farm', ST_MakeEnvelope(-79.3932, 43.6432, -79.3732, 43.6632, 4326), ST_SetSRID(ST_MakePoint(-79.3832, 43.6532), 4326))
  RETURNING id")
psql -X -q "$db_url" -c "
  INSERT INTO animals (farm_id, tag_id, eid, breed, sex, birth_date)
  VALUES ('$farm_id', 'DEMO-001', '982000000000001', 'Angus', 'heifer', '2024-03-01')"

declare -A passwords=([admin]='demo-pasture-gate-41' [technician]='demo-chute-probe-42' [farmer]='demo-maple-barn-43')
for role in admin technician farmer; do
  printf '%s\n' "${passwords[$role]}" |
    DATABASE_URL="$db_url" node "$root/apps/server/dist/main.js" user add --email "$role@demo.cti" --role "$role" --name "Demo ${role^}" >/dev/null
done
# The technician works on the farm (a technician link), the farmer owns it (a farmer link). The tech's operator code is the demo agent's.
psql -X -q "$db_url" -c "
  INSERT INTO user_farms (user_id, farm_id, role, is_owner)
  SELECT id, '$farm_id', split_part(email, '@', 1), email = 'farmer@demo.cti'
    FROM users WHERE email IN ('technician@demo.cti', 'farmer@demo.cti');
  UPDATE users SET operator_code = 'tech-abc' WHERE email = 'technician@demo.cti'"

cat <<TXT
Dashboard: http://127.0.0.1:$port/sign-in   (JSON API: http://127.0.0.1:$port/api/v1, document: /api/openapi.json)
Demo accounts (demo only — local database, plain HTTP on localhost):
  admin       admin@demo.cti       ${passwords[admin]}
  technician  technician@demo.cti  ${passwords[technician]}   (Demo Farm)
  farmer      farmer@demo.cti      ${passwords[farmer]}   (owner of Demo Farm)
TXT
