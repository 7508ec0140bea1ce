#!/bin/bash
# e2e: tlsgated's TLS reports (RFC 8460) delivered for real.  The gateway starts with a day of
# counts left from before a restart (STATE_DIR/tlsrpt/day, yesterday's): it closes that day
# into a report at once, finds r.example's _smtp._tls record (nsd) and sends the report to both
# rua URIs -- by HTTPS POST to a receiver that is down for the first attempt (503: retried, the
# mail not sent twice) and by mail, DKIM-signed, submitted to a real Postfix that stores it.
# The stored report's counts equal the day's; the JSON is valid against RFC 8460's fields; the
# stored mail's signature verifies (dkimpy).  Then a restart with a report in the spool and
# no receiver: it stays spooled across the restart and goes out once the receiver is back.
#
#   $NS_GW  tlsgated 192.0.2.1 / 203.0.113.1
#   $NS_OUT nsd .53, report receiver (HTTPS) .80, Postfix .25 (rua mailbox, submission host)
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/dnssec.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

PY=/usr/bin/python3
command -v nsd >/dev/null || { echo "nsd not installed (make deps)"; exit 77; }
command -v postfix >/dev/null || { echo "postfix not installed (make deps)"; exit 77; }
$PY -c 'import jsonschema, dkim' 2>/dev/null ||
	{ echo "python3-jsonschema and python3-dkim are needed (make deps)"; exit 77; }
check=$TG_TOP/tests/lib/tlsrpt_check.py
schema=$TG_TOP/tests/lib/tlsrpt-report.schema.json

tg_topology
ip -n "$NS_OUT" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_OUT" addr add 203.0.113.80/24 dev eth0
tg_pki
pki_leaf "$TG_PKI" web rpt.r.example || bail "pki_leaf web"
pki_leaf "$TG_PKI" mx mx.r.example || bail "pki_leaf mx"
chmod 644 "$TG_PKI"/*.crt "$TG_PKI"/*.key

# ---- DNS: r.example's TLSRPT record, the receiver's address --------------------------------
z=$TG_WORK/dns
mkdir -p "$z"
cat > "$z/r.zone" <<'EOZ'
$ORIGIN r.example.
$TTL 300
@ IN SOA ns.r.example. hostmaster.r.example. 1 3600 600 86400 60
@ IN NS ns.r.example.
ns IN A 203.0.113.53
rpt IN A 203.0.113.80
_smtp._tls IN TXT "v=TLSRPTv1; rua=https://rpt.r.example/tlsrpt/v1," "mailto:tlsrpt@r.example"
_smtp._tls IN TXT "v=spf1 -all"
EOZ
dnssec_nsd "$NS_OUT" 203.0.113.53 "$z" r.example="$z/r.zone"

# ---- the receivers ---------------------------------------------------------------------------
rx=$TG_WORK/rx
mkdir -p "$rx"
echo 1 > "$rx/fail"	# down for the first POST
tg_bg ip netns exec "$NS_OUT" $PY "$TG_TOP/tests/lib/tlsrpt_server.py" 203.0.113.80 443 \
	"$TG_PKI/web.crt" "$TG_PKI/web.key" "$rx" >> "$TG_WORK/rx.log" 2>&1
rx_pid=$TG_BG_PID
tg_wait_listen "$NS_OUT" 443 20 || bail "receiver did not start: $(cat "$TG_WORK/rx.log")"
PF_DOMAINS="r.example" PF_USERS="tlsrpt" PF_MAIN_EXTRA="mynetworks = 0.0.0.0/0" \
	pf_mx mx "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx"

# ---- the gateway, with yesterday's counts ----------------------------------------------------
today=$(( $(date +%s) / 86400 * 86400 ))
yday=$((today - 86400))
mkdir -p "$TG_WORK/gw/tlsrpt"
pol='version: STSv1%0Amode: enforce%0Amx: mx.r.example%0Amax_age: 86400'
printf 'tlsrpt-day v1 %s\nD\tr.example\nP\t0\t5\t3\t%s\nF\t2\t2\t203.0.113.1\t203.0.113.25\tmx.r.example\nF\t0\t1\t203.0.113.1\t203.0.113.26\t\nP\t2\t4\t0\t\nD\tnone.example\nP\t2\t9\t0\t\n' \
	"$yday" "$pol" > "$TG_WORK/gw/tlsrpt/day"
openssl genrsa -out "$TG_WORK/dkim.key" 2048 2>/dev/null || bail "openssl genrsa"
chmod 644 "$TG_WORK/dkim.key"
pub=$(openssl rsa -in "$TG_WORK/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
printf 'v=DKIM1; k=rsa; p=%s' "$pub" > "$TG_WORK/dkim.txt"
chmod -R a+rwX "$TG_WORK/gw"
gw_opts=(-o tlsrpt=yes -o dns_server=203.0.113.53 -o "mta_sts_ca_file=$TG_PKI/ca.crt"
	-o "tlsrpt_organization=Example Org" -o tlsrpt_contact=mailto:postmaster@example.org
	-o tlsrpt_sender=tlsrpt-noreply@example.org -o tlsrpt_submission=203.0.113.25:25
	-o "tlsrpt_dkim_key=$TG_WORK/dkim.key" -o tlsrpt_dkim_selector=sel1 -o tlsrpt_retry=1s
	-o tlsrpt_timeout=5s)
jobs_in_spool() { find "$TG_WORK/gw/tlsrpt/spool" -name '*.job' | wc -l; }
ctl() { ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/gw" "$@"; }
tg_gw gw 10025 "${gw_opts[@]}"
gw_pid=$TG_BG_PID

# ---- https: after one 503, delivered --------------------------------------------------------
for _ in $(seq 100); do [ -f "$rx/1.gz" ] && break; sleep 0.1; done
[ -f "$rx/1.gz" ]
ok $? "the report reached the https receiver"
grep -q '^refused /tlsrpt/v1' "$TG_WORK/rx.log"
ok $? "... after its first POST was refused (a retry)"
is "$(cat "$rx/1.type" 2>/dev/null)" "application/tlsrpt+gzip" "Content-Type application/tlsrpt+gzip"
$PY "$check" schema "$schema" "$rx/1.gz"
ok $? "the posted report is valid against RFC 8460's fields"
is "$($PY "$check" counts "$rx/1.gz" | sort | tr '\n' ';')" "no-policy-found 4 0;sts 5 3;" \
	"its counts are the day's: sts 5 ok 3 failed, no-policy-found 4"
is "$(gzip -dc "$rx/1.gz" | jq -r '.policies[] | select(.policy."policy-type"=="sts") |
	[."failure-details"[] | ."result-type" + "/" + (."failed-session-count"|tostring)] | join(",")')" \
	"certificate-expired/2,starttls-not-supported/1" "failure-details as counted"
d0=$(date -u -d "@$yday" +%Y-%m-%dT%H:%M:%SZ)
is "$(gzip -dc "$rx/1.gz" | jq -r '."date-range"."start-datetime"')" "$d0" "date-range: yesterday (UTC)"

# ---- mailto: stored by Postfix, DKIM verifies -------------------------------------------------
pf_wait_mail mx tlsrpt@r.example 1 30
ok $? "the report mail reached tlsrpt@r.example"
m=$(pf_mails mx tlsrpt@r.example | head -n 1)
$PY "$check" mail "$schema" "$TG_WORK/dkim.txt" "$m" > "$TG_WORK/mail.json"
ok $? "the stored mail is a 5.3 report whose DKIM signature verifies"
is "$($PY "$check" counts "$TG_WORK/mail.json" | sort | tr '\n' ';')" "no-policy-found 4 0;sts 5 3;" \
	"the mailed report has the same counts"
grep -q "MAIL FROM:<tlsrpt-noreply+[0-9a-f]\{32\}@example.org>\|from=<tlsrpt-noreply+[0-9a-f]\{32\}@example.org>" \
	<(pf_log mx)
ok $? "the envelope sender carries the one-time token (RFC 8460 5.3.1)"
sleep 0.5	# (a resend, which must not come, would be as quick as the first)
is "$(pf_mails mx tlsrpt@r.example | wc -l)" 1 "the retry for https did not mail again"
is "$(ls "$TG_WORK/gw/tlsrpt/spool" | wc -l)" 0 "the spool is empty"
st=$(ctl -j tlsrpt status)
is "$(echo "$st" | jq -c '[.delivered, .spooled, .given_up, .failed_attempts >= 1]')" \
	"[1,0,0,true]" "tlsrpt status: 1 delivered, none waiting"
grep -q "domain=none.example .*no TLSRPT record.*report dropped" "$TG_WORK/gw.log"
ok $? "none.example (no TLSRPT record): its report is dropped, logged"

# ---- a report spooled across a restart, the receiver down meanwhile -----------------------------
kill "$rx_pid"
printf 'tlsrpt-day v1 %s\nD\tr.example\nP\t2\t11\t0\t\n' "$today" > "$TG_WORK/gw/tlsrpt/day.new"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null
mv "$TG_WORK/gw/tlsrpt/day.new" "$TG_WORK/gw/tlsrpt/day"
chmod a+rw "$TG_WORK/gw/tlsrpt/day"
tg_gw gw 10025 "${gw_opts[@]}"
gw_pid=$TG_BG_PID
ctl tlsrpt flush >/dev/null
ok $? "tlsrpt flush"
for _ in $(seq 100); do grep -q "rua=https://rpt.r.example/tlsrpt/v1: not delivered" "$TG_WORK/gw.log" && break; sleep 0.1; done
is "$(jobs_in_spool)" 1 "the report is spooled while the receiver is down"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null
is "$(jobs_in_spool)" 1 "... and stays across the stop"
tg_bg ip netns exec "$NS_OUT" $PY "$TG_TOP/tests/lib/tlsrpt_server.py" 203.0.113.80 443 \
	"$TG_PKI/web.crt" "$TG_PKI/web.key" "$rx" >> "$TG_WORK/rx.log" 2>&1
tg_wait_listen "$NS_OUT" 443 20 || bail "receiver did not restart"
tg_gw gw 10025 "${gw_opts[@]}"
for _ in $(seq 150); do [ -f "$rx/2.gz" ] && break; sleep 0.1; done
is "$($PY "$check" counts "$rx/2.gz" 2>/dev/null)" "no-policy-found 11 0" \
	"after the restart the spooled report is delivered"
tap_done
