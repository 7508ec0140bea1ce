#!/bin/bash
# e2e (issue 14): the destinations' own policies, DANE (RFC 7672) and MTA-STS (RFC 8461), applied
# by tlsgated per recipient on a transparent leg, with the precedence docs/POLICY.md gives:
# the admin's table > DANE with TLSA records > MTA-STS enforce > MTA-STS testing > default.
# A DNSSEC-signed zone (nsd, private trust anchor), an MTA-STS policy server with the test CA,
# a real Postfix MX, and a hostile MX that strips STARTTLS.  For every refusal the MX's own log
# shows that the session carried no MAIL: nothing of the transaction went up.
#
#   $NS_IN  the inside MTA (helper_smtp_client)  192.0.2.10
#   $NS_GW  tlsgated                             192.0.2.1 / 203.0.113.1
#   $NS_OUT nsd .53, policy server .80, Postfix MX .25, STARTTLS-stripping MX .27
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/dnssec.sh"
. "$(dirname "$0")/../lib/destzone.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

if ! why=$(dnssec_available); then
	echo "$why"
	exit 77
fi
command -v postfix >/dev/null || { echo "postfix not installed (make deps installs it)"; exit 77; }
PY=/usr/bin/python3
[ -x $PY ] || { echo "python3 not installed"; exit 77; }

tg_topology
tg_mx_addrs
ip -n "$NS_OUT" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.80/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.54/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.81/24 dev eth0
tg_pki
# The MX's certificate names: what DANE-EE ignores and MTA-STS checks.  mx-noname is not there.
pki_leaf "$TG_PKI" mx mx-ok.example mx-bad.example mx-sts.example mx-unusable.example \
	mx.insecure.example mx-ta.example || bail "pki_leaf mx"
pki_leaf "$TG_PKI" other other.example || bail "pki_leaf other"
pki_leaf "$TG_PKI" sni mx-sni.example || bail "pki_leaf sni"
pki_leaf "$TG_PKI" rpt rpt.example || bail "pki_leaf rpt"
pki_leaf "$TG_PKI" web mta-sts.sts-ok.example mta-sts.sts-nomatch.example \
	mta-sts.sts-badname.example mta-sts.sts-testing.example mta-sts.dane-sts.example \
	mta-sts.sts-strip.example || bail "pki_leaf web"
cat "$TG_PKI/mx.crt" "$TG_PKI/ca.crt" > "$TG_PKI/mxchain.crt"
cp "$TG_PKI/mx.key" "$TG_PKI/mxchain.key"
chmod 644 "$TG_PKI"/*.crt
mx_h=$(dnssec_spki_sha256 "$TG_PKI/mx.crt")
ca_h=$(dnssec_spki_sha256 "$TG_PKI/ca.crt")
other_h=$(dnssec_spki_sha256 "$TG_PKI/other.crt")
sni_h=$(dnssec_spki_sha256 "$TG_PKI/sni.crt")
# The MX presents mx-sni.example's certificate only to a client that asks for that name (SNI)
cat "$TG_PKI/sni.key" "$TG_PKI/sni.crt" "$TG_PKI/ca.crt" > "$TG_PKI/sni-chain.pem"
chmod 644 "$TG_PKI/sni-chain.pem"

# ---- DNS: example. signed (its DS is the trust anchor), bogus.example. expired, insecure.example.
# unsigned --------------------------------------------------------------------------------------
z=$TG_WORK/dns
mkdir -p "$z"
dnssec_key "$z" bogus.example
{
	destzone_soa bogus.example
	echo "@ IN MX 10 mx.bogus.example."
	echo "mx IN A 203.0.113.25"
	echo "_25._tcp.mx IN TLSA 3 1 1 $mx_h"
} > "$z/bogus.example.zone"
dnssec_sign "$z" bogus.example expired
{
	destzone_soa insecure.example
	echo "@ IN MX 10 mx.insecure.example."
	echo "mx IN A 203.0.113.25"
	echo "_25._tcp.mx IN TLSA 3 1 1 $other_h"	# insecure: never used
} > "$z/insecure.example.zone"
{
	for h in ok bad unusable sts noname ta tawrong roll; do echo "mx-$h IN A 203.0.113.25"; done
	# DANE-TA: the CA of the MX's chain; the certificate names mx-ta, not mx-tawrong
	echo "_25._tcp.mx-ta IN TLSA 2 1 1 $ca_h"
	echo "_25._tcp.mx-tawrong IN TLSA 2 1 1 $ca_h"
	# a key rollover: the next key's record next to the current one's
	echo "_25._tcp.mx-roll IN TLSA 3 1 1 $other_h"
	echo "_25._tcp.mx-roll IN TLSA 3 1 1 $mx_h"
	for d in ta tawrong roll; do echo "dane-$d IN MX 10 mx-$d.example."; done
	echo "sts-down IN MX 10 mx-sts.example."
	# TLS reports (RFC 8460) for two of the domains, to an HTTPS receiver at .81
	echo "rpt IN A 203.0.113.81"
	for d in dane-bad sts-ok; do
		echo "_smtp._tls.$d IN TXT \"v=TLSRPTv1; rua=https://rpt.example/v1\""
	done
	echo "mx-sni IN A 203.0.113.25"
	echo "_25._tcp.mx-sni IN TLSA 3 1 1 $sni_h"
	echo "dane-sni IN MX 10 mx-sni.example."
	echo "_mta-sts.sts-down IN TXT \"v=STSv1; id=1;\""
	echo "mta-sts.sts-down IN A 203.0.113.80"
	echo "mx-far IN A 203.0.113.26"
	echo "mx-strip IN A 203.0.113.27"
	echo "_25._tcp.mx-ok IN TLSA 3 1 1 $mx_h"
	echo "_25._tcp.mx-far IN TLSA 3 1 1 $mx_h"
	echo "_25._tcp.mx-strip IN TLSA 3 1 1 $mx_h"
	echo "_25._tcp.mx-bad IN TLSA 3 1 1 $other_h"
	echo "_25._tcp.mx-unusable IN TLSA 1 1 1 $mx_h"
	for d in ok bad unusable far strip; do echo "dane-$d IN MX 10 mx-$d.example."; done
	echo "dane-sts IN MX 10 mx-bad.example."
	echo "table-wins IN MX 10 mx-bad.example."
	echo "only-ok IN MX 10 mx-ok.example."
	echo "only-none IN MX 10 mx-sts.example."
	for d in sts-ok sts-nomatch plain; do echo "$d IN MX 10 mx-sts.example."; done
	for d in sts-badname sts-testing; do echo "$d IN MX 10 mx-noname.example."; done
	echo "sts-strip IN MX 10 mx-nostarttls.example."
	echo "mx-nostarttls IN A 203.0.113.27"
	for d in sts-ok sts-nomatch sts-badname sts-testing dane-sts sts-strip; do
		echo "_mta-sts.$d IN TXT \"v=STSv1; id=1;\""
		echo "mta-sts.$d IN A 203.0.113.80"
	done
	echo "slow IN MX 10 mx-ok.example."	# its queries are dropped (dns_drop.py)
	echo "bogus IN NS ns.example."
	cat "$z/bogus.example.ds"
	echo "insecure IN NS ns.example."	# no DS: provably unsigned
} | destzone_example "$z" "$NS_OUT" bogus.example=bogus.example.signed \
	insecure.example=insecure.example.zone
# The gateway's resolver asks through a forwarder that never answers for slow.example: a
# nameserver that does not respond (a timeout, not an error).
tg_bg ip netns exec "$NS_OUT" $PY "$TG_TOP/tests/lib/dns_drop.py" 203.0.113.54 203.0.113.53 \
	slow.example > "$TG_WORK/dns_drop.log" 2>&1
for ((i = 0; i < 100; i++)); do
	ip netns exec "$NS_OUT" ss -Hlun "src 203.0.113.54:53" | grep -q . &&
		ip netns exec "$NS_OUT" ss -Hltn "src 203.0.113.54:53" | grep -q . && break
	sleep 0.1
done

# ---- MTA-STS policy server --------------------------------------------------------------------
www=$TG_WORK/www
mkdir -p "$www"
policy() { # DOMAIN MODE MX...
	local d=$1 mode=$2 m
	shift 2
	{
		printf 'version: STSv1\r\nmode: %s\r\n' "$mode"
		for m in "$@"; do printf 'mx: %s\r\n' "$m"; done
		printf 'max_age: 86400\r\n'
	} > "$www/mta-sts.$d"
}
policy sts-ok.example enforce mx-sts.example
policy sts-nomatch.example enforce other.example '*.mx-sts.example'
policy sts-badname.example enforce mx-noname.example
policy sts-testing.example testing mx-noname.example
policy dane-sts.example enforce mx-bad.example
policy sts-strip.example enforce mx-nostarttls.example
tg_bg ip netns exec "$NS_OUT" $PY "$TG_TOP/tests/lib/sts_server.py" 203.0.113.80 443 \
	"$TG_PKI/web.crt" "$TG_PKI/web.key" "$www" >> "$TG_WORK/web.log" 2>&1
web_pid=$TG_BG_PID
tg_wait_listen "$NS_OUT" 443 20 || bail "policy server did not start: $(cat "$TG_WORK/web.log")"

printf 'mx-sni.example %s\n' "$TG_PKI/sni-chain.pem" > "$TG_WORK/sni_map"
# ---- MXs ----------------------------------------------------------------------------------------
PF_DOMAINS="dane-ok.example dane-bad.example dane-ta.example dane-tawrong.example dane-roll.example
	sts-down.example dane-sni.example dane-unusable.example dane-far.example
	dane-sts.example table-wins.example only-ok.example only-none.example sts-ok.example
	sts-nomatch.example sts-badname.example sts-testing.example plain.example bogus.example
	insecure.example" PF_MAIN_EXTRA="tls_server_sni_maps = texthash:$TG_WORK/sni_map" \
	pf_mx mx "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mxchain"
tg_fake_mx strip 203.0.113.27 ok	# no certificate: offers no STARTTLS

# ---- the gateway ----------------------------------------------------------------------------
printf 'table-wins.example encrypt\nonly-ok.example dane-only\nonly-none.example dane-only\n' \
	> "$TG_WORK/policy"
destzone_opts "$z"
# through the forwarder that drops slow.example (below), with a short lookup deadline
dest_opts=("${DESTZONE_OPTS[@]}" -o dns_server=203.0.113.54 -o destination_lookup_timeout=4s
	-o "mta_sts_ca_file=$TG_PKI/ca.crt" -o "outbound_policy=$TG_WORK/policy" -o resolve=no)
# g also writes TLS reports: what its sessions found, per policy domain (RFC 8460)
rx=$TG_WORK/rx
mkdir -p "$rx"
tg_bg ip netns exec "$NS_OUT" $PY "$TG_TOP/tests/lib/tlsrpt_server.py" 203.0.113.81 443 \
	"$TG_PKI/rpt.crt" "$TG_PKI/rpt.key" "$rx" >> "$TG_WORK/rx.log" 2>&1
tg_wait_listen "$NS_OUT" 443 20 || bail "report receiver did not start: $(cat "$TG_WORK/rx.log")"
rpt_opts=(-o tlsrpt=yes -o "tlsrpt_organization=Example Org" -o tlsrpt_timeout=5s)
# g without connection reuse: cases 2, 3 and 11 read the MX's log of the refused session's own
# connection (no_mail_at_mx), which a reused one would share with the case before it
TG_OUTBOUND_REUSE=no tg_gw g 2640 -o outbound_forward=203.0.113.25:25 "${dest_opts[@]}" \
	"${rpt_opts[@]}"
tg_gw s 2641 -o outbound_forward=203.0.113.27:25 "${dest_opts[@]}"
ctl() { ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/$1" "${@:2}"; }
for d in sts-ok sts-nomatch sts-badname sts-testing dane-sts; do
	ctl g sts refresh "$d.example" > /dev/null || bail "sts refresh $d"
done
ctl s sts refresh sts-strip.example > /dev/null || bail "sts refresh sts-strip"

# ---- one message per case -------------------------------------------------------------------
n=0
send() { # PORT RCPT CODE: one transaction; CODE is what RCPT must get
	local port=$1 rcpt=$2 code=$3
	n=$((n + 1))
	{
		echo "expect 220"
		echo "send EHLO client.example.org\r\n"
		echo "expect 250"
		echo "send MAIL FROM:<case$n@example.org>\r\n"
		echo "expect 250"
		echo "send RCPT TO:<$rcpt>\r\n"
		echo "expect $code"
		if [ "$code" = 250 ]; then
			echo "send DATA\r\n"
			echo "expect 354"
			echo "send Subject: case $n\r\n\r\nfor $rcpt\r\n.\r\n"
			echo "expect 250"
		fi
		echo "send QUIT\r\n"
		echo "expect 221"
	} > "$TG_WORK/script.$n"
	tg_smtp "$port" < "$TG_WORK/script.$n" > "$TG_WORK/out.$n" 2>&1
	local rc=$?
	grep "^S: [245][0-9][0-9] " "$TG_WORK/out.$n" | grep -v "^S: 2[25]0 \|^S: 221" | sed 's/^/# /'
	return $rc
}
stored() { # USER DOMAIN
	find "$(pf_dir mx)/mail/$2" -type f -path '*/new/*' 2>/dev/null | wc -l
}
last_session() { # the Postfix MX's summary of the last session it saw (after N sessions)
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'disconnect from' "$(pf_dir mx)/maillog")" -ge "$1" ] && break
		sleep 0.1
	done
	grep 'disconnect from' "$(pf_dir mx)/maillog" | tail -n 1
}
sessions() { grep -c 'disconnect from' "$(pf_dir mx)/maillog" 2>/dev/null || true; }
gwlog() { tg_gw_log g; }
no_mail_at_mx() { # DESCRIPTION: the MX's last session carried no MAIL
	local s
	s=$(last_session "$1")
	diag "MX: $s"
	[[ $s == *starttls=1* && $s != *mail=* ]]
}

# 1. DANE 3 1 1 match: delivered, logged "authenticated by DANE"
send 2640 alice@dane-ok.example 250
ok $? "DANE 3 1 1 match: the recipient is accepted and the message delivered"
pf_wait_mail mx alice@dane-ok.example 1 20 >/dev/null
is "$(stored alice dane-ok.example)" 1 "DANE match: the MX stored it"
gwlog | grep -q 'policy="authenticated by DANE (mx-ok.example, verified by DANE-EE(3) 1 1)"'
ok $? "the message's log line says authenticated by DANE with the record"

# 2. DANE mismatch: 450 4.7.5, the MX saw STARTTLS and no MAIL
s0=$(sessions)
send 2640 bob@dane-bad.example 450
ok $? "DANE mismatch: 450"
grep -q "^S: 450 4.7.5 DANE policy of dane-bad.example" "$TG_WORK/out.$n"
ok $? "the reply names the domain's DANE policy (4.7.5)"
no_mail_at_mx $((s0 + 1))
ok $? "DANE mismatch: the MX's log shows STARTTLS and no MAIL in that session"
gwlog | grep -q "rcpt=<bob@dane-bad.example> refused: DANE verification of mx-bad.example failed"
ok $? "the gateway logs why"

# 3. bogus signatures: a lookup failure defers, never a downgrade
s0=$(sessions)
send 2640 carol@bogus.example 450
ok $? "bogus (expired RRSIG): 450"
no_mail_at_mx $((s0 + 1))
ok $? "bogus: no MAIL at the MX"
gwlog | grep -q "rcpt=<carol@bogus.example> refused: DANE lookup for bogus.example failed"
ok $? "bogus: logged as a DANE lookup failure"

# 4. insecure zone: no DANE (its TLSA is not used), no MTA-STS: delivered opportunistically
send 2640 dave@insecure.example 250
ok $? "insecure zone: delivered (the TLSA record there is not used)"

# 5. all records unusable: TLS mandatory, not authenticated, delivered over TLS
send 2640 erin@dane-unusable.example 250
ok $? "all TLSA unusable: delivered (the leg is TLS)"
gwlog | grep -q 'policy="TLS required by DANE (mx-unusable.example: all TLSA records unusable)"'
ok $? "unusable: the log says TLS without authentication"

# 6. the connected address is none of the domain's MX hosts
s0=$(sessions)
send 2640 frank@dane-far.example 450
ok $? "the MX at this address is not an MX host of the DANE domain: 450"
gwlog | grep -q "is not a DNSSEC-validated MX host of dane-far.example"
ok $? "logged: not a validated MX host"

# 7. DANE beats MTA-STS: TLSA mismatch, STS would pass
send 2640 alice@dane-sts.example 450
ok $? "DANE mismatch with a passing MTA-STS enforce policy: 450 (DANE decides)"

# 8. the admin's explicit rule decides alone: encrypt beats the TLSA mismatch
send 2640 alice@table-wins.example 250
ok $? "an explicit table rule (encrypt) for the domain: delivered despite its TLSA mismatch"

# 9. dane-only in the table
send 2640 alice@only-ok.example 250
ok $? "dane-only with a DANE match: delivered"
s0=$(sessions)
send 2640 alice@only-none.example 450
ok $? "dane-only without TLSA records: 450"
gwlog | grep -q "dane-only: no DNSSEC-validated TLSA records for only-none.example"
ok $? "dane-only: logged as dane-required"

# 10. MTA-STS enforce, MX matches and the certificate is valid for it
send 2640 alice@sts-ok.example 250
ok $? "MTA-STS enforce, matching MX and certificate: delivered"
gwlog | grep -q 'policy="authenticated by MTA-STS (enforce, mx-sts.example)"'
ok $? "logged authenticated by MTA-STS (enforce)"

# 11. MTA-STS enforce, the MX is not among the patterns
s0=$(sessions)
send 2640 bob@sts-nomatch.example 450
ok $? "MTA-STS enforce, MX not in the policy's patterns: 450"
no_mail_at_mx $((s0 + 1))
ok $? "MX not in the patterns: no MAIL at the MX"

# 12. MTA-STS enforce, the certificate does not name the MX
send 2640 carol@sts-badname.example 450
ok $? "MTA-STS enforce, certificate not valid for the MX name: 450"
gwlog | grep -q "carol@sts-badname.example> refused: MTA-STS (enforce): .*(certificate-host-mismatch)"
ok $? "logged with RFC 8460's result type certificate-host-mismatch"

# 13. MTA-STS testing: delivered, and what would have failed is logged
send 2640 dave@sts-testing.example 250
ok $? "MTA-STS testing with a bad certificate name: delivered"
gwlog | grep -q "domain=sts-testing.example MTA-STS testing: would have refused"
ok $? "testing: logged as would have refused"

# 14. no policy at all
send 2640 erin@plain.example 250
ok $? "no TLSA, no MTA-STS: delivered"

# 15. a hostile MX strips STARTTLS: DANE and MTA-STS recipients refused, nothing sent
send 2641 alice@dane-strip.example 450
ok $? "STARTTLS stripped, DANE domain: 450"
send 2641 alice@sts-strip.example 450
ok $? "STARTTLS stripped, MTA-STS enforce domain: 450"
! grep -q "^C[0-9]*: MAIL" "$TG_WORK/strip/commands.log"
ok $? "the stripping MX never saw a MAIL command"
grep "^C" "$TG_WORK/strip/commands.log" | sed 's/^/# strip MX /'

# 16. one transaction, two domains: each recipient reaches only an MX its own policy accepts
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<mixed@example.org>\r\nRCPT TO:<bob@dane-bad.example>\r\nRCPT TO:<frank@dane-ok.example>\r\nDATA\r\n"
	echo "expect 250"
	echo "expect 450"
	echo "expect 250"
	echo "expect 354"
	echo "send Subject: mixed\r\n\r\nmixed\r\n.\r\n"
	echo "expect 250"
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script.mixed"
tg_smtp 2640 < "$TG_WORK/script.mixed" > "$TG_WORK/out.mixed" 2>&1
ok $? "pipelined, two domains: the DANE failure 450, the DANE match 250 and delivered"
pf_wait_mail mx frank@dane-ok.example 1 20 >/dev/null
is "$(find "$(pf_dir mx)/mail/dane-bad.example" -type f -path '*/new/*' 2>/dev/null | wc -l)" 0 \
	"nothing was ever stored for the failing domain"
! grep -q "to=<bob@dane-bad.example>" "$(pf_dir mx)/maillog"
ok $? "the MX never saw the refused recipient"

# 17. a worker never waits on DNS: while one session's lookup gets no answer, another session
# on the same worker (workers=1) completes
{
	echo "expect 220"
	echo "send EHLO client.example.org\r\n"
	echo "expect 250"
	echo "send MAIL FROM:<slow@example.org>\r\n"
	echo "expect 250"
	echo "send RCPT TO:<x@slow.example>\r\n"
	echo "expect 450"
	echo "send QUIT\r\n"
	echo "expect 221"
} > "$TG_WORK/script.slow"
tg_smtp 2640 < "$TG_WORK/script.slow" > "$TG_WORK/out.slow" 2>&1 &
slow_pid=$!
for ((i = 0; i < 100; i++)); do
	gwlog | grep -q "RCPT waits for the policy lookup of slow.example" && break
	sleep 0.1
done
gwlog | grep -q "RCPT waits for the policy lookup of slow.example"
ok $? "a RCPT whose domain's nameserver does not answer waits for the lookup"
grep -q "dropped slow.example" "$TG_WORK/dns_drop.log"
ok $? "... its query was asked, and dropped"
send 2640 bob@dane-ok.example 250
ok $? "meanwhile another session to a looked-up domain is relayed"
! gwlog | grep -q "refused: DANE lookup for slow.example failed"
ok $? "... and it finished while the first was still waiting"
wait "$slow_pid"
ok $? "the lookup ends at destination_lookup_timeout: 450 (a failure defers, never downgrades)"
sed 's/^/# /' "$TG_WORK/out.slow"
gwlog | grep "slow" | sed 's/^/# gw: /'
gwlog | grep -q "rcpt=<x@slow.example> refused: DANE lookup for slow.example failed: .*\(timed out\|indeterminate\)"
ok $? "logged as a lookup failure (no answer: indeterminate, or our deadline)"

# 18. DANE-TA with the name check, and a key rollover (two records, one matches)
send 2640 alice@dane-ta.example 250
ok $? "DANE-TA 2 1 1, the certificate names the MX host: delivered"
gwlog | grep -q 'policy="authenticated by DANE (mx-ta.example, verified by DANE-TA(2) 1 1 depth 1'
ok $? "logged verified by DANE-TA(2) at depth 1"
send 2640 bob@dane-tawrong.example 450
ok $? "DANE-TA 2 1 1, the certificate does not name the MX host: 450"
send 2640 carol@dane-roll.example 250
ok $? "key rollover: one of two TLSA records matches: delivered"

# 19. an MX that chooses its certificate by SNI: the first session knows no name for the
# address (none in the table) and gets the default certificate, so DANE defers; once the
# recipient domain was looked up, the next session sends its TLSA base domain as SNI
send 2640 alice@dane-sni.example 450
ok $? "SNI-dependent MX, first contact (no name known at connect): 450, retried later"
send 2640 alice@dane-sni.example 250
ok $? "the retry sends the TLSA base domain as SNI and is verified by DANE"
gwlog | grep -q "SNI mx-sni.example for 203.0.113.25"
ok $? "logged: the SNI name came from the recipient domain's lookup"

# 19b. outbound_dane = no: TLSA records are not asked for, MTA-STS still applies
tg_gw n 2642 -o outbound_forward=203.0.113.25:25 "${dest_opts[@]}" -o outbound_dane=no
ctl n sts refresh sts-nomatch.example > /dev/null || bail "sts refresh (n)"
send 2642 bob@dane-bad.example 250
ok $? "outbound_dane = no: the TLSA mismatch is not looked at, delivered"
send 2642 bob@sts-nomatch.example 450
ok $? "outbound_dane = no: MTA-STS enforce still refuses an MX outside its patterns"

# 20. counters (before the restart below) in RFC 8460's terms
ctl g -j stats > "$TG_WORK/stats.json" 2>/dev/null
cnt() { # PYTHON-EXPR on c = the daemon's counters
	$PY -c "import json,sys; c=json.load(open(sys.argv[1]))['daemon']['counters']; print($1)" \
		"$TG_WORK/stats.json"
}
[ "$(cnt 'c["policy_success"]["tlsa"] >= 3 and c["policy_success"]["sts"] >= 1')" = True ]
ok $? "stats: DANE and MTA-STS successes counted (policy types tlsa, sts)"
[ "$(cnt 'c["policy_result"]["tlsa"]["validation-failure"]["refused"] >= 3')" = True ]
ok $? "stats: DANE refusals counted as validation-failure"
[ "$(cnt 'c["policy_result"]["tlsa"]["dnssec-invalid"]["refused"] >= 2')" = True ]
ok $? "stats: lookup failures counted as dnssec-invalid"
[ "$(cnt 'c["policy_result"]["tlsa"]["dane-required"]["refused"]')" = 1 ]
ok $? "stats: dane-only without TLSA counted as dane-required"
[ "$(cnt 'c["policy_result"]["sts"]["certificate-host-mismatch"]["would_fail"]')" = 1 ]
ok $? "stats: MTA-STS testing counted as would_fail, not refused"
ctl g stats --prometheus | grep -q \
	'^tlsgate_daemon_policy_result_total{policy="sts",result="certificate-host-mismatch",outcome="refused"} [1-9]'
ok $? "prometheus: the MTA-STS certificate-host-mismatch refusal is exported"

# 21. the policy server goes away: a cached MTA-STS policy is still enforced, also after a
# restart (the cache is the security property); a domain never fetched gets no policy
kill "$web_pid" && wait "$web_pid" 2>/dev/null
kill "$TG_GW_PID_g" && wait "$TG_GW_PID_g" 2>/dev/null
TG_OUTBOUND_REUSE=no tg_gw g 2640 -o outbound_forward=203.0.113.25:25 "${dest_opts[@]}" "${rpt_opts[@]}"
ctl g sts refresh sts-nomatch.example force > /dev/null 2>&1
send 2640 bob@sts-nomatch.example 450
ok $? "policy server down, gateway restarted: the cached enforce policy still refuses"
send 2640 dave@sts-down.example 250
ok $? "policy server down and nothing cached: delivered opportunistically"
for ((i = 0; i < 100; i++)); do # the fetch the RCPT asked for ends on its own
	gwlog | grep -q "mta-sts refresh domain=sts-down.example .*cached=none" && break
	sleep 0.1
done
gwlog | grep -q "mta-sts refresh domain=sts-down.example .*cached=none"
ok $? "... and the failed fetch is logged"

# 22. TLS reports from these sessions (the day's counts survived the restart above): flushed
# now, one report per policy domain with a rua, its counts what the sessions found
ctl g tlsrpt flush > /dev/null
ok $? "tlsrpt flush"
for ((i = 0; i < 100; i++)); do [ "$(ls "$rx"/*.gz 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
rep() { # DOMAIN: its report's JSON
	local f
	for f in "$rx"/*.gz; do
		gzip -dc "$f" | jq -e --arg d "$1" 'select(.policies[0].policy."policy-domain" == $d)' \
			2>/dev/null && return 0
	done
	return 1
}
$PY "$TG_TOP/tests/lib/tlsrpt_check.py" schema "$TG_TOP/tests/lib/tlsrpt-report.schema.json" \
	"$rx"/*.gz
ok $? "the reports are valid against RFC 8460's fields"
r=$(rep dane-bad.example)
is "$(echo "$r" | jq -r '.policies[] | select(.policy."policy-type" == "tlsa") |
	[.summary."total-failure-session-count",
	 (."failure-details"[] | ."result-type" + "@" + ."receiving-ip")] | join(" ")')" \
	"2 validation-failure@203.0.113.25" \
	"dane-bad.example: its two DANE failures (cases 2 and 16), validation-failure at the MX address"
r=$(rep sts-ok.example)
is "$(echo "$r" | jq -r '.policies[] | select(.policy."policy-type" == "sts") |
	[.summary."total-successful-session-count", .summary."total-failure-session-count"] |
	join(" ")')" "1 0" "sts-ok.example: one successful MTA-STS session, no failure"
! ls "$rx"/*.gz | xargs -n1 sh -c 'gzip -dc "$0"' | jq -e 'select(.policies[0].policy."policy-domain" == "dane-ok.example")' >/dev/null 2>&1
ok $? "no report for a domain without a TLSRPT record (dane-ok.example)"

tap_done
