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

tap_done
