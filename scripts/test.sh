#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh Debian machine: setup (idempotent), then build,
# type-check, lint and test every package through turbo. Prints "N passed, N failed" at the end and
# exits non-zero on any failure. Extra arguments go to `turbo run test` (e.g. --filter=@cti/server).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$CTI_ROOT"
bash scripts/setup.sh
# setup.sh may have just installed Node 24 + pnpm (a new machine): put them on this shell's PATH.
source scripts/lib/env.sh

log_file="$(mktemp -t cti-test-XXXXXX.log)"
start=$(date +%s)
log "build, typecheck, lint"
pnpm exec turbo run build typecheck lint --output-logs=errors-only
log "tests (log: $log_file)"
set +e
# Test suites hit Postgres, s3rver, PTYs and spawned processes on 2 cores: limit parallel packages.
# --continue: one package's failure must not cancel the others' tests (their counts would be lost).
pnpm exec turbo run test --continue --concurrency="${CTI_TEST_CONCURRENCY:-3}" --output-logs=full "$@" 2>&1 | tee "$log_file"
status=${PIPESTATUS[0]}
# The server image, built with podman and run (issue 14; `pnpm test:container`).
log "container test (scripts/test-container.sh)"
container_start=$(date +%s)
bash scripts/test-container.sh 2>&1 | tee -a "$log_file"
container_status=${PIPESTATUS[0]}
log "container test took $(( $(date +%s) - container_start )) s"
[ "$container_status" -eq 0 ] || status=$container_status
set -e
passed=$(grep -aoE 'ℹ pass [0-9]+' "$log_file" | awk '{s+=$3} END {print s+0}')
failed=$(grep -aoE 'ℹ fail [0-9]+' "$log_file" | awk '{s+=$3} END {print s+0}')
log "tests took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  # Repeat each failing test with its first error lines, so the end of the output names them.
  echo "failing tests:" >&2
  grep -a -A3 -E '^(\S+: )?test at ' "$log_file" | grep -av -E '^--$' | head -60 >&2 || true
  echo "test suite FAILED (turbo exit $status); failing tasks above, full log: $log_file" >&2
  exit 1
fi
[ "$passed" -gt 0 ] || { echo "no tests ran" >&2; exit 1; }
