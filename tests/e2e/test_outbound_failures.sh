#!/bin/bash
# e2e, outbound failure handling with a deliberately misbehaving MX and client: a next hop that
# drops mid-DATA, injects plaintext after its 220 to STARTTLS, or answers STARTTLS with garbage;
# a client that stalls, sends over-long lines, NUL bytes or bare LF.  Every failure becomes a 4xx
# (nothing lost), nothing injected is relayed, bare LF reaches the next hop as CRLF.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
cert=(--cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key")
printf '203.0.113.28 encrypt\n203.0.113.29 may\n203.0.113.30 encrypt\n' > "$TG_WORK/policy"

# --- a next hop that drops the connection in the middle of DATA
tg_fake_mx drop 203.0.113.26 drop-mid-data
tg_gw g1 2601 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"
tg_msg "$TG_WORK/big" 64
tg_smtp 2601 > "$TG_WORK/drop.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/big
send .\r\n
expect 4xx
EOS
ok $? "next hop drops mid-DATA: the client gets a 4xx, not a 250"
grep -q "^S: 421 4.4.2 gw.example.net Error: connection lost during the message" "$TG_WORK/drop.out" ||
	grep -q "^S: 421 4.4.2 gw.example.net Error: next hop" "$TG_WORK/drop.out"
ok $? "the 4xx says the next hop connection was lost"

# --- plaintext injected after the MX's 220 to STARTTLS is discarded
tg_fake_mx inject 203.0.113.28 inject "${cert[@]}"
tg_gw g2 2602 -o outbound_forward=203.0.113.28:25 -o "outbound_policy=$TG_WORK/policy"
tg_smtp 2602 > "$TG_WORK/inject.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send Subject: injection test\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "MX injecting plaintext after its 220: the session works, every reply in step"
! grep -q "injected" "$TG_WORK/inject.out"
ok $? "the injected '250 injected' never reached the client"
tg_gw_log g2 | grep -q "discarded 14 plaintext bytes .* sent after its 220 to STARTTLS"
ok $? "tlsgated logs the discarded bytes"
[ -s "$TG_WORK/inject/msg.1.1" ]
ok $? "the message was delivered inside TLS"

# --- STARTTLS answered with garbage: may falls back to plaintext, encrypt refuses
tg_fake_mx garbage 203.0.113.29 tls-garbage "${cert[@]}"
tg_gw g3 2603 -o outbound_forward=203.0.113.29:25 -o "outbound_policy=$TG_WORK/policy"
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2603 --from sender@example.org \
	--to alice@example.net > "$TG_WORK/garbage.out" 2>&1
ok $? "may + failed handshake: delivered on a fresh plaintext connection"
tg_gw_log g3 | grep -q "level=may: retrying without TLS"
ok $? "tlsgated logs the fallback"
[ -s "$TG_WORK/garbage/msg.2.1" ]
ok $? "the message went over the second (plaintext) connection"

tg_fake_mx garbage2 203.0.113.30 tls-garbage "${cert[@]}"
tg_gw g4 2604 -o outbound_forward=203.0.113.30:25 -o "outbound_policy=$TG_WORK/policy"
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2604 --from sender@example.org \
	--to alice@example.net > "$TG_WORK/garbage2.out" 2>&1
grep -q "^<\*\* 421 4.7.5 gw.example.net Cannot start TLS: handshake failure" "$TG_WORK/garbage2.out"
ok $? "encrypt + failed handshake: 421 4.7.5 Cannot start TLS"
! ls "$TG_WORK/garbage2"/msg.* >/dev/null 2>&1
ok $? "nothing was delivered"

# --- a next hop that stops reading in the middle of DATA: after data_xfer_timeout the client
# gets a 4xx, and the log names the side tlsgated waited for (the next hop, not the client)
tg_fake_mx stall 203.0.113.31 stall-data
tg_gw g6 2606 -o outbound_forward=203.0.113.31:25 -o data_xfer_timeout=2s
# more than the socket buffers between tlsgated and the MX hold, so tlsgated's writes block
tg_msg "$TG_WORK/huge" 24576
tg_smtp 2606 --timeout 30 > "$TG_WORK/stall-mx.out" 2>&1 <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/huge
send .\r\n
expect 4xx
EOS
ok $? "next hop stalls mid-DATA: the client gets a 4xx after data_xfer_timeout"
tg_gw_log g6 | grep -q "timeout state=data waiting for 203.0.113.31\[203.0.113.31\]:25" &&
	grep -q "^S: 421 4.4.2 gw.example.net Error: timeout waiting for the next hop" \
		"$TG_WORK/stall-mx.out"
ok $? "the timeout is logged (and answered) as waiting for the next hop, not for the client"

# --- client misbehaviour, against a well-behaved fake MX
tg_fake_mx good 203.0.113.27 ok
tg_gw g5 2605 -o outbound_forward=203.0.113.27:25 -o "outbound_policy=$TG_WORK/policy" \
	-o server_timeout=2s
long=$(head -c 3000 /dev/zero | tr '\0' 'A')
tg_smtp 2605 > "$TG_WORK/bad.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send NOOP $long\r\n
expect 500
send NOOP\r\n
expect 250
send MAIL FROM:<a\0b@example.org>\r\n
expect 500
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<alice@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n
expect 250
EOS
ok $? "over-long line -> 500 and the session goes on; NUL in a command -> 500; bare LF accepted"
printf 'Subject: bare lf\r\n\r\nline one\r\nline two\r\n' | cmp -s - "$TG_WORK/good/msg.1.1"
ok $? "the bare LF reached the next hop as CRLF"

# the smuggling shape: "\n.\n" ends the data here, so what follows is a command, for us and
# for the next hop alike
tg_smtp 2605 > "$TG_WORK/smuggle.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
send Subject: one\r\n\r\nfirst\r\n\n.\nMAIL FROM:<smuggled@example.org>\r\n
expect 250
expect 250
send RCPT TO:<bob@example.net>\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "'\\n.\\n' ends the message; the following MAIL is answered as a command"
grep -A1 "^C2: MAIL FROM:<smuggled@example.org>$" "$TG_WORK/good/commands.log" |
	grep -q "^C2: RCPT TO:<bob@example.net>$" &&
	printf 'Subject: one\r\n\r\nfirst\r\n\r\n' | cmp -s - "$TG_WORK/good/msg.2.1"
ok $? "the next hop saw the same: message ended, then a MAIL command"

# a client that stalls gets the RFC 5321 timeout as a 421
start=$SECONDS
tg_smtp 2605 --timeout 20 > "$TG_WORK/stall.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
expect 421
EOS
ok $? "a stalled client gets 421 after server_timeout"
grep -q "^S: 421 4.4.2 gw.example.net Error: timeout exceeded" "$TG_WORK/stall.out" &&
	[ $((SECONDS - start)) -lt 15 ]
ok $? "the 421 says 'timeout exceeded' and came after ~2s, not the default 300s"

# --- a TLS next hop that answers QUIT with 221 and closes without close_notify: what it said
# before the close was authenticated, so the client hears the 221, not a 421
tg_fake_mx abrupt 203.0.113.32 quit-abrupt "${cert[@]}"
# the client's QUIT must reach the MX: with reuse tlsgated answers it and keeps the connection
TG_OUTBOUND_REUSE=no tg_gw g7 2607 -o outbound_forward=203.0.113.32:25
tg_smtp 2607 > "$TG_WORK/abrupt.out" 2>&1 <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
send Subject: abrupt\r\n\r\nbye\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "next hop closes without close_notify after its 221: the client gets the 221"
grep "^#\|^S: [45]" "$TG_WORK/abrupt.out" | sed 's/^/# /'
tg_gw_log g7 | grep -q "TLS connection established to" &&
	tg_gw_log g7 | grep -q "session=.* end .*messages=1 .*reason=\"quit\""
ok $? "the leg was TLS and the session ended with the MX's 221"

tap_done
