#!/bin/bash
# e2e: MTA-STS policies (RFC 8461) fetched by tlsgated, driven by `tlsgatectl sts refresh|show`:
# the TXT record from a real nameserver (nsd), the policy from an HTTPS server whose certificate
# comes from the test CA (given to tlsgated as its WebPKI roots).  Fetched and parsed, also when
# sent in chunks or delimited by a clean close (not by a FIN or RST alone); an unchanged id is
# not fetched again, a changed one is; the server down keeps the cached policy and without one
# there is none; a silent nameserver ends at the deadline while the main loop keeps answering; a
# redirect is not followed; a body over 64 KiB (one of exactly 64 KiB is taken), a certificate
# for another name and two v=STSv1 records are refused; the cache survives a restart; purge
# forgets.  The same domains through two other implementations give the same answers: mailauth
# (Node.js, npm) and mta-sts-query (postfix-mta-sts-resolver, Debian's package; run in $NS_GW
# with the test zone as its resolver and the test CA as its only root, and shown to fail without
# that CA), but for the differences asserted as such, each with what the RFCs say of it: a body
# cut by a FIN without close_notify (tlsgated refuses, both take it) or by a RST (mta-sts-query
# takes it): RFC 2818 2.2.1 sides with tlsgated; two STS records: no policy from any, as RFC 8461
# 3.1 asks, but "none" to mta-sts-query, a failure to the other two.
#
#   $NS_GW  (tlsgated)                    eth0 203.0.113.1/24, lo 192.0.2.1 (its SMTP listener)
#   $NS_WEB (nsd, the policy server)      eth0 203.0.113.53/24 (DNS), 203.0.113.80/24 (HTTPS)
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

if ! command -v nsd >/dev/null; then
	echo "nsd not installed (make deps installs it)"
	exit 77
fi
PY=/usr/bin/python3
[ -x $PY ] || { echo "python3 not installed"; exit 77; }

NS_WEB="tg-web-$TG_ID"
tg_netns_add "$NS_GW"
tg_netns_add "$NS_WEB"
ip -n "$NS_GW" link add eth0 type veth peer name eth0 netns "$NS_WEB"
ip -n "$NS_GW" addr add 203.0.113.1/24 dev eth0
ip -n "$NS_GW" addr add 192.0.2.1/32 dev lo
ip -n "$NS_WEB" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_WEB" addr add 203.0.113.80/24 dev eth0
ip -n "$NS_GW" link set eth0 up
ip -n "$NS_WEB" link set eth0 up
ip netns exec "$NS_GW" ping -c 1 -W 5 203.0.113.80 >/dev/null || bail "no path to 203.0.113.80"

tg_pki
# One certificate for every policy host but mta-sts.wrong.example.net's.
pki_leaf "$TG_PKI" sts-web mta-sts.a.example.net mta-sts.down.example.net \
	mta-sts.chunked.example.net mta-sts.redir.example.net mta-sts.big.example.net \
	mta-sts.trunc.example.net mta-sts.clean.example.net mta-sts.reset.example.net \
	mta-sts.edge.example.net \
	mta-sts.wrong.example.net.invalid ||
	bail "pki: sts-web"

# ---- DNS ----------------------------------------------------------------------------------
dns=$TG_WORK/dns
mkdir -p "$dns"
cat > "$dns/nsd.conf" <<EOF
server:
	ip-address: 203.0.113.53
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$dns"
	database: ""
	pidfile: "$dns/nsd.pid"
	xfrdfile: "$dns/xfrd.state"
	xfrdir: "$dns"
	zonelistfile: "$dns/zone.list"
	logfile: "$dns/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: example.net
	zonefile: example.net.zone
EOF

zone() { # ID of a.example.net's record
	{
		printf '$ORIGIN example.net.\n$TTL 60\n'
		echo '@ IN SOA ns hostmaster 1 3600 600 86400 60'
		echo '@ IN NS ns'
		echo 'ns IN A 203.0.113.53'
		for d in a down redir big edge wrong multi chunked trunc clean reset; do
			echo "mta-sts.$d IN A 203.0.113.80"
		done
		echo "_mta-sts.a IN TXT \"v=STSv1; id=$1;\""
		echo '_mta-sts.down IN TXT "v=STSv1; id=1;"'
		echo '_mta-sts.redir IN TXT "v=STSv1; id=1;"'
		echo '_mta-sts.big IN TXT "v=STSv1;" " id=1"'
		echo '_mta-sts.edge IN TXT "v=STSv1; id=e1"'
		echo '_mta-sts.wrong IN TXT "v=STSv1; id=1;"'
		echo '_mta-sts.multi IN TXT "v=STSv1; id=1;"'
		echo '_mta-sts.multi IN TXT "v=STSv1; id=2;"'
		echo '_mta-sts.nosts IN TXT "v=spf1 -all"'
		echo '_mta-sts.chunked IN TXT "v=STSv1; id=c1"'
		echo '_mta-sts.trunc IN TXT "v=STSv1; id=t1"'
		echo '_mta-sts.clean IN TXT "v=STSv1; id=t1"'
		echo '_mta-sts.reset IN TXT "v=STSv1; id=t1"'
	} > "$dns/example.net.zone"
}

nsd_pid=
nsd_start() {
	tg_bg ip netns exec "$NS_WEB" nsd -d -c "$dns/nsd.conf"
	nsd_pid=$TG_BG_PID
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_WEB" ss -Hlun "sport = :53" | grep -q . && return 0
		sleep 0.1
	done
	bail "nsd did not start: $(tail -n 5 "$dns/nsd.log")"
}

nsd_stop() {
	kill "$nsd_pid" 2>/dev/null
	wait "$nsd_pid" 2>/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_WEB" ss -Hlun "sport = :53" | grep -q . || return 0
		sleep 0.1
	done
	bail "nsd did not stop"
}

# ---- the policy server ----------------------------------------------------------------------
www=$TG_WORK/www
mkdir -p "$www"
policy() { # HOST MODE [MX...]
	local host=$1 mode=$2 m
	shift 2
	{
		printf 'version: STSv1\r\nmode: %s\r\n' "$mode"
		for m in "$@"; do printf 'mx: %s\r\n' "$m"; done
		printf 'max_age: 86400\r\n'
	} > "$www/$host"
}

padded() { # HOST SIZE: HOST's policy (enforce, mx1.example.net) padded to SIZE bytes with
	# lines of an unknown key, which every parser ignores: only the size can refuse it
	policy "$1" enforce mx1.example.net
	$PY -c 'import sys
f, size = sys.argv[1], int(sys.argv[2])
with open(f, "ab") as o:
    left = size - o.tell()
    while left > 0:
        n = min(100, left)
        o.write(b"pad: " + b"x" * (n - 7) + b"\r\n" if n >= 7 else b"\n" * n)
        left -= n' "$www/$1" "$2"
	[ "$(stat -c %s "$www/$1")" = "$2" ] || bail "padded $1: not $2 bytes"
}

web_pid=
web_start() {
	tg_bg ip netns exec "$NS_WEB" $PY "$TG_TOP/tests/lib/sts_server.py" 203.0.113.80 443 \
		"$TG_PKI/sts-web.crt" "$TG_PKI/sts-web.key" "$www" >> "$TG_WORK/web.log" 2>&1
	web_pid=$TG_BG_PID
	tg_wait_listen "$NS_WEB" 443 20 || bail "policy server did not start: $(cat "$TG_WORK/web.log")"
}

web_stop() {
	kill "$web_pid" 2>/dev/null
	wait "$web_pid" 2>/dev/null
}

requests() { # HOST: how many requests the policy server saw for it
	grep -c "^request $1 " "$TG_WORK/web.log"
}

# ---- tlsgated ---------------------------------------------------------------------------------
gw_start() {
	tg_gw gw 2525 -o resolve=no -o dns_server=203.0.113.53 \
		-o "mta_sts_ca_file=$TG_PKI/ca.crt" -o mta_sts_timeout=5s
}

gw_stop() {
	local pid
	eval "pid=\$TG_GW_PID_gw"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
}

ctl() {
	ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/gw" "$@"
}

# jq-less JSON field access: python reads the object on stdin
field() { # EXPR (python, on the object j)
	$PY -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

zone 1
nsd_start
policy mta-sts.a.example.net enforce mx1.example.net '*.a.example.net'
policy mta-sts.down.example.net enforce mx1.example.net
policy mta-sts.redir.example.net enforce mx1.example.net
echo 301 > "$www/mta-sts.redir.example.net.status"
padded mta-sts.big.example.net 65537
padded mta-sts.edge.example.net 65536
policy mta-sts.wrong.example.net enforce mx1.example.net
policy mta-sts.multi.example.net enforce mx1.example.net
policy mta-sts.chunked.example.net testing mx1.example.net mx2.example.net
touch "$www/mta-sts.chunked.example.net.chunked"
for d in trunc clean reset; do
	policy mta-sts.$d.example.net enforce mx1.example.net
	touch "$www/mta-sts.$d.example.net.noclen"
done
touch "$www/mta-sts.clean.example.net.clean" "$www/mta-sts.reset.example.net.rst"
web_start
gw_start

# 1. fetched and parsed
out=$(ctl -j sts refresh a.example.net)
ok $? "sts refresh a.example.net succeeds"
p='j["policy"]'
got=$(echo "$out" | field "$p['mode'], $p['id'], $p['mx'], $p['max_age'], j['fetches'], j['error']")
is "$got" \
	"enforce 1 ['mx1.example.net', '*.a.example.net'] 86400 1 " \
	"the policy is parsed: mode, id from the TXT record, mx patterns, max_age"
fetched1=$(echo "$out" | field 'j["policy"]["fetched"]')
[ -s "$TG_WORK/gw/mta-sts/a.example.net" ] && grep -q '^id: 1$' "$TG_WORK/gw/mta-sts/a.example.net"
ok $? "the policy is on disk in state_dir/mta-sts/"
ctl sts show a.example.net | grep -q "mx            \*.a.example.net"
ok $? "sts show prints it as text"
tg_gw_log gw | grep -q "mta-sts fetched domain=a.example.net id=1 mode=enforce max_age=86400 mx=2"
ok $? "the fetch is logged"

out=$(ctl -j sts refresh chunked.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["mx"], j["error"]')" \
	"testing ['mx1.example.net', 'mx2.example.net'] " "a chunked answer is joined and parsed"

# A body delimited by the close only counts when the close is TLS's own (close_notify): a FIN or
# RST, which anyone on the path can send, could have cut "max_age: 86400" to "max_age: 8".
out=$(ctl -j sts refresh clean.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["error"]')" "enforce " \
	"no Content-Length, closed with close_notify: the policy"
out=$(ctl -j sts refresh trunc.example.net)
is "$(echo "$out" | field 'j["policy"]')" "None" \
	"no Content-Length, closed without close_notify: refused"
echo "$out" | field 'j["error"]' | grep -q "cut short"
ok $? "the error says why: $(echo "$out" | field 'j["error"]')"
out=$(ctl -j sts refresh reset.example.net)
is "$(echo "$out" | field 'j["policy"]')" "None" "no Content-Length, ended by a TCP RST: refused"
echo "$out" | field 'j["error"]' | grep -q "cut short"
ok $? "the error says why: $(echo "$out" | field 'j["error"]')"

# 2. the same id: not fetched again, even though the server changed the policy
policy mta-sts.a.example.net testing mx1.example.net
n=$(requests mta-sts.a.example.net)
out=$(ctl -j sts refresh a.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["fetches"]')" "enforce 1" \
	"TXT id unchanged: the cached policy stays, nothing fetched"
is "$(requests mta-sts.a.example.net)" "$n" "the policy server saw no request"

# 3. the id changes: fetched again
nsd_stop
zone 2
nsd_start
out=$(ctl -j sts refresh a.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["id"], j["fetches"]')" "testing 2 2" \
	"TXT id changed: the new policy is fetched"

# 4. the policy server down, with a cached policy: kept
web_stop
out=$(ctl -j sts refresh a.example.net force)
rc=$?
is "$rc" 1 "a forced refresh with the server down fails (exit 1)"
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["id"], j["failures"]')" "testing 2 1" \
	"the cached policy is kept"
echo "$out" | field 'j["error"]' |
	grep -q "connect mta-sts.a.example.net port 443: Connection refused"
ok $? "the error says what failed: $(echo "$out" | field 'j["error"]')"
tg_gw_log gw | grep -q 'mta-sts refresh domain=a.example.net error=.* cached=kept'
ok $? "the failure is logged with cached=kept"

# 5. ... and without one: no policy
out=$(ctl -j sts refresh down.example.net)
is "$(echo "$out" | field 'j["policy"], j["error"] != ""')" "None True" \
	"server down, nothing cached: no policy, the error recorded"
web_start

# 6. a redirect is not followed
n=$(requests mta-sts.a.example.net)
out=$(ctl -j sts refresh redir.example.net)
is "$(echo "$out" | field 'j["policy"]')" "None" "HTTP 301: no policy"
echo "$out" | field 'j["error"]' | grep -q "HTTP status 301 (redirects are not followed)"
ok $? "the error names the redirect"
is "$(requests mta-sts.a.example.net)" "$n" "the Location was not visited"

# 7. an oversize body is refused; 64 KiB exactly is not
out=$(ctl -j sts refresh big.example.net)
is "$(echo "$out" | field 'j["policy"]')" "None" "65537-byte policy: refused"
echo "$out" | field 'j["error"]' | grep -q "larger than 65536"
ok $? "the error says it is too large"
out=$(ctl -j sts refresh edge.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["mx"], j["error"]')" \
	"enforce ['mx1.example.net'] " "65536-byte policy: taken, the padding ignored"

# 8. a certificate for another name is refused before any request
out=$(ctl -j sts refresh wrong.example.net)
is "$(echo "$out" | field 'j["policy"]')" "None" \
	"certificate not for mta-sts.wrong.example.net: no policy"
echo "$out" | field 'j["error"]' | grep -qi "certificate"
ok $? "the error is the certificate: $(echo "$out" | field 'j["error"]')"
is "$(requests mta-sts.wrong.example.net)" 0 "no HTTP request was sent to it"

# 9. two v=STSv1 records; no record at all
out=$(ctl -j sts refresh multi.example.net)
echo "$out" | field 'j["error"]' | grep -q "exactly one"
ok $? "two v=STSv1 TXT records: refused"
is "$(requests mta-sts.multi.example.net)" 0 "and nothing fetched"
out=$(ctl -j sts refresh nosts.example.net)
ok $? "no v=STSv1 record: not a failure"
is "$(echo "$out" | field 'j["policy"], j["error"]')" "None " "no policy, no error"

# 10. differential: the same domains through another implementation (mailauth's RFC 8461 code,
# strict mode).  Where tlsgated is stricter on purpose it is listed: a body ended by a FIN
# without close_notify.
if peer=$("$TG_TOP/tests/lib/fetch-mailauth" 2>"$TG_WORK/peer.err"); then
	doms="a chunked clean down redir big edge wrong multi nosts trunc reset"
	ip netns exec "$NS_GW" env NODE_EXTRA_CA_CERTS="$TG_PKI/ca.crt" node \
		"$TG_TOP/tests/lib/sts_peer.js" "$peer" 203.0.113.53 \
		$(for d in $doms; do echo $d.example.net; done) > "$TG_WORK/peer.out" 2>&1
	for d in $doms; do
		out=$(ctl -j sts refresh $d.example.net force)
		ours=$(echo "$out" | field "(
			'fail' if j['error'] else 'none' if not j['policy'] else
			'policy %s %s %s' % (j['policy']['mode'], j['policy']['id'],
					     ','.join(j['policy']['mx']))) ")
		theirs=$(grep "^$d.example.net " "$TG_WORK/peer.out" | cut -d' ' -f2-)
		case $theirs in fail*) theirs=fail ;; none*) theirs=none ;; esac
		case $d in
		trunc)
			is "$ours/${theirs%% *}" "fail/policy" \
				"differential $d: a body ended by a FIN alone: tlsgated refuses, mailauth takes it"
			;;
		*)
			is "$ours" "$theirs" "differential $d: tlsgated and mailauth agree ($ours)"
			;;
		esac
	done
else
	skip "$(cat "$TG_WORK/peer.err")" "differential against another MTA-STS implementation"
fi

# 11. differential: the same domains through a third implementation, mta-sts-query of
# postfix-mta-sts-resolver (Debian's package; the policy fetcher of its Postfix socketmap daemon).
# It runs in the gateway's namespace with the test zone as its resolver (/etc/netns/NS/resolv.conf,
# which `ip netns exec` mounts on /etc/resolv.conf: c-ares for the TXT lookup, getaddrinfo for
# the policy host) and the test CA as its only trust: its aiohttp takes Python's default context,
# i.e. OpenSSL's default verify paths, which SSL_CERT_FILE and SSL_CERT_DIR (an empty directory:
# the system's roots are not trusted) replace.  No proxy: aiohttp would honour https_proxy.
# Verdicts: "policy MODE ID MX,MX MAX_AGE", "none" (no policy, no failure) or "fail".
sq_verdict() { # FILE: mta-sts-query's printed result as a verdict
	$PY -c 'import ast, re, sys
s = open(sys.argv[1]).read().strip()
m = re.fullmatch(r"\(<STSFetchResult\.(\w+): \d+>, (.*)\)", s, re.S)
if not m:
    print("unparsed: %r" % s[:100])
elif m.group(1) == "VALID":
    pid, p = ast.literal_eval(m.group(2))
    print("policy %s %s %s %s" % (p["mode"], pid, ",".join(p["mx"]), p["max_age"]))
else:
    print({"NONE": "none", "FETCH_ERROR": "fail"}.get(m.group(1), m.group(1)))' "$1"
}

tg_verdict() { # DOMAIN: tlsgated's verdict after a forced refresh
	ctl -j sts refresh "$1" force | field "(
		'fail' if j['error'] else 'none' if not j['policy'] else
		'policy %s %s %s %s' % (j['policy']['mode'], j['policy']['id'],
					','.join(j['policy']['mx']), j['policy']['max_age']))"
}

sq() { # NAME DOMAIN [ENV...]: mta-sts-query DOMAIN in $NS_GW, in the background, into sq.NAME.*
	local name=$1 dom=$2
	shift 2
	ip netns exec "$NS_GW" env -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
		SSL_CERT_DIR="$TG_WORK/no-roots" "$@" mta-sts-query "$dom" \
		> "$TG_WORK/sq.$name.out" 2> "$TG_WORK/sq.$name.err" &
	sq_pids+=($!)
}

sq_wait() {
	local p
	for p in "${sq_pids[@]}"; do wait "$p"; done
	sq_pids=()
}

if ! command -v mta-sts-query >/dev/null; then
	skip "mta-sts-query not installed (make deps installs postfix-mta-sts-resolver)" \
		"differential against mta-sts-query"
else
	mkdir -p "/etc/netns/$NS_GW" "$TG_WORK/no-roots"
	tg_on_exit "rm -rf '/etc/netns/$NS_GW'"
	echo "nameserver 203.0.113.53" > "/etc/netns/$NS_GW/resolv.conf"
	sq_pids=()
	doms="a chunked clean redir big edge wrong multi nosts nx trunc reset"
	for d in $doms; do
		sq "$d" "$d.example.net" SSL_CERT_FILE="$TG_PKI/ca.crt"
	done
	# The same query without the test CA: it must fail, or the comparison below proves nothing.
	sq noca a.example.net
	sq_wait
	is "$(sq_verdict "$TG_WORK/sq.noca.out")" fail \
		"mta-sts-query without the test CA: a.example.net fails"
	grep -q "CERTIFICATE_VERIFY_FAILED" "$TG_WORK/sq.noca.err"
	ok $? "... on its certificate: $(grep -o 'SSLCertVerificationError.*' "$TG_WORK/sq.noca.err" |
		head -n 1)"
	for d in $doms; do
		ours=$(tg_verdict "$d.example.net")
		theirs=$(sq_verdict "$TG_WORK/sq.$d.out")
		case $d in
		multi)
			# RFC 8461 3.1: when not exactly one v=STSv1 record remains, "senders MUST assume
			# the Policy Domain does not have an available MTA-STS Policy".  Both end with no
			# policy, as it asks; the RFC does not say whether that is a failure, tlsgated
			# records it as one (a misconfigured domain the operator sees in `sts show` and
			# the log), mta-sts-query as "none".  Neither keeps or fetches anything.
			is "$ours/$theirs" "fail/none" \
				"mta-sts-query $d: no policy from either; tlsgated counts it a failure, mta-sts-query not"
			;;
		trunc | reset)
			# A body without Content-Length or chunks, ended by a FIN or an RST without
			# close_notify: mta-sts-query (aiohttp 3.8 ends such a body at any end of the
			# connection) takes what came as the whole policy, tlsgated refuses it (mailauth
			# too for the RST, not for the FIN).  RFC 8461 itself does not say; HTTP over TLS
			# (RFC 2818 2.2.1) sides with tlsgated: clients "MUST treat any premature closes as
			# errors and the data received as potentially truncated", naming a response
			# without Content-Length, whose end an attacker's close cannot be told from.
			how=FIN
			[ "$d" = reset ] && how=RST
			is "$ours/${theirs%% *}" "fail/policy" \
				"mta-sts-query $d: a body ended by a TCP $how alone: tlsgated refuses, mta-sts-query takes it"
			;;
		*)
			why=$(grep -o 'failed with error: .*' "$TG_WORK/sq.$d.err" | head -n 1)
			# its BadSTSPolicy has no message: a status, Content-Type or size it refuses
			[ "$why" = "failed with error: " ] && why="refused the response"
			is "$ours" "$theirs" "mta-sts-query $d: same verdict as tlsgated ($ours${why:+; $why})"
			;;
		esac
	done
	# The policy server down, nothing cached
	web_stop
	ctl sts purge down.example.net >/dev/null 2>&1
	sq down down.example.net SSL_CERT_FILE="$TG_PKI/ca.crt"
	sq_wait
	ours=$(tg_verdict down.example.net)
	is "$ours/$(sq_verdict "$TG_WORK/sq.down.out")" "fail/fail" \
		"mta-sts-query down (server down, nothing cached): both fail ($(grep -o \
			'failed with error: .*' "$TG_WORK/sq.down.err" | head -n 1))"
	web_start
	rm -rf "/etc/netns/$NS_GW"
fi

# 12. a nameserver that does not answer: the refresh runs into its deadline while the main loop
# (control requests; sessions never wait on it at all) goes on answering
nsd_stop
tg_bg ip netns exec "$NS_WEB" $PY -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.53", 53))
print("ready", flush=True)
time.sleep(60)' > "$TG_WORK/blackhole.log"
hole=$TG_BG_PID
for ((i = 0; i < 100; i++)); do
	grep -q ready "$TG_WORK/blackhole.log" && break
	sleep 0.05
done
t0=$(date +%s%N)
ctl -j sts refresh down.example.net force > "$TG_WORK/slow.json" &
slow=$!
for ((i = 0; i < 100; i++)); do
	out=$(ctl -j sts show down.example.net)
	[ "$(echo "$out" | field 'j["pending"]')" = True ] && break
	sleep 0.05
done
t1=$(date +%s%N)
is "$(echo "$out" | field 'j["pending"]')" True \
	"while DNS does not answer, sts show answers (pending)"
wait $slow
t2=$(date +%s%N)
[ $((t1 - t0)) -lt 2000000000 ]; ok $? "... within 2 s ($(((t1 - t0) / 1000000)) ms)"
field 'j["error"]' < "$TG_WORK/slow.json" | grep -q "TXT lookup: timed out after 5s"
ok $? "the refresh ends at the deadline: $(field 'j["error"]' < "$TG_WORK/slow.json")"
[ $((t2 - t0)) -lt 8000000000 ]; ok $? "... after about 5 s ($(((t2 - t0) / 1000000)) ms)"
kill $hole
wait $hole 2>/dev/null
nsd_start

# 13. the cache survives a restart, and is used with the server down
web_stop
cached=$(find "$TG_WORK/gw/mta-sts" -type f | wc -l)
gw_stop
gw_start
out=$(ctl -j sts show a.example.net)
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["id"]')" "testing 2" \
	"after a restart the cached policy is back"
is "$(echo "$out" | field 'j["policy"]["fetched"] >= '"$fetched1")" "True" "with its fetch time"
tg_gw_log gw | grep -q "mta-sts cache dir=$TG_WORK/gw/mta-sts loaded=$cached skipped=0"
ok $? "the start logs the cache it loaded ($cached policies)"
out=$(ctl -j sts refresh a.example.net force)
is "$(echo "$out" | field 'j["policy"]["mode"], j["policy"]["id"]')" "testing 2" \
	"server down after the restart: the cached policy still applies"

# 14. purge
ctl sts purge a.example.net >/dev/null
ok $? "sts purge"
[ ! -e "$TG_WORK/gw/mta-sts/a.example.net" ]
ok $? "the file is gone"
ctl sts show a.example.net 2>"$TG_WORK/err"
is "$?" 1 "sts show after purge fails"
grep -q "nothing known of a.example.net" "$TG_WORK/err"
ok $? "saying nothing is known"
ctl sts show 'bad..name' 2>/dev/null
is "$?" 1 "a malformed domain is refused"

tap_done
