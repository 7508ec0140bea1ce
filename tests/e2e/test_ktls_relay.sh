#!/bin/bash
# e2e, the relay's TLS legs in the kernel: outbound (tlsgated = client toward the MX) and inbound
# (tlsgated = server toward the sender), each for TLS 1.2 and 1.3 with AES-128-GCM, AES-256-GCM
# and ChaCha20-Poly1305.  Bytes must arrive intact; where the kernel has kTLS (the vm tier) the
# gateway namespace's /proc/net/tls_stat must show one more TX and RX session per relay leg,
# no decrypt error, and tlsgated must report tx=kernel rx=kernel and a spliced body.  On a kernel
# without the tls ULP the same sessions run in userspace and the kernel checks are skipped.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
probe=$(ip netns exec "$NS_GW" "$TG_DAEMON" --probe)
diag "gateway $probe"
why=""
case $probe in *unavailable*) why=${probe#*(}; why=${why%)} ;; esac
if [ -n "$why" ] && [ "${TLSGATE_REQUIRE_KTLS:-0}" != 0 ]; then
	bail "kTLS unavailable in the VM: $why"
fi

tlsstat() { # field -> value in the gateway namespace
	ip netns exec "$NS_GW" awk -v f="$1" '$1 == f { print $2 }' /proc/net/tls_stat 2>/dev/null ||
		echo 0
}

combos=(
	"tls1.2 ECDHE-ECDSA-AES128-GCM-SHA256 aes128"
	"tls1.2 ECDHE-ECDSA-AES256-GCM-SHA384 aes256"
	"tls1.2 ECDHE-ECDSA-CHACHA20-POLY1305 chacha"
	"tls1.3 TLS_AES_128_GCM_SHA256 aes128"
	"tls1.3 TLS_AES_256_GCM_SHA384 aes256"
	"tls1.3 TLS_CHACHA20_POLY1305_SHA256 chacha"
)
# TLSGATE_KTLS_ONLY="tls1.3-aes128 ..." runs a subset (the demo); TLSGATE_KTLS_MSG_KB the size.
if [ -n "${TLSGATE_KTLS_ONLY:-}" ]; then
	keep=()
	for c in "${combos[@]}"; do
		set -- $c
		[[ " $TLSGATE_KTLS_ONLY " == *" $1-$3 "* ]] && keep+=("$c")
	done
	combos=("${keep[@]}")
fi
size_kb=${TLSGATE_KTLS_MSG_KB:-512}
tg_msg "$TG_WORK/msg" "$size_kb"

check_kernel() { # label log tx0 rx0
	local label=$1 log=$2
	if [ -n "$why" ]; then
		skip "kernel has no tls ULP" "$label: kernel did the crypto"
		return
	fi
	is "$(($(tlsstat TlsTxSw) - $3)):$(($(tlsstat TlsRxSw) - $4))" "1:1" \
		"$label: TlsTxSw and TlsRxSw each rose by 1 in the gateway"
	grep -q 'ktls="tx=kernel rx=kernel"' "$log"
	ok $? "$label: tlsgated reports tx=kernel rx=kernel"
	grep -q "body=splice" "$log"
	ok $? "$label: the body was spliced (no userspace copy of the payload)"
	# the kernel's own word (sock_diag TLS ULP info), not our inference: software both ways
	grep -q 'kernel="tx=sw rx=sw' "$log"
	ok $? "$label: sock_diag reports tx=sw rx=sw"
}

# --- outbound: tlsgated is the TLS client
i=26
for c in "${combos[@]}"; do
	set -- $c
	ver=$1 cipher=$2 name=$3
	label="outbound $ver $name"
	tg_fake_mx "mx$i" "203.0.113.$i" ok --cert "$TG_PKI/mx1.example.net.crt" \
		--key "$TG_PKI/mx1.example.net.key" --tls "$ver" --cipher "$cipher"
	printf '203.0.113.%s encrypt\n' "$i" > "$TG_WORK/policy.$i"
	tg_gw "out$i" "25$i" -o "outbound_forward=203.0.113.$i:25" -o "outbound_policy=$TG_WORK/policy.$i"
	tx0=$(tlsstat TlsTxSw) rx0=$(tlsstat TlsRxSw) de0=$(tlsstat TlsDecryptError)
	tg_smtp "25$i" > "$TG_WORK/out$i.txt" <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/msg
send .\r\n
expect 250
send QUIT\r\n
expect 221
EOS
	ok $? "$label: message accepted"
	cmp -s "$TG_WORK/msg" "$TG_WORK/mx$i/msg.1.1"
	ok $? "$label: the MX received the $size_kb KiB byte for byte"
	grep -q "with cipher $cipher" "$TG_WORK/out$i.log"
	ok $? "$label: negotiated $cipher"
	check_kernel "$label" "$TG_WORK/out$i.log" "$tx0" "$rx0"
	[ -n "$why" ] || is "$(tlsstat TlsDecryptError)" "$de0" "$label: no TlsDecryptError"
	i=$((i + 1))
done

# --- inbound: tlsgated is the TLS server; the inside next hop is plain
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok
tg_gw_inbound in 25 192.0.2.20:25
n=0
for c in "${combos[@]}"; do
	set -- $c
	ver=$1 cipher=$2 name=$3
	label="inbound $ver $name"
	n=$((n + 1))
	tx0=$(tlsstat TlsTxSw) rx0=$(tlsstat TlsRxSw) de0=$(tlsstat TlsDecryptError)
	lines=$(wc -l < "$TG_WORK/in.log")
	ip netns exec "$NS_OUT" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.1 25 \
		> "$TG_WORK/in$n.txt" <<EOS
expect 220
send EHLO sender.example.com\r\n
expect 250
send STARTTLS\r\n
expect 220
starttls $ver $cipher
send EHLO sender.example.com\r\n
expect 250
send MAIL FROM:<sender@example.com>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
sendfile $TG_WORK/msg
send .\r\n
expect 250
send QUIT\r\n
expect 221
EOS
	ok $? "$label: message accepted"
	grep -q "^# TLS $([ "$ver" = tls1.2 ] && echo TLSv1.2 || echo TLSv1.3) $cipher" "$TG_WORK/in$n.txt"
	ok $? "$label: negotiated $cipher"
	stored=$TG_WORK/inside/msg.$n.1
	# what the inside got: our Received header, then the message byte for byte
	tail -c "$(wc -c < "$TG_WORK/msg")" "$stored" 2>/dev/null |
		cmp -s - "$TG_WORK/msg" && head -n 1 "$stored" | grep -q "^Received: from sender.example.com"
	ok $? "$label: the inside got our Received header + the message byte for byte"
	tail -n +$((lines + 1)) "$TG_WORK/in.log" > "$TG_WORK/in$n.log"
	check_kernel "$label" "$TG_WORK/in$n.log" "$tx0" "$rx0"
	[ -n "$why" ] || is "$(tlsstat TlsDecryptError)" "$de0" "$label: no TlsDecryptError"
done

tap_done
