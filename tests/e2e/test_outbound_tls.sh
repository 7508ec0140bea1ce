#!/bin/bash
# e2e, outbound: inside client -> tlsgated -> a real Postfix MX with STARTTLS.  The message
# bytes the MX stored equal what was sent (one and many recipients, 8-bit, 20 MiB, BDAT), the
# MX's own Received header says the hop was TLS, and tlsgated logs the Postfix-style verdict.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_pki
pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
cat > "$TG_WORK/policy" <<EOP
# by address: the transparent relay knows the destination IP before anything else
203.0.113.25	verify match=mx1.example.net
EOP
tg_gw gw 2525 -o outbound_forward=203.0.113.25:25 -o outbound_forward_host=mx1.example.net \
	-o "outbound_policy=$TG_WORK/policy"

# 1. one message, one recipient
tg_msg "$TG_WORK/m1" 4
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2525 --from sender@example.org \
	--to alice@example.net --data "@$TG_WORK/m1.swaks" > "$TG_WORK/swaks1" 2>&1
ok $? "swaks delivered through tlsgated"
pf_wait_mail mx1 alice@example.net 1 30
ok $? "the MX stored the message"
stored=$(pf_mails mx1 alice@example.net | tail -n 1)
tg_same_message "$TG_WORK/m1" "$stored"
ok $? "stored bytes equal the bytes sent"
grep -q "(using TLSv1.3 with cipher" "$stored"
ok $? "the MX's Received header shows TLS on the tlsgated -> MX hop"
tg_gw_log gw | grep -q "Verified TLS connection established to mx1.example.net\[203.0.113.25\]:25: TLSv1.3 with cipher"
ok $? "tlsgated logs 'Verified TLS connection established to mx1.example.net[203.0.113.25]:25'"
tg_gw_log gw | grep -E "msg=.*from=<sender@example.org> nrcpt=1 .*reply=\"250 " | grep -q 'tls="TLSv1.3'
ok $? "the message log line has from, nrcpt, TLS and the final reply"

# 2. several recipients, 8-bit body
tg_msg "$TG_WORK/m2" 2 "Content-Type: text/plain; charset=utf-8" \
	"Content-Transfer-Encoding: 8bit"
printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, \xe2\x82\xac and a raw \xff byte\r\n' >> "$TG_WORK/m2"
{ cat "$TG_WORK/m2"; printf '.\r\n'; } > "$TG_WORK/m2.swaks"
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2525 --from sender@example.org \
	--to bob@example.net,carol@example.net,dave@example.org --data "@$TG_WORK/m2.swaks" \
	--protocol ESMTP > "$TG_WORK/swaks2" 2>&1
ok $? "three recipients, 8BITMIME body"
all=0
for r in bob@example.net carol@example.net dave@example.org; do
	pf_wait_mail mx1 "$r" 1 30 && tg_same_message "$TG_WORK/m2" "$(pf_mails mx1 "$r" | tail -n 1)" ||
		all=1
done
ok $all "each recipient's copy is byte-identical (8-bit bytes intact)"

# 3. 20 MiB
tg_msg "$TG_WORK/m3" 20480
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2525 --from sender@example.org \
	--to erin@example.net --data "@$TG_WORK/m3.swaks" > "$TG_WORK/swaks3" 2>&1
ok $? "a 20 MiB message went through"
pf_wait_mail mx1 erin@example.net 1 60 && tg_same_message "$TG_WORK/m3" "$(pf_mails mx1 erin@example.net | tail -n 1)"
ok $? "the 20 MiB message is byte-identical at the MX"

# 4. BDAT (CHUNKING): two chunks, the last with LAST
body=$TG_WORK/m4
tg_msg "$body" 3
half=$(( $(stat -c %s "$body") / 2 ))
head -c "$half" "$body" > "$TG_WORK/m4a"
tail -c +$((half + 1)) "$body" > "$TG_WORK/m4b"
tg_smtp 2525 > "$TG_WORK/bdat.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<frank@example.net>\r\n
expect 250
send BDAT $(stat -c %s "$TG_WORK/m4a")\r\n
sendfile $TG_WORK/m4a
expect 250
send BDAT $(stat -c %s "$TG_WORK/m4b") LAST\r\n
sendfile $TG_WORK/m4b
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "BDAT chunks accepted (CHUNKING passed through)"
pf_wait_mail mx1 frank@example.net 1 30 && tg_same_message "$body" "$(pf_mails mx1 frank@example.net | tail -n 1)"
ok $? "the BDAT message is byte-identical at the MX"

# 5. the EHLO the client sees: STARTTLS is the gateway's, the rest is the MX's
tg_smtp 2525 > "$TG_WORK/ehlo.out" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send QUIT\r\n
expect 221
EOS
! grep -q STARTTLS "$TG_WORK/ehlo.out" && grep -q PIPELINING "$TG_WORK/ehlo.out" &&
	grep -q CHUNKING "$TG_WORK/ehlo.out" && grep -q 8BITMIME "$TG_WORK/ehlo.out"
ok $? "EHLO shown to the client: no STARTTLS; PIPELINING, CHUNKING, 8BITMIME kept"
grep -q "^S: 220 mx1.test.example.net ESMTP" "$TG_WORK/ehlo.out"
ok $? "the greeting is the MX's own"

tap_done
