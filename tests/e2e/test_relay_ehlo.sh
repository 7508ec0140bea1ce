#!/bin/bash
# e2e, how tlsgated identifies itself to the next hop (issue 12 items 9 and 11):
# - the client's EHLO/HELO is answered from the next hop's own (post-STARTTLS) EHLO reply and
#   never sent up as one more EHLO: a next hop that refuses a second EHLO (OpenSMTPD:
#   "503 5.5.1 Invalid command: Already identified", also after RSET) still takes the mail;
#   the client may say EHLO again, or HELO, and STARTTLS inbound;
# - a STARTTLS refused with 454 under "encrypt": the MX gets a QUIT before the close.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
cert=(--cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key")
printf '203.0.113.26 encrypt\n203.0.113.27 may\n203.0.113.28 encrypt\n' > "$TG_WORK/policy"

# Wait (bounded) until the fake MX NAME has logged a line matching RE: it logs as it reads.
mx_logged() { # NAME RE
	local i
	for ((i = 0; i < 50; i++)); do
		grep -qE "$2" "$TG_WORK/$1/commands.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- item 11: 454 to STARTTLS under encrypt -> 421 to the client, QUIT to the MX
tg_fake_mx no454 203.0.113.26 starttls-454 "${cert[@]}"
tg_gw g454 2611 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"
tg_smtp 2611 > "$TG_WORK/454.out" <<EOS
expect 421
EOS
ok $? "STARTTLS refused with 454 under encrypt: the client gets 421"
grep -q "^S: 421 4.7.4 .*TLS is required" "$TG_WORK/454.out"
ok $? "... worded 421 4.7.4 TLS is required"
mx_logged no454 "^C1: QUIT"
ok $? "the MX got a QUIT after its 454 (not a lost connection)"
diag "$(tr '\n' ' ' < "$TG_WORK/no454/commands.log")"

# --- item 9, outbound: a next hop that refuses a second EHLO (as OpenSMTPD), behind STARTTLS
tg_fake_mx once 203.0.113.28 ehlo-once "${cert[@]}"
tg_gw gonce 2612 -o outbound_forward=203.0.113.28:25 -o "outbound_policy=$TG_WORK/policy"
tg_smtp 2612 > "$TG_WORK/once.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send RSET\r\n
expect 250
send EHLO client.example.org\r\n
expect 250
send HELO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send Subject: ehlo once\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "client EHLO, EHLO again after RSET, HELO: all 250, the message accepted"
mx_logged once "^C1: QUIT"
is "$(grep -cE "^C1: (EHLO|HELO)" "$TG_WORK/once/commands.log")" 2 \
	"the next hop heard EHLO twice only: ours before and inside TLS"
! grep -q "client.example.org" "$TG_WORK/once/commands.log"
ok $? "the client's EHLO/HELO never went up"
grep -q "^S: 250-PIPELINING" "$TG_WORK/once.out" && ! grep -q "^S: 250.STARTTLS" "$TG_WORK/once.out"
ok $? "the client's EHLO is answered with the next hop's keywords, STARTTLS removed"
grep -q "^S: 250 fake.example.net" "$TG_WORK/once.out"
ok $? "HELO answered with the next hop's name"
! grep -q "^S: 503" "$TG_WORK/once.out"
ok $? "no 503 Already identified reached the client"

# --- item 9, inbound: STARTTLS from the sender, EHLO again inside TLS, answered here
ip -n "$NS_IN" addr add 192.0.2.21/24 dev eth0
TG_FAKE_NS=$NS_IN tg_fake_mx inonce 192.0.2.21 ehlo-once
tg_gw_inbound gin 25 192.0.2.21:25
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/in.out" <<EOS
expect 220
send EHLO sender.example.com\r\n
expect 250
send STARTTLS\r\n
expect 220
starttls
send EHLO sender.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send Subject: inbound ehlo once\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "inbound: EHLO, STARTTLS, EHLO inside TLS, a message: all accepted"
mx_logged inonce "^C1: QUIT"
is "$(grep -cE "^C1: (EHLO|HELO)" "$TG_WORK/inonce/commands.log")" 1 \
	"inbound: the next hop heard one EHLO (ours)"
awk '/^# TLS /{t=1} t' "$TG_WORK/in.out" | grep -q "STARTTLS"
ok $((!$?)) "inbound: STARTTLS offered before TLS, not inside it"
grep -q "^S: 250.STARTTLS" "$TG_WORK/in.out"
ok $? "inbound: STARTTLS offered in the answer to the first EHLO"

tap_done
