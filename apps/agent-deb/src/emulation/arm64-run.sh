#!/bin/sh
# Runs an arm64 command on this x86 machine through qemu-user (binfmt_misc, fix-binary flag), in a
# private mount namespace: every mount made here disappears with the command, whatever way it ends.
#
#   arm64-run.sh --root ROOT [--bind-ro SRC DEST]... COMMAND [ARG...]
#       inside an arm64 Debian root (chroot): it gets the host's /dev and /sys, its own /proc and an
#       empty /run (no systemd runs in it, so maintainer scripts start no services)
#   arm64-run.sh --ld-prefix DIR COMMAND [ARG...]
#       on the host's file system, arm64 libraries from DIR (e.g. /usr/aarch64-linux-gnu, from
#       Debian's libc6-arm64-cross and libstdc++6-arm64-cross)
#
# Either way /proc/cpuinfo reads as an arm64 CPU's: qemu 7.2 passes the x86 host's through, and
# onnxruntime's CPU detection (pytorch/cpuinfo) crashes on that with SIGSEGV (QEMU >= 8.1 emulates the
# file itself). The network is the host's: 127.0.0.1 reaches services on this machine.
set -eu

if [ "${CTI_ARM64_CHROOT_NS:-}" != 1 ]; then
  CTI_ARM64_CHROOT_NS=1 exec unshare --mount --propagation private -- sh "$0" "$@"
fi

usage() {
  echo "usage: arm64-run.sh --root ROOT [--bind-ro SRC DEST]... COMMAND [ARG...]" >&2
  echo "       arm64-run.sh --ld-prefix DIR COMMAND [ARG...]" >&2
  exit 2
}

root="" ld_prefix=""
binds=$(mktemp)
trap 'rm -f "$binds"' EXIT
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --ld-prefix) [ $# -ge 2 ] || usage; ld_prefix=$2; shift 2 ;;
    --bind-ro) [ $# -ge 3 ] || usage; printf '%s\n%s\n' "$2" "$3" >>"$binds"; shift 3 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
if [ -n "$root" ]; then
  [ -x "$root/bin/sh" ] || { echo "arm64-run.sh: $root is not a Debian root (no /bin/sh)" >&2; exit 2; }
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
else
  [ -n "$ld_prefix" ] || usage
  [ ! -s "$binds" ] || usage
fi

# A Raspberry Pi 4's CPU (Cortex-A72 r0p3), once per host CPU so it agrees with /sys/devices/system/cpu.
cpuinfo=$(mktemp)
cpu=0
while [ "$cpu" -lt "$(nproc)" ]; do
  printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$cpu" >>"$cpuinfo"
  cpu=$((cpu + 1))
done
printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B (emulated)\n' >>"$cpuinfo"
mount --bind "$cpuinfo" "$root/proc/cpuinfo"
rm -f "$cpuinfo"
if [ -z "$root" ]; then
  rm -f "$binds"
  export QEMU_LD_PREFIX="$ld_prefix"
  exec "$@"
fi

while read -r src && read -r dest; do
  if [ -d "$src" ]; then
    mkdir -p "$root$dest"
  else
    mkdir -p "$(dirname "$root$dest")"
    : >"$root$dest"
  fi
  mount --bind "$src" "$root$dest"
  mount -o remount,bind,ro "$root$dest"
done <"$binds"

rm -f "$binds"
trap - EXIT
exec chroot "$root" "$@"
