#!/bin/bash
# e2e (issue 15): the kernel enforcer and monitor mode.  tlsgated runs with its BPF half
# (steering on inside0, enforcement on outside0); an excluded inside host (192.0.2.11) bypasses
# it with plaintext toward two fake MXs without STARTTLS:
#   - 203.0.113.26 under `encrypt mode=monitor`: the transaction passes and the MX takes it; the
#     rule's would-block counter moves, no flow is blocked, tlsgated logs "enforce would have
#     been refused (monitor)";
#   - 203.0.113.27 under `encrypt`: MAIL FROM is cut in the kernel, the MX never sees it;
#   - the same table with outbound_policy_mode = monitor (tlsgated restarted): .27 passes too.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

command -v swaks >/dev/null || bail "swaks not installed (make deps)"
command -v jq >/dev/null || bail "jq not installed (make deps)"

tg_topology
tg_mx_addrs
ip -n "$NS_IN" addr add 192.0.2.11/24 dev eth0 # excluded from steering
tg_pki
tg_fake_mx mon 203.0.113.26 ok
tg_fake_mx enf 203.0.113.27 ok
printf '203.0.113.26 encrypt mode=monitor\n203.0.113.27 encrypt\n' > "$TG_WORK/policy"

tg_pindir monitor
pins=$TG_PINDIR/tlsgate
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach -o 'bpf_pin_dir=$pins'"
start() { # NAME [-o k=v]...
	local name=$1
	shift
	tg_gw_bpf "$name" 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o user=root \
		-o "outbound_listen=127.0.0.1:10025" -o outbound_transparent=yes \
		-o inside_interfaces=inside0 -o outside_interfaces=outside0 -o "bpf_pin_dir=$pins" \
		-o steer_exclude=192.0.2.11/32 -o "outbound_policy=$TG_WORK/policy" -o resolve=no \
		"$@"
	gw_pid=$TG_BG_PID
	tg_on_exit "tg_report_daemon $name $gw_pid"
}
start gw
ctl() { nsenter --net="/run/netns/$NS_GW" "$TG_BIN/tlsgatectl" --run-dir "$TG_WORK/gw" \
	--pin-dir "$pins" "$@"; }
id_of() { ctl -j policy show | jq -r ".[] | select(.key == \"$1\") | .id"; }
rule() { # ID JQ-PATH
	ctl -j stats | jq -r "[.rules[] | select(.rule == $1) | $2][0] // 0"
}
bypass() { # NAME MX_ADDR: plaintext from the excluded host, sender NAME@example.org
	ip netns exec "$NS_IN" swaks --server "$2" --local-interface 192.0.2.11 \
		--from "$1@example.org" --to alice@example.net --timeout 6 > "$TG_WORK/bypass.$1" 2>&1
}
mx_saw() { # MX NAME: the fake MX got NAME's MAIL FROM
	grep -q "MAIL FROM:<$1@example.org>" "$TG_WORK/$2/commands.log"
}

mon=$(id_of 203.0.113.26)
enf=$(id_of 203.0.113.27)
[ -n "$mon" ] && [ -n "$enf" ]
ok $? "rule ids: monitor $mon, enforce $enf"

bypass m1 203.0.113.26
ok $? "plaintext bypass to the monitor rule's MX: the transaction completes"
mx_saw m1 mon
ok $? "... and the MX took it"
is "$(rule "$mon" '.flows."would-block"')" 1 "rule $mon: 1 flow would have been blocked"
is "$(rule "$mon" .flows.blocked)" 0 "rule $mon: none blocked"
for ((i = 0; i < 50; i++)); do
	grep -q "enforce would have been refused (monitor): bpf-would-drop mode=monitor reason=plaintext-mail rule=$mon .*client=192.0.2.11" \
		"$TG_WORK/gw.log" && break
	sleep 0.1 # the daemon drains the ring buffer on its loop
done
grep -q "enforce would have been refused (monitor): bpf-would-drop mode=monitor reason=plaintext-mail rule=$mon .*client=192.0.2.11" \
	"$TG_WORK/gw.log"
ok $? "tlsgated logs the kernel's would-be refusal" || diag "$(grep enforce "$TG_WORK/gw.log")"
ctl stats --prometheus | grep -qx "tlsgate_bpf_rule_flows_total{rule=\"$mon\",kind=\"would-block\"} 1"
ok $? "prometheus: tlsgate_bpf_rule_flows_total{kind=\"would-block\"}"

bypass e1 203.0.113.27
! mx_saw e1 enf && grep -q '^<-  250 ' "$TG_WORK/bypass.e1"
ok $? "plaintext bypass to the enforced rule's MX: MAIL FROM cut, the MX never saw it"
is "$(rule "$enf" .flows.blocked)" 1 "rule $enf: 1 flow blocked"
is "$(rule "$enf" '.flows."would-block"')" 0 "rule $enf: nothing counted as would-block"

# the whole table in monitor mode
kill "$gw_pid" && wait "$gw_pid" 2>/dev/null
start gw -o outbound_policy_mode=monitor
bypass e2 203.0.113.27
mx_saw e2 enf
ok $? "outbound_policy_mode = monitor: the bypass to the encrypt rule's MX passes"
is "$(rule "$enf" '.flows."would-block"')" 1 "rule $enf: 1 flow would have been blocked"
is "$(rule "$enf" .flows.blocked)" 1 "rule $enf: still the 1 blocked earlier"

tap_done
