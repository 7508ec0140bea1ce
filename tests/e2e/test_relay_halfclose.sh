#!/bin/bash
# e2e, a client that half-closes after a pipelined QUIT (issue 12 item 8): Exim 4.96 sends the
# end of data (or "BDAT n LAST"), QUIT and shuts its write side down in one flight.  The replies
# it is owed (250 queued, 221) must still reach it, or it sends the message again.  Real Postfix
# next hops: outbound over TLS and in plaintext, inbound in plaintext and inside TLS.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
pf_mx mx "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
pf_mx mxplain "$NS_OUT" 203.0.113.26 notls
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
pf_mx inside "$NS_IN" 192.0.2.20 notls
tg_gw gtls 2621 -o outbound_forward=203.0.113.25:25
tg_gw gplain 2622 -o outbound_forward=203.0.113.26:25
tg_gw_inbound gin 25 192.0.2.20:25
tg_msg "$TG_WORK/m" 4


script() { # MODE (data|bdat) RCPT [starttls]
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	if [ "${3:-}" = starttls ]; then
		echo "send STARTTLS\r\n"
		echo "expect 220"
		echo "starttls"
		echo "send EHLO client.example.org\r\n"
		echo "expect 250"
	fi
	echo "send MAIL FROM:<sender@example.org>\r\n"
	echo "expect 250"
	echo "send RCPT TO:<$2>\r\n"
	echo "expect 250"
	if [ "$1" = data ]; then
		echo "send DATA\r\n"
		echo "expect 354"
		echo "sendfile $TG_WORK/m"
		echo "send .\r\nQUIT\r\n"
	else
		echo "send BDAT $(stat -c %s "$TG_WORK/m") LAST\r\n"
		echo "sendfile $TG_WORK/m"
		echo "send QUIT\r\n"
	fi
	echo "shutdown"
	echo "readall"
}

out_client() { tg_smtp "$1" --timeout 20; }
in_client() {
	ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 --timeout 20
}

check() { # TRANSCRIPT WHAT
	grep -qE "^S: 250 .*(queued|Ok)" "$1" && grep -q "^S: 221" "$1"
	ok $? "$2: 250 for the message and 221 after the half-close"
	grep -E "^S: [2-5][0-9][0-9] " "$1" | tail -n 3 | sed 's/^/# /'
}

script data bob@example.net | out_client 2621 > "$TG_WORK/o1" 2>&1
check "$TG_WORK/o1" "outbound over TLS, DATA"
script bdat carol@example.net | out_client 2621 > "$TG_WORK/o2" 2>&1
check "$TG_WORK/o2" "outbound over TLS, BDAT LAST"
script data dave@example.net | out_client 2622 > "$TG_WORK/o3" 2>&1
check "$TG_WORK/o3" "outbound in plaintext, DATA"
script data erin@example.net | in_client > "$TG_WORK/i1" 2>&1
check "$TG_WORK/i1" "inbound in plaintext, DATA"
script bdat frank@example.net starttls | in_client > "$TG_WORK/i2" 2>&1
check "$TG_WORK/i2" "inbound inside TLS, BDAT LAST"

# ... and each message was stored once.
for r in "mx bob" "mx carol" "mxplain dave" "inside erin" "inside frank"; do
	set -- $r
	pf_wait_mail "$1" "$2@example.net" 1 20
	is "$(pf_mails "$1" "$2@example.net" | wc -l)" 1 "$2's message stored once at $1"
done
! grep -q "client disconnected during a transaction" "$TG_WORK"/g*.log
ok $? "no session ended as 'client disconnected during a transaction'"

tap_done
