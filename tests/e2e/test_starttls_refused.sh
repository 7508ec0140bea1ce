#!/bin/bash
# e2e: an MX that answers STARTTLS with 454 under "encrypt" (issue 12, item 11).  tlsgated
# refuses the client with 421 4.7.4 (in place of the greeting) and, as any SMTP client that ends
# a session should, sends QUIT to the MX before closing: the MX's command log ends with QUIT,
# not with a lost connection.
# Under "may" the session goes on in plaintext on the same connection.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
tg_fake_mx refuse 203.0.113.26 refuse-tls
cat > "$TG_WORK/policy" <<EOP
203.0.113.26	encrypt
EOP
tg_gw enc 2525 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"
tg_gw may 2526 -o outbound_forward=203.0.113.26:25

# the verdict comes before anything else: in place of the greeting
tg_smtp 2525 > "$TG_WORK/enc.out" <<EOS
expect 421
readall
EOS
grep -q "^S: 421 4.7.4 .*TLS is required, but host .*203.0.113.26.* refused to start TLS: 454 " \
	"$TG_WORK/enc.out"
ok $? "encrypt, 454 to STARTTLS: the client gets 421 4.7.4 with the MX's refusal" ||
	sed "s/^/# /" "$TG_WORK/enc.out"
# the fake MX logs QUIT when it reads it, or the end of a connection without one
for ((i = 0; i < 50; i++)); do
	grep -qE "^C1: (QUIT|<closed without QUIT>)$" "$TG_WORK/refuse/commands.log" && break
	sleep 0.1
done
grep "^C1: " "$TG_WORK/refuse/commands.log" > "$TG_WORK/c1"
grep -q "^C1: STARTTLS$" "$TG_WORK/c1"
ok $? "the MX was asked for STARTTLS"
is "$(tail -n 1 "$TG_WORK/c1")" "C1: QUIT" \
	"after the 454 tlsgated sent QUIT (the MX's last command), then closed" ||
	sed 's/^/# /' "$TG_WORK/c1"
! grep -q "^C1: MAIL" "$TG_WORK/c1"
ok $? "nothing of the transaction reached the MX"

# may: the same refusal is no reason to end the session
tg_smtp 2526 > "$TG_WORK/may.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "may, 454 to STARTTLS: the session goes on in plaintext"
is "$(grep "^C2: " "$TG_WORK/refuse/commands.log" | tail -n 1)" "C2: QUIT" \
	"... and ends with the client's QUIT"

tap_done
