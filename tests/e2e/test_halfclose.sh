#!/bin/bash
# e2e: a client that half-closes after a pipelined QUIT (issue 12, item 8).  Exim 4.96 sends the
# end of data (or BDAT n LAST), QUIT and shutdown(SHUT_WR) in one flight and reads the replies;
# Postfix answers both.  Through tlsgated the client must get the same 250 and 221, on the plain
# leg, the TLS leg and inbound, and the next hop must store exactly one copy (a client that
# misses the 250 retries: a second copy).  The Exim and OpenSMTPD variants are in
# test_interop_exim.sh and test_interop_opensmtpd.sh.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/mta.sh"

tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
pf_mx plain "$NS_OUT" 203.0.113.26 notls
pf_mx inside "$NS_IN" 192.0.2.20 notls
cat > "$TG_WORK/policy" <<EOP
203.0.113.25	verify match=mx1.example.net
EOP
tg_gw tls 2525 -o outbound_forward=203.0.113.25:25 -o outbound_forward_host=mx1.example.net \
	-o "outbound_policy=$TG_WORK/policy"
tg_gw plain 2526 -o outbound_forward=203.0.113.26:25
tg_gw_inbound in 25 192.0.2.20:25

tg_msg "$TG_WORK/m" 3

# What the client is owed: Postfix itself answers both after the half-close.
mta_halfclose "$NS_IN" 203.0.113.26 25 postmaster@example.net "$TG_WORK/m" > "$TG_WORK/direct" 2>&1
ok $? "direct to Postfix: '.' + QUIT + SHUT_WR gets the 250 and the 221"

# One case: NS HOST PORT RCPT plain|tls data|bdat MX-NAME HOPS WHAT
halfclose_case() {
	local ns=$1 host=$2 port=$3 rcpt=$4 tls=$5 mode=$6 mx=$7 hops=$8 what=$9 out
	out="$TG_WORK/hc.${rcpt%@*}"
	mta_halfclose "$ns" "$host" "$port" "$rcpt" "$TG_WORK/m" "$tls" "$mode" > "$out" 2>&1
	ok $? "$what: the client gets the 250 and the 221 after its half-close" ||
		sed 's/^/# /' "$out"
	grep -qE "^S: 250 2\.0\.0 Ok: ([0-9]+ bytes )?queued as" "$out" && grep -q "^S: 221 " "$out"
	# (Postfix says "Ok: N bytes queued as" to BDAT LAST)
	ok $? "$what: ... the MX's own 250 (queued as) and 221, relayed" || sed 's/^/# /' "$out"
	pf_wait_mail "$mx" "$rcpt" 1 5 && mta_same_message "$TG_WORK/m" \
		"$(pf_mails "$mx" "$rcpt" | head -n 1)" "$hops"
	ok $? "$what: stored byte-identical"
	is "$(pf_mails "$mx" "$rcpt" | wc -l)" 1 "$what: exactly one copy stored"
}

halfclose_case "$NS_IN" 192.0.2.1 2526 alice@example.net plain data plain 1 \
	"outbound, plain leg, DATA"
halfclose_case "$NS_IN" 192.0.2.1 2526 bob@example.net plain bdat plain 1 \
	"outbound, plain leg, BDAT LAST"
halfclose_case "$NS_IN" 192.0.2.1 2525 carol@example.net plain data mx1 1 \
	"outbound, TLS leg, DATA"
halfclose_case "$NS_IN" 192.0.2.1 2525 dave@example.net plain bdat mx1 1 \
	"outbound, TLS leg, BDAT LAST"
# inbound: tlsgated's own Received header is the second one to strip
halfclose_case "$NS_OUT" 203.0.113.1 25 erin@example.net plain data inside 2 \
	"inbound, plaintext sender"
halfclose_case "$NS_OUT" 203.0.113.1 25 frank@example.net tls data inside 2 \
	"inbound, TLS sender (close_notify, then SHUT_WR)"

for gw in tls plain in; do
	! tg_gw_log "$gw" | grep -qE ' fail .*reason="client disconnected'
	ok $? "tlsgated $gw never took the half-close for a disconnect"
done

tap_done
