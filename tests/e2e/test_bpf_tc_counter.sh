#!/bin/bash
# e2e: the BPF tool chain on a real path.  The pktcount program is attached to the gateway's inside
# interface (tc ingress, clsact), its loader exits, and traffic from the inside host is counted in
# the pinned per-CPU map: exactly, for UDP; and a TCP transfer arrives intact and is counted.
# Also shows the property fail-closed enforcement relies on: a tc program keeps running after the
# process that attached it has gone.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"

helper=$TG_BUILD/tests/e2e/helper_pktcount
[ -x "$helper" ] || bail "$helper not built"
tg_topology
tg_pindir counter
pins=$TG_PINDIR

"$helper" attach "$NS_GW" inside0 "$pins" >/dev/null
ok $? "pktcount attached to $NS_GW/inside0 ingress and pinned; loader exited"
tc -n "$NS_GW" filter show dev inside0 ingress | grep -q "pktcount_tc"
ok $? "tc shows the filter after the loader exited"

read -r p0 b0 < <("$helper" read "$pins" 2) # PKTCOUNT_UDP
for i in 1 2 3 4 5 6 7; do
	ip netns exec "$NS_IN" bash -c "printf 'datagram-$i' > /dev/udp/203.0.113.25/9"
done
read -r p1 b1 < <("$helper" read "$pins" 2)
is "$((p1 - p0))" 7 "7 UDP datagrams from inside counted exactly"
# Ethernet 14 + IPv4 20 + UDP 8 + 10 bytes of payload
is "$((b1 - b0))" "$((7 * 52))" "UDP bytes counted exactly (7 x 52)"

payload=$(mktemp)
got=$(mktemp)
tg_on_exit "rm -f '$payload' '$got'"
head -c 200000 /dev/urandom > "$payload"
read -r t0 tb0 < <("$helper" read "$pins" 1) # PKTCOUNT_TCP
tg_bg ip netns exec "$NS_OUT" busybox nc -l -p 2525 > "$got"
srv=$TG_BG_PID
tg_wait_listen "$NS_OUT" 2525 || bail "listener did not come up"
ip netns exec "$NS_IN" bash -c "cat '$payload' > /dev/tcp/203.0.113.25/2525"
ok $? "TCP transfer from inside to outside through the gateway"
wait "$srv"
cmp -s "$payload" "$got"
ok $? "200000 bytes delivered identical"
read -r t1 tb1 < <("$helper" read "$pins" 1)
[ $((t1 - t0)) -gt 0 ] && [ $((tb1 - tb0)) -ge 200000 ]
ok $? "TCP counted: $((t1 - t0)) packets, $((tb1 - tb0)) bytes (>= payload)"

"$helper" detach "$NS_GW" inside0
ok $? "detached"
tap_done
