#!/bin/bash
# e2e, `tlsgatectl report --html` in a real browser.  Real traffic through tlsgated first: a
# Postfix MX with a certificate from the trusted CA (example.net: can be verify); a fake MX
# without STARTTLS where example.org is under a monitor rule (delivered, would-be refusals),
# required.example under encrypt (refused); inbound, a sender with TLS.  The gateway itself refuses a recipient domain that is markup (501), so yesterday's
# posture file gets one written in, with a cipher name that is markup too: what the page must
# survive if anything ever lets such a name through.  Then headless Chromium renders the page:
# a screenshot of the asked size that is not blank, and the DOM it built, in which every number
# equals `report -j`'s, every domain's row is where it belongs, the hostile names are text and
# nothing can run or load.  The page, its JSON and the screenshot are kept in
# $BUILD/test-results/report_html/.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/posture.sh"
. "$(dirname "$0")/../lib/chromium.sh"

command -v jq > /dev/null || { echo "1..0 # SKIP jq not installed (make deps)"; exit 77; }
miss=$(tg_chromium_missing)
[ -z "$miss" ] || { echo "1..0 # SKIP no $miss (make deps)"; exit 77; }

check=$TG_TOP/tests/lib/report_html_check.py
keep=$TG_BUILD/test-results/report_html
# a recipient domain as a sender may write it (a quoted string may hold '<', '>' and quotes)
HOSTILE="\"<script>alert('x&y')</script>\".example"
HOSTILE_CIPHER='<b>"TLS_X&Y"</b>'

tg_topology
tg_mx_addrs
tg_pki
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
PF_DOMAINS="example.net" pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
tg_fake_mx plain 203.0.113.27 ok
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.20 ok
cat > "$TG_WORK/outbound" <<EOP
example.org	encrypt mode=monitor
required.example	encrypt
EOP
: > "$TG_WORK/inbound"
report() {
	"$TG_CTL" report --state-dir "$TG_POSTURE_STATE" --since 2d "$@"
}

# ---- the traffic ----------------------------------------------------------------------------
tg_posture_start 203.0.113.25 mx1.example.net
tg_posture_send sender@example.org alice@example.net
ok $? "delivered to example.net over TLS (mx1)"
tg_posture_send sender@example.org bob@example.net,carol@example.net
ok $? "... and a message with two recipients"
tg_posture_send_in --tls --from x@tls-sender.example --to in1@example.net
ok $? "inbound with TLS"
pf_wait_mail mx1 carol@example.net 1 30
tg_posture_stop

tg_posture_start 203.0.113.27
tg_posture_send sender@example.org dave@example.org &&
	grep -q "would have been refused (monitor)" "$TG_WORK/gw.log"
ok $? "example.org (encrypt, monitor) delivered in plaintext, the would-be refusal logged"
tg_posture_send sender@example.org erin@example.org,frank@required.example
grep -q "450 4.7.4 TLS required for required.example" "$TG_WORK/swaks.out"
ok $? "required.example (encrypt) refused on the plaintext leg"
tg_posture_send sender@example.org "x@$HOSTILE"
grep -q "^<\*\* 501 5.1.3" "$TG_WORK/swaks.out"
ok $? "a recipient domain that is markup: refused by the gateway (501 5.1.3), never recorded"
tg_posture_stop

# yesterday, as if something had let markup through
cat > "$TG_POSTURE_STATE/posture/$(date -u -d yesterday +%F).posture" <<EOF
tlsgate-posture 1
day $(date -u -d yesterday +%F)
overflow 0
row out $HOSTILE mx.<i>x</i>.example sessions=3 messages=3 delivered=3 recipients=3 starttls_offered=3 tls=2 tls_messages=2 cert.verified=1 cert.self_signed=1 cert.none=1 would_refuse.total=1 would_refuse.starttls-not-supported=1 ver:TLSv1.2=2 cip:$HOSTILE_CIPHER=2
row out example.net mx1.example.net sessions=1 messages=1 delivered=1 recipients=1 starttls_offered=1 tls=1 tls_messages=1 cert.verified=1 ver:TLSv1.3=1 cip:TLS_AES_256_GCM_SHA384=1
end 2
EOF

report -j > "$TG_WORK/report.json"
ok $? "report -j"
is "$(jq -r '[.outbound[].domain] | sort | join(" ")' "$TG_WORK/report.json")" \
	"$(printf '%s\n' "$HOSTILE" example.net example.org required.example | sort | tr '\n' ' ' | sed 's/ $//')" \
	"report -j: the four outbound domains, the hostile one as written"
is "$(jq -r '.days | map(select(.data)) | length' "$TG_WORK/report.json")" 2 "report -j: two days"
is "$(jq -r '.outbound[] | select(.domain == "example.org") | .would_refuse.total' "$TG_WORK/report.json")" 2 \
	"report -j: example.org's two would-be refusals"

# ---- the page -------------------------------------------------------------------------------
report --html "$TG_WORK/report.html"
ok $? "report --html"
! grep -qE "<script|<b>|<i>" "$TG_WORK/report.html" &&
	grep -qF "&lt;script&gt;alert(&#39;x&amp;y&#39;)" "$TG_WORK/report.html"
ok $? "the file holds the hostile names escaped, never as markup"
report --html - --direction inbound | grep -q 'id="inbound"'
ok $? "--html - writes to stdout; --direction applies"
report --html /nonexistent/dir/x.html 2> "$TG_WORK/html.err"
[ $? = 1 ] && grep -q "/nonexistent/dir/x.html.tmp" "$TG_WORK/html.err"
ok $? "a page that cannot be written: exit status 1, and where"

tg_chromium_screenshot "$TG_WORK/report.html" "$TG_WORK/report.png" 1200 1800
ok $? "chromium rendered the page to a screenshot"
python3 "$check" png "$TG_WORK/report.png" 1200 1800 > "$TG_WORK/png.out" 2>&1
ok $? "the screenshot is 1200x1800 and not blank" || diag "$(cat "$TG_WORK/png.out")"
diag "$(cat "$TG_WORK/png.out")"

tg_chromium_dom "$TG_WORK/report.html" > "$TG_WORK/dom.html"
ok $? "chromium dumped the page's DOM"
python3 "$check" dom "$TG_WORK/dom.html" "$TG_WORK/report.json" --text "$HOSTILE" \
	--text "$HOSTILE_CIPHER" > "$TG_WORK/dom.out" 2>&1
ok $? "every number of the page equals report -j's; rows where they belong; the hostile names are text; nothing runs or loads" ||
	diag "$(cat "$TG_WORK/dom.out")"
diag "$(cat "$TG_WORK/dom.out")"
n=$(sed -n 's/^checked \([0-9]*\) numbers.*/\1/p' "$TG_WORK/dom.out")
[ "${n:-0}" -ge 80 ]
ok $? "... and that is many numbers ($n), not a page that lost its tables"

# the same for one domain: the page follows report's filters
report --domain example.net --html "$TG_WORK/one.html" && report --domain example.net -j > "$TG_WORK/one.json" &&
	tg_chromium_dom "$TG_WORK/one.html" > "$TG_WORK/one.dom" &&
	python3 "$check" dom "$TG_WORK/one.dom" "$TG_WORK/one.json" > "$TG_WORK/one.out" 2>&1
ok $? "--domain example.net: the page equals report --domain example.net -j" || diag "$(cat "$TG_WORK/one.out")"

mkdir -p "$keep" && cp "$TG_WORK/report.html" "$TG_WORK/report.json" "$TG_WORK/report.png" "$keep/"
tap_done
