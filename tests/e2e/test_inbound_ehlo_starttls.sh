#!/bin/bash
# e2e, inbound: the inside MTA offers STARTTLS for itself.  tlsgated drops the inside MTA's
# STARTTLS and offers its own: the sender must see STARTTLS exactly once, and it must be
# tlsgated that answers it.  (Before abf277e the keyword was dropped and ours was not added,
# because the inside MTA's reply "had" it: senders saw no STARTTLS and sent in plaintext.)
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key"
tg_gw_inbound gw 25 192.0.2.20:25

ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 --timeout 10 \
	> "$TG_WORK/client.out" <<EOS
expect 220
send EHLO sender.example\r\n
expect 250
send STARTTLS\r\n
expect 220
starttls
send EHLO sender.example\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "EHLO, STARTTLS (220), TLS, EHLO, QUIT"
n=$(grep -c "^S: 250.STARTTLS" "$TG_WORK/client.out")
is "$n" 1 "STARTTLS is offered once, before TLS only"
grep -q "^S: 220 2.0.0 Ready to start TLS" "$TG_WORK/client.out"
ok $? "and answered by tlsgated"
! grep -q "^C1: STARTTLS" "$TG_WORK/inside/commands.log"
ok $? "the inside MTA never saw the sender's STARTTLS"

tap_done
