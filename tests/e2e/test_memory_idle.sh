#!/bin/bash
# e2e: memory goes back after a burst.  2000 relayed sessions (200 at a time, TLS to the next
# hop) raise tlsgated's resident set; once they have ended and the worker is idle, the daemon
# returns the freed heap to the kernel (malloc_trim when a worker has no sessions), so its RSS
# falls back near where it started; what the worker's pools (lib/pool.h) kept for its next
# sessions is freed first, so the trim can return it too.  A ratio, not an absolute: of what the
# burst added at its peak (VmHWM), at most a third may still be resident after the idle trim.
# Under the shipped outbound_connection_reuse the sessions' last connections stay idle for the
# next ones until outbound_connection_reuse_time_limit: what they hold counts once they have
# ended and the trim after that has run, so both measurements wait for that (with reuse off
# there is none).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

lg=$TG_BIN/tests/e2e/helper_loadgen
sink=$TG_BIN/tests/e2e/helper_sink
[ -x "$lg" ] && [ -x "$sink" ] || bail "helper_loadgen/helper_sink not built"
ulimit -Sn "$(ulimit -Hn)"
tg_topology
tg_pki
for ns in "$NS_IN" "$NS_GW" "$NS_OUT"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=1024 65535"
done
tg_bg ip netns exec "$NS_OUT" "$sink" --listen 203.0.113.25:25 \
	--cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key" \
	--ready "$TG_WORK/sink.ready" > "$TG_WORK/sink.out"
for ((i = 0; i < 100; i++)); do [ -e "$TG_WORK/sink.ready" ] && break; sleep 0.1; done
[ -e "$TG_WORK/sink.ready" ] || bail "sink did not start"
tg_gw gw 2700 -o outbound_forward=203.0.113.25:25 -o max_sessions=4096 -d
pid=$TG_GW_PID_gw

rss() { awk "/^$1:/ { print \$2 }" "/proc/$pid/status"; }
trims() { grep -c "worker=0 idle: heap trimmed" "$TG_WORK/gw.log"; }
last_line() { # REGEX: the number of the log's last line matching it, 0 for none
	grep -nE "$1" "$TG_WORK/gw.log" | tail -n 1 | cut -d: -f1 | grep . || echo 0
}
# More than N trims, no connection kept for reuse still idle (each kept one is logged, and so is
# its end: taken by a session or closed), and a trim after the last one closed.
settled() { # N
	local kept taken closed
	[ "$(trims)" -gt "$1" ] || return 1
	kept=$(grep -cF "kept for reuse (" "$TG_WORK/gw.log") # not the session's end reason
	taken=$(grep -c "taking the idle connection" "$TG_WORK/gw.log")
	closed=$(grep -c "idle connection to .* closed:" "$TG_WORK/gw.log")
	[ "$kept" = $((taken + closed)) ] &&
		[ "$(last_line "worker=0 idle: heap trimmed")" -gt \
			"$(last_line "idle connection to .* closed:")" ]
}
wait_trim() { # N: until settled N (10 s at most: idle connections end after 2 s)
	local i
	for ((i = 0; i < 100; i++)); do
		settled "$1" && return 0
		sleep 0.1
	done
	return 1
}
load() { # CONNECTIONS CONCURRENCY
	ip netns exec "$NS_IN" "$lg" --connect 192.0.2.1:2700 --connections "$1" \
		--concurrency "$2" --messages 1 --size 4k --timeout 60
}

# What the daemon holds once it has relayed at all (lazy set-up, TLS contexts): the baseline.
t0=$(trims)
load 20 4 > "$TG_WORK/warm.json"
ok $? "warm-up: 20 sessions relayed"
wait_trim "$t0"
ok $? "the idle worker trims its heap (debug log: worker=0 idle: heap trimmed)"
base=$(rss VmRSS)
t0=$(trims)
burst_line=$(($(wc -l < "$TG_WORK/gw.log") + 1))
load 2000 200 > "$TG_WORK/burst.json"
ok $? "2000 sessions, 200 at a time, relayed without errors ($(jq -c '{messages, errors, seconds}' "$TG_WORK/burst.json"))"
peak=$(rss VmHWM)
grown=$((peak - base))
diag "RSS: baseline ${base} KiB, peak ${peak} KiB"
[ "$grown" -gt 4096 ]
ok $? "the burst raised the resident set (by ${grown} KiB) -- else this test measures nothing"
# Idle now: the trim comes within a second (after the kept connections ended, with reuse).
wait_trim "$t0"
rc=$?
kept=$(grep -cF "kept for reuse (" "$TG_WORK/gw.log")
closed=$(grep -c "idle connection to .* closed:" "$TG_WORK/gw.log")
ok $rc "idle after the burst: trimmed after the last idle connection ended ($kept kept, $closed closed)"
now=$(rss VmRSS)
diag "RSS after the sessions ended: ${now} KiB ($(((now - base) * 100 / grown))% of the growth kept)"
[ $(((now - base) * 3)) -le "$grown" ]
ok $? "idle after the burst: at most a third of the growth still resident"
# The burst's sessions gave their objects back to the worker's pools; an idle trim after the
# burst emptied them (with reuse, the first one after the sessions ended: the later ones, after
# the kept connections closed, may find the pools empty already).
trimmed=$(tail -n +"$burst_line" "$TG_WORK/gw.log" | grep "worker=0 idle: heap trimmed")
diag "trims since the burst: $(sed -n 's/.* \(pooled=[0-9]*\) .*/\1/p' <<< "$trimmed" | tr '\n' ' ')"
pooled=$(sed -n 's/.* pooled=\([0-9]*\) .*/\1/p' <<< "$trimmed" | sort -n | tail -n 1)
[ "${pooled:-0}" -gt 0 ]
ok $? "an idle trim after the burst freed what the pools kept (pooled=${pooled:-none})"
tap_done
