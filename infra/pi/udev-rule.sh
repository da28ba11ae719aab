#!/usr/bin/env bash
# Prints the agent's udev rule with the USB IDs of this Pi's probe front-end and GPS receiver:
#
#   infra/pi/udev-rule.sh [--probe-usb VID:PID] [--gps-usb VID:PID] [--eid-usb VID:PID] > /etc/udev/rules.d/99-cti-probe.rules
#
# Without a flag the shipped IDs stay (CTI front-end, u-blox GPS, FTDI FT230X for the ear-tag reader). Used by install.sh; exits 2 naming
# the bad value when an ID is not VID:PID in hex. Reads the rule from the checkout (infra/udev) or, as
# installed by the cti-agent package (/usr/share/cti-agent/udev-rule.sh), from /lib/udev/rules.d.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rule_file="$here/../udev/99-cti-probe.rules"
[ -f "$rule_file" ] || rule_file=/lib/udev/rules.d/99-cti-probe.rules
rule="$(cat "$rule_file")"
usb_id_re='^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$'

set_usb_id() { # <symlink> <vid:pid>: rewrite idVendor/idProduct on the line that creates <symlink>
  [[ "$2" =~ $usb_id_re ]] || { echo "udev-rule.sh: USB id '$2' for $1 is not VID:PID in hex (e.g. 1209:c71a; see lsusb)" >&2; exit 2; }
  local vid="${2%%:*}" pid="${2##*:}"
  rule="$(sed -E "/SYMLINK\+=\"$1\"/ s/ATTRS\{idVendor\}==\"[^\"]*\", ATTRS\{idProduct\}==\"[^\"]*\"/ATTRS{idVendor}==\"${vid,,}\", ATTRS{idProduct}==\"${pid,,}\"/" <<<"$rule")"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --probe-usb) set_usb_id cti-probe "${2:-}"; shift 2 ;;
    --gps-usb) set_usb_id cti-gps "${2:-}"; shift 2 ;;
    --eid-usb) set_usb_id cti-eid "${2:-}"; shift 2 ;;
    *) echo "udev-rule.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
printf '%s\n' "$rule"
