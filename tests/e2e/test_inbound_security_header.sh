#!/bin/bash
# e2e, inbound: the verdict header X-Tlsgate-Transport-Security (on by default) through tlsgated
# to a real inside Postfix.  The header says in plain words what `tlsgatectl explain` says of the
# stored message (the same sentence, given the same own servers); a sender's forged copy (folded
# too) is removed; a sender's Received: chain is judged as the sender's claim, a plaintext hop in
# it named; a forged copy split across writes is caught; a huge chain passes in bounded memory; the body is untouched; CHUNKING is not offered
# while the header is written (BDAT is refused), and is again without it.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
# shellcheck disable=SC2034  # read by tlsgate.sh: the shipped default (the verdict header on)
TG_INBOUND_DEFAULTS=()
. "$(dirname "$0")/../lib/tlsgate.sh"

HDR=X-Tlsgate-Transport-Security
tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
# the inside MTA takes the huge chain of case 4 (Postfix bounces at 50 hops by default)
PF_MAIN_EXTRA=$'hopcount_limit = 10000\nheader_size_limit = 4194304' \
	pf_mx inside "$NS_IN" 192.0.2.20 notls
tg_gw_inbound gw 25 192.0.2.20:25
GW_PID=$TG_BG_PID
# the organisation's servers as explain sees the stored message: the gateway and the inside MTA
OWN="gw.example.net inside.test.example.net 192.0.2.0/24"

swaks_out() {
	ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface 203.0.113.25 "$@"
}
# the stored message's header (unfolded) and explain's sentence for it
stored_header() {
	awk -v h="$HDR:" 'tolower($1) == tolower(h) { v = $0; inh = 1; next }
		inh && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next } { inh = 0 }
		/^$/ { exit } END { print v }' "$1" | sed "s/^$HDR: //"
}
explain_words() { # FILE [OWN]
	"$TG_BIN/tlsgatectl" explain -j --own "${2:-$OWN}" "$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"]["words"])'
}

# 1. a sender's chain with a plaintext hop, a folded Received line, and forged copies of ours
{
	printf 'Received: from relay.example.com (relay.example.com [198.51.100.7])\r\n'
	printf '\tby mx-out.example.com (Postfix) with ESMTPS id 4AbCdEf\r\n'
	printf '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n'
	printf '\tfor <alice@example.net>; Mon, 1 Sep 2025 20:16:45 +0000 (UTC)\r\n'
	printf 'Received: from old.example (old.example [198.51.100.9]) by relay.example.com\r\n'
	printf '  with SMTP id 77; Mon, 1 Sep 2025 20:16:40 +0000\r\n'
	printf '%s: Encrypted on every recorded hop; the last hop\r\n used TLS 1.3.\r\n' "$HDR"
	printf 'x-tlsgate-transport-security : Encrypted on every recorded hop.\r\n'
	printf 'From: sender@example.com\r\nTo: alice@example.net\r\nSubject: chain\r\n\r\n'
	printf '%s: in the body stays\r\n' "$HDR"
} > "$TG_WORK/m1"
{ cat "$TG_WORK/m1"; printf '.\r\n'; } > "$TG_WORK/m1.swaks"
swaks_out --tls --from sender@example.com --to alice@example.net --data "@$TG_WORK/m1.swaks" \
	> "$TG_WORK/s1" 2>&1
ok $? "a message with a Received chain and forged $HDR headers delivered over TLS"
pf_wait_mail inside alice@example.net 1 30
stored=$(pf_mails inside alice@example.net | tail -n 1)
words=$(stored_header "$stored")
diag "header: $words"
is "$(grep -ci "^$HDR *:" "$stored")" 2 "one $HDR header of ours (and the body's line)"
! grep -q "the last hop$" "$stored" && ! grep -q "^ used TLS 1.3.$" "$stored"
ok $? "the forged copies (and the folded line) are gone"
grep -q "^$HDR: in the body stays" "$stored"
ok $? "the body is untouched"
[[ $words == "NOT encrypted between old.example and relay.example.com (as the sender's servers recorded it)." ]]
ok $? "the sender's plaintext hop is named, as the sender's servers' claim"
is "$words" "$(explain_words "$stored")" "the header says what explain says of the stored message"
awk -v h="^$HDR:" '/^$/ { exit } $0 ~ h { inh = 1; print; next } inh && /^[ \t]/ { print; next }
	{ inh = 0 }' "$stored" > "$TG_WORK/h1"
diag "$(cat "$TG_WORK/h1")"
[ "$(wc -l < "$TG_WORK/h1")" -ge 2 ] && awk 'length($0) > 78 { bad = 1 } END { exit bad }' "$TG_WORK/h1"
ok $? "our header folded to lines of at most 78 columns"

# 2. nothing but our own hop, TLS 1.3: encrypted every hop; the header is where the headers end
tg_msg "$TG_WORK/m2" 2
swaks_out --tls --from sender@example.com --to bob@example.net --data "@$TG_WORK/m2.swaks" \
	> "$TG_WORK/s2" 2>&1
pf_wait_mail inside bob@example.net 1 30
stored=$(pf_mails inside bob@example.net | tail -n 1)
is "$(stored_header "$stored")" "Encrypted on every recorded hop; the last hop used TLS 1.3." \
	"TLS 1.3 from the sender: encrypted on every recorded hop"
pf_strip_delivery "$stored" | tail -n +2 | grep -v "^$HDR:" | sed '/^[ \t]/d' |
	cmp -s - <(tr -d '\r' < "$TG_WORK/m2" | sed '/^[ \t]/d')
ok $? "delivered bytes = sent bytes + our Received + our verdict header"
pf_strip_delivery "$stored" | awk -v h="^$HDR:" '$0 ~ h { found = NR } /^$/ { exit }
	END { exit !found }' && pf_strip_delivery "$stored" | tail -n +2 |
	awk -v h="^$HDR:" '/^$/ { exit } !/^[ \t]/ { last = $0 } END { exit last !~ h }'
ok $? "the verdict header is the last of the header section" ||
	diag "$(awk '/^$/ { exit } { print }' "$stored")"

# 3. plaintext from the sender
swaks_out --from sender@example.com --to carol@example.net --ehlo mta.example.com \
	> "$TG_WORK/s3" 2>&1
pf_wait_mail inside carol@example.net 1 30
stored=$(pf_mails inside carol@example.net | tail -n 1)
is "$(stored_header "$stored")" "NOT encrypted between mta.example.com and gw.example.net." \
	"plaintext from the sender: NOT encrypted between it and the gateway"
is "$(explain_words "$stored")" "NOT encrypted between mta.example.com and gw.example.net." \
	"explain agrees"

# 4. a huge chain (3000 Received lines, ~1 MB of header): delivered, judged on the newest 256,
# and the daemon's memory does not grow with it
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$GW_PID/status"; }
hwm0=$(hwm)
python3 - "$TG_WORK/m4" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(3000):
        f.write(b"Received: from hop%d.example.com (hop%d.example.com [198.51.100.%d])\r\n"
                b"\tby hop%d.example.com with ESMTPS id X%d\r\n"
                b"\t(using TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits));"
                b" Mon, 1 Sep 2025 20:16:40 +0000\r\n" % (i + 1, i + 1, i % 250 + 1, i, i)
                + b"X-Filler: " + b"y" * 200 + b"\r\n")
    f.write(b"Received: from ancient.example (ancient.example [198.51.100.250]) by hop2999"
            b".example.com with SMTP; Mon, 1 Sep 2025 20:16:40 +0000\r\n")
    f.write(b"From: sender@example.com\r\nSubject: huge\r\n\r\nbody\r\n")
EOF
{ cat "$TG_WORK/m4"; printf '.\r\n'; } > "$TG_WORK/m4.swaks"
swaks_out --tls --from sender@example.com --to dave@example.net --data "@$TG_WORK/m4.swaks" \
	> "$TG_WORK/s4" 2>&1
ok $? "a message with 3000 Received lines delivered"
pf_wait_mail inside dave@example.net 1 60
stored=$(pf_mails inside dave@example.net | tail -n 1)
words=$(stored_header "$stored")
diag "header: $words"
[[ $words =~ ^Encrypted\ on\ every\ recorded\ hop\;\ the\ last\ hop\ used\ TLS\ 1\.3\;\ 255\ earlier\ hops ]]
ok $? "judged on the newest 256 hops, as explain reads them (the plaintext one below is not read)"
# explain reads the newest 256 Received lines too: without the inside MTA's own line, they
# are the same 256
pf_strip_delivery "$stored" > "$TG_WORK/m4.stored"
is "$words" "$(explain_words "$TG_WORK/m4.stored" gw.example.net)" "explain agrees on the huge chain"
grep -q "^body" "$stored"
ok $? "the body follows"
hwm1=$(hwm)
diag "tlsgated peak RSS before/after: $hwm0/$hwm1 kB"
[ -n "$hwm0" ] && [ $((hwm1 - hwm0)) -lt 4096 ]
ok $? "a 1 MB header section costs the daemon no memory beyond its buffers (< 4 MiB peak growth)"

# 4b. a forged copy whose name arrives in two pieces is judged whole (the start of a line is
# never copied before the line is judged)
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/split.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\nRCPT TO:<postmaster@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
send Subject: split\r\nX-Tls
sleep 300
send gate-Transport-Security: Encrypted on every recorded hop (split forgery).\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
ok $? "a message with a forged header split across two writes accepted"
pf_wait_mail inside postmaster@example.net 1 30
stored=$(pf_mails inside postmaster@example.net | tail -n 1)
! grep -q "split forgery" "$stored" && [ "$(grep -ci "^$HDR:" "$stored")" = 1 ]
ok $? "the split forged copy is removed; ours is the only one"

# 5. BDAT: CHUNKING not offered while the header is written; a BDAT is refused, nothing relayed
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
	> "$TG_WORK/bdat.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\n
expect 250
send RCPT TO:<erin@example.net>\r\n
expect 250
send BDAT 12 LAST\r\nSubject: x\r\n
expect 502
send QUIT\r\n
expect 221
EOS
ok $? "BDAT is refused with 502 while the verdict header is written"
! grep -q "CHUNKING" "$TG_WORK/bdat.out"
ok $? "CHUNKING not offered"
tg_gw_inbound gwc 2525 192.0.2.20:25 -o inbound_security_header=no
ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 2525 \
	> "$TG_WORK/bdat2.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send QUIT\r\n
expect 221
EOS
grep -q "CHUNKING" "$TG_WORK/bdat2.out"
ok $? "with inbound_security_header = no, CHUNKING is offered again"
tg_msg "$TG_WORK/m6" 1
swaks_out --tls --from sender@example.com --to frank@example.net --data "@$TG_WORK/m6.swaks" \
	--port 2525 > "$TG_WORK/s6" 2>&1
pf_wait_mail inside frank@example.net 1 30
! grep -qi "^$HDR:" "$(pf_mails inside frank@example.net | tail -n 1)"
ok $? "... and no verdict header is added"

# 7. a message whose first line starts with a space would continue our Received header (the
# sender's text read as our trace): it gets a field name of its own; both with the verdict
# header (gw) and without header editing (gwc)
for g in "gw 25 erin" "gwc 2525 dave"; do
	set -- $g
	ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 "$2" \
		> "$TG_WORK/fold.$1.out" <<EOS
expect 220
send EHLO client.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\n
expect 250
send RCPT TO:<$3@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send  by trusted.example.net with ESMTPS (TLS 1.3 verified)\r\nSubject: fold\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
	pf_wait_mail inside "$3@example.net" 1 30
	f=$(pf_mails inside "$3@example.net" | tail -n 1)
	# our Received field, unfolded, must not have taken the sender's line
	awk '/^Received: from client.example.com/ { r = $0; inr = 1; next }
		inr && /^[ \t]/ { r = r $0; next } inr { print r; exit }' "$f" > "$TG_WORK/ours.$1"
	! grep -q "trusted.example.net" "$TG_WORK/ours.$1" &&
		grep -q "^X-Tlsgate-Leading-Fold: by trusted.example.net" "$f"
	ok $? "$1: a first line that would fold continues a field of its own, not our Received"
done

tap_done
