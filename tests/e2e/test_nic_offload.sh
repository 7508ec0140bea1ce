#!/bin/bash
# e2e: hw/'s probe against real interfaces (veth here; the vm tier runs it on its kernel too).
# Every TLS feature bit exists and reads "off [fixed]" on veth and lo; `nic_offload = on` on an
# outside veth is refused with the driver's reason, the daemon keeps running, and status and
# stats --prometheus show the interface.  No emulated TLS-offload NIC exists: what a NIC with
# the bits set reports is covered by tests/unit/test_hw.c on messages built from the uapi.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
tg_private_bpffs "$@"

tg_topology
tg_pki
tg_pindir nic
pins=$TG_PINDIR/tlsgate
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach -o 'bpf_pin_dir=$pins'"
tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o user=root \
	-o "outbound_listen=127.0.0.1:10025" -o outbound_transparent=yes \
	-o inside_interfaces=inside0 -o outside_interfaces="outside0 lo" -o "bpf_pin_dir=$pins" \
	-o resolve=no -o "nic_offload=auto outside0:on"
gwpid=$TG_BG_PID
tg_on_exit "tg_report_daemon gw $gwpid"
log=$TG_WORK/gw.log
ctl() { nsenter --net="/run/netns/$NS_GW" "$TG_BIN/tlsgatectl" --run-dir "$TG_WORK/gw" "$@"; }

grep -q 'nic offload ifname=outside0 driver=veth mode=on refused: tls-hw-tx-offload on refused: tls-hw-tx-offload is "off \[fixed\]" on this device: driver veth does not offer it; tls-hw-rx-offload on refused' "$log"
ok $? "nic_offload = on on veth is refused, with the driver's reason, per bit"
for f in tls-hw-tx-offload tls-hw-rx-offload tls-hw-record; do
	grep -q "nic offload ifname=outside0 driver=veth .*$f=\"off \[fixed\]\"" "$log"
	ok $? "veth: $f exists and reads off [fixed]"
	grep -q "nic offload ifname=lo .*mode=auto .*$f=\"off \[fixed\]\"" "$log"
	ok $? "lo: $f exists and reads off [fixed] (auto: reported only)"
done
kill -0 "$gwpid" 2>/dev/null
ok $? "the daemon keeps running after the refusal"

st=$(ctl status)
diag "$st"
grep -q '^nic outside0 *driver veth nic_offload on' <<<"$st"
ok $? "status lists outside0 with its driver and mode"
grep -q 'tls-hw-tx-offload unsupported .*tls-hw-rx-offload unsupported' <<<"$st"
ok $? "status: the TLS features are not available on veth"
grep -q 'error: tls-hw-tx-offload on refused' <<<"$st"
ok $? "status keeps the refusal's reason"
grep -q 'sessions offloaded now: tx 0 rx 0' <<<"$st"
ok $? "status: no session offloaded"
ctl -j status | jq -e '.nic_offload[] | select(.ifname == "lo") | .tls_hw_tx_offload == "unsupported" and .mode == "auto"' >/dev/null
ok $? "status -j: lo reported, auto, unsupported"

prom=$(ctl stats --prometheus 2>&1)
grep -q 'nic_tls_feature_available{ifname="outside0",feature="tls-hw-tx-offload"} 0' <<<"$prom"
ok $? "stats --prometheus exports the features per interface"
grep -q 'nic_sessions_offloaded{ifname="outside0",direction="tx"} 0' <<<"$prom"
ok $? "stats --prometheus exports the sessions offloaded now"
grep -q 'ktls_sessions_conf_total{direction="tx",conf="sw"}' <<<"$prom"
ok $? "stats --prometheus exports the sessions by kernel-reported kTLS state"

ip netns exec "$NS_GW" "$TG_DAEMON" --check-config -c /dev/null -o outbound_listen=127.0.0.1:1 \
	-o nic_offload=sometimes >"$TG_WORK/check.txt" 2>&1
rc=$?; [ "$rc" != 0 ]
ok $? "--check-config refuses a malformed nic_offload"
grep -q "nic_offload: 'sometimes' is not auto, on, off or IFNAME:MODE" "$TG_WORK/check.txt"
ok $? "and says why"
tap_done
