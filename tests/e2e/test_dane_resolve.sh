#!/bin/bash
# e2e: DANE (RFC 7672) building blocks against a DNSSEC-signed zone with a private trust anchor
# and a real Postfix MX.  policy/dane*.c looks up MX, addresses and TLSA through libunbound
# (validating, driven by epoll in tests/e2e/helper_dane.c), then the helper speaks SMTP to the
# MX with the SSL that ktls/dane.c configured: a verified DANE match delivers a message, a
# mismatch sends QUIT before MAIL (the MX's log has no MAIL and nothing is stored), a lookup
# failure (expired signatures: bogus) never connects at all, an unsigned zone is "no DANE".
# When posttls-finger and unbound are installed, posttls-finger's verdict on the same zone must
# agree with the helper's for every case.
#
#   $NS_GW  (the gateway: resolver and client)   eth0 203.0.113.1/24
#   $NS_OUT (nsd on .53, the Postfix MX on .25)  eth0 203.0.113.25/24, 203.0.113.53/24
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/dnssec.sh"

helper=$TG_BUILD/tests/e2e/helper_dane
[ -x "$helper" ] || bail "$helper not built"
if ! why=$(dnssec_available); then
	echo "$why"
	exit 77
fi
command -v postfix >/dev/null || { echo "postfix not installed (make deps installs it)"; exit 77; }

tg_netns_add "$NS_GW"
tg_netns_add "$NS_OUT"
ip -n "$NS_GW" link add eth0 type veth peer name eth0 netns "$NS_OUT"
ip -n "$NS_GW" addr add 203.0.113.1/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.25/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_GW" link set eth0 up
ip -n "$NS_OUT" link set eth0 up
ip netns exec "$NS_GW" ping -c 1 -W 5 203.0.113.53 >/dev/null || bail "no path to 203.0.113.53"

work=$(mktemp -d)
chmod 755 "$work"
tg_on_exit "rm -rf '$work'"
. "$(dirname "$0")/../lib/postfix.sh"

# ---- certificates: the MX's (with the CA in its chain, for DANE-TA) and another key --------
pki_init "$work/pki" || bail "pki_init"
# mx-ok.example is not among the names: a DANE-EE(3) match needs none (RFC 7672 3.1.1); nor are
# mx-tawrong, mx-tanh (its next hop dane-tanh is) and mx-tanocert (the MX name mx-taalias is).
pki_leaf "$work/pki" mx mx-bad.example mx-ta.example mx-unusable.example mx-roll.example \
	mx-target.example mx.bogus.example mx.insecure.example mx-taalias.example \
	dane-tanh.example || bail "pki_leaf mx"
pki_leaf "$work/pki" other other.example || bail "pki_leaf other"
cat "$work/pki/mx.crt" "$work/pki/ca.crt" > "$work/pki/mxchain.crt"
cp "$work/pki/mx.key" "$work/pki/mxchain.key"
chmod 644 "$work/pki"/*.crt
mx_h=$(dnssec_spki_sha256 "$work/pki/mx.crt")
other_h=$(dnssec_spki_sha256 "$work/pki/other.crt")
ca_h=$(dnssec_spki_sha256 "$work/pki/ca.crt")

# ---- zones: example. (signed; its DS is the trust anchor), bogus.example. (expired signatures),
# insecure.example. (unsigned).  Not test.: libunbound answers test. itself (RFC 6761 local zone).
z=$work/dns
mkdir -p "$z"
soa() {
	printf '$ORIGIN %s.\n$TTL 300\n' "$1"
	printf '@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 60\n@ IN NS ns.example.\n'
}
dnssec_key "$z" example
dnssec_key "$z" bogus.example
{
	soa bogus.example
	echo "@ IN MX 10 mx.bogus.example."
	echo "mx IN A 203.0.113.25"
	echo "_25._tcp.mx IN TLSA 3 1 1 $mx_h"
} > "$z/bogus.example.zone"
dnssec_sign "$z" bogus.example expired
{
	soa insecure.example
	echo "@ IN MX 10 mx.insecure.example."
	echo "mx IN A 203.0.113.25"
	echo "_25._tcp.mx IN TLSA 3 1 1 $mx_h"
} > "$z/insecure.example.zone"
{
	soa example
	echo "ns IN A 203.0.113.53"
	for h in ok bad ta tawrong unusable roll target; do
		echo "mx-$h IN A 203.0.113.25"
		echo "dane-$h IN MX 10 mx-$h.example."
	done
	# a secure MX naming a host in the bogus zone: the address lookup fails
	echo "dane-bogushost IN MX 10 mx.bogus.example."
	# DANE-TA through a CNAME: the certificate names the MX host, not the expanded name
	echo "dane-tacname IN MX 10 mx-taalias.example."
	echo "dane-tanh IN MX 10 mx-tanh.example."
	echo "mx-tanh IN A 203.0.113.25"
	echo "_25._tcp.mx-tanh IN TLSA 2 1 1 $ca_h"
	echo "mx-taalias IN CNAME mx-tanocert.example."
	echo "mx-tanocert IN A 203.0.113.25"
	echo "_25._tcp.mx-tanocert IN TLSA 2 1 1 $ca_h"
	echo "mx-alias IN CNAME mx-target.example."
	echo "dane-cname IN MX 10 mx-alias.example."
	echo "_25._tcp.mx-ok IN TLSA 3 1 1 $mx_h"
	echo "_25._tcp.mx-bad IN TLSA 3 1 1 $other_h"
	echo "_25._tcp.mx-ta IN TLSA 2 1 1 $ca_h"
	echo "_25._tcp.mx-tawrong IN TLSA 2 1 1 $ca_h"
	echo "_25._tcp.mx-unusable IN TLSA 1 1 1 $mx_h"
	echo "_25._tcp.mx-unusable IN TLSA 0 1 1 $ca_h"
	echo "_25._tcp.mx-roll IN TLSA 3 1 1 $other_h"
	echo "_25._tcp.mx-roll IN TLSA 3 1 1 $mx_h"
	echo "_25._tcp.mx-target IN TLSA 3 1 1 $mx_h"
	echo "bogus IN NS ns.example."
	cat "$z/bogus.example.ds"
	echo "insecure IN NS ns.example."	# no DS: provably unsigned
} > "$z/example.zone"
dnssec_sign "$z" example
dnssec_nsd "$NS_OUT" 203.0.113.53 "$z" example=example.signed bogus.example=bogus.example.signed \
	insecure.example=insecure.example.zone

# ---- the MX ---------------------------------------------------------------------------------
PF_DOMAINS=example.org pf_mx mx "$NS_OUT" 203.0.113.25 tls "$work/pki/mxchain"

run() { # NAME: the helper's output in $out
	out=$(ip netns exec "$NS_GW" "$helper" --ta "$z/example.ds" --fwd 203.0.113.53 \
		--connect 203.0.113.25 --rcpt "$2@example.org" "$1" 2>&1)
	printf '%s\n' "$out" | sed 's/^/#   /'

}
has() { printf '%s\n' "$out" | grep -q -- "$1"; }
t() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local d=$1
	shift
	"$@"
	ok $? "$d"
}
stored() { # USER: messages stored for USER@example.org
	ls "$(pf_dir mx)/mail/example.org/$1/new" 2>/dev/null | wc -l
}
mx_mail_from() { # RCPT-USER: MAIL commands the MX logged for sessions of that recipient
	grep -c "to=<$1@example.org>" "$(pf_dir mx)/maillog" 2>/dev/null
}

# 3 1 1 match: verified by DANE, delivered.
run dane-ok.example alice
t "3 1 1 match: the MX host has one usable record" \
	has 'host=mx-ok.example .*state=usable .*record="DANE-EE(3) 1 1"'
t "3 1 1 match: verified by DANE-EE(3) 1 1, SNI = TLSA base domain" \
	has 'smtp tls=verified detail="verified by DANE-EE(3) 1 1" sni=mx-ok.example'
pf_wait_mail mx alice@example.org 1 20 >/dev/null
is "$(stored alice)" 1 "3 1 1 match: the MX stored the message"

# Mismatch: the handshake completes, the verdict is no, QUIT without MAIL.
run dane-bad.example bob
t "mismatch: no TLSA record matched" has 'smtp tls=failed detail="no TLSA record matched'
! has 'smtp delivered'
ok $? "mismatch: no MAIL was sent"
is "$(stored bob)" 0 "mismatch: nothing stored for bob"
# Postfix's smtpd counts the commands of a session when it ends: no mail= in this one.
last_session() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'disconnect from' "$(pf_dir mx)/maillog")" -ge "$1" ] && break
		sleep 0.1
	done
	grep 'disconnect from' "$(pf_dir mx)/maillog" | tail -n 1
}
s2=$(last_session 2)
diag "MX: $s2"
[[ $s2 == *starttls=1* && $s2 != *mail=* ]]
ok $? "mismatch: the MX's log shows STARTTLS and no MAIL in that session"

# Bogus (expired RRSIG): a lookup failure, never a downgrade and never a connection.
pf_sessions() { grep -c 'connect from' "$(pf_dir mx)/maillog"; }
conn_before=$(pf_sessions)
run bogus.example carol
t "bogus: the MX lookup failed (bogus)" \
	has 'domain=bogus.example state=failed reason="MX lookup: bogus'
t "bogus: deferred with 4.7.5" has 'smtp defer 4.7.5'
is "$(pf_sessions)" "$conn_before" "bogus: no connection to the MX"

# The same for an MX host whose addresses are bogus (the MX RRset itself is fine).
run dane-bogushost.example carol
t "bogus host: the address lookup failed" \
	has 'host=mx.bogus.example .*state=failed .*reason="address lookup (A): bogus'
t "bogus host: deferred with 4.7.5" has 'smtp defer 4.7.5'
is "$(pf_sessions)" "$conn_before" "bogus host: no connection to the MX"

# No answer at all (the resolver's upstream is unreachable): indeterminate or the caller's
# deadline, a defer either way; the module never holds the loop (each call returns at once).
out=$(ip netns exec "$NS_GW" "$helper" --ta "$z/example.ds" --fwd 203.0.113.99 \
	--connect 203.0.113.25 --deadline 1500 dane-ok.example 2>&1)
printf '%s\n' "$out" | sed 's/^/#   /'
t "no DNS answer: deferred with 4.7.5" has 'smtp defer 4.7.5'
ms=$(printf '%s\n' "$out" | sed -n 's/.*longest_call_ms=\([0-9]*\).*/\1/p')
[ -n "$ms" ] && [ "$ms" -lt 100 ]
ok $? "no DNS answer: no call into the module took 100 ms or more (${ms:-?} ms)"
is "$(pf_sessions)" "$conn_before" "no DNS answer: no connection to the MX"

# Insecure (unsigned) zone: no DANE, other policy applies (the TLSA there is not used).
run insecure.example carol
t "insecure: no DANE (MX RRset insecure)" \
	has 'domain=insecure.example state=none reason="MX RRset insecure"'
t "insecure: falls through to the other policy" has 'smtp dane=none'

# 2 1 1 with the name check: the chain's CA matches and the certificate names the MX host.
run dane-ta.example dave
t "2 1 1: verified by DANE-TA with the name" \
	has 'smtp tls=verified detail="verified by DANE-TA(2) 1 1 depth 1 name mx-ta.example"'
# ... and the same CA with a host name the certificate does not carry fails.
run dane-tawrong.example frank
t "2 1 1 wrong name: not verified" \
	has 'smtp tls=failed detail="no TLSA record matched (certificate verify: hostname mismatch'
is "$(stored frank)" 0 "2 1 1 wrong name: nothing stored"

# ... and through a CNAME the MX host name counts as well (RFC 7672 3.2.2), SNI being the
# expanded name.
run dane-tacname.example frank
t "2 1 1 via CNAME: verified with the MX host name" \
	has 'tls=verified detail="verified by DANE-TA(2) 1 1 depth 1 name mx-taalias.example" sni=mx-tanocert'

# ... and so does the next-hop domain (RFC 7672 3.2.2; Postfix too) when the host's name is not
# in the certificate.
run dane-tanh.example frank
t "2 1 1 with the next-hop domain: verified" \
	has 'smtp tls=verified detail="verified by DANE-TA(2) 1 1 depth 1 name dane-tanh.example"'
is "$(stored frank)" 2 "2 1 1 via CNAME and next-hop: both delivered for frank"

# All records unusable (PKIX-EE, PKIX-TA): TLS without authentication, delivered.
run dane-unusable.example erin
t "all unusable: host state unusable-all" \
	has 'host=mx-unusable.example .*state=unusable-all .*unusable=2'
t "all unusable: encrypted, unauthenticated" has 'smtp tls=unauthenticated version=TLSv1'
pf_wait_mail mx erin@example.org 1 20 >/dev/null
is "$(stored erin)" 1 "all unusable: delivered"

# Key rollover: an old and the current key published; the current one matches.
run dane-roll.example postmaster
t "rollover: two usable records" has 'host=mx-roll.example .*state=usable .*tlsa=2 '
t "rollover: verified" has 'smtp tls=verified detail="verified by DANE-EE(3) 1 1"'
pf_wait_mail mx postmaster@example.org 1 20 >/dev/null
is "$(stored postmaster)" 1 "rollover: delivered"

# CNAME (RFC 7672 2.2.2): the TLSA base domain is the expanded name, SNI too.
run dane-cname.example dave
t "CNAME: base domain is the target" \
	has 'host=mx-alias.example .*state=usable base=mx-target.example'
t "CNAME: verified, SNI = expanded name" \
	has 'smtp tls=verified detail="verified by DANE-EE(3) 1 1" sni=mx-target.example'
pf_wait_mail mx dave@example.org 2 20 >/dev/null
is "$(stored dave)" 2 "2 1 1 and CNAME: both delivered for dave"

# ---- differential: posttls-finger on the same zone reaches the same verdict ----------------
# Its lines, as Postfix 3.7 words them: "Matched DANE .. certificate" + "Verified TLS connection
# established" (verified); "server certificate verification failed" (DANE-mode verification
# failed: no matching record, or the DANE-TA name check); "unsupported TLSA certificate usage"
# for every record and no match (all unusable: TLS, no authentication); no TLS connection at all
# after "lookup failed" (a DNS failure: defer); a connection without any of these (not DANE).
ptf_verdict() {
	if [[ $1 == *"Matched DANE"*"Verified TLS connection established"* ]]; then
		echo verified
	elif [[ $1 != *"TLS connection established"* ]]; then
		[[ $1 == *"lookup failed"* || $1 == *"lookup error"* ]] && echo defer || echo error
	elif [[ $1 == *"unsupported TLSA certificate usage"* && $1 != *"Matched DANE"* ]]; then
		echo unauthenticated
	elif [[ $1 == *"server certificate verification failed"* ]]; then
		echo failed
	else
		echo none
	fi
}
our_verdict() {
	case $1 in
	*"smtp tls=verified"*) echo verified ;;
	*"smtp tls=failed"*) echo failed ;;
	*"smtp tls=unauthenticated"*) echo unauthenticated ;;
	*"smtp defer 4.7.5"*) echo defer ;;
	*"smtp dane=none"*) echo none ;;
	*) echo error ;;
	esac
}
if command -v posttls-finger >/dev/null && why=$(dnssec_unbound_available); then
	dnssec_unbound "$NS_GW" 203.0.113.1 "$z" "$z/example.ds" 203.0.113.53
	mkdir -p "$work/ptf"
	# dnssec_probe: the test resolver knows no root zone; the probe would only warn.
	printf '%s\n' 'compatibility_level = 3.6' 'smtp_dns_support_level = dnssec' \
		'smtp_host_lookup = dns' 'dnssec_probe =' > "$work/ptf/main.cf"
	for d in dane-ok dane-bad bogus dane-bogushost insecure dane-ta dane-tawrong dane-tacname \
		dane-tanh dane-unusable dane-roll dane-cname; do
		run "$d.example" carol >/dev/null
		ours=$(our_verdict "$out")
		theirs=$(MAIL_CONFIG=$work/ptf ip netns exec "$NS_GW" \
			timeout 40 posttls-finger -c -t10 -T20 -l dane "$d.example" 2>&1)
		want=$ours
		what="posttls-finger agrees ($ours)"
		# The one known difference: for DANE-TA through a CNAME, Postfix 3.7 checks the
		# expanded name and the next hop, not the MX host name the secure MX RRset gave;
		# tlsgate accepts that name too (ktls/dane.c).
		if [ "$d" = dane-tacname ]; then
			want=failed
			what="posttls-finger refuses the MX name for DANE-TA via CNAME (we: $ours)"
		fi
		is "$(ptf_verdict "$theirs")" "$want" "differential $d: $what" ||
			printf '%s\n' "$theirs" | sed 's/^/#   /'
	done
else
	skip "${why:-posttls-finger not installed}" "differential against posttls-finger"
fi

tap_done
