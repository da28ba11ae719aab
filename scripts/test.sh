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
# Node's on-disk compile cache (V8 code and type-stripped TypeScript) for every process the tests start:
# each test file and each server, worker, relay or agent a test spawns from source imports the same
# modules; with the cache a process after the first loads them in about a third of the CPU.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$CTI_ROOT/node_modules/.cache/node-compile-cache}"

# Runs a command in its own session with its output appended to $log_file and shown as it comes,
# within a time limit: a test that hangs (or a process a test left behind holding the output open)
# must end the run with its name, not use up CI's time. Past the limit it prints what is still
# running (each node test file is named in its command line), stops the session and sets
# limited_status=124. Whatever the command leaves running in its session is stopped and named too.
run_limited() {
  local limit=$1 what=$2 offset pid tail_pid waited=0 leftover
  shift 2
  offset=$(stat -c %s "$log_file")
  setsid "$@" >>"$log_file" 2>&1 </dev/null &
  pid=$!
  tail -c +$((offset + 1)) -f --pid="$pid" "$log_file" &
  tail_pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$limit" ]; do
    sleep 5
    waited=$((waited + 5))
  done
  if kill -0 "$pid" 2>/dev/null; then
    {
      echo "TIME LIMIT: $what still running after $limit s (CTI_TEST_TIME_LIMIT_S / CTI_CONTAINER_TIME_LIMIT_S)."
      echo "Still running (elapsed s, command):"
      ps --sid "$pid" -o pid=,etimes=,args= --forest | cut -c1-400
    } >>"$log_file" # shown by the tail, which ends once the session's leader is gone
    pkill -TERM -s "$pid" 2>/dev/null || true
    sleep 10
    pkill -KILL -s "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    limited_status=124
  else
    wait "$pid" && limited_status=0 || limited_status=$?
  fi
  wait "$tail_pid" 2>/dev/null || true
  # Zombies (state Z) are only waiting for their parent to read their status: not left running.
  leftover="$(ps --sid "$pid" -o stat=,pid=,etimes=,args= 2>/dev/null | awk '$1 !~ /^Z/' | cut -c1-400 || true)"
  if [ -n "$leftover" ]; then
    printf 'left running by %s (stopped now):\n%s\n' "$what" "$leftover" | tee -a "$log_file" >&2
    pkill -KILL -s "$pid" 2>/dev/null || true
  fi
}
# The server's test files at once (its package.json; node's own default is one less than the cores, so a
# single file at a time on 2 cores). Its files wait on Postgres, spawned servers and workers and Chromium for
# ~40 % of their time on 2 cores, and the server's files are the run's critical path: two at a time there.
cores=$(nproc)
export CTI_SERVER_TEST_CONCURRENCY="${CTI_SERVER_TEST_CONCURRENCY:-$((cores > 2 ? cores - 1 : 2))}"
start=$(date +%s)
log "build, typecheck, lint"
pnpm exec turbo run build typecheck lint --output-logs=errors-only
log "tests (log: $log_file)"
set +e
# Test suites hit Postgres, s3rver, PTYs and spawned processes on 2 cores: limit parallel packages.
# --continue: one package's failure must not cancel the others' tests (their counts would be lost).
run_limited "${CTI_TEST_TIME_LIMIT_S:-2700}" "the package tests" \
  pnpm exec turbo run test --continue --concurrency="${CTI_TEST_CONCURRENCY:-3}" --output-logs=full "$@"
status=$limited_status
# The server image, built with podman and run (issue 14; `pnpm test:container`).
log "container test (scripts/test-container.sh)"
container_start=$(date +%s)
run_limited "${CTI_CONTAINER_TIME_LIMIT_S:-1200}" "the container test" bash scripts/test-container.sh
container_status=$limited_status
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
