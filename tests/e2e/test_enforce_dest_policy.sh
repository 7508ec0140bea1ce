#!/bin/bash
# e2e (issue 14): the kernel enforcer requires TLS toward an MX address from the destinations'
# own policies (DANE) only while every recipient domain the gateway looked up on that address
# requires it, and the admin's table decides where it has an entry.  tlsgated runs with its BPF
# half (steering on inside0, enforcement on outside0) and DANE against a signed test zone; an
# excluded inside host (192.0.2.11) bypasses it with plaintext, as a careless MTA would:
#   - before any lookup: plaintext to 203.0.113.25 passes (nothing requires TLS there yet);
#   - after mail to dane-a.example (MX mx-a.example = 203.0.113.25, TLSA 3 1 1) was relayed:
#     the same plaintext is cut at MAIL FROM by the kernel, counted under rule 3 "destination
#     policy (DANE/MTA-STS)", and the MX's log never shows the sender;
#   - dane-b.example's MX 203.0.113.26 has TLSA too, but the table says `203.0.113.26 may`:
#     plaintext there still passes after its lookup (the table wins);
#   - after mail to plain-a.example (MX mx-p.example = 203.0.113.25, no TLSA): a domain on the
#     address does not require TLS, so plaintext to 203.0.113.25 passes again.
#
#   $NS_IN  steered client 192.0.2.10, excluded client 192.0.2.11
#   $NS_GW  tlsgated (transparent, BPF)     $NS_OUT nsd .53, Postfix MX on .25 and .26
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/dnssec.sh"
. "$(dirname "$0")/../lib/destzone.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

if ! why=$(dnssec_available); then
	echo "1..0 # SKIP $why"
	exit 0
fi
command -v postfix >/dev/null || bail "postfix not installed (make deps)"
command -v swaks >/dev/null || bail "swaks not installed (make deps)"
command -v jq >/dev/null || bail "jq not installed (make deps)"

tg_topology
tg_mx_addrs
ip -n "$NS_OUT" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_IN" addr add 192.0.2.11/24 dev eth0 # excluded from steering
tg_pki
pki_leaf "$TG_PKI" mx mx-a.example mx-b.example mx-p.example || bail "pki_leaf mx"
cat "$TG_PKI/mx.crt" "$TG_PKI/ca.crt" > "$TG_PKI/mxchain.crt"
cp "$TG_PKI/mx.key" "$TG_PKI/mxchain.key"
chmod 644 "$TG_PKI"/*.crt
mx_h=$(dnssec_spki_sha256 "$TG_PKI/mx.crt")

z=$TG_WORK/dns
{
	echo "mx-a IN A 203.0.113.25"
	echo "_25._tcp.mx-a IN TLSA 3 1 1 $mx_h"
	echo "dane-a IN MX 10 mx-a.example."
	echo "mx-b IN A 203.0.113.26"
	echo "_25._tcp.mx-b IN TLSA 3 1 1 $mx_h"
	echo "dane-b IN MX 10 mx-b.example."
	echo "mx-p IN A 203.0.113.25" # the same address, no TLSA
	echo "plain-a IN MX 10 mx-p.example."
} | destzone_example "$z" "$NS_OUT"
destzone_opts "$z"

PF_DOMAINS="dane-a.example dane-b.example plain-a.example example.net" \
	pf_mx mx "$NS_OUT" "203.0.113.25, 203.0.113.26" tls "$TG_PKI/mxchain"

printf '203.0.113.26 may\n' > "$TG_WORK/policy"
tg_pindir destpol
pins=$TG_PINDIR/tlsgate
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach -o 'bpf_pin_dir=$pins'"
tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o user=root \
	-o "outbound_listen=127.0.0.1:10025" -o outbound_transparent=yes \
	-o inside_interfaces=inside0 -o outside_interfaces=outside0 -o "bpf_pin_dir=$pins" \
	-o steer_exclude=192.0.2.11/32 -o "outbound_policy=$TG_WORK/policy" -o resolve=no \
	"${DESTZONE_OPTS[@]}" -o enforce_destination_policy=yes
tg_on_exit "tg_report_daemon gw $TG_BG_PID"
log=$TG_WORK/gw.log

ctl() { nsenter --net="/run/netns/$NS_GW" "$TG_BIN/tlsgatectl" --pin-dir "$pins" "$@"; }
rule3() { ctl -j stats | jq -r "[.rules[] | select(.rule == 3) | $1][0] // 0"; }
# The push this test waits for: the kernel's policy with N destination entries (of R required)
pushed() { # N R
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "bpf: policy in the kernel: .* destination_policy=$1 (required=$2 " "$log" &&
			return 0
		sleep 0.1 # the log line is the readiness signal (200 ms coalescing)
	done
	return 1
}
relay() { # RCPT MX_ADDR: through tlsgated (192.0.2.10 is steered)
	ip netns exec "$NS_IN" swaks --server "$2" --from sender@example.org --to "$1" \
		--header "Subject: to $1" --timeout 30 > "$TG_WORK/relay.$1" 2>&1
}
bypass() { # NAME MX_ADDR: plaintext from the excluded host, sender NAME@example.org
	ip netns exec "$NS_IN" swaks --server "$2" --local-interface 192.0.2.11 \
		--from "$1@example.org" --to alice@example.net --timeout 6 > "$TG_WORK/bypass.$1" 2>&1
}
passed() { # NAME: the MX accepted the bypassing transaction
	grep -q '^<-  250 2.0.0 Ok: queued' "$TG_WORK/bypass.$1"
}
cut() { # NAME: MAIL FROM never answered, and the MX never saw the sender
	! grep -q '^<-  250 2.1.0' "$TG_WORK/bypass.$1" && grep -q '^<-  250 ' "$TG_WORK/bypass.$1" &&
		! pf_log mx | grep -q "$1@example.org"
}

# 0. nothing looked up yet: the bypass passes (the test can see a pass)
bypass before 203.0.113.25
passed before
ok $? "before any lookup: plaintext from the excluded host to 203.0.113.25 passes"

# 1. a DANE domain on 203.0.113.25 was looked up: the kernel requires TLS there
relay alice@dane-a.example 203.0.113.25
ok $? "mail to dane-a.example relayed (steered)" || tail -n 20 "$log" | sed 's/^/# /'
grep -q 'policy="authenticated by DANE (mx-a.example' "$log"
ok $? "... authenticated by DANE"
pushed 1 1
ok $? "the kernel got 203.0.113.25 as a destination-policy address"
bypass dane "203.0.113.25"
cut dane
ok $? "plaintext bypass to 203.0.113.25: MAIL FROM cut, the MX never saw the sender"
is "$(rule3 .flows.blocked)" 1 "counted under rule 3: 1 flow blocked"
grep -q 'enforce drop .*rule=3 .*client=192.0.2.11.*rule_name="destination policy (DANE/MTA-STS)"' "$log"
ok $? "the drop is logged with rule 3's name"
ctl stats show rule 3 | grep -q '^rule 3 (destination policy (DANE/MTA-STS)):' &&
	[ "$(ctl -j stats | jq -r '.rules[] | select(.rule == 3) | .name')" = \
		"destination policy (DANE/MTA-STS)" ]
ok $? "tlsgatectl stats show rule 3 names it (text and JSON)"

# 2. the table's entry for 203.0.113.26 (may) wins over dane-b.example's DANE
relay bob@dane-b.example 203.0.113.26
ok $? "mail to dane-b.example relayed"
pushed 1 2
ok $? "203.0.113.26 is required by destination policy but covered by the table: not added"
bypass tablewins 203.0.113.26
passed tablewins
ok $? "plaintext bypass to 203.0.113.26 passes: the table's may rule decides"

# 3. a domain without DANE on 203.0.113.25: the address is no longer enforced
relay carol@plain-a.example 203.0.113.25
ok $? "mail to plain-a.example (same MX address, no TLSA) relayed"
pushed 0 1
ok $? "the kernel's destination-policy entry for 203.0.113.25 is gone"
bypass after 203.0.113.25
passed after
ok $? "plaintext bypass to 203.0.113.25 passes again"
is "$(rule3 .flows.blocked)" 1 "rule 3 blocked nothing more"
tap_done
