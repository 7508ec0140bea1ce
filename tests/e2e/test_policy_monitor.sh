#!/bin/bash
# e2e, monitor mode (issue 15): a rule with mode=monitor, or a whole table with
# outbound_policy_mode / inbound_policy_mode = monitor, delivers what its level would refuse, as
# `may` would, logs "would have been refused (monitor): <the refusal's words>" and counts it
# (policy_would_refuse); the same rule without monitor refuses.  Then the documented workflow:
# `tlsgatectl policy` turns the monitor rule into an enforced one and the same mail is refused.
# The MX is a fake one without STARTTLS (a plaintext leg), inside the fake MX is the next hop.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
tg_fake_mx plain 203.0.113.26 ok # no --cert: no STARTTLS

send() { # NAME PORT RCPT -> swaks' exit status; transcript in $TG_WORK/NAME.swaks
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port "$2" --from sender@example.org \
		--to "$3" > "$TG_WORK/$1.swaks" 2>&1
}
ctl() { # NAME ARGS...
	local name=$1
	shift
	ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/$name" --pin-dir "$TG_WORK/no-pins" "$@"
}
would() { # NAME DIRECTION -> the daemon's policy_would_refuse counter
	ctl "$1" -j stats 2>/dev/null | jq -r ".daemon.counters.policy_would_refuse.$2"
}
stored() { # RCPT -> how many messages the fake MX took for it (its DATA went through)
	grep -c "RCPT TO:<$1>" "$TG_WORK/plain/commands.log"
}

# 1. a connect-time refusal: encrypt toward an MX that offers no STARTTLS
cat > "$TG_WORK/mon.policy" <<EOP
# tlsgate's own attribute: Postfix would defer this entry's mail (see docs/POLICY.md)
203.0.113.26	encrypt mode=monitor
EOP
sed 's/ mode=monitor//' "$TG_WORK/mon.policy" > "$TG_WORK/enf.policy"
tg_gw mon 2601 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/mon.policy"
tg_gw enf 2602 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/enf.policy"
tg_gw tab 2603 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/enf.policy" \
	-o outbound_policy_mode=monitor

send mon 2601 alice@example.net
ok $? "encrypt mode=monitor, no STARTTLS at the MX: the mail is delivered" ||
	diag "$(tail -n 5 "$TG_WORK/mon.swaks")"
is "$(stored alice@example.net)" 1 "the MX took it (in plaintext, as may would)"
tg_gw_log mon | grep -q "would have been refused (monitor): 421 4.7.4 TLS is required, but was not offered by host 203.0.113.26\[203.0.113.26\]:25 (rule=[0-9]* key=203.0.113.26 level=encrypt mode=monitor)"
ok $? "logged: would have been refused (monitor), with the 421's words and the rule" ||
	diag "$(grep -i monitor "$TG_WORK/mon.log")"
tg_gw_log mon | grep -q "plaintext to 203.0.113.26\[203.0.113.26\]:25 level=may"
ok $? "the session went on at level may"
is "$(would mon outbound)" 1 "counted: policy_would_refuse{direction=outbound} 1"
ctl mon policy show > "$TG_WORK/mon.show" 2>&1
grep -q "^203.0.113.26 encrypt mode=monitor" "$TG_WORK/mon.show"
ok $? "policy show prints the rule with mode=monitor" || diag "$(cat "$TG_WORK/mon.show")"
is "$(ctl mon -j policy show | jq -r '.[0].mode')" monitor "policy show -j: \"mode\": \"monitor\""

send enf 2602 bob@example.net
grep -q "^<\*\* 421 4.7.4 gw.example.net TLS is required, but was not offered by host 203.0.113.26" \
	"$TG_WORK/enf.swaks"
ok $? "the same rule without mode=monitor: 421 4.7.4, as before"
is "$(stored bob@example.net)" 0 "... and the MX got nothing"
is "$(would enf outbound)" 0 "... and nothing counted as would-refuse"

# 1b. verify toward an MX whose certificate names another host: delivered over that TLS,
#     unverified (as may), the 421 4.7.5 it would have been logged
tg_fake_mx named 203.0.113.28 ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key"
printf '203.0.113.28\tverify mode=monitor\n' > "$TG_WORK/ver.policy"
tg_gw ver 2605 -o outbound_forward=203.0.113.28:25 -o outbound_forward_host=mx3.example.net \
	-o "outbound_policy=$TG_WORK/ver.policy"
send ver 2605 mia@example.net
ok $? "verify mode=monitor, certificate for another name: delivered"
grep -q "RCPT TO:<mia@example.net>" "$TG_WORK/named/commands.log"
ok $? "the MX took it"
tg_gw_log ver | grep -q "would have been refused (monitor): 421 4.7.5 Server certificate not verified: host mx3.example.net\[203.0.113.28\]:25 (server certificate not verified: .*) (rule=[0-9]* key=203.0.113.28 level=verify mode=monitor)"
ok $? "logged with the 421 4.7.5's words and why" || diag "$(grep -i monitor "$TG_WORK/ver.log")"
tg_gw_log ver | grep -q "TLS connection established to mx3.example.net\[203.0.113.28\]:25: TLSv1.3 .* level=may"
ok $? "the session went on over that TLS at level may"

# 2. the whole table in monitor mode (outbound_policy_mode = monitor)
send tab 2603 carol@example.net
ok $? "outbound_policy_mode = monitor: the enforced-looking rule delivers"
is "$(stored carol@example.net)" 1 "the MX took it"
tg_gw_log tab | grep -q "would have been refused (monitor): 421 4.7.4 TLS is required, but was not offered .*mode=monitor from outbound_policy_mode)"
ok $? "logged, naming the table's mode as the reason"
ctl tab policy show | grep -q "^203.0.113.26 encrypt	# id [0-9]* outbound .* mode=monitor (the table's \*_policy_mode)"
ok $? "policy show says the table's mode applies" || diag "$(ctl tab policy show)"

# 3. recipients: a domain rule in monitor, its exception, a defer entry in monitor, an
#    enforced domain -- on a plaintext leg (the address itself is may)
cat > "$TG_WORK/rcpt.policy" <<EOP
.gov.example		encrypt mode=monitor
legacy.dept.gov.example	may
deferred.example	encrypt tafile=/nonexistent mode=monitor
secure.example		encrypt
EOP
tg_gw rcpt 2604 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/rcpt.policy"
send rcpt 2604 dave@dept.gov.example
ok $? "RCPT to .gov.example (encrypt mode=monitor) on a plaintext leg: delivered"
tg_gw_log rcpt | grep -q "would have been refused (monitor): rcpt=<dave@dept.gov.example> 450 4.7.4 TLS required for dept.gov.example (the session to .* is plaintext) (rule=[0-9]* key=.gov.example level=encrypt mode=monitor)"
ok $? "logged with the 450's words" || diag "$(grep -i monitor "$TG_WORK/rcpt.log")"
send rcpt 2604 erin@legacy.dept.gov.example
ok $? "the exception (legacy.dept.gov.example may) is delivered"
! tg_gw_log rcpt | grep -q "would have been refused.*legacy.dept.gov.example"
ok $? "... and is no would-be refusal: the more specific entry wins"
send rcpt 2604 frank@deferred.example
ok $? "a refused entry (tafile=) in monitor: delivered, not deferred"
tg_gw_log rcpt | grep -q "would have been refused (monitor): rcpt=<frank@deferred.example> 450 4.7.5 TLS policy for deferred.example cannot be honoured"
ok $? "logged with the defer's 450 4.7.5"
send rcpt 2604 gina@secure.example
grep -q "^<\*\* 450 4.7.4 TLS required for secure.example" "$TG_WORK/rcpt.swaks"
ok $? "an enforced domain on the same gateway: 450 4.7.4"
is "$(would rcpt outbound)" 2 "two would-be refusals counted"
is "$(stored gina@secure.example)" 0 "nothing of the refused recipient reached the MX"

# 4. the workflow: after the week in monitor, tlsgatectl makes the rule enforce
ctl rcpt policy del .gov.example > /dev/null &&
	ctl rcpt policy add .gov.example encrypt > /dev/null
ok $? "tlsgatectl policy del + add: .gov.example encrypt (enforce)"
grep -qx ".gov.example encrypt" "$TG_WORK/rcpt.policy"
ok $? "the table file now says enforce"
send rcpt 2604 henry@dept.gov.example
grep -q "^<\*\* 450 4.7.4 TLS required for dept.gov.example" "$TG_WORK/rcpt.swaks"
ok $? "the same mail is now refused: 450 4.7.4"
send rcpt 2604 ivy@legacy.dept.gov.example
ok $? "the exception still delivers"

# 5. inbound: a sender that must use TLS, in monitor mode (rule, then the whole table)
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok
cat > "$TG_WORK/in.policy" <<EOP
203.0.113.25	encrypt mode=monitor
203.0.113.27	encrypt
EOP
tg_gw_inbound in 25 192.0.2.20:25 -o "inbound_policy=$TG_WORK/in.policy"
swaks_out() { # SOURCE ARGS...
	local src=$1
	shift
	ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface "$src" "$@"
}
swaks_out 203.0.113.25 --from s@example.com --to jack@example.net > "$TG_WORK/in1" 2>&1
ok $? "inbound: a plaintext sender whose rule is encrypt mode=monitor is accepted"
grep -q "RCPT TO:<jack@example.net>" "$TG_WORK/inside/commands.log"
ok $? "... and relayed inside"
tg_gw_log in | grep -q "would have been refused (monitor): 530 5.7.0 Must issue a STARTTLS command first (client=203.0.113.25:[0-9]* sender=<s@example.com>) (rule=[0-9]* key=203.0.113.25 level=encrypt mode=monitor)"
ok $? "logged with the 530's words" || diag "$(grep -i monitor "$TG_WORK/in.log")"
is "$(would in inbound)" 1 "counted: policy_would_refuse{direction=inbound} 1"
swaks_out 203.0.113.27 --from s@example.com --to kate@example.net > "$TG_WORK/in2" 2>&1
grep -q "^<\*\* 530 5.7.0 Must issue a STARTTLS command first" "$TG_WORK/in2"
ok $? "the enforced inbound rule still refuses with 530"
tg_gw_inbound intab 2525 192.0.2.20:25 -o "inbound_policy=$TG_WORK/in.policy" \
	-o inbound_policy_mode=monitor
swaks_out 203.0.113.27 --port 2525 --from s@example.com --to liam@example.net \
	> "$TG_WORK/in3" 2>&1
ok $? "inbound_policy_mode = monitor: that sender is accepted too"
is "$(would intab inbound)" 1 "... and counted"

# the packaged example for UK public-sector domains: loads, every rule but its exception monitors
uk=$(cd "$(dirname "$0")/../.." && pwd)/packaging/tls_policy.uk-public-sector
out=$("$TG_CTL" policy check "$uk" 2>&1)
is "$?/$out" "0/$uk: 13 rules (12 in monitor mode), no errors, 0 warnings" \
	"tlsgatectl policy check packaging/tls_policy.uk-public-sector"
"$TG_CTL" -j policy check "$uk" | jq -e '.monitor_rules == 12 and .errors == 0' > /dev/null
ok $? "policy check -j: monitor_rules 12"

# the configuration keys refuse what they do not know
timeout 20 ip netns exec "$NS_GW" "$TG_DAEMON" -f -o outbound_policy_mode=sometimes \
	> "$TG_WORK/bad" 2>&1
[ $? = 1 ] && grep -q "bad value for outbound_policy_mode: 'sometimes'" "$TG_WORK/bad"
ok $? "outbound_policy_mode = sometimes: a configuration error" || diag "$(cat "$TG_WORK/bad")"

tap_done
