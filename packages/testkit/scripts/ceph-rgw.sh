#!/usr/bin/env bash
# A real S3 implementation for tests: a one-node Ceph cluster on 127.0.0.1 — one mon, one memstore
# osd, one radosgw — without systemd and with cephx off. Started by @cti/testkit's startRgw() (see
# src/rgw.ts), which picks the ports and the directory; object data lives in the osd's RAM (capped).
# Needs Debian's radosgw, ceph-mon, ceph-osd and uuidgen (uuid-runtime): scripts/setup.sh installs them.
# Adapted from shared/tools/ceph-s3.sh.
#
# Usage: ceph-rgw.sh run     start, print one line `ready <seconds>`, then stay until SIGTERM/SIGINT or
#                            until the process CEPH_RGW_PARENT exits, and stop every daemon
#        ceph-rgw.sh stop    kill the daemons whose pidfiles are in CEPH_RGW_DIR
#        ceph-rgw.sh restart-gateway   kill radosgw (-9, a crash) and start it again (same config/port)
# Env: CEPH_RGW_DIR (required, wiped at start), RGW_PORT, MON_PORT, MON_PORT_V1 (required),
#      S3_ACCESS_KEY / S3_SECRET_KEY, MEMSTORE_BYTES (1 GiB), CEPH_RGW_PARENT (pid to outlive not)
set -euo pipefail
DIR="${CEPH_RGW_DIR:?CEPH_RGW_DIR is required}"
AK="${S3_ACCESS_KEY:-test}"
SK="${S3_SECRET_KEY:-testsecret}"
CONF="$DIR/ceph.conf"

stop() {
  for d in rgw osd mon; do
    f="$DIR/run/$d.pid"
    [ -f "$f" ] || continue
    p="$(cat "$f")"
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}
fail() { echo "ceph-rgw: $*" >&2; stop; exit 1; }

# radosgw in the background; returns once its port accepts connections.
start_gateway() {
  radosgw -c "$CONF" -n client.rgw.a -f </dev/null >>"$DIR/log/rgw.out" 2>&1 &
  echo $! >"$DIR/run/rgw.pid"
  for _ in $(seq 480); do
    if exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT"; then exec 3>&-; return 0; fi 2>/dev/null
    kill -0 "$(cat "$DIR/run/rgw.pid")" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

case "${1:-}" in
  stop) stop; exit 0 ;;
  restart-gateway)
    : "${RGW_PORT:?}"
    kill -9 "$(cat "$DIR/run/rgw.pid")" 2>/dev/null || true
    while exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT"; do exec 3>&-; sleep 0.1; done 2>/dev/null
    start_gateway || { echo "ceph-rgw: radosgw did not come back (see $DIR/log)" >&2; exit 1; }
    exit 0 ;;
  run) ;;
  *) echo "usage: ceph-rgw.sh run|stop|restart-gateway" >&2; exit 2 ;;
esac
: "${RGW_PORT:?}" "${MON_PORT:?}" "${MON_PORT_V1:?}"
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool uuidgen; do
  command -v "$tool" >/dev/null || { echo "ceph-rgw: $tool is not installed (scripts/setup.sh installs radosgw ceph-mon ceph-osd uuid-runtime)" >&2; exit 3; }
done
t0=$(date +%s%N)
stop
rm -rf "$DIR"
mkdir -p "$DIR"/{run,log,mon.a,osd.0}
trap 'stop; exit 0' INT TERM
FSID="$(uuidgen)"
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.0/8
ms_bind_ipv4 = true
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_allow_insecure_global_id_reclaim = true
# radosgw defaults ms_mon_client_mode to 'secure', which auth 'none' cannot do (-13 loop)
ms_mon_client_mode = crc
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_allow_pool_delete = true
mon_data_avail_warn = 1
osd_crush_chooseleaf_type = 0
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
log_to_stderr = false
err_to_stderr = false
keyring = $DIR/keyring
[mon]
mon_data = $DIR/mon.\$id
mon_cluster_log_file = $DIR/log/cluster.log
[osd]
osd_data = $DIR/osd.\$id
osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES:-1073741824}
osd_memory_target = 536870912
osd_class_load_list = *
osd_class_default_list = *
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $DIR/rgw
rgw_thread_pool_size = 64
rgw_dns_name = localhost
CONF

# mon
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
ceph-mon -c "$CONF" -i a -f </dev/null >>"$DIR/log/mon.out" 2>&1 &
echo $! >"$DIR/run/mon.pid"
C="ceph -c $CONF --connect-timeout 30"
$C mon enable-msgr2 >/dev/null 2>&1 || true

# osd
OSD_UUID="$(uuidgen)"
ID="$($C osd new "$OSD_UUID")" || fail "the mon did not answer (see $DIR/log)"
ceph-osd -c "$CONF" -i "$ID" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.log" 2>&1
ceph-osd -c "$CONF" -i "$ID" -f </dev/null >>"$DIR/log/osd.out" 2>&1 &
echo $! >"$DIR/run/osd.pid"
ok=0; for _ in $(seq 240); do $C osd stat 2>/dev/null | grep -q "1 up" && { ok=1; break; }; sleep 0.25; done
[ $ok = 1 ] || fail "the osd did not come up (see $DIR/log)"

# rgw
start_gateway || fail "radosgw is not answering on $RGW_PORT (see $DIR/log/client.rgw.a.log)"
radosgw-admin -c "$CONF" -n client.rgw.a user create --uid=test --display-name=test \
  --access-key="$AK" --secret="$SK" >"$DIR/log/user.json" || fail "radosgw-admin user create failed"
echo "ready $(( ($(date +%s%N) - t0) / 1000000 ))"

# Stay until told to stop, or until the parent (the test runner) is gone — even after a kill -9.
parent="${CEPH_RGW_PARENT:-$PPID}"
while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done
# The parent died without close() (killed, or an interrupted test run): clean up after it too.
stop
rm -rf "$DIR"
