#!/bin/bash
# Inbound relay benchmark (issue 5; make bench).  Not a test: numbers, written to
# bench/results/inbound.json and a table in bench/results/inbound.md.
#
#   bench/bench_inbound.sh     BUILD=build; TLSGATE_BENCH_VM=0 skips the VM part; sizes via the
#                              TLSGATE_BENCH_* variables named below
#
# External senders (tests/e2e/helper_loadgen in the outside namespace, 203.0.113.25) deliver
# with STARTTLS, TLS 1.3 TLS_AES_128_GCM_SHA256, to the gateway; the inside MTA is
# tests/e2e/helper_sink on 192.0.2.20:25 (plain: the inside leg carries no TLS).
# Host, one run, side by side in the gateway namespace:
#   tlsgate    tlsgated inbound on 203.0.113.1:2525, next hop the sink (userspace TLS: the host
#              has no kTLS)
#   postfix    Postfix smtpd with TLS on 203.0.113.1:25 relaying to the sink (store and forward:
#              its rate is what the sender sees; the sink's delivery rate is also kept)
#   direct     the sender straight to the sink, no TLS (the floor for latency)
#   direct_tls the sender straight to the sink with STARTTLS (the sink gets a certificate for
#              this): the load generator's and sink's own TLS capacity
# Measured: MB/s of one 100 MiB message (best of 3), msgs/s of 10 KiB messages over 50 senders
# with 1 and 10 messages per session (best of TLSGATE_BENCH_ROUNDS interleaved rounds), latency
# with one sender, tlsgated's CPU per GiB and per message.
# VM (one boot of tests/vm/run, Debian 6.1 with kTLS; TCG, so ratios only): tlsgated with the
# sender's session in the kernel (-o ktls=yes, the default) and in OpenSSL (-o ktls=no), the same
# load through each, the two alternating run by run: one TLSGATE_BENCH_VM_MIB MiB message (best of
# 3) and TLSGATE_BENCH_VM_MSGS 10 KiB messages, 10 per session, 2 senders (best of 2).  Reported:
# the throughput ratio and tlsgated's CPU time (utime+stime from /proc) per GiB; tls_stat deltas
# show the kernel did RX; a perf profile of each says where the CPU went.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=${BUILD:-build}
. bench/relay_common.sh

CLIENTS=${TLSGATE_BENCH_CLIENTS:-50}
KB=${TLSGATE_BENCH_MSG_KB:-10}
MSGS=${TLSGATE_BENCH_MSGS:-2000}
PF_MSGS=${TLSGATE_BENCH_PF_MSGS:-1000}
ROUNDS=${TLSGATE_BENCH_ROUNDS:-3}
BIG=${TLSGATE_BENCH_BIG_MIB:-100}
LAT=${TLSGATE_BENCH_LAT_MSGS:-500}
VM_MIB=${TLSGATE_BENCH_VM_MIB:-32}
VM_MSGS=${TLSGATE_BENCH_VM_MSGS:-100}
SUITE=TLS_AES_128_GCM_SHA256
SINK_ADDR=192.0.2.20
TLS_ARGS="--starttls --tls tls1.3 --cipher $SUITE"
res=bench/results

setup_common() { # the sink inside, and its address
	ip -n "$NS_IN" addr add "$SINK_ADDR/24" dev eth0
	rb_sink "$NS_IN" "$SINK_ADDR:25" "$@"
}

tlsstat() { # FIELD: /proc/net/tls_stat of the gateway namespace
	# shellcheck disable=SC2016 # an awk program
	ip netns exec "$NS_GW" awk -v f="$1" '$1 == f { print $2 }' /proc/net/tls_stat 2>/dev/null ||
		echo 0
}

# ---- VM part: runs inside tests/vm/run ---------------------------------------------------------
if [ "${1:-}" = --in-vm ]; then
	out=$2 VM_MIB=$3 VM_MSGS=$4
	RB_NO_BUILD=1 RB_PKI=$out/pki
	rb_setup inbound
	setup_common
	tg_gw_inbound vmyes 2525 "$SINK_ADDR:25" -o ktls=yes
	PID_yes=$TG_BG_PID
	tg_gw_inbound vmno 2526 "$SINK_ADDR:25" -o ktls=no
	PID_no=$TG_BG_PID
	rb_target() {
		case $1 in
		yes) echo "$NS_OUT 203.0.113.1:2525 $PID_yes $TLS_ARGS" ;;
		no) echo "$NS_OUT 203.0.113.1:2526 $PID_no $TLS_ARGS" ;;
		esac
	}
	tls_json() {
		echo "{\"TlsRxSw\":$(tlsstat TlsRxSw),\"TlsTxSw\":$(tlsstat TlsTxSw),\"TlsDecryptError\":$(tlsstat TlsDecryptError)}"
	}
	vrun() { # OUT BACKEND [loadgen args]: rb_measure, with the kernel TLS counters' delta
		local t0
		t0=$(tls_json)
		rb_measure "$@"
		jq -c --argjson t0 "$t0" --argjson t1 "$(tls_json)" \
			'. + {tls_stat_delta: ($t1 | with_entries(.value -= $t0[.key]))}' "$1.json" \
			> "$1.tmp" && mv "$1.tmp" "$1.json"
	}
	# The backends alternate run by run: the emulator's speed follows the host's load.
	for r in 1 2 3; do
		for k in yes no; do
			vrun "$RB_RUNS/vbulk.$k.$r" "$k" --size "${VM_MIB}m" --timeout 1200
		done
	done
	for r in 1 2; do
		for k in yes no; do
			vrun "$RB_RUNS/vmsgs.$k.$r" "$k" --connections $((VM_MSGS / 10)) \
				--concurrency 2 --messages 10 --size "${KB}k" --timeout 600
		done
	done
	for k in yes no; do
		# where the CPU goes, in a run of its own (sampling slows the emulator down)
		RB_PERF_HZ=499 rb_perf "$(eval echo "\$PID_$k")" "$RB_RUNS/vprof.$k" \
			vrun "$RB_RUNS/vprof.$k.run" "$k" --size "$((VM_MIB / 2))m" --timeout 1200
	done
	for k in yes no; do
		log=$TG_WORK/vm$k.log
		jq -s -c --arg k "$k" --argjson mib "$VM_MIB" \
			--argjson bulk "$(rb_best mb_per_s "$RB_RUNS"/vbulk.$k.*.json)" \
			--argjson msgs "$(rb_best msgs_per_s "$RB_RUNS"/vmsgs.$k.*.json)" \
			--argjson prof "$(cat "$RB_RUNS/vprof.$k.json")" \
			--argjson sessions "$(grep -c 'TLS connection established from' "$log")" \
			--argjson kernel "$(grep -c 'TLS connection established from.*ktls="tx=kernel rx=kernel"' "$log")" \
			--argjson nmsg "$(grep -c ' msg=' "$log")" \
			--argjson spliced "$(grep -c ' msg=.*body=splice' "$log")" '
			def gib(x): if x.relay_cpu_ms == null then null
				else (x.relay_cpu_ms * 1024 / $mib | round) end;
			def per_msg(x): if x.messages > 0 and x.relay_cpu_ms != null
				then (x.relay_cpu_ms / x.messages * 100 | round) / 100 else null end;
			{ktls: $k,
			 bulk: ($bulk + {cpu_ms_per_gib: gib($bulk),
				cpu_ms_per_gib_all: [.[] | select(.size == $mib * 1048576) | gib(.)]}),
			 msgs: ($msgs + {cpu_ms_per_msg: per_msg($msgs)}),
			 tls_stat_delta: (map(.tls_stat_delta) | reduce .[] as $d ({};
				reduce ($d | keys[]) as $f (.; .[$f] += $d[$f]))),
			 tls_sessions: $sessions, tls_sessions_tx_rx_kernel: $kernel,
			 messages_logged: $nmsg, bodies_spliced: $spliced, profile_bulk: $prof}' \
			"$RB_RUNS"/vbulk.$k.*.json "$RB_RUNS"/vmsgs.$k.*.json "$RB_RUNS/vprof.$k.run.json" \
			> "$out/vm.$k.json"
	done
	exit 0
fi

rb_setup inbound
mkdir -p "$res"
W=$RB_RUNS

rb_say "starting the sink, tlsgated and Postfix"
setup_common --cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key" \
	--tls tls1.3 --cipher "$SUITE"
# the load comes from one address: the per-client limits (against floods) are off here
GW_OPTS=(-o "workers=$(nproc)" -o max_sessions=30000 -o inbound_client_connection_limit=0
	-o inbound_client_rate_limit=0)
GW_NAME=gw
tg_gw_inbound gw 2525 "$SINK_ADDR:25" "${GW_OPTS[@]}"
GW_PID=$TG_BG_PID
rb_pf_relay inmx "$NS_GW" 203.0.113.1 "$SINK_ADDR:25" none "$TG_PKI/gw.example.net"

rb_target() { # RELAY -> NS ADDR:PORT PID [loadgen args]
	case $1 in
	direct) echo "$NS_OUT $SINK_ADDR:25 -" ;;
	direct_tls) echo "$NS_OUT $SINK_ADDR:25 - $TLS_ARGS" ;;
	tlsgate) echo "$NS_OUT 203.0.113.1:2525 $GW_PID $TLS_ARGS" ;;
	postfix) echo "$NS_OUT 203.0.113.1:25 - $TLS_ARGS" ;;
	esac
}
rb_after() { # RELAY RUN: a crash is a result; start tlsgated again for what follows
	if [ "$1" = tlsgate ] && rb_dead tlsgated "$GW_PID" "$TG_WORK/$GW_NAME.log" "$2"; then
		GW_NAME=gw$RB_CRASHES
		tg_gw_inbound "$GW_NAME" 2525 "$SINK_ADDR:25" "${GW_OPTS[@]}"
		GW_PID=$TG_BG_PID
	elif [ "$1" = postfix ]; then
		rb_pf_alive inmx "$2"
	fi
}

RELAYS="direct direct_tls tlsgate postfix"
for r in 1 2 3; do
	rb_say "MB/s, one $BIG MiB message, round $r/3"
	for relay in $RELAYS; do
		rb_measure "$W/bulk.$relay.$r" "$relay" --size "${BIG}m" --timeout 600
	done
done
for per in 1 10; do
	for r in $(seq "$ROUNDS"); do
		rb_say "msgs/s, $per message(s) per session, round $r/$ROUNDS"
		for relay in $RELAYS; do
			n=$MSGS
			[ "$relay" = postfix ] && n=$PF_MSGS
			rb_measure "$W/msgs$per.$relay.$r" "$relay" --connections $((n / per)) \
				--concurrency "$CLIENTS" --messages "$per" --size "${KB}k"
		done
	done
done
rb_say "latency, one sender, $LAT messages, 10 per session"
for relay in $RELAYS; do
	rb_measure "$W/lat.$relay" "$relay" --connections $((LAT / 10)) --messages 10 --size "${KB}k"
done
rb_say "profile of one $BIG MiB message through tlsgated"
rb_perf "$GW_PID" "$W/prof.tlsgate" rb_measure "$W/prof.tlsgate.run" tlsgate --size "${BIG}m" \
	--timeout 600

vmdir=$TG_WORK/vm
mkdir -p "$vmdir"
if [ "${TLSGATE_BENCH_VM:-1}" != 0 ]; then
	rb_say "VM run (kTLS vs userspace): one $VM_MIB MiB message (best of 3) and" \
		"$VM_MSGS 10 KiB messages (best of 2) through each, alternating"
	cp -r "$TG_PKI" "$vmdir/pki"
	tests/vm/run -w "$vmdir" -- "$0" --in-vm "$vmdir" "$VM_MIB" "$VM_MSGS" ||
		echo "bench_inbound: the VM part failed" >&2
fi
vm_json() {
	if [ -s "$vmdir/vm.yes.json" ] && [ -s "$vmdir/vm.no.json" ]; then
		jq -s -c --argjson mib "$VM_MIB" --argjson n "$VM_MSGS" '
			def r(a; b): if a == null or b == null or b == 0 then null
				else ((a / b) * 100 | round) / 100 end;
			{mib: $mib, messages: $n, kernel: .[0], user: .[1],
			 mb_per_s_kernel_over_user: r(.[0].bulk.mb_per_s; .[1].bulk.mb_per_s),
			 cpu_per_gib_kernel_over_user: r(.[0].bulk.cpu_ms_per_gib; .[1].bulk.cpu_ms_per_gib),
			 msgs_per_s_kernel_over_user: r(.[0].msgs.msgs_per_s; .[1].msgs.msgs_per_s),
			 cpu_per_msg_kernel_over_user: r(.[0].msgs.cpu_ms_per_msg; .[1].msgs.cpu_ms_per_msg)}' \
			"$vmdir/vm.yes.json" "$vmdir/vm.no.json"
	else
		echo null
	fi
}

# ---- results ---------------------------------------------------------------------------------
# shellcheck disable=SC2086
rb_group_results $RELAYS

jq -n \
	--argjson machine "$(rb_machine)" \
	--argjson bulk "$(cat "$W/g.bulk")" --argjson m1 "$(cat "$W/g.msgs1")" \
	--argjson m10 "$(cat "$W/g.msgs10")" --argjson lat "$(cat "$W/g.lat")" \
	--argjson vm "$(vm_json)" --argjson crashes "$(rb_crashes)" \
	--argjson prof "$(cat "$W/prof.tlsgate.json")" \
	--argjson clients "$CLIENTS" --argjson kb "$KB" --argjson msgs "$MSGS" \
	--argjson pfmsgs "$PF_MSGS" --argjson rounds "$ROUNDS" --argjson big "$BIG" \
	--argjson lat_n "$LAT" --arg suite "$SUITE" \
	--arg ktls "$(ip netns exec "$NS_GW" "$TG_BIN/tlsgated" --probe 2>&1 | head -n 1)" '
def r(a; b): if (a == null or b == null or b == 0) then null
	else ((a / b) * 100 | round) / 100 end;
def added(x): {p50_ms: (((x.p50_ms - $lat.direct.p50_ms) * 1000 | round) / 1000),
	       p99_ms: (((x.p99_ms - $lat.direct.p99_ms) * 1000 | round) / 1000)};
def per_msg(x): if x.messages > 0 and x.relay_cpu_ms != null
	then (x.relay_cpu_ms / x.messages * 1000 | round) / 1000 else null end;
{
  bench: "inbound",
  machine: $machine,
  host_ktls: $ktls,
  params: {senders: $clients, message_kib: $kb, messages_per_run: $msgs,
	   postfix_messages_per_run: $pfmsgs, rounds: $rounds, big_mib: $big,
	   latency_messages: $lat_n, tls: "TLSv1.3 \($suite)", mb: "10^6 bytes"},
  bulk: $bulk,
  msgs_per_s: {per_session_1: $m1, per_session_10: $m10},
  latency: ($lat + {added_vs_direct: ($lat | with_entries(select(.key != "direct")) |
	    map_values(added(.)))}),
  tlsgate_cpu: {ms_per_gib_bulk: (if $bulk.tlsgate.relay_cpu_ms == null then null else
		  ($bulk.tlsgate.relay_cpu_ms * 1024 / $big | round) end),
		ms_per_msg_1: per_msg($m1.tlsgate), ms_per_msg_10: per_msg($m10.tlsgate)},
  profile_bulk: $prof,
  vm: $vm,
  crashes: $crashes,
  ratios: {
    tlsgate_over_postfix_mb: r($bulk.tlsgate.mb_per_s; $bulk.postfix.mb_per_s),
    tlsgate_over_postfix_msgs_1: r($m1.tlsgate.msgs_per_s; $m1.postfix.msgs_per_s),
    tlsgate_over_postfix_msgs_10: r($m10.tlsgate.msgs_per_s; $m10.postfix.msgs_per_s),
    tlsgate_over_postfix_delivered_1: r($m1.tlsgate.msgs_per_s; $m1.postfix.delivered_per_s),
    tlsgate_over_postfix_delivered_10: r($m10.tlsgate.msgs_per_s; $m10.postfix.delivered_per_s)
  },
  sink_not_bottleneck: (([$m1, $m10] | all(.direct.msgs_per_s >= ([.tlsgate, .postfix] |
	map(.msgs_per_s // 0) | max))) and
	($bulk.direct.mb_per_s >= ([$bulk.tlsgate, $bulk.postfix] | map(.mb_per_s // 0) | max)))
}' > "$res/inbound.json" || bail "cannot write $res/inbound.json"

jq -r '
def f(x): if x == null then "-" else (x * 10 | round) / 10 | tostring end;
def f3(x): if x == null then "-" else (x * 1000 | round) / 1000 | tostring end;
def cells(g; k): [g.direct, g.tlsgate, g.postfix, g.direct_tls] | map(f(.[k])) | join(" | ");
def lat(x): "\(f3(x.p50_ms)) / \(f3(x.p99_ms))";
def x(v): if v == null then "-" else "\(v)x" end;
def vprof(p): if p == null or (p.sym | length) == 0 then "not profiled" else
	(p.sym[0:4] | map("\(.where) \(.pct)%") | join(", ")) end;
.msgs_per_s.per_session_1 as $m1 | .msgs_per_s.per_session_10 as $m10 | .latency as $l |
"# Inbound relay benchmark",
"",
"Generated by `bench/bench_inbound.sh` on \(.machine.date): kernel \(.machine.kernel), \(.machine.nproc) CPUs (\(.machine.cpu)), load average at the start \(.machine.loadavg_at_start): the machine is shared, compare within this run. Senders use STARTTLS, \(.params.tls); the inside leg is plain. Host kTLS: \(.host_ktls | sub("^ktls: "; "")). \(.params.senders) parallel senders, \(.params.message_kib) KiB messages, \(.params.messages_per_run) messages per run (Postfix \(.params.postfix_messages_per_run)), best of \(.params.rounds) interleaved rounds (runs with errors never count); one \(.params.big_mib) MiB message best of 3. MB = 10^6 bytes. Raw numbers: inbound.json.",
"",
"## Host: tlsgated (userspace TLS) vs Postfix smtpd with TLS",
"",
"| | direct to the sink, no TLS | tlsgated | Postfix (store and forward) | direct to the sink with TLS |",
"|---|---:|---:|---:|---:|",
"| MB/s, one \(.params.big_mib) MiB message | \(cells(.bulk; "mb_per_s")) |",
"| msgs/s, 1 msg/session | \(cells($m1; "msgs_per_s")) |",
"| msgs/s, 10 msgs/session | \(cells($m10; "msgs_per_s")) |",
"| Postfix: delivered to the sink, msgs/s (1 / 10 per session) | | | \(f($m1.postfix.delivered_per_s)) / \(f($m10.postfix.delivered_per_s)) | |",
"| latency p50 / p99 ms (one sender) | \(lat($l.direct)) | \(lat($l.tlsgate)) | \(lat($l.postfix)) | \(lat($l.direct_tls)) |",
"| added latency p50 / p99 ms vs direct, no TLS | 0 / 0 | \(lat($l.added_vs_direct.tlsgate)) | \(lat($l.added_vs_direct.postfix)) | \(lat($l.added_vs_direct.direct_tls)) |",
"| session set-up p50 ms (connect to EHLO reply inside TLS) | \(f3($l.direct.setup_p50_ms)) | \(f3($l.tlsgate.setup_p50_ms)) | \(f3($l.postfix.setup_p50_ms)) | \(f3($l.direct_tls.setup_p50_ms)) |",
"",
"tlsgated/Postfix: MB/s \(x(.ratios.tlsgate_over_postfix_mb)); msgs/s \(x(.ratios.tlsgate_over_postfix_msgs_1)) (1 msg/session), \(x(.ratios.tlsgate_over_postfix_msgs_10)) (10 msgs/session); against what Postfix delivered onwards \(x(.ratios.tlsgate_over_postfix_delivered_1)) / \(x(.ratios.tlsgate_over_postfix_delivered_10)). tlsgated CPU: \(.tlsgate_cpu.ms_per_gib_bulk // "-") ms per GiB (bulk), \(f3(.tlsgate_cpu.ms_per_msg_1)) / \(f3(.tlsgate_cpu.ms_per_msg_10)) ms per message (1 / 10 per session). Every run: MB/s tlsgated \(.bulk.tlsgate.all | map(f(.)) | join(" ")), Postfix \(.bulk.postfix.all | map(f(.)) | join(" ")); msgs/s (1/session) tlsgated \($m1.tlsgate.all | map(f(.)) | join(" ")), Postfix \($m1.postfix.all | map(f(.)) | join(" ")); (10/session) tlsgated \($m10.tlsgate.all | map(f(.)) | join(" ")), Postfix \($m10.postfix.all | map(f(.)) | join(" ")).",
"",
"How to read this: tlsgated is cut-through (the sender gets 250 only after the inside MTA said so), Postfix is store and forward (the sender waits for the queue file; its delivered row is what reached the inside). On this host tlsgated decrypts in OpenSSL; the VM section below is the kernel RX path.",
"",
"Sink check (the plain sink at least as fast as every relay): \(if .sink_not_bottleneck then "yes" else "**no: read the relay cells as a floor**" end).",
"",
"Profile during one \(.params.big_mib) MiB message (perf, share of tlsgated'"'"'s samples): \(if (.profile_bulk.dso | length) == 0 then "not profiled (no perf)" else (.profile_bulk.dso | map("\(.where) \(.pct)%") | join(", ")) + "; top symbols: " + (.profile_bulk.sym | map("\(.where) \(.pct)%") | join(", ")) end).",
"",
"## VM: kernel kTLS RX vs userspace (Debian 6.1 under TCG: ratios only)",
"",
(if .vm == null then "Not run (TLSGATE_BENCH_VM=0, no VM kernel, or the VM part failed)." else
 (.vm | "Scaled down for the emulator: one \(.mib) MiB message (best of 3) and \(.messages) messages of 10 KiB (10 per session, 2 senders; best of 2) through each backend, same VM boot, the backends alternating run by run. Every run, MB/s: ktls=yes \(.kernel.bulk.all | map(f(.)) | join(" ")), ktls=no \(.user.bulk.all | map(f(.)) | join(" ")); CPU ms per GiB: ktls=yes \(.kernel.bulk.cpu_ms_per_gib_all | join(" ")), ktls=no \(.user.bulk.cpu_ms_per_gib_all | join(" ")).",
  "",
  "| tlsgated | sessions tx+rx in the kernel | bodies spliced | MB/s | CPU ms per GiB | msgs/s | CPU ms per message | tls_stat delta (RxSw / TxSw / DecryptError) |",
  "|---|---:|---:|---:|---:|---:|---:|---|",
  (.kernel, .user | "| ktls=\(.ktls) | \(.tls_sessions_tx_rx_kernel) of \(.tls_sessions) | \(.bodies_spliced) of \(.messages_logged) | \(f(.bulk.mb_per_s)) | \(.bulk.cpu_ms_per_gib // "-") | \(f(.msgs.msgs_per_s)) | \(f3(.msgs.cpu_ms_per_msg)) | \(.tls_stat_delta.TlsRxSw) / \(.tls_stat_delta.TlsTxSw) / \(.tls_stat_delta.TlsDecryptError) |"),
  "",
  "Kernel over userspace: MB/s \(x(.mb_per_s_kernel_over_user)), CPU per GiB \(x(.cpu_per_gib_kernel_over_user)); msgs/s \(x(.msgs_per_s_kernel_over_user)), CPU per message \(x(.cpu_per_msg_kernel_over_user)).",
  "",
  "Where tlsgated'"'"'s CPU goes in the VM (perf, \(.mib / 2) MiB): ktls=yes: \(vprof(.kernel.profile_bulk)). ktls=no: \(vprof(.user.profile_bulk)). The AES-GCM code differs (the kernel'"'"'s aesni_intel routines against OpenSSL'"'"'s own assembly) and TCG emulates each at its own cost, so the crypto share of this ratio does not carry over to hardware; what does is that with ktls=yes the body is spliced (no payload byte in tlsgated'"'"'s memory) and the session state is in the kernel.") end),
(if (.crashes | length) > 0 then "", "**tlsgated crashed \(.crashes | length) time(s) during this run** (it was restarted; the runs it broke are excluded):", "", (.crashes[] | "```", ., "```") else empty end)
' "$res/inbound.json" > "$res/inbound.md" || bail "cannot write $res/inbound.md"
cat "$res/inbound.md"
# The issue sets no numeric target for inbound; a crash or a run without numbers is a failure.
jq -e '(.crashes | length) == 0 and .bulk.tlsgate.mb_per_s != null and
	.msgs_per_s.per_session_10.tlsgate.msgs_per_s != null' "$res/inbound.json" >/dev/null
