#!/bin/bash
# TLS reports (RFC 8460) as receivers see them, checked by other implementations: every report
# report/tlsrpt.c makes is valid against the RFC's fields (tests/lib/tlsrpt-report.schema.json,
# python3-jsonschema), gzip'd it decodes to the same JSON, and a report as mail (5.3) has the
# shape receivers parse (Python's email: multipart/report; report-type=tlsrpt, the two
# TLS-Report headers, one application/tlsrpt+gzip attachment named *.json.gz) and a DKIM
# signature dkimpy verifies -- and does not once a signed header is changed.
set -u
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
helper=$B/tests/e2e/helper_tlsrpt
check=$top/tests/lib/tlsrpt_check.py
# Debian's interpreter: the one python3-jsonschema and python3-dkim are installed for
PY=/usr/bin/python3
schema=$top/tests/lib/tlsrpt-report.schema.json
[ -x "$helper" ] || bail "$helper not built"
$PY -c 'import jsonschema, dkim' 2>/dev/null ||
	{ echo "python3-jsonschema and python3-dkim are needed (make deps)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$helper" report "$work"
ok $? "reports written"
n=$(ls "$work"/*.json | wc -l)
is "$n" 3 "one report per policy domain"
$PY "$check" schema "$schema" "$work"/*.json "$work"/*.json.gz
ok $? "every report (plain and gzip'd) is valid against RFC 8460's fields"
for f in "$work"/*.json; do
	cmp -s "$f" <(gzip -dc "$f.gz") || { ok 1 "gzip of $f"; continue; }
done
ok 0 "gzip -d gives back the JSON"
is "$($PY "$check" counts "$work/r.example.json" | sort | tr '\n' ';')" \
	"no-policy-found 1 0;sts 7 2;" "r.example: sts 7 ok 2 failed, no-policy-found 1 ok"
is "$(jq -c '.policies[0]."failure-details"' "$work/dane.example.json")" \
	'[{"result-type":"tlsa-invalid","sending-mta-ip":"2001:db8::1","receiving-mx-hostname":"mx.dane.example","receiving-ip":"203.0.113.25","failed-session-count":3},{"result-type":"starttls-not-supported","sending-mta-ip":"2001:db8::1","receiving-ip":"203.0.113.25","failed-session-count":1}]' \
	"failure-details: result types, addresses, MX name where known"
is "$(jq -r '."organization-name"' "$work/r.example.json")" 'Example "Org"' "strings escaped"

# the mail, signed with a fresh key; its public half as the TXT record dkimpy is given
openssl genrsa -out "$work/dkim.key" 2048 2>/dev/null || bail "openssl genrsa"
pub=$(openssl rsa -in "$work/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
printf 'v=DKIM1; k=rsa; p=%s' "$pub" > "$work/dkim.txt"
"$helper" mail "$work/dkim.key" sel1 "$work/mail.eml"
ok $? "report mail written"
$PY "$check" mail "$schema" "$work/dkim.txt" "$work/mail.eml" > "$work/mail.json"
ok $? "the mail is a 5.3 report, its DKIM signature verifies, its attachment is valid"
is "$(jq -r '.policies[0].policy."policy-domain"' "$work/mail.json")" r.example \
	"the attachment is r.example's report"
grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel1;' \
	"$work/mail.eml"
ok $? "signed rsa-sha256, relaxed/relaxed, d= the sender's domain"
sed 's/^Subject: Report Domain: r.example/Subject: Report Domain: x.example/' "$work/mail.eml" \
	> "$work/forged.eml"
$PY "$check" mail "$schema" "$work/dkim.txt" "$work/forged.eml" >/dev/null 2>&1
is $? 1 "a changed Subject breaks the signature"
tap_done
