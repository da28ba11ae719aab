#!/usr/bin/env bash
# Install or upgrade the CTI capture agent on a 64-bit Raspberry Pi OS (Bookworm or later), in one
# command, from its Debian package:
#
#   sudo ./install.sh --deb cti-agent_<version>_arm64.deb [--button-bcm 17]
#        [--probe-usb VID:PID] [--gps-usb VID:PID] [--eid-usb VID:PID] [--downgrade]
#
# Build the package on any x86 machine with `pnpm package:agent` (docs/agent.md) and copy it and this
# script to the Pi. The package does the Debian part: Node 24 and the agent under /opt/cti, the cti
# user in gpio + dialout, /var/lib/cti, /etc/cti/agent.json (a conffile: once edited, never replaced)
# and /etc/cti/agent.env, the udev rule, cti-agent.service enabled and (re)started. This script adds
# what depends on the Pi's hardware:
#   --button-bcm N      the capture button's pull-up in the firmware config (sysfs cannot set pulls;
#                       takes effect after one reboot)
#   --probe-usb/--gps-usb/--eid-usb  the probe front-end's, GPS receiver's and ear-tag reader's USB IDs,
#                       when they differ from the CTI front-end / u-blox GPS / FTDI adapter the rule ships with: written to
#                       /etc/udev/rules.d/99-cti-probe.rules, which overrides the packaged rule. Find
#                       them with `lsusb` or
#                       udevadm info --attribute-walk --name=/dev/ttyACM0 | grep -E 'idVendor|idProduct'
#   --downgrade         allow installing an older package than the installed one (a rollback; apt
#                       refuses it otherwise). The older agent may not read the outbox this one
#                       upgraded: FIRST `sudo systemctl stop cti-agent` and, with this release still
#                       installed, `sudo -u cti cti-agent outbox downgrade` (docs/agent-outbox.md,
#                       "The upgrade is one-way for the older agent"); then run this with --downgrade.
# The service is restarted at the end only when it is enabled: a unit the admin disabled stays stopped.
# Idempotent: re-running with a newer package upgrades it and keeps the local configuration.
set -euo pipefail

deb="" button_bcm="" probe_usb="" gps_usb="" eid_usb="" downgrade=0
die() { echo "install.sh: $*" >&2; exit 1; }
log() { printf '\033[1m[cti-install]\033[0m %s\n' "$*" >&2; }
need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then echo "install.sh: $1 needs a value" >&2; exit 2; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --deb) need_value "$@"; deb="$2"; shift 2 ;;
    --button-bcm) need_value "$@"; button_bcm="$2"; shift 2 ;;
    --probe-usb) need_value "$@"; probe_usb="$2"; shift 2 ;;
    --gps-usb) need_value "$@"; gps_usb="$2"; shift 2 ;;
    --eid-usb) need_value "$@"; eid_usb="$2"; shift 2 ;;
    --downgrade) downgrade=1; shift ;;
    *) echo "install.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done

# --- everything is checked before anything changes -------------------------------------------------
[ -n "$deb" ] || { echo "install.sh: --deb <cti-agent_<version>_arm64.deb> is required" >&2; exit 2; }
if [ -n "$button_bcm" ] && ! { [[ "$button_bcm" =~ ^[0-9]+$ ]] && [ "$button_bcm" -le 27 ]; }; then
  echo "install.sh: --button-bcm must be a BCM GPIO number 0-27 (header pin 11 is 17), got '$button_bcm'" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ "$(uname -m)" = aarch64 ] || die "needs a 64-bit ARM OS (uname -m is $(uname -m)); onnxruntime-node has no 32-bit ARM build"
# The kernel is not the OS: 32-bit Raspberry Pi OS (armhf) boots a 64-bit kernel on a Pi 5 (and by
# default on recent Pi 4 images), so uname says aarch64 while apt could not install an arm64 package
# ("held broken packages"). What dpkg installs for is what counts.
os_arch="$(dpkg --print-architecture)"
if [ "$os_arch" != arm64 ]; then
  if [ "$os_arch" = armhf ]; then
    die "this is a 32-bit Raspberry Pi OS (armhf) on a 64-bit kernel: install the 64-bit Raspberry Pi OS (arm64, Bookworm or later) on the card; onnxruntime-node has no 32-bit ARM build"
  fi
  die "needs a 64-bit ARM OS: dpkg installs for $os_arch, not arm64 (install the 64-bit Raspberry Pi OS)"
fi
[ -f "$deb" ] || die "no such package file: $deb"
package="$(dpkg-deb --field "$deb" Package 2>/dev/null)" || die "$deb is not a Debian package"
arch="$(dpkg-deb --field "$deb" Architecture)"
if [ "$package" != cti-agent ] || [ "$arch" != arm64 ]; then
  die "$deb is $package for $arch, not cti-agent for arm64"
fi
config_txt=""
if [ -n "$button_bcm" ]; then
  for candidate in /boot/firmware/config.txt /boot/config.txt; do
    [ -f "$candidate" ] && { config_txt="$candidate"; break; }
  done
  [ -n "$config_txt" ] || die "--button-bcm: no /boot/firmware/config.txt or /boot/config.txt (not Raspberry Pi OS?)"
fi

# --- the package -------------------------------------------------------------------------------------------
# apt resolves its Depends from the Pi's mirror. confold: a locally edited /etc/cti/agent.json is kept
# without a prompt (the package's new default lands beside it as agent.json.dpkg-dist).
log "installing $(basename "$deb") ($(dpkg-deb --field "$deb" Version))"
apt_args=(install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
# A rollback: apt refuses an older version than the installed one without it (see --downgrade above).
[ "$downgrade" -eq 0 ] || apt_args+=(--allow-downgrades)
DEBIAN_FRONTEND=noninteractive apt-get "${apt_args[@]}" "$(realpath "$deb")"

# --- USB IDs of this Pi's hardware ----------------------------------------------------------------------------
if [ -n "$probe_usb$gps_usb$eid_usb" ]; then
  udev_args=()
  [ -z "$probe_usb" ] || udev_args+=(--probe-usb "$probe_usb")
  [ -z "$gps_usb" ] || udev_args+=(--gps-usb "$gps_usb")
  [ -z "$eid_usb" ] || udev_args+=(--eid-usb "$eid_usb")
  rule=/etc/udev/rules.d/99-cti-probe.rules
  install -d /etc/udev/rules.d
  # udev-rule.sh exits 2 naming a malformed ID before anything is written; the packaged rule then stays.
  /usr/share/cti-agent/udev-rule.sh "${udev_args[@]}" >"$rule.new" || { rm -f "$rule.new"; exit 2; }
  mv "$rule.new" "$rule"
  log "wrote $rule (USB IDs ${probe_usb:+probe $probe_usb }${gps_usb:+gps $gps_usb }${eid_usb:+eid $eid_usb})"
  if [ -S /run/udev/control ]; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=tty --action=change || true
  fi
fi

# --- button pull-up: sysfs cannot set pulls, the firmware config can -----------------------------------------
if [ -n "$button_bcm" ]; then
  line="gpio=${button_bcm}=ip,pu"
  if ! grep -qx "$line" "$config_txt"; then
    printf '\n# CTI capture button: input with pull-up (takes effect after a reboot)\n%s\n' "$line" >>"$config_txt"
    log "added '$line' to $config_txt (reboot once for the pull-up)"
  fi
fi

# Restarted for the new udev rule / package only when enabled: an admin who disabled the agent on
# this Pi (`systemctl disable cti-agent`) keeps it stopped, as the package's postinst does.
if [ -d /run/systemd/system ]; then
  if systemctl is-enabled --quiet cti-agent.service; then
    systemctl restart cti-agent.service || log "cti-agent did not start: journalctl -u cti-agent, sudo cti-agent doctor"
  else
    log "cti-agent.service is disabled: left stopped (sudo systemctl enable --now cti-agent to run it)"
  fi
fi
log "done. Configure /etc/cti/agent.json (device_code, upload.bucket, pins) and /etc/cti/agent.env" \
  "(S3 credentials), then: sudo systemctl restart cti-agent && sudo cti-agent doctor"
