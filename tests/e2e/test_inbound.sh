#!/bin/bash
# e2e, inbound: external senders -> tlsgated (STARTTLS server) -> the inside MTA (real Postfix).
# Delivered bytes = sent bytes + exactly one Received header from tlsgate with the right TLS
# clause; senders that must use TLS get 530 before it and nothing reaches the inside; plaintext
# pipelined after STARTTLS is never executed inside TLS; STARTTLS errors as Postfix words them.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
TG_PKI_RSA=1 tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
pf_mx inside "$NS_IN" 192.0.2.20 notls
cat > "$TG_WORK/inbound" <<EOP
# senders that must use TLS (smtpd levels: none, may, encrypt)
203.0.113.26		encrypt
tls-required.example.org	encrypt
EOP
tg_gw_inbound gw 25 192.0.2.20:25 -o "inbound_policy=$TG_WORK/inbound"

swaks_out() { # source-address args... (from the internet side)
	local src=$1
	shift
	ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface "$src" "$@"
}

# 1. TLS 1.3
tg_msg "$TG_WORK/m1" 3
swaks_out 203.0.113.25 --tls --from sender@example.com --to alice@example.net \
	--data "@$TG_WORK/m1.swaks" > "$TG_WORK/s1" 2>&1
ok $? "swaks --tls from outside delivered through tlsgated"
pf_wait_mail inside alice@example.net 1 30
stored=$(pf_mails inside alice@example.net | tail -n 1)
pf_strip_delivery "$stored" | tail -n +2 | sed '/^[ \t]/d' | cmp -s - <(tr -d '\r' < "$TG_WORK/m1" | sed '/^[ \t]/d')
ok $? "delivered bytes = sent bytes + one header"
rcv=$(pf_first_received "$stored")
diag "$rcv"
[[ $rcv =~ ^Received:\ from\ [^\ ]+\ \(unknown\ \[203\.0\.113\.25\]\).*\(using\ TLSv1\.3\ with\ cipher\ TLS_[A-Z0-9_]+\ \([0-9]+/[0-9]+\ bits\)[[:space:]]+key-exchange\ X25519\ server-signature\ ECDSA\ \(prime256v1\)\ server-digest\ SHA256\).*\(No\ client\ certificate\ requested\).*by\ gw\.example\.net\ \(tlsgate\)\ with\ ESMTPS\ id\ [0-9A-Za-z]+.*for\ \<alice@example\.net\>\;\ [A-Z][a-z][a-z],\  ]]
ok $? "tlsgate's Received header in Postfix 3.7's format: TLS 1.3 clause with key-exchange"
n=$(pf_strip_delivery "$stored" | grep -c "(tlsgate)")
is "$n" 1 "exactly one Received header from tlsgate"

# 2. TLS 1.2
swaks_out 203.0.113.25 --tls --tls-protocol tlsv1_2 --from sender@example.com \
	--to bob@example.net > "$TG_WORK/s2" 2>&1
pf_wait_mail inside bob@example.net 1 30
rcv=$(pf_first_received "$(pf_mails inside bob@example.net | tail -n 1)")
[[ $rcv =~ \(using\ TLSv1\.2\ with\ cipher\ ECDHE-(ECDSA|RSA)-[A-Z0-9-]+\ \( ]] && [[ $rcv =~ with\ ESMTPS ]]
ok $? "TLS 1.2 session: 'using TLSv1.2 with cipher ECDHE-...'"

# 3. plaintext (opportunistic default): ESMTP, no TLS clause
swaks_out 203.0.113.25 --from sender@example.com --to carol@example.net > "$TG_WORK/s3" 2>&1
pf_wait_mail inside carol@example.net 1 30
rcv=$(pf_first_received "$(pf_mails inside carol@example.net | tail -n 1)")
[[ $rcv =~ by\ gw\.example\.net\ \(tlsgate\)\ with\ ESMTP\ id ]] && ! [[ $rcv =~ using ]]
ok $? "plaintext session: 'with ESMTP', no TLS clause"

# 4. --tls-optional takes the offered STARTTLS (the inside MTA itself has none)
swaks_out 203.0.113.25 --tls-optional --from sender@example.com --to dave@example.net \
	> "$TG_WORK/s4" 2>&1
grep -q "^<-  220 2.0.0 Ready to start TLS" "$TG_WORK/s4"
ok $? "STARTTLS offered to the sender although the inside MTA has none"
pf_wait_mail inside dave@example.net 1 30
[[ $(pf_first_received "$(pf_mails inside dave@example.net | tail -n 1)") =~ ESMTPS ]]
ok $? "--tls-optional delivered over TLS"

# 5. a sender that must use TLS
swaks_out 203.0.113.26 --from sender@example.com --to erin@example.net > "$TG_WORK/s5" 2>&1
grep -q "^<\*\* 530 5.7.0 Must issue a STARTTLS command first" "$TG_WORK/s5"
ok $? "require-TLS sender in plaintext: MAIL gets 530 5.7.0 Must issue a STARTTLS command first"
! pf_log inside | grep -q "from=<sender@example.com>.*nrcpt" || true
! pf_mails inside erin@example.net | grep -q .
ok $? "nothing reached the inside MTA"
swaks_out 203.0.113.26 --tls --from sender@example.com --to erin@example.net > "$TG_WORK/s5b" 2>&1
pf_wait_mail inside erin@example.net 1 30
ok $? "the same sender with TLS is delivered"

# 6. a sender domain that must use TLS
swaks_out 203.0.113.25 --from someone@tls-required.example.org --to frank@example.net \
	> "$TG_WORK/s6" 2>&1
grep -q "^<\*\* 530 5.7.0" "$TG_WORK/s6"
ok $? "MAIL FROM a domain whose rule is encrypt, in plaintext: 530"
swaks_out 203.0.113.25 --tls --from someone@tls-required.example.org --to frank@example.net \
	> "$TG_WORK/s6b" 2>&1
pf_wait_mail inside frank@example.net 1 30
ok $? "... and delivered with TLS"

# 7. STARTTLS injection (CVE-2011-0411): RSET pipelined after STARTTLS must not run inside TLS
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/inject.out" <<EOS
expect 220
send EHLO attacker.example.com\r\n
expect 250
send STARTTLS\r\nRSET\r\n
expect 220
starttls
send EHLO attacker.example.com\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "STARTTLS then RSET in one write: the session goes on"
awk '/^# TLS /{t=1} t && /^S: 250 2.0.0 Ok/{bad=1} END{exit bad}' "$TG_WORK/inject.out" &&
	awk '/^# TLS /{t=1; next} t{print; exit}' "$TG_WORK/inject.out" | grep -q "^S: 250-"
ok $? "no RSET reply inside TLS: the first reply inside TLS is the EHLO's"
tg_gw_log gw | grep -q "discarded 6 bytes pipelined after STARTTLS"
ok $? "tlsgated logs the 6 discarded bytes"

# 8. STARTTLS errors
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/errs.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send STARTTLS now\r\n
expect 501
send STARTTLS\r\n
expect 220
starttls
send EHLO client.example.com\r\n
expect 250
send STARTTLS\r\n
expect 554
send QUIT\r\n
expect 221
EOS
ok $? "STARTTLS with an argument -> 501; a second STARTTLS inside TLS -> 554"
grep -q "^S: 501 5.5.4 Syntax: STARTTLS" "$TG_WORK/errs.out" &&
	grep -q "^S: 554 5.5.1 Error: TLS already active" "$TG_WORK/errs.out"
ok $? "worded as Postfix: 501 5.5.4 Syntax: STARTTLS / 554 5.5.1 Error: TLS already active"
awk '/^# TLS /{t=1} t' "$TG_WORK/errs.out" | grep -q "STARTTLS" && r=1 || r=0
ok $r "STARTTLS is not advertised inside TLS"

# 9. BDAT inside TLS: our Received goes first as a chunk of its own
tg_msg "$TG_WORK/m9" 2
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/bdat.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send STARTTLS\r\n
expect 220
starttls
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\n
expect 250
send RCPT TO:<postmaster@example.net>\r\n
expect 250
send BDAT $(stat -c %s "$TG_WORK/m9") LAST\r\n
sendfile $TG_WORK/m9
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "BDAT inside TLS accepted"
pf_wait_mail inside postmaster@example.net 1 30
stored=$(pf_mails inside postmaster@example.net | tail -n 1)
[[ $(pf_first_received "$stored") =~ ESMTPS ]] &&
	pf_strip_delivery "$stored" | tail -n +2 | sed '/^[ \t]/d' | cmp -s - <(tr -d '\r' < "$TG_WORK/m9" | sed '/^[ \t]/d')
ok $? "BDAT message = our Received + the bytes sent"

# 10. both certificates: ECDSA or RSA by the client's signature algorithms
for alg in ECDSA RSA; do
	sig=$([ $alg = ECDSA ] && echo "ECDSA+SHA256" || echo "RSA-PSS+SHA256:RSA+SHA256")
	echo Q | ip netns exec "$NS_OUT" openssl s_client -connect 203.0.113.1:25 -starttls smtp \
		-sigalgs "$sig" -brief 2>&1 | tee "$TG_WORK/cert.$alg" |
		grep -q "^Signature type: $([ $alg = ECDSA ] && echo ECDSA || echo RSA-PSS)$"
	ok $? "a client that only takes $alg signatures gets the $alg certificate"
done

# 11. the optional X-Tlsgate-TLS summary header: ours is added, a sender's forged one removed
tg_gw_inbound gwx 2525 192.0.2.20:25 -o "inbound_policy=$TG_WORK/inbound" \
	-o inbound_x_tlsgate_header=yes
{
	printf 'From: sender@example.com\r\nX-Tlsgate-TLS: tls=yes version=TLSv1.3 forged=1\r\n'
	printf '  client=[192.0.2.99]\r\nx-tlsgate-tls: tls=yes also=forged\r\n'
	printf 'Subject: header test\r\n\r\nX-Tlsgate-TLS: in the body stays\r\n'
} > "$TG_WORK/m11"
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 2525 \
	> "$TG_WORK/x.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/m11
send .\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "a message with forged X-Tlsgate-TLS headers accepted"
! grep -q CHUNKING "$TG_WORK/x.out"
ok $? "CHUNKING not offered while headers are edited"
pf_wait_mail inside carol@example.org 1 30
stored=$(pf_mails inside carol@example.org | tail -n 1)
n=$(grep -ci "^x-tlsgate-tls:" "$stored")
grep -q "^X-Tlsgate-TLS: tls=no client=\[203.0.113.25\] id=" "$stored" && [ "$n" = 2 ] &&
	! grep -q "forged" "$stored" && ! grep -q "192.0.2.99" "$stored" &&
	grep -q "^X-Tlsgate-TLS: in the body stays" "$stored"
ok $? "only our X-Tlsgate-TLS header (and the body's text) remain; the forged ones are gone"

tap_done
