#!/bin/bash
# e2e, outbound attack (issue 13 item 8): a recipient whose domain requires TLS may not reach a
# next hop over a plaintext leg in any spelling the next hop would route there: spaces and
# comments inside the brackets, source routes, a trailing dot, case, the percent hack, bang
# paths, quoted local parts, no brackets.  What cannot be parsed is refused (501).  The fake MX
# logs every RCPT it receives: none may name the TLS-required domain.
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

tap_done
