#!/bin/bash
# Destination policy per RCPT benchmark (issue 14; make bench, not make check).  The target:
# "Per-RCPT policy check with warm caches adds <= 20 us; a worker never waits on DNS or HTTPS".
# Writes bench/results/dest.json and dest.md; exits 1 when a target is missed.
#
#   bench/bench_dest.sh        BUILD=build; TLSGATE_BENCH_DEST_ROUNDS (7) interleaved rounds;
#                              TLSGATE_BENCH_KEEP=DIR keeps the work directory (logs, runs) there
#
# 1. micro (bench/bench_dest.c): CPU per call of the check's parts and of a whole warm RCPT.
# 2. end to end: a real tlsgated (workers=1) relays transactions of RCPTS (100) recipients at a
#    DANE domain (DNSSEC-signed test zone served by nsd, TLSA 3 1 1 of the sink's key, caches
#    warm) to tests/e2e/helper_sink, against the same daemon options with outbound_dane=no
#    outbound_mta_sts=no, in interleaved rounds, one client at a time (helper_loadgen).  Per
#    RCPT: the daemon's CPU (utime+stime from /proc/PID/stat) and the wall time of a
#    transaction (p50) over its recipients; the difference is the check.
# 3. no waiting: sessions of 10 recipients at the cached DANE domain, their latency (p50, p99)
#    alone, while another session on the same worker waits for a DNS lookup that never gets
#    an answer (a resolver in front of nsd drops every question about dnsdrop*.example;
#    destination_lookup_timeout=LOOKUP_S), and while an MTA-STS fetch hangs on a policy server
#    that accepts TCP and never answers.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=${BUILD:-build}
res=bench/results
ROUNDS=${TLSGATE_BENCH_DEST_ROUNDS:-7}
RCPTS=100
SESSIONS=500	# per end-to-end run: SESSIONS x RCPTS recipients
LOOKUP_S=3	# destination_lookup_timeout: longer than a part-3 run
SINK=203.0.113.25
PY=/usr/bin/python3
mkdir -p "$res" "$B/bench"

# ---- 1. micro -----------------------------------------------------------------------------------
make --no-print-directory BUILD="$B" "$B/libtgtest.a" "$B/libdaemon.a" "$B/tlsgated" \
	"$B/tlsgatectl" "$B/tests/e2e/helper_smtp_client" >/dev/null || exit 1
# the archives and libraries in the Makefile's link order
link=$(make -s --no-print-directory BUILD="$B" print-link) || exit 1
# shellcheck disable=SC2086 # words
${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. -I"$B/bpf" \
	bench/bench_dest.c $link -lpthread -o "$B/bench/bench_dest" || exit 1
"$B/bench/bench_dest" > "$B/bench/dest_micro.json"
[ $? -le 1 ] || { echo "bench_dest: the micro part failed" >&2; exit 1; }

# ---- the topology -------------------------------------------------------------------------------
. bench/relay_common.sh
rb_setup dest
. tests/lib/dnssec.sh
if ! why=$(dnssec_available); then
	echo "bench_dest: skipped: $why" >&2
	exit 77
fi
W=$RB_RUNS
[ -n "${TLSGATE_BENCH_KEEP:-}" ] &&
	tg_on_exit "rm -rf '$TLSGATE_BENCH_KEEP'; cp -r '$TG_WORK' '$TLSGATE_BENCH_KEEP'"
ip -n "$NS_OUT" addr add 203.0.113.53/24 dev eth0	# nsd
ip -n "$NS_OUT" addr add 203.0.113.54/24 dev eth0	# the resolver that drops dnsdrop*
ip -n "$NS_OUT" addr add 203.0.113.81/24 dev eth0	# the MTA-STS server that never answers
mx_h=$(dnssec_spki_sha256 "$TG_PKI/mx1.example.net.crt")
z=$TG_WORK/dns
mkdir -p "$z"
dnssec_key "$z" example
{
	# shellcheck disable=SC2016 # zone file syntax, not shell
	printf '$ORIGIN example.\n$TTL 3600\n'
	printf '@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 60\n@ IN NS ns.example.\n'
	echo "ns IN A 203.0.113.53"
	echo "mx IN A $SINK"
	echo "_25._tcp.mx IN TLSA 3 1 1 $mx_h"
	echo "dane IN MX 10 mx.example."
	# MTA-STS: TXT answered, the policy host accepts TCP and never answers
	for r in 1 2 3; do	# one per round: a fetch under way is not started again
		echo "hang-sts$r IN MX 10 mx.example."
		echo "_mta-sts.hang-sts$r IN TXT \"v=STSv1; id=1;\""
		echo "mta-sts.hang-sts$r IN A 203.0.113.81"
	done
} > "$z/example.zone"
dnssec_sign "$z" example
dnssec_nsd "$NS_OUT" 203.0.113.53 "$z" example=example.signed
# The gateway's resolver: every question passed to nsd, but those about dnsdrop*.example
# dropped (a nameserver that never answers), each logged.
cat > "$TG_WORK/dropdns.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.settimeout(2)
log = open(sys.argv[3], "a", buffering=1)
while True:
    q, peer = s.recvfrom(4096)
    if b"dnsdrop" in q.lower():
        log.write("dropped %s\n" % q[12:].split(b"\x00")[0])
        continue
    up.sendto(q, (sys.argv[2], 53))
    try:
        a = up.recv(65535)
    except socket.timeout:
        continue
    s.sendto(a, peer)
EOF
tg_bg ip netns exec "$NS_OUT" $PY "$TG_WORK/dropdns.py" 203.0.113.54 203.0.113.53 \
	"$TG_WORK/dropdns.log"
# The policy server: a listening socket nobody accepts on (the kernel completes the handshake;
# the ClientHello is never answered).
tg_bg ip netns exec "$NS_OUT" $PY -c '
import socket, time
s = socket.socket(); s.bind(("203.0.113.81", 443)); s.listen(64)
time.sleep(86400)'
tg_wait_listen "$NS_OUT" 443 20 || bail "the hanging policy server did not start"
for ((i = 0; i < 50; i++)); do
	[ "$(ip netns exec "$NS_OUT" ss -Hlun 'sport = :53' | grep -c 203.0.113.54)" = 1 ] && break
	sleep 0.1 # the resolver's socket: nothing else to wait on
done

rb_sink "$NS_OUT" "$SINK:25" --cert "$TG_PKI/mx1.example.net.crt" \
	--key "$TG_PKI/mx1.example.net.key" --tls tls1.3
echo "$SINK encrypt" > "$TG_WORK/policy"
base=(-o "outbound_forward=$SINK:25" -o outbound_forward_host=mx.example
	-o "outbound_policy=$TG_WORK/policy" -o workers=1 -o resolve=no)
tg_gw on 2560 "${base[@]}" -o outbound_dane=yes -o outbound_mta_sts=yes \
	-o dns_server=203.0.113.54 -o "dane_trust_anchor=$z/example.ds" \
	-o "mta_sts_ca_file=$TG_PKI/ca.crt" -o "destination_lookup_timeout=${LOOKUP_S}s" \
	-o mta_sts_timeout=120s
ON_PID=$TG_BG_PID
tg_gw off 2561 "${base[@]}"
OFF_PID=$TG_BG_PID
ctl() { ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/$1" "${@:2}"; }

rb_target() { # on|off -> NS ADDR:PORT PID
	case $1 in
	on) echo "$NS_IN 192.0.2.1:2560 $ON_PID" ;;
	off) echo "$NS_IN 192.0.2.1:2561 $OFF_PID" ;;
	esac
}
rb_after() { :; }

# Warm up: the DANE verdict for dane.example cached, both daemons' first sessions done.
for g in on off; do
	rb_measure "$W/warm.$g" "$g" --connections 2 --rcpts "$RCPTS" --rcpt-domain dane.example \
		--size 1k
	[ "$(jq .errors "$W/warm.$g.json")" = 0 ] ||
		bail "warm-up through $g failed: $(tail -n 5 "$TG_WORK/$g.log")"
done
grep -q 'authenticated by DANE (mx.example' "$TG_WORK/on.log" ||
	bail "the DANE check did not run: $(grep -i 'dane\|refused' "$TG_WORK/on.log" | tail -n 5)"

# ---- 2. end to end, interleaved -----------------------------------------------------------------
for r in $(seq "$ROUNDS"); do
	rb_say "end to end, round $r/$ROUNDS: $SESSIONS transactions of $RCPTS recipients, each way"
	for g in on off; do
		rb_measure "$W/e2e.$g.$r" "$g" --connections "$SESSIONS" --rcpts "$RCPTS" \
			--rcpt-domain dane.example --size 1k
	done
done
# every message of the "on" runs must say so (one log line per message, with its nrcpt)
checked=$(grep -c "nrcpt=$RCPTS .*policy=\"authenticated by DANE (mx.example" "$TG_WORK/on.log")

# ---- 3. latency while a lookup and a fetch hang --------------------------------------------------
lat_run() { # OUT: 200 sessions of 10 recipients at dane.example through "on", one at a time
	rb_measure "$1" on --connections 200 --rcpts 10 --rcpt-domain dane.example --size 1k
}
# A session whose RCPT waits on the lookup that never ends; its reply and wait time in OUT.
stuck_start() { # N OUT
	printf '%s\n' 'expect 220' 'send EHLO stuck.example.org\r\n' 'expect 250' \
		'send MAIL FROM:<stuck@example.org>\r\n' 'expect 250' \
		"send RCPT TO:<a@dnsdrop$1.example>\\r\\n" 'expect 4xx' 'send QUIT\r\n' \
		> "$TG_WORK/stuck.$1"
	(
		t0=$(date +%s.%N)
		ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 192.0.2.1 2560 \
			--timeout 60 < "$TG_WORK/stuck.$1" > "$2.out" 2>&1
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' > "$2.secs"
	) &
	STUCK_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "dnsdrop$1" "$TG_WORK/dropdns.log" 2>/dev/null && return 0
		sleep 0.05 # the resolver's log line: the lookup is under way
	done
	bail "the lookup for dnsdrop$1.example never reached the resolver"
}
hang_established() {
	ip netns exec "$NS_OUT" ss -Htn state established 'sport = :443' | wc -l
}
for r in $(seq 3); do
	rb_say "no waiting, round $r/3: alone, during a DNS lookup that never ends, during a hung MTA-STS fetch"
	lat_run "$W/lat.alone.$r"
	stuck_start "$r" "$W/stuck.$r"
	lat_run "$W/lat.dns.$r"
	if kill -0 "$STUCK_PID" 2>/dev/null; then
		echo true > "$W/stuck.$r.during"
	else
		echo false > "$W/stuck.$r.during"
	fi
	wait "$STUCK_PID"
	n0=$(hang_established)
	# tlsgatectl waits a while for the refresh to end (it will not): in the background
	ctl on sts refresh "hang-sts$r.example" > "$W/sts.$r.refresh" 2>&1 &
	ctl_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(hang_established)" -gt "$n0" ] && break
		sleep 0.05 # the fetch's connection to the policy server: it is under way
	done
	[ "$(hang_established)" -gt "$n0" ] || bail "the MTA-STS fetch never reached the policy server"
	lat_run "$W/lat.sts.$r"
	# still in progress at the end (the fetch's deadline is 120 s)
	if [ "$(hang_established)" -gt "$n0" ]; then
		echo true > "$W/sts.$r.during"
	else
		echo false > "$W/sts.$r.during"
	fi
	ctl on sts show "hang-sts$r.example" > "$W/sts.$r.show" 2>&1
	kill "$ctl_pid" 2>/dev/null
	wait "$ctl_pid" 2>/dev/null
done

# ---- results ----------------------------------------------------------------------------------
jq -s -c '.' "$W"/e2e.on.*.json > "$W/g.on"
jq -s -c '.' "$W"/e2e.off.*.json > "$W/g.off"
for k in alone dns sts; do
	jq -s -c '.' "$W"/lat.$k.*.json > "$W/g.lat.$k"
done
stuck=$(for r in 1 2 3; do
	jq -n -c --arg out "$(grep '^S: 4' "$W/stuck.$r.out" | head -n 1 | cut -c4-)" \
		--argjson secs "$(cat "$W/stuck.$r.secs")" --argjson during "$(cat "$W/stuck.$r.during")" \
		--argjson sts "$(cat "$W/sts.$r.during")" \
		'{reply: $out, waited_s: ($secs * 100 | round / 100), outlived_run: $during,
		  sts_fetch_outlived_run: $sts}'
done | jq -s -c .)
jq -n \
	--argjson machine "$(rb_machine)" --argjson micro "$(cat "$B/bench/dest_micro.json")" \
	--argjson on "$(cat "$W/g.on")" --argjson off "$(cat "$W/g.off")" \
	--argjson alone "$(cat "$W/g.lat.alone")" --argjson dns "$(cat "$W/g.lat.dns")" \
	--argjson sts "$(cat "$W/g.lat.sts")" --argjson stuck "$stuck" \
	--argjson rounds "$ROUNDS" --argjson rcpts "$RCPTS" --argjson sessions "$SESSIONS" \
	--argjson lookup_s "$LOOKUP_S" --argjson checked "$checked" '
def med(a): (a | sort) as $s | if ($s | length) == 0 then null
	else $s[(($s | length) - 1) / 2 | floor] end;
def r1(x): if x == null then null else (x * 10 | round) / 10 end;
def per_rcpt(runs): {
	cpu_us: med(runs | map(.relay_cpu_ms * 1000 / (.messages * .rcpts))),
	wall_us: med(runs | map(.p50_ms * 1000 / .rcpts)),
	all_cpu_us: (runs | map(r1(.relay_cpu_ms * 1000 / (.messages * .rcpts)))),
	all_wall_us: (runs | map(r1(.p50_ms * 1000 / .rcpts))),
	errors: (runs | map(.errors) | add)};
def lat(runs): {p50_ms: med(runs | map(.p50_ms)), p99_ms: med(runs | map(.p99_ms)),
	all_p50_ms: (runs | map(.p50_ms)), all_p99_ms: (runs | map(.p99_ms)),
	errors: (runs | map(.errors) | add)};
def fig(n): $micro.figures | map(select(.name == n))[0].median_ns;
(per_rcpt($on)) as $pon | (per_rcpt($off)) as $poff |
([$on, $off] | transpose | map(.[0].relay_cpu_ms * 1000 / (.[0].messages * .[0].rcpts) -
	.[1].relay_cpu_ms * 1000 / (.[1].messages * .[1].rcpts))) as $dcpu |
([$on, $off] | transpose | map((.[0].p50_ms - .[1].p50_ms) * 1000 / .[0].rcpts)) as $dwall |
(lat($alone)) as $la | (lat($dns)) as $ld | (lat($sts)) as $ls |
{
  bench: "dest",
  machine: $machine,
  params: {rounds: $rounds, rcpts_per_transaction: $rcpts, transactions_per_run: $sessions,
	   clients: 1, workers: 1, message: "1 KiB", destination_lookup_timeout_s: $lookup_s},
  micro: $micro,
  e2e: {on: $pon, off: $poff,
	check_cpu_us_per_rcpt_medians: r1($pon.cpu_us - $poff.cpu_us),
	check_wall_us_per_rcpt_medians: r1($pon.wall_us - $poff.wall_us),
	check_cpu_us_per_rcpt: r1(med($dcpu)),
	check_wall_us_per_rcpt: r1(med($dwall)),
	round_cpu_us_differences: ($dcpu | map(r1(.))),
	round_wall_us_differences: ($dwall | map(r1(.))),
	messages_logged_authenticated_by_dane: $checked,
	cpu_resolution_note: "utime+stime in clock ticks (10 ms) over \($sessions * $rcpts) recipients per run: \(10000 / ($sessions * $rcpts) * 1000 | round / 1000) us per RCPT"},
  no_wait: {alone: $la, during_dns_lookup: $ld, during_sts_fetch: $ls, stuck_sessions: $stuck},
} | . + {targets: [
  {target: "warm per-RCPT check, CPU (micro, DANE memo hit / MTA-STS): <= 20 us",
   value: "\(fig("rcpt_dane") / 1000) / \(fig("rcpt_sts") / 1000) us", met: $micro.pass},
  {target: "warm per-RCPT check, daemon CPU on - off (end to end, DANE, \($rcpts) RCPTs per transaction): <= 20 us",
   value: "\(.e2e.check_cpu_us_per_rcpt) us",
   met: (.e2e.check_cpu_us_per_rcpt != null and .e2e.check_cpu_us_per_rcpt <= 20 and
	 $pon.errors == 0 and $poff.errors == 0 and $checked >= $rounds * $sessions)},
  {target: "warm per-RCPT check, wall time on - off (end to end): <= 20 us",
   value: "\(.e2e.check_wall_us_per_rcpt) us",
   met: (.e2e.check_wall_us_per_rcpt != null and .e2e.check_wall_us_per_rcpt <= 20)},
  {target: "sessions keep their latency while a DNS lookup hangs (p50 within 20% + 1 ms of alone, no errors, the lookup outlived every run)",
   value: "p50 \($ld.p50_ms) ms vs \($la.p50_ms) ms",
   met: ($ld.errors == 0 and $ld.p50_ms <= $la.p50_ms * 1.2 + 1 and
	 ($stuck | all(.outlived_run)))},
  {target: "sessions keep their latency while an MTA-STS fetch hangs (same test)",
   value: "p50 \($ls.p50_ms) ms vs \($la.p50_ms) ms",
   met: ($ls.errors == 0 and $ls.p50_ms <= $la.p50_ms * 1.2 + 1 and
	 ($stuck | all(.sts_fetch_outlived_run)))}
]}' > "$res/dest.json" || bail "cannot write $res/dest.json"

# ---- markdown ---------------------------------------------------------------------------------
jq -r '
def f(x): if x == null then "-" else (x * 10 | round) / 10 | tostring end;
def f3(x): if x == null then "-" else (x * 1000 | round) / 1000 | tostring end;
.e2e as $e | .no_wait as $n |
"# Destination policy per RCPT (DANE, MTA-STS)",
"",
"Generated by `bench/bench_dest.sh` on \(.machine.date): kernel \(.machine.kernel), \(.machine.nproc) CPUs (\(.machine.cpu)), load average at the start \(.machine.loadavg_at_start). The machine is shared: compare within this run; the end-to-end differences are small against the noise of whole SMTP transactions (every round is listed). Raw numbers: dest.json.",
"",
"## Micro: CPU per call, warm (bench/bench_dest.c)",
"",
"Thread CPU time per call, median of \(.micro.rounds) rounds (lowest-highest). A peer kept from a real TLS 1.3 handshake (daemon/tls_peer.c), destpol over a canned transport with 1000 cached DANE domains, the MTA-STS cache with 1000 policies.",
"",
"| what | ns per call | range |",
"|---|---:|---:|",
(.micro.figures[] | "| \(.what) | \(.median_ns) | \(.min_ns)-\(.max_ns) |"),
"",
"A warm RCPT at a DANE domain costs the memo hit plus the cache hit; the memo is per connection and keyed by host, records *and the recipient domain* (the next hop, which DANE-TA name checks use), so on one connection the first RCPT of each domain verifies again (the memo-miss rows; two slots). With every RCPT at another DANE-TA domain on the same connection that is \(f(.micro.figures | map(select(.name == "rcpt_dane_domains_ta"))[0].median_ns / 1000)) us per RCPT, above the 20 us limit; DANE-EE \(f(.micro.figures | map(select(.name == "rcpt_dane_domains_ee"))[0].median_ns / 1000)) us.",
"",
"## End to end: tlsgated with and without the check",
"",
"tlsgated (workers=1) relaying to tests/e2e/helper_sink over TLS 1.3, \(.params.transactions_per_run) transactions per run of \(.params.rcpts_per_transaction) recipients at dane.example (DNSSEC-signed test zone, TLSA 3 1 1 matching the sink; the verdict cached, so every RCPT is a warm check; \($e.messages_logged_authenticated_by_dane) messages of \(.params.rcpts_per_transaction) recipients logged \"authenticated by DANE\"), one client, 1 KiB message; \(.params.rounds) interleaved rounds against the same daemon options with outbound_dane=no outbound_mta_sts=no. CPU: the daemon'"'"'s utime+stime (/proc/PID/stat) over the run, per recipient (resolution: \($e.cpu_resolution_note)). Wall: a transaction'"'"'s p50 (MAIL to the reply after the data) over its recipients.",
"",
"| | on (DANE + MTA-STS) | off | on - off |",
"|---|---:|---:|---:|",
"| daemon CPU per RCPT, us (median round) | \(f($e.on.cpu_us)) | \(f($e.off.cpu_us)) | \(f($e.check_cpu_us_per_rcpt_medians)) |",
"| wall time per RCPT, us (median round) | \(f($e.on.wall_us)) | \(f($e.off.wall_us)) | \(f($e.check_wall_us_per_rcpt_medians)) |",
"| every round, CPU us | \($e.on.all_cpu_us | map(tostring) | join(" ")) | \($e.off.all_cpu_us | map(tostring) | join(" ")) | \($e.round_cpu_us_differences | map(tostring) | join(" ")) |",
"| every round, wall us | \($e.on.all_wall_us | map(tostring) | join(" ")) | \($e.off.all_wall_us | map(tostring) | join(" ")) | \($e.round_wall_us_differences | map(tostring) | join(" ")) |",
"| **the check: median of the rounds'"'"' differences**, CPU / wall us per RCPT | | | **\(f($e.check_cpu_us_per_rcpt)) / \(f($e.check_wall_us_per_rcpt))** |",
"| transactions with errors | \($e.on.errors) | \($e.off.errors) | |",
"",
"The per-RCPT figures include what a transaction costs apart from its recipients (the client'"'"'s and the sink'"'"'s TLS handshakes, MAIL, DATA) divided by \(.params.rcpts_per_transaction); the difference is the check, plus what the check adds once per session (the peer kept at the handshake, its WebPKI verdict), spread over the recipients.",
"",
"## No waiting on DNS or HTTPS",
"",
"200 sessions of 10 recipients at the cached domain, one at a time, through the same worker (workers=1): alone; while another session waits at RCPT for a lookup of dnsdrop<N>.example that the resolver never answers (destination_lookup_timeout=\(.params.destination_lookup_timeout_s)s); and while an MTA-STS fetch (tlsgatectl sts refresh) hangs on a policy server that accepts TCP and never answers. Median of 3 rounds.",
"",
"| | p50 ms | p99 ms | errors | every round p50 |",
"|---|---:|---:|---:|---|",
"| alone | \(f3($n.alone.p50_ms)) | \(f3($n.alone.p99_ms)) | \($n.alone.errors) | \($n.alone.all_p50_ms | map(tostring) | join(" ")) |",
"| during a DNS lookup that never ends | \(f3($n.during_dns_lookup.p50_ms)) | \(f3($n.during_dns_lookup.p99_ms)) | \($n.during_dns_lookup.errors) | \($n.during_dns_lookup.all_p50_ms | map(tostring) | join(" ")) |",
"| during a hung MTA-STS fetch | \(f3($n.during_sts_fetch.p50_ms)) | \(f3($n.during_sts_fetch.p99_ms)) | \($n.during_sts_fetch.errors) | \($n.during_sts_fetch.all_p50_ms | map(tostring) | join(" ")) |",
"",
"p99 of each round (200 transactions: the second highest), alone: \($n.alone.all_p99_ms | map(tostring) | join(" ")); during the lookup: \($n.during_dns_lookup.all_p99_ms | map(tostring) | join(" ")); during the fetch: \($n.during_sts_fetch.all_p99_ms | map(tostring) | join(" ")) ms. The tail moves from round to round in every condition on this shared machine; the targets judge the p50.",
"",
"The waiting sessions: " + ($n.stuck_sessions | map("waited \(.waited_s) s, got \"\(.reply)\", still waiting when the run ended: \(.outlived_run); the MTA-STS fetch still hanging when its run ended: \(.sts_fetch_outlived_run)") | join("; ")) + ".",
"",
"## Targets",
"",
"| target | measured | result |",
"|---|---:|---|",
(.targets[] | "| \(.target) | \(.value) | \(if .met then "met" else "**not met**" end) |")
' "$res/dest.json" > "$res/dest.md" || bail "cannot write $res/dest.md"
cat "$res/dest.md"
jq -e '.targets | all(.met)' "$res/dest.json" >/dev/null
