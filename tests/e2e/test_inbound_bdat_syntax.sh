#!/bin/bash
# e2e, attacker: a sender from outside hides commands in a BDAT chunk whose size the next hop
# does not accept ("BDAT 25LAST": one word to it, not a number).  The next hop refuses that
# command and would read the chunk as commands that never passed tlsgated's checks (here an
# XCLIENT, which tlsgated refuses from outside).  tlsgated must refuse the BDAT itself, and the
# inside must never see the chunk.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok
tg_gw_inbound gw 25 192.0.2.20:25

chunk='XCLIENT ADDR=192.0.2.99\r\n' # 25 bytes
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 --timeout 10 \
	> "$TG_WORK/client.out" <<EOS
expect 220
send EHLO attacker.example\r\n
expect 250
send MAIL FROM:<a@attacker.example>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send BDAT 25LAST\r\n$chunk
expect 554
readall
EOS
ok $? "BDAT 25LAST is refused by tlsgated (554) and the session ends"
grep -q "^S: 554 5.5.4 Syntax: BDAT chunk-size \[LAST\]" "$TG_WORK/client.out"
ok $? "with the syntax in the reply"
! grep -qi "XCLIENT" "$TG_WORK/inside/commands.log"
ok $? "the chunk never reached the inside as a command"
! grep -qi "^C1: BDAT" "$TG_WORK/inside/commands.log"
ok $? "nor the BDAT command"
grep -q "^C1: RCPT TO:<alice@example.net>" "$TG_WORK/inside/commands.log"
ok $? "(the session did reach the inside before)"

tap_done
