#!/bin/bash
# e2e, pipelining (RFC 2920) through tlsgated: replies come back in command order even when some
# are answered by tlsgated itself (450 for a recipient domain that requires TLS on a plaintext
# leg) and the others by the next hop; 1000 pipelined RCPTs all arrive and are all answered.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
printf 'secure.example.org encrypt\n' > "$TG_WORK/policy"
tg_fake_mx mx 203.0.113.26 ok
tg_gw gw 2701 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"

tg_smtp 2701 > "$TG_WORK/mixed.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@secure.example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 450
expect 250
expect 354
send Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n
expect 250
expect 221
EOS
ok $? "one pipelined group: 250 250 450 250 354, in order; then 250 221"
grep -q "^S: 450 4.7.4 TLS required for secure.example.org" "$TG_WORK/mixed.out"
ok $? "the local 450 sits in its place between the next hop's replies"
n=$(grep -c "^C1: RCPT TO:" "$TG_WORK/mx/commands.log")
is "$n" 2 "the next hop got the two allowed RCPTs only"

{
	echo "expect 220"
	echo 'send EHLO client.example.org\r\n'
	echo "expect 250"
	echo 'send MAIL FROM:<sender@example.org>\r\n'
	for i in $(seq 1 1000); do
		printf 'send RCPT TO:<user%d@example.net>\\r\\n\n' "$i"
	done
	echo 'send DATA\r\n'
	echo "expect 250"
	for i in $(seq 1 1000); do echo "expect 250"; done
	echo "expect 354"
	echo 'send Subject: many\r\n\r\nto a thousand\r\n.\r\n'
	echo "expect 250"
	echo 'send QUIT\r\n'
	echo "expect 221"
} > "$TG_WORK/many.script"
tg_smtp 2701 < "$TG_WORK/many.script" > "$TG_WORK/many.out"
ok $? "1000 pipelined RCPTs: 1000 replies of 250, then 354, 250, 221"
n=$(grep -c "^C2: RCPT TO:<user" "$TG_WORK/mx/commands.log")
is "$n" 1000 "the next hop received all 1000 RCPTs"
[ -s "$TG_WORK/mx/msg.2.1" ]
ok $? "and the message"

tap_done
