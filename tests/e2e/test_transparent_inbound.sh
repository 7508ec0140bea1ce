#!/bin/bash
# e2e, inbound by steering: an external sender connects to the inside MX's own address; eBPF on
# the gateway's outside interface (steer_inbound) hands the connection to tlsgated's inbound
# IP_TRANSPARENT listener, which offers STARTTLS as the server and relays to the address the
# sender dialled (no inbound_next_hop).  Outbound and inbound steered connections must land on
# their own listeners: an inbound one taken by the outbound role would be relayed as a STARTTLS
# client, and the sender would never be offered TLS.  A connection made to the listener itself
# is not steered and, with no next hop configured, gets a 421.
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
tg_pindir steerin
pins=$TG_PINDIR/tlsgate
ip -n "$NS_IN" addr add 192.0.2.25/24 dev eth0
pf_mx inside "$NS_IN" 192.0.2.25 notls
cat > "$TG_WORK/inbound" <<EOP
203.0.113.26	encrypt
EOP
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_DAEMON' --detach -o 'bpf_pin_dir=$pins'"
tg_gw_bpf gw 10026 -o "inbound_listen=127.0.0.1:10026 [::1]:10026" -o steer_inbound=yes \
	-o outside_interfaces=outside0 -o "bpf_pin_dir=$pins" -o resolve=no \
	-o "inbound_cert=$TG_PKI/gw.example.net.crt:$TG_PKI/gw.example.net.key" \
	-o "inbound_policy=$TG_WORK/inbound"
tg_on_exit "tg_report_daemon gw $TG_BG_PID"

swaks_out() { # SOURCE args...: from the internet side
	local src=$1
	shift
	ip netns exec "$NS_OUT" swaks --local-interface "$src" "$@"
}

# 1. a sender with TLS to the inside MX's address: steered, STARTTLS offered by the gateway
tg_msg "$TG_WORK/m1" 3
swaks_out 203.0.113.25 --server 192.0.2.25 --tls --from sender@example.com \
	--to alice@example.net --data "@$TG_WORK/m1.swaks" > "$TG_WORK/s1" 2>&1
ok $? "sender -> 192.0.2.25:25 with STARTTLS delivered"
grep -q "^<-  220 2.0.0 Ready to start TLS" "$TG_WORK/s1"
ok $? "STARTTLS answered although the inside MX has none: tlsgated took the connection"
grep -q "start role=inbound client=203.0.113.25:[0-9]* next_hop=192.0.2.25\[192.0.2.25\]:25" \
	"$TG_WORK/gw.log"
ok $? "inbound role, next hop = the original destination from the steered socket"
pf_wait_mail inside alice@example.net 1 30
stored=$(pf_mails inside alice@example.net | tail -n 1)
pf_strip_delivery "$stored" | tail -n +2 | sed '/^[ \t]/d' |
	cmp -s - <(tr -d '\r' < "$TG_WORK/m1" | sed '/^[ \t]/d')
ok $? "stored byte-identical at the inside MX, below one header"
[[ $(pf_first_received "$stored") =~ \(using\ TLSv1\.3\ .*by\ gw\.example\.net\ \(tlsgate\)\ with\ ESMTPS ]]
ok $? "tlsgate's Received header says TLSv1.3, ESMTPS"

# 2. a sender that must use TLS, in plaintext: 530, nothing reaches the inside
swaks_out 203.0.113.26 --server 192.0.2.25 --from sender@example.com --to bob@example.net \
	> "$TG_WORK/s2" 2>&1
grep -q "^<\*\* 530 5.7.0 Must issue a STARTTLS command first" "$TG_WORK/s2"
ok $? "require-TLS sender steered in plaintext: 530 5.7.0"
is "$(pf_mails inside bob@example.net | wc -l)" 0 "nothing of it reached the inside MX"

# 3. IPv6: steered to the v6 inbound listener
ip -n "$NS_IN" addr add 2001:db8:1::25/64 dev eth0 nodad
pf_mx inside6 "$NS_IN" 2001:db8:1::25 notls
swaks_out 2001:db8:2::25 --server 2001:db8:1::25 --tls --from sender@example.com \
	--to carol@example.net > "$TG_WORK/s3" 2>&1
ok $? "IPv6 sender -> [2001:db8:1::25]:25 with STARTTLS delivered"
pf_wait_mail inside6 carol@example.net 1 30
[[ $(pf_first_received "$(pf_mails inside6 carol@example.net | tail -n 1)") =~ ESMTPS ]]
ok $? "... through tlsgated, with TLS"

# 4. straight to the listener (not steered), no inbound_next_hop: 421, nowhere to relay
out=$(ip netns exec "$NS_GW" swaks --server 127.0.0.1:10026 --quit-after CONNECT 2>&1)
[[ $out =~ \<\*\*\ 421\ 4\.3\.5\ .*no\ destination\ \(connection\ was\ not\ steered ]]
ok $? "a connection made to the listener itself gets 421 4.3.5 (no next hop configured)"

# 5. the counters saw the steering
n=$(nsenter --net="/run/netns/$NS_GW" "$TG_CTL" --pin-dir "$pins" -j stats |
	jq -r '.global.flows.steered')
[ "${n:-0}" -ge 3 ]
ok $? "tlsgatectl stats: $n flows steered (3 sessions)"

tap_done
