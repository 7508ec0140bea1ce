#!/bin/bash
# e2e: docs/BANNER.md's Postfix recipe, as written there.  The inside MTA is a real Postfix with
# the header_checks rule; messages come from outside through tlsgated inbound.  A message that
# was NOT encrypted on its way gets the banner header (prepended by Postfix: nothing of the
# Subject or body changes, so a DKIM signature stays valid); an encrypted one does not.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
# shellcheck disable=SC2034  # read by tlsgate.sh: the shipped default (the verdict header on)
TG_INBOUND_DEFAULTS=()
. "$(dirname "$0")/../lib/tlsgate.sh"

DOC=$(dirname "$0")/../../docs/BANNER.md
tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
mkdir -p "$TG_WORK/pf"
# the rule file, exactly as the document shows it (between the markers)
sed -n '/^<!-- header_checks begin -->$/,/^<!-- header_checks end -->$/p' "$DOC" |
	sed '1,2d;$d' | sed '$d' > "$TG_WORK/pf/tlsgate_banner"
diag "$(cat "$TG_WORK/pf/tlsgate_banner")"
grep -q "^/\^X-Tlsgate-Transport-Security:" "$TG_WORK/pf/tlsgate_banner"
ok $? "the recipe's header_checks rule is taken from docs/BANNER.md"
PF_MAIN_EXTRA="header_checks = regexp:$TG_WORK/pf/tlsgate_banner" \
	pf_mx inside "$NS_IN" 192.0.2.20 notls
tg_gw_inbound gw 25 192.0.2.20:25

# 1. plaintext from the sender: the banner
tg_msg "$TG_WORK/m1" 1
ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface 203.0.113.25 \
	--ehlo old.example --from sender@example.com --to alice@example.net \
	--data "@$TG_WORK/m1.swaks" > "$TG_WORK/s1" 2>&1
ok $? "a plaintext message delivered through tlsgated"
pf_wait_mail inside alice@example.net 1 30
stored=$(pf_mails inside alice@example.net | tail -n 1)
grep -q "^X-Tlsgate-Transport-Security: NOT encrypted between old.example and" "$stored"
ok $? "tlsgated's verdict: NOT encrypted"
banner=$(grep "^Keywords:" "$stored")
is "$banner" "Keywords: NOT-ENCRYPTED" "Postfix's header_checks prepended the banner header"
# what DKIM signs is untouched: the sent header fields and the body, byte for byte
pf_strip_delivery "$stored" | grep -v "^X-Tlsgate-Transport-Security:\|^Keywords:" |
	tail -n +2 | sed '/^[ \t]/d' | cmp -s - <(tr -d '\r' < "$TG_WORK/m1" | sed '/^[ \t]/d')
ok $? "Subject, every other sent field and the body are unchanged"

# 2. TLS from the sender: no banner
tg_msg "$TG_WORK/m2" 1
ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface 203.0.113.25 --tls \
	--from sender@example.com --to bob@example.net --data "@$TG_WORK/m2.swaks" \
	> "$TG_WORK/s2" 2>&1
pf_wait_mail inside bob@example.net 1 30
stored=$(pf_mails inside bob@example.net | tail -n 1)
grep -q "^X-Tlsgate-Transport-Security: Encrypted on every recorded hop" "$stored" &&
	! grep -q "^Keywords:" "$stored"
ok $? "an encrypted message gets no banner"

tap_done
