#!/bin/bash
# e2e, outbound TLS session resumption (outbound_tls_session_cache): tlsgated as the STARTTLS
# client offers the session it kept for the destination and policy.
#   1./2. TLS 1.3 and TLS 1.2 under verify: the second session to the same MX resumes (the MX's
#         own record of the handshake, our log, `session show`, the counter), stays Verified,
#         the bytes arrive intact; where the kernel has kTLS (vm tier) both directions are in
#         the kernel for both sessions (TlsTxSw/TlsRxSw +1 each per session, tx=kernel
#         rx=kernel, a spliced body) -- TLS 1.3 RX after the tickets were read.
#   3. a hostile MX that swaps in an untrusted certificate between sessions: the kept session
#      is offered, the new server cannot take it, the full handshake's certificate fails
#      verification: refused, nothing reaches the MX.
#   4. the policy changes between sessions (may -> verify; then verify with other names): the
#      session kept under the old policy is not offered (a naive key by destination would have
#      resumed it with its old "chain OK" and let a wrong name through), the MX is refused.
#   5. outbound_tls_session_cache = no: never resumed.
# TLSGATE_RESUME_KERNEL_ONLY=1 (tests/vm/resume-subset): 1./2. only, the kernel's part; 3.-5.
# do not depend on where the crypto runs and stay on the host.
set -u
# Resumption needs a new connection per session: with reuse the second session would take the
# first one's connection (RSET) and never handshake again.
TG_OUTBOUND_REUSE=no
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
probe=$(ip netns exec "$NS_GW" "$TG_DAEMON" --probe)
why=""
case $probe in *unavailable*) why=${probe#*(}; why=${why%)} ;; esac
[ -n "$why" ] && diag "no kTLS here ($why): sessions in userspace, kernel checks skipped"
if [ -n "$why" ] && [ "${TLSGATE_REQUIRE_KTLS:-0}" != 0 ]; then
	bail "kTLS unavailable in the VM: $why"
fi
tlsstat() { # field -> value in the gateway namespace
	ip netns exec "$NS_GW" awk -v f="$1" '$1 == f { print $2 }' /proc/net/tls_stat 2>/dev/null ||
		echo 0
}
# an untrusted certificate with the right name (self-signed, not from the test CA)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=mx1.example.net" -addext "subjectAltName=DNS:mx1.example.net" \
	-keyout "$TG_WORK/evil.key" -out "$TG_WORK/evil.crt" 2>/dev/null || bail "evil cert"
tg_msg "$TG_WORK/msg" 64

send() { # PORT OUT [RCPT] -- one message, one session
	tg_smtp "$1" > "$2" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<${3:-alice@example.net}>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/msg
send .\r\n
expect 250
send QUIT\r\n
expect 221
EOS
}
# The fake MX notes a handshake once it has read the client's Finished, which may be after
# tlsgated, refusing the MX's certificate, already answered its client with the 421.
mx_handshakes() { # MX N: until the MX's tls.log has N lines (5 s at most)
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l < "$TG_WORK/$1/tls.log" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
new_lines() { # LOG FROM-LINE -> the lines after it
	tail -n +$(($2 + 1)) "$1"
}
ctl() { # NAME ARGS...
	local name=$1
	shift
	ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/$name" "$@"
}

# --- 1./2. resumption, TLS 1.3 and 1.2
i=26
for ver in tls1.3 tls1.2; do
	V=$([ "$ver" = tls1.3 ] && echo TLSv1.3 || echo TLSv1.2)
	mx=mx$i gw=gw$i port=25$i
	tg_fake_mx "$mx" "203.0.113.$i" ok --cert "$TG_PKI/mx1.example.net.crt" \
		--key "$TG_PKI/mx1.example.net.key" --tls "$ver"
	printf '203.0.113.%s verify match=mx1.example.net\n' "$i" > "$TG_WORK/policy.$i"
	tg_gw "$gw" "$port" -o "outbound_forward=203.0.113.$i:25" \
		-o outbound_forward_host=mx1.example.net -o "outbound_policy=$TG_WORK/policy.$i"
	log=$TG_WORK/$gw.log
	for n in 1 2; do
		what=$([ $n = 1 ] && echo "first session (full)" || echo "second session (resumed)")
		tx0=$(tlsstat TlsTxSw) rx0=$(tlsstat TlsRxSw) de0=$(tlsstat TlsDecryptError)
		l0=$(wc -l < "$log")
		send "$port" "$TG_WORK/$gw.out$n"
		ok $? "$V $what: message accepted"
		cmp -s "$TG_WORK/msg" "$TG_WORK/$mx/msg.$n.1"
		ok $? "$V $what: the MX received it byte for byte"
		want=$([ $n = 1 ] && echo full || echo resumed)
		is "$(sed -n "${n}p" "$TG_WORK/$mx/tls.log")" "$n $want $V" \
			"$V $what: the MX's handshake was $want"
		new_lines "$log" "$l0" > "$TG_WORK/$gw.log$n"
		want=$([ $n = 1 ] && echo new || echo resumed)
		grep -q "Verified TLS connection established to mx1.example.net\[203.0.113.$i\]:25: $V .* tls_session=$want " "$TG_WORK/$gw.log$n"
		ok $? "$V $what: tlsgated logs Verified ... tls_session=$want"
		if [ -n "$why" ]; then
			skip "kernel has no tls ULP" "$V $what: kernel did the crypto"
			continue
		fi
		is "$(($(tlsstat TlsTxSw) - tx0)):$(($(tlsstat TlsRxSw) - rx0))" "1:1" \
			"$V $what: TlsTxSw and TlsRxSw each rose by 1 in the gateway"
		is "$(tlsstat TlsDecryptError)" "$de0" "$V $what: no TlsDecryptError"
		grep -q 'ktls="tx=kernel rx=kernel"' "$TG_WORK/$gw.log$n" &&
			grep -q "body=splice" "$TG_WORK/$gw.log$n"
		ok $? "$V $what: tlsgated reports tx=kernel rx=kernel and a spliced body"
		if [ "$ver" = tls1.3 ]; then
			grep -q 'ktls="tx=kernel rx=user(deferred)"' "$TG_WORK/$gw.log$n" &&
				grep -q "after the first reply: ktls=\"tx=kernel rx=kernel\"" "$TG_WORK/$gw.log$n"
			ok $? "$V $what: RX waited in OpenSSL for the tickets, then went to the kernel" ||
				diag "$(grep -E 'ktls=|kernel=' "$TG_WORK/$gw.log$n")"
		fi
	done
	# a third session held open: `session show` says resumed; the counter counts both
	coproc CLI { tg_smtp "$port" --timeout 20; }
	clipid=$CLI_PID
	printf 'expect 220\n' >&"${CLI[1]}"
	read -r _ <&"${CLI[0]}"
	id=$(ctl "$gw" -j session list | jq -r '.[0].id')
	ctl "$gw" session show "$id" > "$TG_WORK/$gw.show"
	grep -q "^  tls          $V .* resumed$" "$TG_WORK/$gw.show"
	ok $? "$V: session show says the open session was resumed" || diag "$(cat "$TG_WORK/$gw.show")"
	ctl "$gw" -j session show "$id" | jq -e '.tls_resumed == true' > /dev/null
	ok $? "$V: session show -j: tls_resumed true"
	printf 'send QUIT\\r\\n\nexpect 221\n' >&"${CLI[1]}"
	exec {CLI[1]}>&-
	wait "$clipid"
	n=$(ctl "$gw" -j --pin-dir "$TG_WORK/no-pins" stats 2>/dev/null |
		jq -r '.daemon.counters.tls_up_resumed')
	is "$n" "2" "$V: the tls_up_resumed counter counts the two resumed sessions"
	i=$((i + 1))
done

if [ "${TLSGATE_RESUME_KERNEL_ONLY:-0}" = 1 ]; then
	tap_done
	exit
fi

# --- 3. the MX swaps in an untrusted certificate (same name) between sessions
i=28 mx=mx28 gw=gw28 port=2528
tg_fake_mx "$mx" "203.0.113.$i" ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key" --tls tls1.3
mxpid=$TG_BG_PID
printf '203.0.113.%s verify match=mx1.example.net\n' "$i" > "$TG_WORK/policy.$i"
tg_gw "$gw" "$port" -o "outbound_forward=203.0.113.$i:25" \
	-o outbound_forward_host=mx1.example.net -o "outbound_policy=$TG_WORK/policy.$i"
send "$port" "$TG_WORK/$gw.out1"
ok $? "swap: the first session (trusted certificate) delivered"
kill "$mxpid"
wait "$mxpid" 2>/dev/null
mv "$TG_WORK/$mx" "$TG_WORK/$mx.before"
tg_fake_mx "$mx" "203.0.113.$i" ok --cert "$TG_WORK/evil.crt" --key "$TG_WORK/evil.key" \
	--tls tls1.3
l0=$(wc -l < "$TG_WORK/$gw.log")
send "$port" "$TG_WORK/$gw.out2"
grep -q "^S: 421 4.7.5 .*Server certificate not verified" "$TG_WORK/$gw.out2"
ok $? "swap: the session to the MX with the untrusted certificate is refused (421 4.7.5)"
mx_handshakes "$mx" 1
is "$(cat "$TG_WORK/$mx/tls.log" 2>/dev/null)" "1 full TLSv1.3" \
	"swap: the new MX saw a full handshake (the kept session could not resume there)"
new_lines "$TG_WORK/$gw.log" "$l0" | grep -q "tls-verify-failed level=verify .* tls_session=new(cached-declined):"
ok $? "swap: tlsgated offered the kept session, the MX declined it, tls-verify-failed"
! grep -q "^C[0-9]*: MAIL" "$TG_WORK/$mx/commands.log" 2>/dev/null
ok $? "swap: nothing reached the MX (no MAIL in its log)"
send "$port" "$TG_WORK/$gw.out3"
grep -q "^S: 421 4.7.5 .*Server certificate not verified" "$TG_WORK/$gw.out3" &&
	! grep -q "^C[0-9]*: MAIL" "$TG_WORK/$mx/commands.log" 2>/dev/null
ok $? "swap: and again on the next session (no stale session lets it through)"

# --- 4. policy change between sessions: CA-signed certificate for another name
i=29 mx=mx29 gw=gw29 port=2529
tg_fake_mx "$mx" "203.0.113.$i" ok --cert "$TG_PKI/wrong.example.com.crt" \
	--key "$TG_PKI/wrong.example.com.key" --tls tls1.3
printf '203.0.113.%s may\n' "$i" > "$TG_WORK/policy.$i"
tg_gw "$gw" "$port" -o "outbound_forward=203.0.113.$i:25" \
	-o outbound_forward_host=mx1.example.net -o "outbound_policy=$TG_WORK/policy.$i"
gwpid=$TG_BG_PID
send "$port" "$TG_WORK/$gw.out1"
ok $? "policy: under may the session is delivered (chain trusted, name not checked)"
send "$port" "$TG_WORK/$gw.out2"
ok $? "policy: a second session under may too"
is "$(sed -n 2p "$TG_WORK/$mx/tls.log")" "2 resumed TLSv1.3" "policy: ... resumed (a session is kept)"
reload() { # POLICY-LINE
	local n
	n=$(grep -c "reload: policy" "$TG_WORK/$gw.log")
	printf '203.0.113.%s %s\n' "$i" "$1" > "$TG_WORK/policy.$i"
	kill -HUP "$gwpid"
	for _ in $(seq 100); do
		[ "$(grep -c "reload: policy" "$TG_WORK/$gw.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	bail "no policy reload"
}
reload "verify match=mx1.example.net"
l0=$(wc -l < "$TG_WORK/$gw.log")
send "$port" "$TG_WORK/$gw.out3"
grep -q "^S: 421 4.7.5 .*Server certificate not verified" "$TG_WORK/$gw.out3"
ok $? "policy: raised to verify, the MX whose name does not match is refused"
mx_handshakes "$mx" 3
is "$(sed -n 3p "$TG_WORK/$mx/tls.log")" "3 full TLSv1.3" \
	"policy: the may session was not offered: a full handshake"
new_lines "$TG_WORK/$gw.log" "$l0" | grep -q "tls-verify-failed level=verify .* tls_session=new:"
ok $? "policy: tlsgated says it offered no session (tls_session=new)"
new_lines "$TG_WORK/$gw.log" "$l0" | grep -q "certificate name mismatch\|Hostname mismatch\|hostname mismatch"
ok $? "policy: tlsgated logs the name mismatch" ||
	diag "$(new_lines "$TG_WORK/$gw.log" "$l0" | grep verify)"
reload "verify match=wrong.example.com"
send "$port" "$TG_WORK/$gw.out4"
ok $? "policy: verify with the MX's own name delivers"
send "$port" "$TG_WORK/$gw.out5"
ok $? "policy: ... and resumes"
is "$(sed -n 5p "$TG_WORK/$mx/tls.log")" "5 resumed TLSv1.3" "policy: the fifth handshake resumed"
reload "verify match=other.example.com"
send "$port" "$TG_WORK/$gw.out6"
grep -q "^S: 421 4.7.5 .*Server certificate not verified" "$TG_WORK/$gw.out6"
ok $? "policy: match names changed: the session kept under the old names is not used"
mx_handshakes "$mx" 6
is "$(sed -n 6p "$TG_WORK/$mx/tls.log")" "6 full TLSv1.3" "policy: a full handshake"
n=$(grep -c "^C[0-9]*: MAIL" "$TG_WORK/$mx/commands.log")
is "$n" "4" "policy: the MX got MAIL only from the four accepted sessions"

# --- 5. outbound_tls_session_cache = no
i=30 mx=mx30 gw=gw30 port=2530
tg_fake_mx "$mx" "203.0.113.$i" ok --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key" --tls tls1.3
printf '203.0.113.%s verify match=mx1.example.net\n' "$i" > "$TG_WORK/policy.$i"
tg_gw "$gw" "$port" -o "outbound_forward=203.0.113.$i:25" \
	-o outbound_forward_host=mx1.example.net -o "outbound_policy=$TG_WORK/policy.$i" \
	-o outbound_tls_session_cache=no
send "$port" "$TG_WORK/$gw.out1" && send "$port" "$TG_WORK/$gw.out2"
ok $? "cache off: two sessions delivered"
is "$(cut -d' ' -f2 "$TG_WORK/$mx/tls.log" | tr '\n' ' ')" "full full " \
	"cache off: both handshakes full"
grep -q "tls_session=new " "$TG_WORK/$gw.log" && ! grep -q "rx=user(deferred)" "$TG_WORK/$gw.log"
ok $? "cache off: RX is not deferred"

tap_done
