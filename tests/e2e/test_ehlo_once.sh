#!/bin/bash
# e2e: a next hop that takes one EHLO per session, as OpenSMTPD (issue 12, item 9).  tlsgated
# sends its own EHLO (and again inside TLS) and must answer the client's EHLO from that reply,
# never pass it on as another: helper_fake_mx --mode ehlo-once refuses a second EHLO/HELO with
# "503 5.5.1 Invalid command: Already identified".  Outbound plain and TLS, and inbound toward
# the inside next hop; the same against the real OpenSMTPD is in test_interop_opensmtpd.sh.
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
tg_fake_mx plain 203.0.113.26 ehlo-once
tg_fake_mx tls 203.0.113.27 ehlo-once --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key"
tg_fake_mx helo 203.0.113.28 ehlo-once
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ehlo-once
cat > "$TG_WORK/policy" <<EOP
203.0.113.27	verify match=mx1.example.net
EOP
tg_gw gwplain 2525 -o outbound_forward=203.0.113.26:25
tg_gw gwtls 2526 -o outbound_forward=203.0.113.27:25 -o outbound_forward_host=mx1.example.net \
	-o "outbound_policy=$TG_WORK/policy"
tg_gw gwhelo 2527 -o outbound_forward=203.0.113.28:25
tg_gw_inbound gwin 25 192.0.2.20:25

# Per connection the fake MX served, its EHLO/HELO (E) and STARTTLS (S) commands in order.
ehlo_seqs() { # fake-mx name
	awk '{ c = $1; sub(/:$/, "", c) }
		$2 ~ /^(EHLO|HELO|ehlo|helo)$/ { s[c] = s[c] "E" }
		$2 ~ /^(STARTTLS|starttls)$/ { s[c] = s[c] "S" }
		{ if (!(c in seen)) { seen[c] = 1; o[n++] = c } }
		END { for (i = 0; i < n; i++) print o[i] ": " s[o[i]] }' "$TG_WORK/$1/commands.log"
}
# want-seq H: the client says HELO (its reply is not checked), the next hop sees "E" as well
case_() { # fake hops what want-seq swaks-args...  (hops: Received headers before the message)
	local fake=$1 hops=$2 what=$3 want=$4 out=$TG_WORK/swaks.$1 stored words
	shift 4
	"$@" --from sender@example.org --to alice@example.net --data "@$TG_WORK/m.swaks" \
		> "$out" 2>&1
	ok $? "$what: the client's EHLO/HELO is answered and the message delivered" ||
		grep -E "^(<|\*\*\*)" "$out" | sed 's/^/# /'
	! grep -q "Already identified" "$out"
	ok $? "$what: the client never sees the next hop's 503 to a repeated EHLO"
	# (swaks marks what it read inside TLS "<~"; inbound, tlsgated adds STARTTLS last)
	if [ "$want" != H ]; then
		grep -qE "^<[-~]  250-fake\.example\.net$" "$out" &&
			grep -qE "^<[-~]  250-PIPELINING" "$out" &&
			grep -qE "^<[-~]  250[- ]SIZE 104857600" "$out"
		ok $? "$what: the client's EHLO reply is the next hop's (name, PIPELINING, SIZE)"
	fi
	[ "$want" = H ] && want=E
	stored=$(ls "$TG_WORK/$fake"/msg.* 2>/dev/null | head -n 1)
	[ -n "$stored" ] && mta_same_message "$TG_WORK/m" <(tr -d '\r' < "$stored") "$hops"
	ok $? "$what: the next hop stored the message, byte-identical"
	words=$(sed 's/E/EHLO /g; s/S/STARTTLS /g; s/ $//' <<<"$want")
	is "$(ehlo_seqs "$fake" | sed 's/^C[0-9]*: //' | sort -u | tr '\n' ' ')" "$want " \
		"$what: every session at the next hop: $words" ||
		ehlo_seqs "$fake" | sed 's/^/# /'
}

tg_msg "$TG_WORK/m" 2
case_ plain 0 "outbound, plain leg" E \
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2525
case_ tls 0 "outbound, TLS leg" ESE \
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2526
case_ helo 0 "outbound, a client that says HELO" H \
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2527 --protocol SMTP
case_ inside 1 "inbound, TLS sender" E \
	ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --tls
for gw in gwplain gwtls gwhelo gwin; do
	! tg_gw_log "$gw" | grep -qE ' fail .*reason="client disconnected'
	ok $? "tlsgated $gw: no session ended as a client disconnect"
done

tap_done
