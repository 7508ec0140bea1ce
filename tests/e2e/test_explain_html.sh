#!/bin/bash
# e2e: `tlsgatectl explain --html` in a real browser.  For every sample message (with and without
# the organisation's own servers), headless Chromium renders the page: the DOM it built has one
# hop per Received line with the same verdict per hop (encrypted, counted, whose word) as
# `explain -j`, and the same sentence; the page is self-contained (no script, no link, no URL);
# a screenshot is drawn.
set -u
. "$(dirname "$0")/../lib/tap.sh"

TG_BIN=${TG_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
DATA=$(cd "$(dirname "$0")/../unit/data/received" && pwd)
CTL=$TG_BIN/tlsgatectl
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "1..0 # SKIP no chromium (make deps installs Debian's chromium)"
	exit 77
fi
WORK=$(mktemp -d /tmp/tg-html.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

browser() { # ARGS... (a fresh profile each time; as root the sandbox cannot be used)
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$WORK/profile" --disable-dev-shm-usage "$@" 2> "$WORK/chromium.err"
}

# What the DOM says, per hop: "hop encrypted counted recorded-by", then the verdict sentence.
dom_hops() {
	python3 -c '
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.hops = []; self.inv = False; self.verdict = ""
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "section" and "data-hop" in a:
            self.hops.append("%s %s %s %s" % (a["data-hop"], a["data-encrypted"],
                             a["data-counted"], a["data-recorded-by"] or "-"))
        if a.get("id") == "verdict": self.inv = True
    def handle_endtag(self, tag):
        if tag == "p": self.inv = False
    def handle_data(self, d):
        if self.inv: self.verdict += d
p = P(); p.feed(sys.stdin.read())
print("\n".join(p.hops)); print("verdict:", p.verdict)'
}
json_hops() {
	python3 -c '
import json, sys
j = json.load(sys.stdin)
for h in j["hops"]:
    print(h["hop"], h["encrypted"], "yes" if h["local"] is None else "no", h["recorded_by"] or "-")
print("verdict:", j["verdict"]["words"])'
}

OWN="mailstore.example.org mx.example.org gw.example.org 192.0.2.0/24 198.51.100.0/24"
for f in "$DATA"/*.eml "$DATA"/*.mbox; do
	for own in "" "$OWN"; do
		name="$(basename "$f")${own:+ (own servers)}"
		args=()
		[ -n "$own" ] && args=(--own "$own") || args=(--own "")
		"$CTL" explain "${args[@]}" --html "$WORK/page.html" "$f"
		ok $? "$name: explain --html wrote the page"
		browser --dump-dom "file://$WORK/page.html" > "$WORK/dom.html"
		dom_hops < "$WORK/dom.html" > "$WORK/dom.txt"
		"$CTL" explain "${args[@]}" -j "$f" | json_hops > "$WORK/json.txt"
		[ -s "$WORK/dom.txt" ] && diff -u "$WORK/json.txt" "$WORK/dom.txt" > "$WORK/diff" 2>&1
		ok $? "$name: the rendered DOM's hops and verdict equal explain -j's" ||
			diag "$(cat "$WORK/diff" "$WORK/chromium.err")"
	done
done

# self-contained: nothing to fetch, nothing to run
"$CTL" explain --own "$OWN" --html "$WORK/page.html" "$DATA/forged-esmtps.eml"
! grep -Eqi "<script|<link|<img|<iframe|src=|href=|url\(|@import|https?:" "$WORK/page.html"
ok $? "the page has no script, link, image or URL"
grep -q "<svg" "$WORK/page.html" && grep -q 'class="hop open"' "$WORK/page.html" &&
	grep -q 'class="hop locked' "$WORK/page.html"
ok $? "inline SVG, with an open and a closed lock"

browser --screenshot="$WORK/shot.png" --window-size=800,1000 "file://$WORK/page.html" \
	> /dev/null
[ -s "$WORK/shot.png" ] && [ "$(head -c 8 "$WORK/shot.png" | od -An -tx1 | tr -d ' \n')" = \
	89504e470d0a1a0a ] && [ "$(stat -c %s "$WORK/shot.png")" -gt 10000 ]
ok $? "Chromium draws a screenshot of it ($(stat -c %s "$WORK/shot.png" 2>/dev/null) bytes)"
[ -n "${TG_KEEP_SCREENSHOT:-}" ] && cp "$WORK/shot.png" "$TG_KEEP_SCREENSHOT"

tap_done
