#!/bin/bash
# e2e, inbound attack (issue 13 item 7): SMTP command smuggling into the inside MTA through BDAT.
# The sender pipelines ~16 KiB of commands (RCPTs: fewer lines than the pending-reply limit, and
# nothing a real MTA counts as junk) so that the gateway's buffer toward the next hop is
# nearly full when "BDAT 5 LAST" arrives: our Received header (a BDAT chunk of its own) must go up
# whole or the command must wait; it may never go up as "BDAT n" without its n bytes, or the next
# hop takes the sender's following bytes as that chunk and runs what the sender hid in its own
# chunk as commands (XCLIENT at a next hop that trusts the gateway).
# Next hops: a fake MX that logs every command line it parses, and a real Postfix (CHUNKING by
# default) that authorises the gateway for XCLIENT.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
# One segment carries the whole attack, so the gateway takes it in one read (what a sender on a
# fast path gets often enough; here every time).
ip -n "$NS_OUT" link set eth0 mtu 65000
ip -n "$NS_GW" link set outside0 mtu 65000
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
ip -n "$NS_IN" addr add 192.0.2.21/24 dev eth0
PF_MAIN_EXTRA="smtpd_authorized_xclient_hosts = 192.0.2.0/24
smtpd_junk_command_limit = 100000" pf_mx inside "$NS_IN" 192.0.2.20 notls
TG_FAKE_NS=$NS_IN tg_fake_mx fake 192.0.2.21 ok --chunking
tg_gw_inbound gwfake 25 192.0.2.21:25
tg_gw_inbound gwpf 2525 192.0.2.20:25

# The attack bytes: commands leaving ROOM bytes of the gateway's 16 KiB buffer toward the next hop,
# a one-byte-short message, then a chunk whose bytes are commands if the next hop is off by the
# length of our (missing) header.
attack() { # FILE ROOM
	python3 - "$1" "$2" <<'EOF'
import sys
room = int(sys.argv[2])
line = b"RCPT TO:<alice@example.net>\r\n"
pad = line * ((16384 - room) // len(line))
smuggled = (b"RSET\r\n" * 120 +
	    b"XCLIENT NAME=smuggled.example ADDR=198.51.100.77\r\n" +
	    b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n" +
	    b"Subject: smuggled\r\n\r\nsmuggled through BDAT\r\n.\r\n")
smuggled += b"NOOP\r\n" * ((2000 - len(smuggled)) // 6)
smuggled += b"x" * (2000 - len(smuggled))
with open(sys.argv[1], "wb") as f:
	f.write(pad + b"BDAT 5 LAST\r\nhello" + b"BDAT 2000 LAST\r\n" + smuggled + b"QUIT\r\n")
EOF
}

client() { # PORT ATTACK_FILE
	ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 "$1" \
		--timeout 10 <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
sendfile $2
readall
EOS
}

# Several fill levels: what reaches the gateway in one read decides where the buffer stands.
for room in 40 100 200; do
	attack "$TG_WORK/attack.$room" "$room"
	client 25 "$TG_WORK/attack.$room" > "$TG_WORK/fake.$room.out" 2>&1
	client 2525 "$TG_WORK/attack.$room" > "$TG_WORK/pf.$room.out" 2>&1
done

# The fake next hop: no smuggled line was ever parsed as a command.
log=$TG_WORK/fake/commands.log
! grep -qE "^C[0-9]+: (XCLIENT|MAIL FROM:<evil)" "$log"
ok $? "fake next hop: nothing of the sender's chunk was taken as a command"
grep -E "^C[0-9]+: (BDAT|XCLIENT|MAIL|RSET|S)" "$log" | grep -v NOOP | head -n 30 |
	sed 's/^/# /'
# every message the fake next hop stored starts with our Received header (also the second,
# pipelined before the first one's reply)
bad=0
for m in "$TG_WORK"/fake/msg.*; do
	[ -e "$m" ] || continue
	head -c 9 "$m" | grep -q "^Received:" || { bad=1; diag "$m: $(head -c 60 "$m")"; }
done
ok $bad "fake next hop: every stored message starts with the gateway's Received header"

# Postfix: nothing smuggled was delivered, XCLIENT never ran; the honest part was.
! pf_mails inside bob@example.net | grep -q .
ok $? "Postfix: the smuggled message was not delivered"
! pf_log inside | grep -q "198.51.100.77\|smuggled.example"
ok $? "Postfix: XCLIENT from inside the sender's chunk never ran"
pf_log inside | grep -E "XCLIENT|improper|warning" | head -n 5 | sed 's/^/# /'
if pf_wait_mail inside alice@example.net 1 10; then
	stored=$(pf_mails inside alice@example.net | head -n 1)
	[[ $(pf_first_received "$stored") =~ by\ gw\.example\.net\ \(tlsgate\) ]]
	ok $? "Postfix: the honest BDAT message arrived with the gateway's Received header first"
else
	# Failing the session instead of relaying is acceptable; silence is not.
	grep -q "fail " "$TG_WORK/gwpf.log"
	ok $? "Postfix: the session was failed rather than desynchronised"
fi

tap_done
