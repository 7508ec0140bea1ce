#!/bin/bash
# e2e: transparent steering.  The BPF half is loaded on the gateway through the loader API (the
# helper stands in for tlsgated): steer on inside0's tc ingress, the fwmark rule and local route,
# the daemon's IP_TRANSPARENT listeners on 127.0.0.1/::1.  An inside host's connections to an MX
# on the outside (IPv4 and IPv6) land on the listener, whose accepted socket names the original
# destination; the real MX never sees them.  Excluded hosts, and everyone once the daemon is
# gone, reach the real MX.  Detach removes filters, clsact, rules, routes and pins.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/bpfgate.sh"

tg_topology
tg_pindir steer
pins=$TG_PINDIR
out=$(mktemp -d)
tg_on_exit "rm -rf '$out'"
# Whatever happens, leave no BPF state behind in the namespace or on bpffs.
tg_on_exit "'$helper' detach '$NS_GW' '$pins'"

# The greeting an inside host gets from ADDR:25.
greeting() { # ADDR [SRC]
	ip netns exec "$NS_IN" timeout 10 bash -c \
		"exec 3<>/dev/tcp/$1/25 && head -n 1 <&3 | tr -d '\r'"
}

# The real MXs on the outside.
tg_bg "$helper" serve "$NS_OUT" 203.0.113.25 25 3 > "$out/mx4"
bg_ready "$out/mx4" "$TG_BG_PID" || bail "real MX (IPv4) did not start"
tg_bg "$helper" serve "$NS_OUT" 2001:db8:2::25 25 3 > "$out/mx6"
bg_ready "$out/mx6" "$TG_BG_PID" || bail "real MX (IPv6) did not start"
greeting 203.0.113.25 | grep -q '^220 real-mx local=203.0.113.25:25 peer=192.0.2.10:'
ok $? "baseline: without tlsgate the inside host reaches the real MX"

# The daemon: listeners on port 10025, steering on inside0; it serves 3 connections and exits.
tg_bg "$helper" listen "$NS_GW" "$pins" 10025 3 --inside inside0 \
	--policy 203.0.113.0/24=7:encrypt --relay-mark 0x100 > "$out/gate"
gate=$TG_BG_PID
bg_ready "$out/gate" "$gate" || bail "helper listen did not start"

g4=$(greeting 203.0.113.25)
case $g4 in
"220 local=203.0.113.25:25 peer=192.0.2.10:"*) ok 0 "IPv4: steered to the listener; original destination 203.0.113.25:25" ;;
*) ok 1 "IPv4: steered to the listener (got '$g4')" ;;
esac
g6=$(greeting 2001:db8:2::25)
case $g6 in
"220 local=[2001:db8:2::25]:25 peer=[2001:db8:1::10]:"*) ok 0 "IPv6: steered; original destination [2001:db8:2::25]:25" ;;
*) ok 1 "IPv6: steered to the listener (got '$g6')" ;;
esac

tc -n "$NS_GW" filter show dev inside0 ingress | grep -q steer_inside
ok $? "tc: steer_inside on inside0 ingress"
ip -n "$NS_GW" rule show | grep -q 'fwmark 0x7467 lookup 29799'
ok $? "ip rule: fwmark 0x7467 lookup 29799 (IPv4)"
ip -n "$NS_GW" -6 rule show | grep -q 'fwmark 0x7467 lookup 29799'
ok $? "ip rule: fwmark 0x7467 lookup 29799 (IPv6)"
ip -n "$NS_GW" route show table 29799 | grep -q '^local default dev lo'
ok $? "ip route: local default dev lo table 29799"
missing=""
for p in tg_config tg_policy tg_listen tg_stats tg_rule_stats tg_exclude tg_flows tg_events \
	tg_attach steer_inside steer_outside enforce_egress enforce_ingress; do
	[ -e "$pins/$p" ] || missing="$missing $p"
done
is "$missing" "" "maps and programs pinned under the pin directory"

# An excluded host goes to the real MX while the daemon runs; its neighbour is still steered.
"$helper" exclude "$pins" 192.0.2.0/28
greeting 203.0.113.25 | grep -q '^220 real-mx '
ok $? "excluded inside host (192.0.2.0/28) is not steered: the real MX answers"
greeting 2001:db8:2::25 | grep -q '^220 local=\[2001:db8:2::25\]:25 '
ok $? "a host outside the exclusion is still steered"

# That was the helper's third connection: it exits, its listeners close (the daemon is gone).
wait "$gate"
ok $? "the stand-in daemon exited"
is "$(grep -c '^conn ' "$out/gate")" 3 "it accepted exactly the 3 steered connections"
greeting 2001:db8:2::25 | grep -q '^220 real-mx '
ok $? "daemon down (its listener left the SOCKMAP by itself): not steered"
tc -n "$NS_GW" filter show dev inside0 ingress | grep -q steer_inside
ok $? "the filter stays attached after the loader exited"

stats=$(tgstats prometheus)
echo "$stats" | grep -qx 'tlsgate_bpf_flows_total{kind="steered"} 3'
ok $? "stats: 3 flows steered"
echo "$stats" | grep -qx 'tlsgate_bpf_rule_flows_total{rule="7",kind="steered"} 1'
ok $? "stats: 1 of them under rule 7 (203.0.113.0/24), the IPv6 ones under the default"
echo "$stats" | grep -qx 'tlsgate_bpf_steer_errors_total 0'
ok $? "stats: no steer errors"

"$helper" detach "$NS_GW" "$pins"
ok $? "detach"
tc -n "$NS_GW" filter show dev inside0 ingress | grep -q bpf
ok $((!$?)) "no filter left on inside0"
tc -n "$NS_GW" qdisc show dev inside0 | grep -q clsact
ok $((!$?)) "clsact removed (we had created it)"
ip -n "$NS_GW" rule show | grep -q 0x7467
ok $((!$?)) "IPv4 rule removed"
ip -n "$NS_GW" -6 rule show | grep -q 0x7467
ok $((!$?)) "IPv6 rule removed"
[ -z "$(ip -n "$NS_GW" route show table 29799 2>/dev/null)" ]
ok $? "local route removed"
[ ! -e "$pins" ]
ok $? "pins removed"
tap_done
