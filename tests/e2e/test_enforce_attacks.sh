#!/bin/bash
# e2e: the kernel enforcer against an on-path attacker (issue 13).  The BPF half is attached on
# the gateway as in test_enforce.sh (203.0.113.25 under an `encrypt` rule, the daemon down) and a
# real Postfix MX with STARTTLS runs on 203.0.113.25.  An inside client opens a plaintext session
# and says EHLO; then tests/lib/tcpinject.py, watching the session on the wire, attacks with
# crafted frames sent by AF_PACKET:
#   - a SYN for the client's 4-tuple from the outside (it once made the flow an unpoliced
#     inbound one), then MAIL/RCPT/DATA through the real socket;
#   - a SYN from the client's side 10^6 ahead (it once made every real segment "a retransmit
#     already judged"), then the same;
#   - the whole transaction as one segment in two IPv4 fragments, 8 bytes of TCP header in the
#     first (it once passed: the ports were never read);
#   - NOOP with a bad TCP checksum, then the transaction at the same sequence number (it once
#     passed as "a retransmit");
#   - over IPv6, the transaction behind five Destination Options headers (it once passed: more
#     than the parser walks was "not TCP").
# Each time the MX must answer nothing to MAIL, store nothing, and its log must not show the
# attacker's sender.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/bpfgate.sh"

inject=$TG_TOP/tests/lib/tcpinject.py
command -v python3 >/dev/null || bail "python3 not installed (make deps)"
command -v jq >/dev/null || bail "jq not installed (make deps)"
tg_topology
tg_pindir attacks
pins=$TG_PINDIR
pki=$(mktemp -d)
tg_on_exit "rm -rf '$pki'"
tg_on_exit "'$helper' detach '$NS_GW' '$pins'"
pki_init "$pki" && pki_leaf "$pki" mx.example.net || bail "cannot make the test PKI"
pf_mx mx "$NS_OUT" "203.0.113.25, [2001:db8:2::25]" tls "$pki/mx.example.net"
# Crafted segments carry no TCP options: no timestamps to agree on.
ip netns exec "$NS_IN" sysctl -qw net.ipv4.tcp_timestamps=0

"$helper" attach "$NS_GW" "$pins" --inside inside0 --outside outside0 \
	--policy 203.0.113.25/32=7:encrypt --policy 2001:db8:2::25/128=7:encrypt --exclude 192.0.2.10/32 --relay-mark 0x100 >/dev/null
ok $? "BPF half attached; the daemon is down"
gw_in=$(ip -n "$NS_GW" -j link show inside0 | jq -r '.[0].address')
gw_out=$(ip -n "$NS_GW" -j link show outside0 | jq -r '.[0].address')

attack() { # NAME -- runs the attack with sender NAME@example.org; its exit status
	local server=203.0.113.25
	[ "$1" = destopts ] && server=2001:db8:2::25
	ip netns exec "$NS_IN" python3 "$inject" --attack "$1" --server "$server" --gw-mac "$gw_in" \
		--outside-ns "/run/netns/$NS_OUT" --outside-gw-mac "$gw_out" \
		--mail-from "$1@example.org" --wait 5 > "$pki/$1.log" 2>&1
}

for a in syn-outside syn-ahead frag badsum destopts; do
	attack "$a"
	rc=$?
	sed 's/^/# /' "$pki/$a.log"
	is "$rc" 1 "$a: the MX did not answer MAIL with 250"
	grep -q '^<- 250' "$pki/$a.log"
	ok $? "$a: ... although the session was live (EHLO answered)"
	! pf_log mx | grep -q "$a@example.org"
	ok $? "$a: the MX's log does not show the attacker's sender"
done
is "$(pf_mails mx alice@example.net | wc -l)" 0 "the MX stored nothing"

js=$(tgstats -j)
diag "drops: $(echo "$js" | jq -c .global.drops)"
[ "$(echo "$js" | jq '.global.drops."syn-on-live-flow"')" -ge 1 ]
ok $? "the SYN ahead was dropped as syn-on-live-flow"
[ "$(echo "$js" | jq '.global.drops.fragment')" -ge 1 ]
ok $? "the fragments were dropped"
[ "$(echo "$js" | jq '.global.drops."retransmit-differs"')" -ge 1 ]
ok $? "the changed retransmit was caught as retransmit-differs"
[ "$(echo "$js" | jq '.global.drops.unparsable')" -ge 1 ]
ok $? "the packet with five extension headers was dropped as unparsable"
tap_done
