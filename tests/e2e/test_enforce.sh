#!/bin/bash
# e2e: fail-closed enforcement with the daemon down.  The BPF half is attached on the gateway
# (steer on inside0, enforce on outside0) with 203.0.113.25 under an `encrypt` rule (id 7), and
# the loader exits: no daemon, no listener.  A real Postfix MX with STARTTLS runs on 203.0.113.25.
#   - plaintext SMTP from an inside host (swaks without TLS): MAIL FROM is dropped in the kernel;
#     the MX never gets the mail (nothing in its Maildir, the sender nowhere in its log); the
#     drop is counted and a ring-buffer event is waiting for the daemon;
#   - swaks --tls from the (excluded) inside host: the session passes the enforcer as TLS and the
#     mail is delivered;
#   - `tlsgatectl stats` (ctl_stats through the helper) shows exactly what the test did, in the
#     text, JSON and Prometheus renderings.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/bpfgate.sh"

command -v swaks >/dev/null || bail "swaks not installed (make deps)"
command -v jq >/dev/null || bail "jq not installed (make deps)"
tg_topology
tg_pindir enforce
pins=$TG_PINDIR
pki=$(mktemp -d)
tg_on_exit "rm -rf '$pki'"
tg_on_exit "'$helper' detach '$NS_GW' '$pins'"
pki_init "$pki" && pki_leaf "$pki" mx.example.net || bail "cannot make the test PKI"
pf_mx mx "$NS_OUT" 203.0.113.25 tls "$pki/mx.example.net"

# An admin's clsact on outside0 is shared, and left in place by detach.
tc -n "$NS_GW" qdisc add dev outside0 clsact || bail "cannot add clsact"
"$helper" attach "$NS_GW" "$pins" --inside inside0 --outside outside0 \
	--policy 203.0.113.25/32=7:encrypt --exclude 192.0.2.10/32 --relay-mark 0x100 >/dev/null
ok $? "BPF half attached; the loader exited (the daemon is down)"
tc -n "$NS_GW" filter show dev outside0 egress | grep -q enforce_egress &&
	tc -n "$NS_GW" filter show dev outside0 ingress | grep -q enforce_ingress
ok $? "enforce_egress and enforce_ingress on outside0"

stat() { # JQ-PATH -- from `tlsgatectl -j stats`
	tgstats -j | jq -r "$1"
}

# 1. plaintext: EHLO passes, MAIL FROM is dropped; swaks waits for a reply that never comes.
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --from plain@example.org \
	--to alice@example.net --timeout 6 > "$pki/plain.log" 2>&1
rc=$?
# the transcript ends with MAIL FROM sent and swaks giving up waiting for its reply
[ "$rc" != 0 ] && grep -q '^<-  250 ' "$pki/plain.log" &&
	[ "$(grep -E '^ ?(->|<-|<~|~>|\*\*\*)' "$pki/plain.log" | tail -n 2 | head -n 1)" = \
		" -> MAIL FROM:<plain@example.org>" ]
ok $? "plaintext session: EHLO answered, MAIL FROM sent and never answered (swaks: $rc)"
is "$(pf_mails mx alice@example.net | wc -l)" 0 "the MX stored nothing"
! pf_log mx | grep -q 'plain@example.org'
ok $? "the MX never saw the sender (not in its log)"
pf_log mx | grep -q 'connect from .*192.0.2.10'
ok $? "... although it saw the connection (the EHLO got through)"

is "$(stat '.global.drops."plaintext-mail"')" 1 "drop counter plaintext-mail = 1"
is "$(stat '.rules[] | select(.rule == 7) | .flows.blocked')" 1 "rule 7: 1 flow blocked"
is "$(stat '.rules[] | select(.rule == 7) | .flows.plaintext')" 1 "rule 7: 1 plaintext flow"

ev=$("$helper" events "$pins")
diag "event: $ev"
is "$(echo "$ev" | grep -c .)" 1 "one event waiting in the ring buffer"
echo "$ev" | grep -q 'reason=plaintext-mail rule=7 dir=outbound level=2 client=192.0.2.10:[0-9]* server=203.0.113.25:25 detail="MAIL"'
ok $? "event: reason, rule, flow and the offending verb"
is "$("$helper" events "$pins" | grep -c .)" 0 "consumed: a second reader gets nothing"

# 2. TLS from the same (excluded) host: passes as TLS records and is delivered.
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --tls --from tls@example.org \
	--to alice@example.net --header "Subject: tls through the enforcer" --timeout 30 \
	> "$pki/tls.log" 2>&1
ok $? "swaks --tls delivered (STARTTLS, TLS records only)"
pf_wait_mail mx alice@example.net 1 30
ok $? "the MX stored the TLS mail"
f=$(pf_mails mx alice@example.net | head -n 1)
grep -q '^Subject: tls through the enforcer' "$f" && grep -q 'using TLSv1' "$f"
ok $? "it is the TLS message (Received: ... using TLSv1.x)"

# 2b. The daemon's own connections (SO_MARK = the relay mark) pass even in plaintext: the
# daemon enforces the policy itself.  The same from an unmarked gateway socket is dropped.
"$helper" smtp "$NS_GW" 203.0.113.25 0x100 relay@example.org bob@example.net > "$pki/relay.log"
ok $? "relay-marked plaintext transaction from the gateway accepted by the MX"
pf_wait_mail mx bob@example.net 1 30
ok $? "... and delivered"
"$helper" smtp "$NS_GW" 203.0.113.25 0 unmarked@example.org bob@example.net > "$pki/unmarked.log"
ok $((!$?)) "the same without the mark: refused"
tail -n 1 "$pki/unmarked.log" | grep -q '^<- (no reply'
ok $? "... MAIL FROM got no reply (dropped)"

# 3. The numbers are what the test did.
js=$(tgstats -j)
is "$(echo "$js" | jq '.global.flows.tracked')" 3 "flows tracked: 3 (plaintext, TLS, unmarked)"
is "$(echo "$js" | jq '.global.flows.tls')" 1 "flows TLS: 1"
is "$(echo "$js" | jq '.global.flows.plaintext')" 2 "flows plaintext: 2"
is "$(echo "$js" | jq '.global.flows.blocked')" 2 "flows blocked: 2"
is "$(echo "$js" | jq '.global.flows.relay')" 1 "flows relay: 1"
is "$(echo "$js" | jq '.rules[] | select(.rule == 7) | .flows.relay')" 1 "rule 7: 1 relay flow"
is "$(echo "$js" | jq '.global.flows.steered')" 0 "nothing steered (no daemon)"
[ "$(echo "$js" | jq '.global.bytes.relay')" -gt 50 ]
ok $? "relay bytes counted ($(echo "$js" | jq '.global.bytes.relay'))"
is "$(echo "$js" | jq '.rules[] | select(.rule == 7) | .flows.tls')" 1 "rule 7: 1 TLS flow"
[ "$(echo "$js" | jq '.global.bytes.tls')" -gt 1000 ]
ok $? "TLS bytes counted ($(echo "$js" | jq '.global.bytes.tls'))"
[ "$(echo "$js" | jq '.global.drops.total')" -ge 1 ] &&
	[ "$(echo "$js" | jq '.global.drops.total - .global.drops."plaintext-mail" - .global.drops."flow-blocked"')" = 0 ]
ok $? "no drop but the MAIL FROM and its retransmits ($(echo "$js" | jq -c .global.drops))"
prom=$(tgstats --prometheus)
echo "$prom" | grep -qx 'tlsgate_bpf_drops_total{reason="plaintext-mail"} 2' &&
	echo "$prom" | grep -qx 'tlsgate_bpf_rule_flows_total{rule="7",kind="tls"} 1' &&
	echo "$prom" | grep -qx '# TYPE tlsgate_bpf_flows_total counter'
ok $? "prometheus exposition: same numbers, typed counters"
txt=$(tgstats show rule 7)
echo "$txt" | grep -q '^rule 7:' && echo "$txt" | grep -q 'relay 1 tracked 3 tls 1 plaintext 2 blocked 2' &&
	! echo "$txt" | grep -q '^global'
ok $? "text: stats show rule 7"
tgstats | sed 's/^/# /'


"$helper" detach "$NS_GW" "$pins"
ok $? "detach"
[ ! -e "$pins" ]
ok $? "pins removed"
! tc -n "$NS_GW" qdisc show dev inside0 | grep -q clsact
ok $? "the clsact we created on inside0 is gone"
tc -n "$NS_GW" qdisc show dev outside0 | grep -q clsact &&
	[ -z "$(tc -n "$NS_GW" filter show dev outside0 egress)" ] &&
	[ -z "$(tc -n "$NS_GW" filter show dev outside0 ingress)" ]
ok $? "the admin's clsact on outside0 stays, without our filters"
tap_done
