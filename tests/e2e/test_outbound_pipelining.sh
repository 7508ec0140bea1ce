#!/bin/bash
# e2e, pipelining (RFC 2920) through tlsgated: replies come back in command order even when some
# are answered by tlsgated itself (450 for a recipient domain that requires TLS on a plaintext
# leg) and the others by the next hop; 1000 pipelined RCPTs all arrive and are all answered.
# Then the body's end, where a relay reads more than the message: with TLS toward the next hop
# (the pump copies: the host has no kTLS, and tlsgated reads the body into its own buffer
# instead of peeking) a client that follows the end mark with more commands than fit a session
# buffer, in the same write, gets every one answered in order; a body of bare LF lines arrives
# with CRLF, byte for byte; and one byte of body sent with DATA, before the 354, is not left
# waiting.
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

# --- The end of the body, with TLS toward the next hop (the copy path).
tg_fake_mx tlsmx 203.0.113.27 ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key"
printf '203.0.113.27 encrypt\n' > "$TG_WORK/policy.tls"
tg_gw gwtls 2702 -o outbound_forward=203.0.113.27:25 -o "outbound_policy=$TG_WORK/policy.tls"

# 1 MiB of lines ending in a bare LF (some dot-stuffed, some with a CR inside), then the end
# mark and 4000 RSETs (24 000 bytes: more than a session's 16 KiB buffer) and QUIT, as one file.
python3 - "$TG_WORK" <<'PY'
import sys
w = sys.argv[1]
lines = []
i = 0
while sum(len(l) + 1 for l in lines) < (1 << 20):
    lines.append(("..dot %d" if i % 7 == 0 else "line %d a\rb " if i % 5 == 0 else "line %d ")
                 % i + "x" * (i % 90))
    i += 1
body = "Subject: bare lf\n\n" + "\n".join(lines) + "\n"
open(w + "/lf.body", "w", newline="").write(body + ".\r\n" + "RSET\r\n" * 4000 + "QUIT\r\n")
# what the next hop must get: every bare LF as CRLF, the stuffing untouched
open(w + "/lf.want", "w", newline="").write(body.replace("\n", "\r\n"))
PY
{
	echo "expect 220"
	echo 'send EHLO client.example.org\r\n'
	echo "expect 250"
	echo 'send MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n'
	echo "expect 250"
	echo "expect 250"
	echo "expect 354"
	echo "sendfile $TG_WORK/lf.body"
	echo "expect 250"
	for i in $(seq 1 4000); do echo "expect 250"; done
	echo "expect 221"
} > "$TG_WORK/lf.script"
tg_smtp 2702 --timeout 60 < "$TG_WORK/lf.script" > "$TG_WORK/lf.out"
ok $? "TLS next hop: 1 MiB of bare-LF lines, the end mark and 4000 RSETs + QUIT in one go: 250, 4000 x 250, 221"
cmp -s "$TG_WORK/lf.want" "$TG_WORK/tlsmx/msg.1.1"
ok $? "TLS next hop: the message arrived byte for byte, each bare LF as CRLF"
is "$(grep -c '^C1: RSET' "$TG_WORK/tlsmx/commands.log")" 4000 "TLS next hop: the next hop got all 4000 RSETs"
grep -q 'ktls="tx=user\|body=copy' "$TG_WORK/gwtls.log"
ok $? "TLS next hop: the body took the copy path (TLS in OpenSSL)"

# One byte of body sent with DATA before the 354 (no client should, one may): it is the body's
# first byte, and the session does not wait for a second one before going on.
tg_smtp 2702 --timeout 10 > "$TG_WORK/early.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\nX
expect 250
expect 250
expect 354
send Y\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "one body byte sent with DATA: 354, then the rest, 250, 221"
# the second message at this MX: msg.2.1 on a new connection, msg.1.2 on the one the first
# session left for reuse (the default)
second=$(ls "$TG_WORK"/tlsmx/msg.* | grep -v '/msg\.1\.1$')
printf 'XY\r\n' | cmp -s - "$second"
ok $? "and the next hop got XY ($(basename "$second"))"

tap_done
