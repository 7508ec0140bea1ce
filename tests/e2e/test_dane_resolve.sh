#!/bin/bash
# e2e: `tlsgatectl dane check` against a DNSSEC-signed zone with a private trust anchor and a real
# Postfix MX.  The command looks up MX, addresses and TLSA with policy/dane*.c through libunbound
# (validating, driven by epoll as a worker drives it) and says what the gateway would do; with
# --connect it speaks SMTP to the MX with the SSL that ktls/dane.c configures: a verified DANE
# match, a mismatch (QUIT before MAIL: the MX's log has no MAIL), all records unusable
# (encrypted, not authenticated); a lookup failure (expired signatures: bogus) never connects at
# all and defers with 4.7.5; an unsigned zone is "no DANE".  The command never sends MAIL, so no
# session in the MX's log has one.  When posttls-finger and unbound are installed,
# posttls-finger's verdict on the same zone must agree with tlsgatectl's for every case.
#
#   $NS_GW  (the gateway: resolver and client)   eth0 203.0.113.1/24
#   $NS_OUT (nsd on .53, the Postfix MX on .25)  eth0 203.0.113.25/24, 203.0.113.53/24
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/dnssec.sh"

ctl=$TG_BUILD/tlsgatectl
[ -x "$ctl" ] || bail "$ctl not built"
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

check() { # ARGS...: `tlsgatectl dane check ARGS` in the gateway; output in $out, status in $rc
	out=$(ip netns exec "$NS_GW" "$ctl" dane check --config /dev/null --ta "$z/example.ds" \
		--dns 203.0.113.53 "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/#   /'
}
declare -A verdict # case -> tlsgatectl's verdict with --connect, for the differential
our_verdict() {
	case $1 in
	*" failed: no TLSA record matched"*) echo failed ;;
	*" verified by DANE-"*"deliver: TLS mandatory, authenticated by DANE"*) echo verified ;;
	*"encrypted, not authenticated"*"deliver: TLS mandatory, not authenticated"*)
		echo unauthenticated ;;
	*"defer 4.7.5: "*) echo defer ;;
	*"no DANE: "*) echo none ;;
	*) echo error ;;
	esac
}
run() { # NAME: the DNS verdict alone, then with --connect (the output kept in $out)
	check "$1"
	dns_out=$out dns_rc=$rc
	check --connect "$1"
	verdict[${1%.example}]=$(our_verdict "$out")
}
has() { printf '%s\n' "$out" | grep -q -- "$1"; }
dns_has() { printf '%s\n' "$dns_out" | grep -q -- "$1"; }
t() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local d=$1
	shift
	"$@"
	ok $? "$d"
}
pf_sessions() { grep -c 'connect from' "$(pf_dir mx)/maillog"; }
# Postfix's smtpd counts the commands of a session when it ends: STARTTLS, and no mail=.
last_session() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'disconnect from' "$(pf_dir mx)/maillog")" -ge "$1" ] && break
		sleep 0.1
	done
	grep 'disconnect from' "$(pf_dir mx)/maillog" | tail -n 1
}
sessions=0
no_mail() { # WHAT: the MX's newest session had STARTTLS and no MAIL
	local s
	sessions=$((sessions + 1))
	s=$(last_session $sessions)
	diag "MX: $s"
	[[ $s == *starttls=1* && $s != *mail=* ]]
	ok $? "$1: the MX's log shows STARTTLS and no MAIL in that session"
}

# 3 1 1 match: verified by DANE.
run dane-ok.example
t "3 1 1 match: the MX host has one usable record" \
	dns_has '^  mx-ok.example pref 10 \[203.0.113.25\]: usable, DANE-EE(3) 1 1 (1 usable TLSA record)$'
t "3 1 1 match: the DNS verdict delivers, authenticated" \
	dns_has '^deliver: TLS mandatory, authenticated by DANE (mx-ok.example: DANE-EE(3) 1 1)$'
is "$dns_rc" 0 "3 1 1 match: exit 0 without --connect"
t "3 1 1 match: verified by DANE-EE(3) 1 1 at depth 0, SNI = TLSA base domain" \
	has '^    203.0.113.25:25 verified by DANE-EE(3) 1 1 (matched .* at depth 0) (TLSv1.* SNI mx-ok.example)$'
is "$rc" 0 "3 1 1 match: exit 0 with --connect"
no_mail "3 1 1 match"

# The same host as a [host] next hop (--host: no MX lookup).
check --host --connect mx-ok.example
t "--host: the host is its own domain, verified" has '^    203.0.113.25:25 verified by DANE-EE(3) 1 1'
t "--host: delivers" has '^deliver: TLS mandatory, authenticated by DANE (mx-ok.example: DANE-EE(3) 1 1)$'
no_mail "--host"

# Mismatch: the handshake completes, the verdict is no, QUIT without MAIL.
run dane-bad.example
t "mismatch: DNS alone says deliver (the record is usable)" dns_has '^deliver: TLS mandatory, authenticated'
t "mismatch: no TLSA record matched" has '^    203.0.113.25:25 failed: no TLSA record matched'
t "mismatch: deferred with 4.7.5" \
	has '^defer 4.7.5: mx-bad.example\[203.0.113.25\]: no TLSA record matched'
is "$rc" 3 "mismatch: exit 3"
no_mail "mismatch"

# Bogus (expired RRSIG): a lookup failure, never a downgrade and never a connection.
conn_before=$(pf_sessions)
run bogus.example
t "bogus: the MX lookup failed (bogus)" has '^bogus.example: DANE failed (MX lookup: bogus'
t "bogus: deferred with 4.7.5" has '^defer 4.7.5: MX lookup: bogus'
is "$rc" 3 "bogus: exit 3"
is "$(pf_sessions)" "$conn_before" "bogus: no connection to the MX"

# The same for an MX host whose addresses are bogus (the MX RRset itself is fine).
run dane-bogushost.example
t "bogus host: the address lookup failed" \
	has '^  mx.bogus.example pref 10 \[\]: failed (address lookup (A): bogus'
t "bogus host: deferred with 4.7.5" has '^defer 4.7.5: mx.bogus.example: address lookup (A): bogus'
is "$(pf_sessions)" "$conn_before" "bogus host: no connection to the MX"

# No answer at all (the resolver's upstream is unreachable): indeterminate or the deadline, a
# defer either way; the module never holds the loop (each call returns at once).
out=$(ip netns exec "$NS_GW" "$ctl" -v dane check --config /dev/null --ta "$z/example.ds" \
	--dns 203.0.113.99 --timeout 1.5 --connect dane-ok.example 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
t "no DNS answer: deferred with 4.7.5" has '^defer 4.7.5: '
is "$rc" 3 "no DNS answer: exit 3"
ms=$(printf '%s\n' "$out" | sed -n 's/.*longest call into the resolver \([0-9]*\) ms.*/\1/p')
[ -n "$ms" ] && [ "$ms" -lt 100 ]
ok $? "no DNS answer: no call into the module took 100 ms or more (${ms:-?} ms)"
is "$(pf_sessions)" "$conn_before" "no DNS answer: no connection to the MX"

# Insecure (unsigned) zone: no DANE, other policy applies (the TLSA there is not used).
run insecure.example
t "insecure: no DANE (MX RRset insecure)" has '^insecure.example: DANE none (MX RRset insecure)'
t "insecure: falls through to the other policy" \
	has '^no DANE: MX RRset insecure — MTA-STS or the default applies$'
is "$rc" 0 "insecure: exit 0"
is "$(pf_sessions)" "$conn_before" "insecure: no connection to the MX"

# 2 1 1 with the name check: the chain's CA matches and the certificate names the MX host.
run dane-ta.example
t "2 1 1: verified by DANE-TA with the name" \
	has '^    203.0.113.25:25 verified by DANE-TA(2) 1 1 depth 1 name mx-ta.example (matched .* at depth 1)'
no_mail "2 1 1"
# ... and the same CA with a host name the certificate does not carry fails.
run dane-tawrong.example
t "2 1 1 wrong name: not verified" \
	has '^    203.0.113.25:25 failed: no TLSA record matched (certificate verify: hostname mismatch'
t "2 1 1 wrong name: deferred" has '^defer 4.7.5: mx-tawrong.example'
no_mail "2 1 1 wrong name"

# ... and through a CNAME the MX host name counts as well (RFC 7672 3.2.2), SNI being the
# expanded name.
run dane-tacname.example
t "2 1 1 via CNAME: verified with the MX host name" \
	has 'verified by DANE-TA(2) 1 1 depth 1 name mx-taalias.example .*SNI mx-tanocert.example)$'
no_mail "2 1 1 via CNAME"

# ... and so does the next-hop domain (RFC 7672 3.2.2; Postfix too) when the host's name is not
# in the certificate.
run dane-tanh.example
t "2 1 1 with the next-hop domain: verified" \
	has 'verified by DANE-TA(2) 1 1 depth 1 name dane-tanh.example'
no_mail "2 1 1 with the next-hop domain"

# All records unusable (PKIX-EE, PKIX-TA): TLS without authentication.
run dane-unusable.example
t "all unusable: host state unusable-all" \
	dns_has '^  mx-unusable.example pref 10 \[203.0.113.25\]: unusable-all (all 2 TLSA records unusable'
t "all unusable: the DNS verdict" \
	dns_has '^deliver: TLS mandatory, not authenticated (all TLSA records unusable)$'
t "all unusable: encrypted, unauthenticated" \
	has '^    203.0.113.25:25 encrypted, not authenticated (all TLSA records unusable) (TLSv1'
is "$rc" 0 "all unusable: exit 0"
no_mail "all unusable"

# Key rollover: an old and the current key published; the current one matches.
run dane-roll.example
t "rollover: two usable records" \
	has '^  mx-roll.example pref 10 .*: usable, DANE-EE(3) 1 1, DANE-EE(3) 1 1 (2 usable TLSA records)$'
t "rollover: verified" has '^    203.0.113.25:25 verified by DANE-EE(3) 1 1'
no_mail "rollover"

# CNAME (RFC 7672 2.2.2): the TLSA base domain is the expanded name, SNI too.
run dane-cname.example
t "CNAME: base domain is the target" \
	has '^  mx-alias.example pref 10 .*: usable, .*, TLSA base mx-target.example$'
t "CNAME: verified, SNI = expanded name" \
	has '^    203.0.113.25:25 verified by DANE-EE(3) 1 1 .*SNI mx-target.example)$'
no_mail "CNAME"

# -j: the same verdict for scripts.
check -j --connect dane-ok.example
printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
h = j["hosts"][0]
c = h["connections"][0]
ok = (j["state"] == "usable" and h["name"] == "mx-ok.example" and h["records"] == ["DANE-EE(3) 1 1"]
      and c["address"] == "203.0.113.25" and c["result"] == "verified" and c["sni"] == "mx-ok.example"
      and j["verdict"]["action"] == "deliver" and j["verdict"]["authenticated"] is True)
sys.exit(0 if ok else 1)'
ok $? "-j: domain, host, records, connection and verdict as JSON"
no_mail "-j"
check -j dane-bad.example --connect
printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if j["verdict"]["action"] == "defer" and j["verdict"]["status"] == "4.7.5"
         and j["hosts"][0]["connections"][0]["result"] == "failed" else 1)'
ok $? "-j: a mismatch is a 4.7.5 defer with a failed connection"
no_mail "-j mismatch"

# The daemon's configuration file gives the trust anchor and the DNS server.
printf '%s\n' "# tlsgate.conf" "dns_server = 203.0.113.53:53" "dane_trust_anchor = $z/example.ds" \
	"hostname = gw.example" > "$work/tlsgate.conf"
out=$(ip netns exec "$NS_GW" "$ctl" dane check --config "$work/tlsgate.conf" dane-ok.example 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
t "config file: dns_server and dane_trust_anchor are read" \
	has '^deliver: TLS mandatory, authenticated by DANE (mx-ok.example: DANE-EE(3) 1 1)$'
ip netns exec "$NS_GW" "$ctl" dane check --config "$work/missing.conf" dane-ok.example >/dev/null 2>&1
is "$?" 1 "config file: a named file that is missing is an error (exit 1)"
ip netns exec "$NS_GW" "$ctl" dane check --connect >/dev/null 2>&1
is "$?" 2 "usage: no domain is a usage error (exit 2)"

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
if command -v posttls-finger >/dev/null && why=$(dnssec_unbound_available); then
	dnssec_unbound "$NS_GW" 203.0.113.1 "$z" "$z/example.ds" 203.0.113.53
	mkdir -p "$work/ptf"
	# dnssec_probe: the test resolver knows no root zone; the probe would only warn.
	printf '%s\n' 'compatibility_level = 3.6' 'smtp_dns_support_level = dnssec' \
		'smtp_host_lookup = dns' 'dnssec_probe =' > "$work/ptf/main.cf"
	for d in dane-ok dane-bad bogus dane-bogushost insecure dane-ta dane-tawrong dane-tacname \
		dane-tanh dane-unusable dane-roll dane-cname; do
		ours=${verdict[$d]}
		theirs=$(MAIL_CONFIG=$work/ptf ip netns exec "$NS_GW" \
			timeout 40 posttls-finger -c -t10 -T20 -l dane "$d.example" 2>&1)
		want=$ours
		what="posttls-finger agrees ($ours)"
		# The one known difference: for DANE-TA through a CNAME, Postfix 3.7 checks the
		# expanded name and the next hop, not the MX host name the secure MX RRset gave;
		# tlsgatectl accepts that name too (ktls/dane.c).
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
