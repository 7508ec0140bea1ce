#!/bin/bash
# e2e: tlsgatectl against the real tlsgated.  Status, policy show/add/del/import/check (changes
# applied at once and persisted in the table file: a restarted daemon shows the same policy),
# session list/show/kill (the client gets a 421), monitor events, an unprivileged user refused;
# stats: the daemon's own counters in text, JSON and Prometheus form (the exposition checked),
# moving with real traffic, and "daemon: not running" once it is down.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/prom.sh"

tg_topology
tg_mx_addrs
tg_pki
tg_fake_mx mx 203.0.113.26 ok
cat > "$TG_WORK/policy" <<EOP
# the gateway's outbound table (Postfix smtp_tls_policy_maps syntax)
example.org	encrypt protocols=>=TLSv1.2
EOP
start_gw() {
	tg_gw gw 2901 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"
}
start_gw
ctl() {
	ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/gw" "$@"
}

ctl status > "$TG_WORK/status" 2>&1
ok $? "tlsgatectl status answers"
version=$(sed -n 's/^#define TLSGATE_VERSION "\(.*\)"$/\1/p' "$(dirname "$0")/../../lib/version.h")
grep -qF "$version" "$TG_WORK/status" && grep -qi "ktls" "$TG_WORK/status" &&
	grep -q "192.0.2.1:2901" "$TG_WORK/status"
ok $? "status shows version, kTLS and the listener"
ctl -j status | jq -e '.sessions.active == 0 and .policy.outbound_rules == 1' >/dev/null
ok $? "status -j is JSON with the counts"

# stats: this daemon runs without its BPF half, so only its own counters are there
stats() { # [-j] [ARGS]... -- `tlsgatectl stats` with no BPF pins to find
	local j=()
	[ "${1:-}" = -j ] && { j=(-j); shift; }
	ctl "${j[@]}" --pin-dir "$TG_WORK/no-pins" stats "$@"
}
counter() { # JQ-PATH under .daemon.counters
	stats -j 2>/dev/null | jq -r ".daemon.counters.$1"
}
stats > "$TG_WORK/stats" 2> "$TG_WORK/stats.err"
[ $? = 0 ] && grep -qx "daemon:" "$TG_WORK/stats" &&
	grep -Eq "^    sessions +outbound [0-9]+ inbound [0-9]+$" "$TG_WORK/stats" &&
	grep -Eq "^    rcpt_tls_refused +0$" "$TG_WORK/stats" &&
	grep -Eq "^    policy_result +total 0$" "$TG_WORK/stats" &&
	grep -q "cannot read the BPF counters" "$TG_WORK/stats.err"
ok $? "stats without BPF pins: the daemon's counters, the BPF part's failure on stderr" ||
	diag "$(cat "$TG_WORK/stats" "$TG_WORK/stats.err")"
stats -j 2>/dev/null | jq -e '.daemon.running and (.global | not) and
	(.daemon.counters.policy_result.sts["certificate-host-mismatch"] | keys) ==
		["refused", "would_fail"] and
	(.daemon.counters.policy_success | keys) == ["sts", "tlsa"] and
	(.daemon.counters.sessions_active | type) == "number"' >/dev/null
ok $? "stats -j: .daemon.counters, the RFC 8460 results nested policy / result / outcome"
stats --prometheus > "$TG_WORK/prom" 2>/dev/null
ok $? "stats --prometheus answers"
prom_check < "$TG_WORK/prom" 2> "$TG_WORK/prom.err"
ok $? "the exposition is well formed (names, labels, one HELP and TYPE per family)" ||
	diag "$(cat "$TG_WORK/prom.err")"
grep -qx 'tlsgate_daemon_up 1' "$TG_WORK/prom" &&
	grep -qx '# TYPE tlsgate_daemon_rcpt_tls_refused_total counter' "$TG_WORK/prom" &&
	grep -qx '# TYPE tlsgate_daemon_sessions_active gauge' "$TG_WORK/prom" &&
	grep -qx 'tlsgate_daemon_policy_result_total{policy="sts",result="certificate-host-mismatch",outcome="would_fail"} 0' \
		"$TG_WORK/prom" &&
	grep -qx 'tlsgate_daemon_policy_success_total{policy="tlsa"} 0' "$TG_WORK/prom" &&
	[ "$(grep -c '^tlsgate_daemon_policy_result_total{' "$TG_WORK/prom")" = 44 ]
ok $? "prometheus: tlsgate_daemon_* counters and gauges, 2 policies x 11 results x 2 outcomes"
if command -v promtool > /dev/null; then
	promtool check metrics < "$TG_WORK/prom" > "$TG_WORK/promtool" 2>&1
	ok $? "promtool check metrics" || diag "$(cat "$TG_WORK/promtool")"
fi
rcpt0=$(counter rcpt_tls_refused)
sess0=$(counter sessions.outbound)

# policy show / add / del
ctl policy show > "$TG_WORK/show1"
grep -q "example.org" "$TG_WORK/show1" && grep -q "encrypt" "$TG_WORK/show1"
ok $? "policy show lists the table's rule"
ctl policy add outbound secure.example.net secure match=.example.net > "$TG_WORK/add" 2>&1
ok $? "policy add"
grep -q "^secure.example.net[[:space:]]*secure match=.example.net" "$TG_WORK/policy"
ok $? "the rule is in the table file now (persisted)"
grep -q "^# the gateway's outbound table" "$TG_WORK/policy"
ok $? "the administrator's comment survived the edit"
ctl policy add outbound secure.example.net may > "$TG_WORK/add2" 2>&1
[ $? != 0 ] && grep -qi "exist" "$TG_WORK/add2"
ok $? "adding an existing key is refused"
ctl policy add outbound bad.example.net encrpyt > "$TG_WORK/add3" 2>&1
[ $? != 0 ] && grep -q "unknown security level 'encrpyt'" "$TG_WORK/add3"
ok $? "a bad line is refused with the parser's message"
# the new rule applies to sessions at once: RCPT to a domain that requires TLS, plaintext leg
tg_smtp 2901 > "$TG_WORK/rcpt.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<x@secure.example.net>\r\n
expect 450
send QUIT\r\n
expect 221
EOS
ok $? "the added rule applies at once (450 for its domain on a plaintext leg)"
is "$(counter rcpt_tls_refused)" $((rcpt0 + 1)) "stats: rcpt_tls_refused counted the refused RCPT"
is "$(counter sessions.outbound)" $((sess0 + 1)) "stats: one more outbound session"
stats --prometheus 2>/dev/null | grep -qx "tlsgate_daemon_rcpt_tls_refused_total $((rcpt0 + 1))"
ok $? "... and so says the exposition"
stats 2>/dev/null | sed 's/^/# /'
ctl policy del outbound secure.example.net
ok $? "policy del"
! grep -q "secure.example.net" "$TG_WORK/policy"
ok $? "... removed from the table file"

# import / check
printf 'a.example.com encrypt\n.b.example.com verify match=.b.example.com\n' > "$TG_WORK/new"
ctl policy check outbound "$TG_WORK/new" > "$TG_WORK/check" 2>&1
ok $? "policy check of a good file"
printf 'a.example.com encrypt\n192.0.2.300 encrypt\nc.example.com sometimes\n2001:db8::/129 secure\n' \
	> "$TG_WORK/bad"
ctl policy check outbound "$TG_WORK/bad" > "$TG_WORK/check2" 2>&1
[ $? != 0 ] && grep -q "bad:2:1: invalid IPv4 address '192.0.2.300'" "$TG_WORK/check2" &&
	grep -q "bad:4:12: invalid prefix length '129'" "$TG_WORK/check2" &&
	grep -q "warning: .*bad:3:15: unknown security level 'sometimes'.*deferred" "$TG_WORK/check2"
ok $? "policy check reports every error and warning with file:line:column"
printf 'a.example.com encrypt\nc.example.com verify tafile=/etc/x.pem\nc.example.com none\n' > "$TG_WORK/pf"
ctl policy check outbound "$TG_WORK/pf" > "$TG_WORK/check3" 2>&1
[ $? = 0 ] && grep -q "pf:2:22: attribute 'tafile' is not supported by tlsgate" "$TG_WORK/check3" &&
	grep -q "pf:3:1: duplicate key 'c.example.com' ignored" "$TG_WORK/check3"
ok $? "policy check: what Postfix reads passes, with warnings"
ctl policy import outbound "$TG_WORK/bad" > /dev/null 2>&1
[ $? != 0 ] && grep -q "example.org" "$TG_WORK/policy"
ok $? "a bad import changes nothing"
ctl policy import outbound "$TG_WORK/new" > "$TG_WORK/imp" 2>&1
ok $? "policy import"
ctl -j policy show > "$TG_WORK/imported.json"
jq -e 'map(.key) | sort == [".b.example.com", "a.example.com"]' "$TG_WORK/imported.json" >/dev/null
ok $? "policy show -j shows the imported rules"
# an entry tlsgate cannot honour (tafile=) loads, and defers that domain's mail
ctl policy import outbound "$TG_WORK/pf" > "$TG_WORK/imp2" 2>&1
[ $? = 0 ] && grep -q "imported 2 rules from $TG_WORK/pf, 2 warnings" "$TG_WORK/imp2"
ok $? "policy import of a table with tafile= (Postfix reads it) says it has warnings" ||
	diag "$(cat "$TG_WORK/imp2")"
tg_smtp 2901 > "$TG_WORK/defer.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<x@c.example.com>\r\n
expect 450
send QUIT\r\n
expect 221
EOS
[ $? = 0 ] && grep -q "4.7.5 TLS policy for c.example.com cannot be honoured" "$TG_WORK/defer.out"
ok $? "tafile=: RCPT gets 450 4.7.5 (the mail stays queued, as Postfix defers it)"
grep -q "policy: $TG_WORK/policy:2:22: attribute 'tafile' is not supported" "$TG_WORK/gw.log"
ok $? "... and the load logged the warning"
# a destination whose winning rule is defer: no connection, 421 4.7.5 before any banner
printf '203.0.113.26 verify tafile=/etc/x.pem\n' > "$TG_WORK/pf2"
ctl policy import outbound "$TG_WORK/pf2" > /dev/null 2>&1
ok $? "policy import of an address rule with tafile="
cmds_before=$(cat "$TG_WORK/mx/commands.log" 2>/dev/null | wc -l)
tg_smtp 2901 > "$TG_WORK/defer2.out" <<EOS
expect 421
EOS
[ $? = 0 ] && grep -q "421 4.7.5 .*TLS policy for 203.0.113.26.* cannot be honoured" \
	"$TG_WORK/defer2.out"
ok $? "defer at connect: the client gets 421 4.7.5" || diag "$(cat "$TG_WORK/defer2.out")"
is "$(cat "$TG_WORK/mx/commands.log" 2>/dev/null | wc -l)" "$cmds_before" \
	"... and the MX heard nothing from the gateway"
ctl policy import outbound "$TG_WORK/new" > /dev/null 2>&1

# restart: the same policy
before=$(ctl -j policy show)
kill "$TG_GW_PID_gw"
wait "$TG_GW_PID_gw" 2>/dev/null
ctl status > "$TG_WORK/down" 2>&1
[ $? != 0 ] && grep -q "not running" "$TG_WORK/down"
ok $? "with the daemon down the CLI says it is not running"
stats > "$TG_WORK/stats.down" 2>/dev/null
[ $? = 1 ] && grep -qx "daemon: not running" "$TG_WORK/stats.down"
ok $? "stats: 'daemon: not running' (and, with no BPF counters either, exit status 1)"
stats --prometheus 2>/dev/null | grep -qx "tlsgate_daemon_up 0"
ok $? "stats --prometheus: tlsgate_daemon_up 0"
stats -j 2>/dev/null | jq -e '.daemon.running == false and (.daemon.error | test("not running"))' \
	> /dev/null
ok $? "stats -j: daemon.running false, and why"
start_gw
after=$(ctl -j policy show)
is "$after" "$before" "policy show after a restart equals before"

# sessions: list, show, kill
coproc CLI { ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 192.0.2.1 2901 --timeout 20; }
clipid=$CLI_PID # bash unsets CLI_PID when the coprocess ends
printf 'expect 220\nsend EHLO client.example.org\\r\\n\nexpect 250\nexpect 421\n' >&"${CLI[1]}"
read -r line <&"${CLI[0]}"
ctl session list > "$TG_WORK/sessions" 2>&1
grep -q "192.0.2.10" "$TG_WORK/sessions" && grep -q "203.0.113.26" "$TG_WORK/sessions"
ok $? "session list shows the open session (client and destination)"
id=$(ctl -j session list | jq -r '.[0].id')
ctl session show "$id" | grep -q "relay"
ok $? "session show ID gives its state"
ip netns exec "$NS_GW" timeout 10 "$TG_CTL" --run-dir "$TG_WORK/gw" monitor \
	> "$TG_WORK/mon" 2>&1 &
monpid=$!
# readiness: a NETLINK_USERSOCK (protocol 2) socket in the gateway joined a multicast group
for ((i = 0; i < 100; i++)); do
	ip netns exec "$NS_GW" awk '$2 == 2 && $4 != "00000000" { f = 1 } END { exit !f }' \
		/proc/net/netlink && break
	sleep 0.1
done
ctl session kill "$id"
ok $? "session kill"
[ -n "${CLI[1]:-}" ] && exec {CLI[1]}>&-
wait "$clipid"
ok $? "the killed session's client got a 421"
ctl -j session list | jq -e 'length == 0' >/dev/null
ok $? "the session is gone"
for ((i = 0; i < 50; i++)); do grep -q "session-end" "$TG_WORK/mon" && break; sleep 0.1; done
kill "$monpid" 2>/dev/null
grep -q "session-end.*192.0.2.10" "$TG_WORK/mon"
ok $? "monitor saw the session end"

# an unprivileged user may not change anything
ip netns exec "$NS_GW" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$TG_CTL" --run-dir "$TG_WORK/gw" policy add outbound x.example.com encrypt \
	> "$TG_WORK/nobody" 2>&1
[ $? != 0 ] && grep -qi "permission\|not permitted\|denied" "$TG_WORK/nobody"
ok $? "a user outside root/tlsgate is refused"

tap_done
