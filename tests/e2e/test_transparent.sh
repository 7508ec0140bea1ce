#!/bin/bash
# e2e, the product path: inside hosts send to an MX's own address; eBPF on the gateway's inside
# interface steers the connection to tlsgated's IP_TRANSPARENT listener, which learns the
# original destination from the accepted socket and applies that destination's policy.  Then
# fail-closed: with tlsgated killed, the enforcer on the outside interface still drops a
# plaintext MAIL FROM toward an encrypt destination (the MX never sees it) while real TLS from
# an excluded host passes; the drop is counted (tlsgatectl stats, daemon down) and logged by the
# restarted daemon.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
tg_pindir steer
pins=$TG_PINDIR/tlsgate
ip -n "$NS_IN" addr add 192.0.2.11/24 dev eth0 # excluded from steering
ip -n "$NS_OUT" addr add 2001:db8:2::26/64 dev eth0 nodad
pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
pf_mx plain "$NS_OUT" 203.0.113.26 notls
tg_fake_mx v6 2001:db8:2::26 ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key"
cat > "$TG_WORK/policy" <<EOP
203.0.113.25	verify match=mx1.example.net
203.0.113.26	encrypt
2001:db8:2::26	encrypt
EOP
gw_opts=(-o "outbound_listen=127.0.0.1:10025 [::1]:10025" -o outbound_transparent=yes
	-o inside_interfaces=inside0 -o outside_interfaces=outside0 -o "bpf_pin_dir=$pins"
	-o steer_exclude=192.0.2.11/32 -o "outbound_policy=$TG_WORK/policy" -o resolve=no)
gwns() { # the machine's bpffs stays visible (see tg_gw_bpf)
	nsenter --net="/run/netns/$NS_GW" "$@"
}
start_gw() {
	tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" "${gw_opts[@]}"
	gwpid=$TG_BG_PID
}
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_DAEMON' --detach -o 'bpf_pin_dir=$pins'"
start_gw
stats() {
	gwns "$TG_CTL" --pin-dir "$pins" -j stats | jq -r "$1"
}

# 1. steered, IPv4: the client talks to the MX's address, tlsgated relays with TLS
tg_msg "$TG_WORK/m1" 4
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --from sender@example.org \
	--to alice@example.net --data "@$TG_WORK/m1.swaks" > "$TG_WORK/s1" 2>&1
ok $? "inside client -> 203.0.113.25:25 delivered"
grep -q "session=.* start role=outbound client=192.0.2.10:[0-9]* dest=203.0.113.25\[203.0.113.25\]:25 rule=[0-9]* key=203.0.113.25 how=address level=verify" "$TG_WORK/gw.log"
ok $? "tlsgated got it by steering, with the original destination from the socket"
pf_wait_mail mx1 alice@example.net 1 30 &&
	tg_same_message "$TG_WORK/m1" "$(pf_mails mx1 alice@example.net | tail -n 1)"
ok $? "stored byte-identical at the MX"
grep -q "from .* (unknown \[203.0.113.1\])" "$(pf_mails mx1 alice@example.net | tail -n 1)" &&
	grep -q "using TLSv1.3" "$(pf_mails mx1 alice@example.net | tail -n 1)"
ok $? "the MX saw the gateway (203.0.113.1) with TLS, not the inside client in plaintext"
is "$(stats '.global.flows.steered')" 1 "one flow steered (tlsgatectl stats)"

# 2. steered, IPv6
ip netns exec "$NS_IN" swaks --server 2001:db8:2::26 --from sender@example.org \
	--to bob@example.net > "$TG_WORK/s2" 2>&1
ok $? "inside client -> [2001:db8:2::26]:25 delivered"
grep -q "dest=2001:db8:2::26\[2001:db8:2::26\]:25 .*level=encrypt" "$TG_WORK/gw.log" &&
	[ -s "$TG_WORK/v6/msg.1.1" ]
ok $? "IPv6 steered, original destination kept, delivered over TLS"

# 3. encrypt destination without STARTTLS: 421 to the client, nothing to the MX
ip netns exec "$NS_IN" swaks --server 203.0.113.26 --from sender@example.org \
	--to carol@example.net > "$TG_WORK/s3" 2>&1
grep -q "^<\*\* 421 4.7.4 .*TLS is required, but was not offered by host 203.0.113.26" "$TG_WORK/s3" &&
	[ -z "$(pf_mails plain carol@example.net)" ]
ok $? "encrypt + no STARTTLS through steering: 421 4.7.4, nothing stored"

# 4. an excluded host is not steered: it reaches the MX itself (and must behave as TLS)
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --local-interface 192.0.2.11 --tls \
	--tls-ca-path "$TG_PKI/ca.crt" --from sender@example.org --to dave@example.net \
	> "$TG_WORK/s4" 2>&1
ok $? "excluded host with real TLS: delivered directly"
pf_wait_mail mx1 dave@example.net 1 30 &&
	grep -q "(unknown \[192.0.2.11\])" "$(pf_mails mx1 dave@example.net | tail -n 1)"
ok $? "... the MX saw the excluded host itself"

# 5. fail-closed: the daemon dies, enforcement stays
drops0=$(stats '.global.drops.total')
kill -9 "$gwpid"
wait "$gwpid" 2>/dev/null
ip netns exec "$NS_IN" swaks --server 203.0.113.26 --from sender@example.org \
	--to erin@example.net --timeout 8 > "$TG_WORK/s5" 2>&1
st=$?
[ $st != 0 ] && ! grep -q "^<-  250 2.1.0" "$TG_WORK/s5"
ok $? "daemon killed: plaintext MAIL FROM toward the encrypt MX gets no answer (dropped)"
# The MAIL segment became a RST to the MX; the client's retransmission a bare ACK, which the
# MX (no connection any more) answers with a RST: both ends know at once, nobody times out.
grep -q "^\*\*\* Remote host closed connection unexpectedly" "$TG_WORK/s5"
ok $? "... the client's connection was reset, not left to time out"
[ -z "$(ip netns exec "$NS_OUT" ss -Htn state established '( sport = :25 )' dst 192.0.2.10)" ]
ok $? "... and the MX holds no session from it"
! pf_log plain | grep -q "erin@example.net" && [ -z "$(pf_mails plain erin@example.net)" ]
ok $? "the MX never saw the transaction"
[ "$(stats '.global.drops.total')" -gt "$drops0" ] &&
	[ "$(stats '.global.drops."plaintext-mail"')" -ge 1 ]
ok $? "tlsgatectl stats (daemon down): the drop is counted as plaintext-mail"
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --local-interface 192.0.2.11 --tls \
	--tls-ca-path "$TG_PKI/ca.crt" --from sender@example.org --to frank@example.net \
	> "$TG_WORK/s6" 2>&1
ok $? "daemon killed: a real TLS session from the excluded host still passes"
pf_wait_mail mx1 frank@example.net 1 30
ok $? "... and is delivered"

# 6. the restarted daemon logs what was dropped while it was down, and steers again
start_gw
grep -q "enforce drop .*reason=plaintext-mail" "$TG_WORK/gw.log"
ok $? "after restart tlsgated logs the drop event written while it was down"
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --from sender@example.org \
	--to bob@example.net > "$TG_WORK/s7" 2>&1
ok $? "steering again after the restart"
is "$(stats '.global.flows.steered')" 4 "stats kept across the restart: 4 flows steered in all (3 before, 1 after)"

tap_done
