#!/bin/bash
# e2e, the posture store: real traffic through tlsgated to three destinations -- a Postfix MX
# with a certificate from the trusted CA for its name, a Postfix MX with a self-signed one, a
# fake MX without STARTTLS -- plus a recipient refused by the gateway and inbound senders with
# and without TLS.  `tlsgatectl report -j` counts exactly what was sent, for every column; the
# verdicts are right; --suggest's lines pass `tlsgatectl policy check`; the counts survive the
# restarts between the phases (each phase forwards to another MX) and one more at the end.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/posture.sh"

command -v jq > /dev/null || { echo "1..0 # SKIP jq not installed (make deps)"; exit 77; }

tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
# a self-signed certificate for mx2.example.com (no CA the gateway trusts)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=mx2.example.com" -addext "subjectAltName=DNS:mx2.example.com" \
	-keyout "$TG_PKI/mx2self.key" -out "$TG_PKI/mx2self.crt" 2> /dev/null || bail "self-signed"
PF_DOMAINS="example.net" pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
PF_DOMAINS="example.com" pf_mx mx2 "$NS_OUT" 203.0.113.26 tls "$TG_PKI/mx2self"
tg_fake_mx plain 203.0.113.27 ok
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok
cat > "$TG_WORK/outbound" <<EOP
required.example	encrypt
EOP
cat > "$TG_WORK/inbound" <<EOP
must-tls.example	encrypt
EOP
state=$TG_POSTURE_STATE
ctl() {
	"$TG_CTL" report --state-dir "$state" "$@"
}
start() { tg_posture_start "$@"; }
stop() { tg_posture_stop; }
send() { tg_posture_send "$@"; }
# Counters of a domain, zeros and the parts compared elsewhere left out, sorted.
SPARSE='def sp: if type == "object" then (map_values(sp) | with_entries(select(.value != 0 and .value != {}))) else . end;'
counts() { # outbound|inbound domain
	ctl -j | jq -S -c "$SPARSE .$1[] | select(.domain == \"$2\") |
		del(.domain, .hosts, .verdict, .versions, .ciphers, .ktls) | sp"
}
field() { # jq path in the domain's object
	ctl -j | jq -r ".$1[] | select(.domain == \"$2\") | $3"
}

# ---- phase 1: the CA-signed MX, by name ------------------------------------------------------
start 203.0.113.25 mx1.example.net
send sender@example.org alice@example.net
ok $? "delivered to alice@example.net (mx1, CA-signed)"
send sender@example.org bob@example.net,carol@example.net
ok $? "one message, two recipients to mx1"
pf_wait_mail mx1 carol@example.net 1 30
stop
[ -s "$state/posture/$(date -u +%F).posture" ]
ok $? "today's posture file written at shutdown"
is "$(counts outbound example.net)" \
	'{"cert":{"verified":2},"delivered":2,"messages":2,"recipients":3,"sessions":2,"starttls_offered":2,"tls":2,"tls_messages":2}' \
	"example.net after phase 1: every column"

# ---- phase 2: the self-signed MX; two messages in one session ---------------------------------
start 203.0.113.26 mx2.example.com
send sender@example.org dave@example.com
ok $? "delivered to dave@example.com (mx2, self-signed)"
tg_msg "$TG_WORK/m" 2
tg_smtp 2525 > "$TG_WORK/two.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
send RCPT TO:<erin@example.com>\r\n
send DATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/m.swaks
expect 250
send MAIL FROM:<sender@example.org>\r\n
send RCPT TO:<frank@example.com>\r\n
send DATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/m.swaks
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "two messages in one session to mx2"
pf_wait_mail mx2 frank@example.com 1 30
stop
grep -q "posture: $state/posture, 30 days kept" "$TG_WORK/gw.log"
ok $? "the sink was open (its log line; read once the daemon stopped: it comes after the listeners)"
is "$(counts outbound example.com)" \
	'{"cert":{"self_signed":2},"delivered":3,"messages":3,"recipients":3,"sessions":2,"starttls_offered":2,"tls":2,"tls_messages":3}' \
	"example.com: two sessions, three messages, self-signed"
is "$(counts outbound example.net)" \
	'{"cert":{"verified":2},"delivered":2,"messages":2,"recipients":3,"sessions":2,"starttls_offered":2,"tls":2,"tls_messages":2}' \
	"example.net still counted after a restart"

# ---- phase 3: no STARTTLS; a recipient the gateway refuses; inbound ---------------------------
start 203.0.113.27
send sender@example.org user@example.org
ok $? "delivered in plaintext to the fake MX"
send sender@example.org a@example.org,b@required.example
grep -q "450 4.7.4 TLS required for required.example" "$TG_WORK/swaks.out"
ok $? "the encrypt domain's recipient refused on the plaintext leg (450 4.7.4)"
swaks_out() { tg_posture_send_in "$@"; }
swaks_out --tls --from x@tls-sender.example --to in1@example.net
ok $? "inbound with TLS"
swaks_out --from y@plain-sender.example --to in2@example.net
ok $? "inbound in plaintext"
swaks_out --from z@must-tls.example --to in3@example.net
grep -q "^<\*\* 530" "$TG_WORK/swaks.in"
ok $? "inbound sender that must use TLS: 530"
stop
is "$(counts outbound example.org)" \
	'{"cert":{"none":2},"delivered":2,"messages":2,"recipients":2,"sessions":2}' \
	"example.org: two plaintext sessions (no STARTTLS offered)"
is "$(counts outbound required.example)" \
	'{"cert":{"none":1},"refused":{"recipients":1,"starttls-not-supported":1,"total":1},"sessions":1}' \
	"required.example: one recipient refused, starttls-not-supported"
is "$(counts inbound tls-sender.example)" \
	'{"cert":{"none":1},"delivered":1,"messages":1,"recipients":1,"sessions":1,"starttls_offered":1,"tls":1,"tls_messages":1}' \
	"inbound tls-sender.example: one TLS message"
is "$(counts inbound plain-sender.example)" \
	'{"cert":{"none":1},"delivered":1,"messages":1,"recipients":1,"sessions":1,"starttls_offered":1}' \
	"inbound plain-sender.example: one plaintext message (STARTTLS was offered)"
is "$(counts inbound must-tls.example)" \
	'{"cert":{"none":1},"refused":{"starttls-not-supported":1,"total":1},"sessions":1,"starttls_offered":1}' \
	"inbound must-tls.example: refused once"
is "$(field outbound example.org '.hosts[0].host')" "203.0.113.27" \
	"no MX name known: the host is the address"

# TLS versions, ciphers and kTLS as tlsgated logged them for each MX: a line per session, whether
# it made the connection ("established") or took a kept one ("reused", outbound_connection_reuse)
for mx in mx1.example.net mx2.example.com; do
	lines=$(grep -E "TLS connection (established|reused) to $mx" "$TG_WORK/gw.all.log")
	dom=${mx#*.}
	n13=$(grep -c "TLSv1.3 with cipher" <<< "$lines")
	cipher=$(sed -n 's/.* with cipher \([A-Z0-9_-]*\) .*/\1/p' <<< "$lines" | head -n 1)
	ktx=$(grep -c 'ktls="tx=kernel' <<< "$lines")
	krx=$(grep -c 'rx=kernel' <<< "$lines")
	is "$(field outbound "$dom" '.versions["TLSv1.3"]')" "$n13" "$dom: TLS versions as logged"
	is "$(field outbound "$dom" ".ciphers[\"$cipher\"]")" "$n13" "$dom: ciphers as logged"
	is "$(field outbound "$dom" '[.ktls.tx_kernel, .ktls.rx_kernel] | join(" ")')" "$ktx $krx" \
		"$dom: kTLS per direction as logged"
done

# the verdicts
is "$(field outbound example.net '.verdict.can')" verify "example.net could be verify"
is "$(field outbound example.com '.verdict.can')" encrypt "example.com could be encrypt"
field outbound example.com '.verdict.reason' | grep -q "self-signed in 2"
ok $? "... not verify: self-signed"
is "$(field outbound example.org '.verdict.reason')" \
	"no: 2 messages in plaintext (MX did not offer STARTTLS in 2 of 2 sessions)" \
	"example.org: no, and why"
field outbound required.example '.verdict.reason' | grep -q "^no: 1 refused by the gateway already"
ok $? "required.example: no, refused already"
is "$(field inbound tls-sender.example '.verdict.can')" encrypt "inbound tls-sender.example: encrypt"
is "$(field inbound plain-sender.example '.verdict.can')" none "inbound plain-sender.example: none"
is "$(ctl -j | jq -r '[.outbound[].domain] | join(" ")')" \
	"example.com example.net example.org required.example" "sorted by messages"
is "$(ctl -j | jq -r '.days[-1].outbound.messages')" 7 "today's outbound total: 7 messages"

# the text table and --domain
ctl > "$TG_WORK/report.txt"
grep -E "^example.net +2 +2 +3 +2 +2 +2 +[0-9]+ +0 +verify$" "$TG_WORK/report.txt" > /dev/null
ok $? "text: example.net's row"
grep -q "^example.org .*no: 2 messages in plaintext" "$TG_WORK/report.txt"
ok $? "text: example.org's verdict"
ctl --domain example.com | grep -q "host mx2.example.com: sessions 2 messages 3"
ok $? "--domain: the per-host detail"

# --suggest: lines that pass policy check, for exactly the domains that can move up
ctl --suggest --direction outbound > "$TG_WORK/suggest.out"
is "$(grep -v '^#' "$TG_WORK/suggest.out" | tr '\t' ' ' | sort | tr '\n' ';')" \
	"example.com encrypt;example.net verify;" "--suggest outbound: example.net verify, example.com encrypt"
"$TG_CTL" policy check "$TG_WORK/suggest.out"
ok $? "the outbound suggestion passes tlsgatectl policy check"
ctl --suggest --direction inbound > "$TG_WORK/suggest.in"
is "$(grep -v '^#' "$TG_WORK/suggest.in" | tr '\t' ' ')" "tls-sender.example encrypt" \
	"--suggest inbound: tls-sender.example encrypt"
"$TG_CTL" policy check inbound "$TG_WORK/suggest.in"
ok $? "the inbound suggestion passes tlsgatectl policy check inbound"

# one more restart without traffic: nothing lost, nothing counted twice
before=$(ctl -j | jq -S -c 'del(.window)')
start 203.0.113.25 mx1.example.net
stop
is "$(ctl -j | jq -S -c 'del(.window)')" "$before" "a restart keeps the counts exactly"

# a damaged day is skipped and said
printf 'tlsgate-posture 1\nday 2000-01-01\n' > "$state/posture/$(date -u -d yesterday +%F).posture"
ctl --since 2d -j > /dev/null 2> "$TG_WORK/warn"
grep -q "skipped: " "$TG_WORK/warn"
ok $? "a damaged file is skipped with a warning"

tap_done
