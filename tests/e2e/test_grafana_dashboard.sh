#!/bin/bash
# e2e: packaging/grafana/tlsgate.json queries only what tlsgate exposes.  tlsgated runs with its
# BPF half and a table with an enforced and a monitor rule; a plaintext flow bypassing it toward
# the monitor rule's MX gives the per-rule series.  Every metric, label and label value the
# dashboard's PromQL names must be in `tlsgatectl stats --prometheus` (tests/lib/grafana_check.py:
# also rate() only of counters, by () and legends only of real labels).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/prom.sh"

dash=$TG_TOP/packaging/grafana/tlsgate.json

python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dash"
ok $? "the dashboard is JSON"

tg_topology
tg_mx_addrs
ip -n "$NS_IN" addr add 192.0.2.11/24 dev eth0 # excluded from steering
tg_pki
tg_fake_mx mon 203.0.113.26 ok
printf '203.0.113.26 encrypt mode=monitor\n203.0.113.27 encrypt\n' > "$TG_WORK/policy"
tg_pindir grafana
pins=$TG_PINDIR/tlsgate
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach -o 'bpf_pin_dir=$pins'"
tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o user=root \
	-o "outbound_listen=127.0.0.1:10025" -o outbound_transparent=yes \
	-o inside_interfaces=inside0 -o outside_interfaces=outside0 -o "bpf_pin_dir=$pins" \
	-o steer_exclude=192.0.2.11/32 -o "outbound_policy=$TG_WORK/policy" -o resolve=no
tg_on_exit "tg_report_daemon gw $TG_BG_PID"
ctl() { nsenter --net="/run/netns/$NS_GW" "$TG_BIN/tlsgatectl" --run-dir "$TG_WORK/gw" \
	--pin-dir "$pins" "$@"; }

ip netns exec "$NS_IN" swaks --server 203.0.113.26 --local-interface 192.0.2.11 \
	--from a@example.org --to b@example.net --timeout 6 > "$TG_WORK/bypass" 2>&1
ok $? "a plaintext flow past tlsgated to the monitor rule's MX (the kernel lets it pass)"

ctl stats --prometheus > "$TG_WORK/prom" 2> "$TG_WORK/prom.err"
ok $? "tlsgatectl stats --prometheus" || diag "$(cat "$TG_WORK/prom.err")"
grep -q '^tlsgate_daemon_up 1$' "$TG_WORK/prom" && grep -q '^tlsgate_bpf_rule_flows_total{' "$TG_WORK/prom"
ok $? "... with the daemon's counters and the BPF half's, per rule too"
prom_check < "$TG_WORK/prom" 2> "$TG_WORK/prom_check"
ok $? "the exposition is well formed" || diag "$(cat "$TG_WORK/prom_check")"

python3 "$TG_TOP/tests/lib/grafana_check.py" "$dash" "$TG_WORK/prom" > "$TG_WORK/check" 2>&1
ok $? "every metric, label and value the dashboard queries is exposed; rate() only of counters" ||
	diag "$(cat "$TG_WORK/check")"
diag "$(cat "$TG_WORK/check")"
# the check itself: a dashboard with a wrong query of each kind fails, naming each
jq '.panels[1].targets += [
	{"refId": "W", "expr": "rate(tlsgate_daemon_sessions_active[5m])"},
	{"refId": "X", "expr": "tlsgate_daemon_no_such_total"},
	{"refId": "Y", "expr": "tlsgate_daemon_policy_result_total{outcome=\"maybe\"}"},
	{"refId": "Z", "expr": "sum by (colour) (tlsgate_daemon_messages_total)"}]' "$dash" \
	> "$TG_WORK/broken.json"
python3 "$TG_TOP/tests/lib/grafana_check.py" "$TG_WORK/broken.json" "$TG_WORK/prom" > "$TG_WORK/broken" 2>&1
[ $? = 1 ] && [ "$(grep -cE "rate\(\) of tlsgate_daemon_sessions_active, a gauge|tlsgate_daemon_no_such_total is not in|outcome=\"maybe\"\} matches nothing|by \(colour\): no such label" "$TG_WORK/broken")" = 4 ]
ok $? "the check refuses a gauge's rate, an unknown metric, an unknown label value and label" ||
	diag "$(cat "$TG_WORK/broken")"
# the panels the dashboard is for: each of these families is queried
for m in tlsgate_daemon_messages_total tlsgate_daemon_tls_established_total \
	tlsgate_daemon_policy_result_total tlsgate_daemon_policy_would_refuse_total \
	tlsgate_bpf_drops_total tlsgate_bpf_rule_flows_total tlsgate_daemon_policy_success_total; do
	grep -q "^queried: .*\b$m\b" "$TG_WORK/check"
	ok $? "the dashboard queries $m"
done
tap_done
