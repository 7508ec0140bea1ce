#!/bin/bash
# e2e: the benchmark's client resumes TLS sessions when asked (helper_loadgen --resume, the
# "direct with TLS and resumption" contestant of bench/bench_relay.sh).  The sink (helper_sink,
# OpenSSL's defaults: TLS 1.3 tickets) counts the handshakes it completed and how many resumed;
# each of the C loadgen threads makes one full handshake and resumes on every later connection.
# Without --resume nothing is resumed (the plain direct-TLS contestant stays what it was), and
# --resume without --starttls is refused.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

LG=$TG_BIN/tests/e2e/helper_loadgen
SINK=$TG_BIN/tests/e2e/helper_sink
for b in "$LG" "$SINK"; do
	[ -x "$b" ] || bail "$b not built (make)"
done
N=60
C=3
NS=tg-lgres-$TG_ID
tg_netns_add "$NS"
ip -n "$NS" addr add 203.0.113.25/32 dev lo
tg_pki

tg_bg ip netns exec "$NS" "$SINK" --listen 203.0.113.25:25 --threads 1 --tls tls1.3 \
	--cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key" \
	--ready "$TG_WORK/sink.ready" > "$TG_WORK/sink.out"
sink=$TG_BG_PID
for ((i = 0; i < 200; i++)); do
	[ -e "$TG_WORK/sink.ready" ] && break
	sleep 0.05 # the sink's readiness file: nothing else to wait on
done
[ -e "$TG_WORK/sink.ready" ] || bail "helper_sink did not start"

sink_stat() { # -> the sink's counters now (it answers SIGUSR1 with a JSON line)
	local n i
	n=$(wc -l < "$TG_WORK/sink.out")
	kill -USR1 "$sink"
	for ((i = 0; i < 200; i++)); do
		[ "$(wc -l < "$TG_WORK/sink.out")" -gt "$n" ] && break
		sleep 0.02
	done
	tail -n 1 "$TG_WORK/sink.out"
}

lg() { # OUT [args]
	local out=$1
	shift
	ip netns exec "$NS" "$LG" --connect 203.0.113.25:25 --connections "$N" --concurrency "$C" \
		--messages 1 --size 2k --starttls --tls tls1.3 --timeout 60 "$@" > "$out"
}

s0=$(sink_stat)
lg "$TG_WORK/resume.json" --resume
ok $? "--resume: $N sessions over $C threads, no errors"
s1=$(sink_stat)
is "$(jq .messages "$TG_WORK/resume.json")" "$N" "--resume: all $N messages accepted"
is "$(jq .tls_resumed "$TG_WORK/resume.json")" $((N - C)) \
	"--resume: the client counts $((N - C)) resumed handshakes (one full one per thread)"
is "$(jq -n --argjson a "$s0" --argjson b "$s1" '$b.tls_sessions - $a.tls_sessions')" "$N" \
	"--resume: the sink completed $N handshakes"
is "$(jq -n --argjson a "$s0" --argjson b "$s1" '$b.tls_resumed - $a.tls_resumed')" $((N - C)) \
	"--resume: the sink resumed $((N - C)) of them"

lg "$TG_WORK/full.json"
ok $? "without --resume: $N sessions, no errors"
s2=$(sink_stat)
is "$(jq .tls_resumed "$TG_WORK/full.json")" 0 "without --resume: the client resumed nothing"
is "$(jq -n --argjson a "$s1" --argjson b "$s2" '$b.tls_resumed - $a.tls_resumed')" 0 \
	"without --resume: the sink resumed nothing (a full handshake per session)"

ip netns exec "$NS" "$LG" --connect 203.0.113.25:25 --resume > /dev/null 2>&1
is $? 2 "--resume without --starttls is a usage error"
tap_done
