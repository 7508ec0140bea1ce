#!/bin/bash
# e2e, an external judge: testssl.sh --starttls smtp against tlsgated's inbound listener with the
# default TLS configuration (an ECDSA and an RSA certificate): no vulnerability, nothing below
# TLS 1.2, no weak cipher category.  Findings about the throw-away test certificate itself (not
# trusted, short-lived, no OCSP) are about the test PKI, not about tlsgate, and are ignored.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

command -v testssl >/dev/null || { echo "testssl (package testssl.sh) not installed"; exit 77; }
tg_topology
TG_PKI_RSA=1 tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok --fork
tg_gw_inbound gw 25 192.0.2.20:25

ip netns exec "$NS_OUT" testssl --quiet --color 0 --fast --ip one --warnings off \
	--starttls smtp --protocols --std --vulnerable --jsonfile "$TG_WORK/testssl.json" \
	203.0.113.1:25 > "$TG_WORK/testssl.txt" 2>&1
# its exit status counts findings (the test certificate has some): judge the JSON instead
jq -e 'length > 20' "$TG_WORK/testssl.json" >/dev/null
ok $? "testssl.sh ran against the inbound listener and wrote its findings"
j=$TG_WORK/testssl.json
sev() { jq -r --arg id "$1" '.[] | select(.id == $id) | .severity' "$j"; }
fnd() { jq -r --arg id "$1" '.[] | select(.id == $id) | .finding' "$j"; }

for p in SSLv2 SSLv3 TLS1 TLS1_1; do
	[[ $(fnd "$p") == "not offered"* ]]
	ok $? "$p not offered"
done
[[ $(fnd TLS1_2) == offered* ]] && [[ $(fnd TLS1_3) == offered* ]]
ok $? "TLS 1.2 and TLS 1.3 offered"
# testssl 3.0's categories; AVERAGE is "Obsolete CBC ciphers"
for c in cipherlist_NULL cipherlist_aNULL cipherlist_EXPORT cipherlist_LOW cipherlist_3DES_IDEA \
	cipherlist_AVERAGE; do
	[[ $(fnd "$c") == "not offered"* ]]
	ok $? "$c: not offered"
done
[[ $(fnd cipherlist_STRONG) == offered* ]]
ok $? "strong (AEAD) ciphers offered, and nothing weaker"

bad=$(jq -r '.[] | select((.severity == "MEDIUM" or .severity == "HIGH" or .severity == "CRITICAL")
	and (.id | test("^cert|^DNS_CAA|^OCSP|^intermediate") | not)) | "\(.id): \(.finding)"' "$j")
[ -z "$bad" ]
ok $? "no vulnerability or weakness found (medium or worse, certificate findings aside)"
[ -z "$bad" ] || diag "$bad"
for v in heartbleed CCS ticketbleed ROBOT secure_renego secure_client_renego CRIME_TLS POODLE_SSL \
	fallback_SCSV SWEET32 FREAK DROWN LOGJAM BEAST LUCKY13 RC4; do
	s=$(sev "$v")
	# RC4: OpenSSL 3.0 has no RC4 at all (testssl warns it cannot test it): nothing to offer
	[ -z "$s" ] || [ "$s" = OK ] || [ "$s" = INFO ] || [ "$s" = LOW ] ||
		{ [ "$v" = RC4 ] && [ "$s" = WARN ] && [[ $(fnd RC4) == *"not supported by local OpenSSL"* ]]; }
	ok $? "$v: ${s:-not tested} ($(fnd "$v" | cut -c1-60))"
done

tap_done
