#!/bin/bash
# e2e, outbound attack (issue 13 item 8): a recipient whose domain requires TLS may not reach a
# next hop over a plaintext leg in any spelling the next hop would route there: spaces and
# comments inside the brackets, source routes, a trailing dot, case, the percent hack, bang
# paths, quoted local parts, no brackets.  What cannot be parsed is refused (501).  The fake MX
# logs every RCPT it receives: none may name the TLS-required domain.
# Nothing of the envelope before the verdict (issue 14): the sender is held until a recipient is
# let through, so a transaction whose every recipient is refused leaves no MAIL FROM at the MX;
# an MX's refusal of the held MAIL reaches the client on the recipients.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
printf '203.0.113.27 may\n.secure.example encrypt\nsecure.example encrypt\n203.0.113.99 encrypt\n' \
	> "$TG_WORK/policy"
tg_fake_mx plain 203.0.113.27 ok
tg_gw g 2631 -o outbound_forward=203.0.113.27:25 -o "outbound_policy=$TG_WORK/policy"

# RCPT argument | the code wanted
cases=(
	"<x@a.secure.example>|450"
	"<x@a.secure.example >|450"
	"<x@a.secure.example(c)>|450"
	"<x@(c)a.secure.example>|450"
	"< x@a.secure.example>|450"
	"<@relay.example,@b.example:x@secure.example>|450"
	"<x@secure.example.>|450"
	"<X@A.SECURE.EXAMPLE>|450"
	"<x%secure.example@other.example>|450"
	"<secure.example!x@other.example>|450"
	"<\"x@secure.example\"@other.example>|450"
	"x@a.secure.example|450"
	"<x@secure..example>|501"
	"<x@secure.example(>|501"
	"<x@other.example>|250"
	"<x@[203.0.113.5]>|250"
	"<x@[203.0.113.99]>|450"
	"<x@[IPv6:2001:db8::99]>|250"
)
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<sender@example.org>\r\n"
	echo "expect 250"
	for c in "${cases[@]}"; do
		echo "send RCPT TO:${c%|*}\r\n"
		echo "expect ${c##*|}"
	done
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script"
tg_smtp 2631 < "$TG_WORK/script" > "$TG_WORK/out" 2>&1
ok $? "every spelling of a TLS-required recipient: 450 (501 when unreadable); others 250"
grep "^S: [245][0-9][0-9] " "$TG_WORK/out" | sed 's/^/# /'
grep "^#" "$TG_WORK/out"
! grep -i "^C[0-9]*: RCPT.*secure" "$TG_WORK/plain/commands.log"
ok $? "the plaintext next hop never saw a RCPT for the TLS-required domain"
grep "^C[0-9]*: RCPT" "$TG_WORK/plain/commands.log" | sed 's/^/# MX /'

# ---- the envelope is held: a transaction with only refused recipients never reaches the MX --
n_mail=$(grep -c "^C[0-9]*: MAIL" "$TG_WORK/plain/commands.log")
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<held-secret@example.org>\r\n"
	echo "expect 250"
	echo "send RCPT TO:<a@secure.example>\r\n"
	echo "expect 450"
	echo "send RCPT TO:<b@x.secure.example>\r\n"
	echo "expect 450"
	echo "send DATA\r\n"
	echo "expect 554"
	echo "send MAIL FROM:<second@example.org>\r\n"
	echo "expect 503"
	echo "send RSET\r\n"
	echo "expect 250"
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script2"
tg_smtp 2631 < "$TG_WORK/script2" > "$TG_WORK/out2" 2>&1
ok $? "only refused recipients: MAIL 250 (held), RCPTs 450, DATA 554 no valid recipients"
grep "^#" "$TG_WORK/out2"
! grep -q "held-secret\|second@" "$TG_WORK/plain/commands.log"
ok $? "the MX never saw the sender of a transaction without an accepted recipient"
[ "$(grep -c "^C[0-9]*: MAIL" "$TG_WORK/plain/commands.log")" = "$n_mail" ]
ok $? "no MAIL command at all reached the MX for it"

# ---- held MAIL, pipelined: the sender goes up with the first recipient let through ----------
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<piped@example.org>\r\nRCPT TO:<a@secure.example>\r\nRCPT TO:<ok@other.example>\r\nRCPT TO:<ok2@other.example>\r\nDATA\r\n"
	echo "expect 250"
	echo "expect 450"
	echo "expect 250"
	echo "expect 250"
	echo "expect 354"
	echo "send Subject: held\r\n\r\nbody\r\n.\r\n"
	echo "expect 250"
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script3"
tg_smtp 2631 < "$TG_WORK/script3" > "$TG_WORK/out3" 2>&1
ok $? "pipelined: MAIL 250, TLS-required RCPT 450, the others 250, the message delivered"
grep "^#" "$TG_WORK/out3"
grep -A2 "MAIL FROM:<piped@example.org>" "$TG_WORK/plain/commands.log" | sed 's/^/# MX /'
grep -A1 "MAIL FROM:<piped@example.org>" "$TG_WORK/plain/commands.log" | tail -1 |
	grep -q "RCPT TO:<ok@other.example>"
ok $? "the MX saw MAIL then the first recipient let through, and never the refused one"

# ---- the MX refuses the held MAIL: the client hears it on the recipients ---------------------
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<refuse-me@example.org>\r\n"
	echo "expect 250"
	echo "send RCPT TO:<ok@other.example>\r\n"
	echo "expect 550"
	echo "send RCPT TO:<ok2@other.example>\r\n"
	echo "expect 550"
	echo "send RSET\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<fine@example.org>\r\n"
	echo "expect 250"
	echo "send RCPT TO:<ok@other.example>\r\n"
	echo "expect 250"
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script4"
tg_smtp 2631 < "$TG_WORK/script4" > "$TG_WORK/out4" 2>&1
ok $? "MX refuses the held MAIL: 550 on each of its recipients (not the MX's 503); the next transaction works"
grep "^S: 550" "$TG_WORK/out4" | head -1 | grep -q "Sender refused by this MX"
ok $? "the recipient's reply is the MX's own refusal of the sender"
grep "^#" "$TG_WORK/out4"

tap_done
