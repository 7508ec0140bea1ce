# shellcheck shell=bash
# Shared by bench/bench_relay.sh (outbound, issue 4) and bench/bench_inbound.sh (inbound, issue 5):
# the e2e topology (tests/lib), the sink and load generator (tests/e2e/helper_sink.c,
# helper_loadgen.c), one measured run, Postfix as a relay, and the machine description.
# Source it from the bench script's top directory with B set to the build directory.
#
#   rb_setup NAME               root or exit 77; build what the benches need; source tests/lib;
#                               inside/gateway/outside namespaces with the test PKI
#                               (RB_NO_BUILD=1: no make; RB_PKI=DIR: copy the PKI from DIR)
#   rb_sink NS ADDR:PORT [helper_sink args]   start the sink (RB_SINK_PID), wait until ready
#   rb_sink_stat                its counters now (one JSON line)
#   rb_sink_wait FIELD N [S]    until the sink's FIELD reached N (S seconds at most)
#   rb_run OUT NS PID ADDR:PORT [helper_loadgen args]
#                               one load run from NS: OUT.json = the loadgen's JSON plus
#                               relay_cpu_ms (CPU of PID and its descendants over the run, from
#                               /proc/PID/stat; "" = none) and the sink's counter deltas (its
#                               CPU, TLS handshakes and resumed ones among them)
#   rb_run_ss OUT NS PID ADDR:PORT N PER SIZE
#                               the same with Postfix's smtp-source as the client (no
#                               pipelining, no TLS): N messages of SIZE bytes, PER per session,
#                               50 sessions at a time
#   rb_best FIELD FILES...      the error-free run with the highest FIELD, plus "all": every
#                               run's FIELD, and runs_with_errors
#   rb_measure OUT RELAY [loadgen args]   rb_run through RELAY as the bench's own function
#                               "rb_target RELAY" describes it: "NS ADDR:PORT PID|- [args]".
#                               RELAY postfix is store and forward: the run also waits until
#                               the sink has all it accepted (delivered_per_s).  Then the
#                               bench's "rb_after RELAY RUN" runs (crash checks)
#   rb_dead NAME PID LOG RUN    true when PID has exited; its status and last log lines go to
#                               $RB_RUNS/crash.N.txt (RB_CRASHES counts them)
#   rb_pf_alive NAME RUN        like rb_dead for the Postfix instance NAME, which is started
#                               again when it was down (its log is kept in $RB_RUNS)
#   rb_best_group FIELD PREFIX RELAYS...  {relay: rb_best of $RB_RUNS/PREFIX.RELAY.*.json}
#                               (a relay with no such run is left out)
#   rb_crashes                  the crash reports as a JSON array of strings
#   rb_pf_relay NAME NS ADDR NEXT_HOP LEVEL [CERT]   Postfix listening on ADDR:25 in NS that
#                               relays everything to NEXT_HOP with smtp_tls_security_level=LEVEL
#                               (store and forward); with CERT it offers STARTTLS (CERT.{crt,key})
#   rb_hold NAME PID PORT N     RSS of PID per idle established session: N sessions from the
#                               inside to 192.0.2.1:PORT held open (fewer when PID lacks the
#                               descriptors: 2 per session); one JSON line
#   rb_group_results RELAYS...  after the runs: RB_RUNS/g.{msgs1,msgs10,bulk,lat}, each relay's
#                               best run (TLSGATE_BENCH_KEEP=DIR copies every run there first);
#                               a relay not measured in one of them is left out of that one
#   rb_perf PID OUT CMD...      perf profile of PID while CMD runs: OUT.json = {dso: top 4,
#                               sym: top 6} shares of PID's samples ([] without perf);
#                               RB_PERF_HZ sets the sampling rate (1999)
#   rb_say TEXT                 a progress line with the seconds since the start
#   rb_cpu_ms PID, rb_tree_cpu_ms PID (with its descendants, the reaped ones included: Postfix's
#   master), rb_pf_master NAME, rb_rss_kib PID, rb_machine (JSON), rb_fd_room PID

rb_setup() {
	local name=$1
	RB_NAME=$name
	if [ "$(id -u)" != 0 ]; then
		echo "bench_$name: skipped: needs root (network namespaces)" >&2
		exit 77
	fi
	# Inside the VM the checkout is read-only and already built.
	[ -n "${RB_NO_BUILD:-}" ] || make --no-print-directory BUILD="$B" "$B/tlsgated" \
		"$B/tests/e2e/helper_sink" "$B/tests/e2e/helper_loadgen" >/dev/null || exit 1
	export BUILD=$B
	# The benches measure the shipped defaults, whatever TG_OUTBOUND_REUSE the environment has
	export TG_OUTBOUND_REUSE=yes
	# shellcheck source=/dev/null
	. tests/lib/tap.sh
	# shellcheck source=/dev/null
	. tests/lib/netns.sh
	# shellcheck source=/dev/null
	. tests/lib/pki.sh
	# shellcheck source=/dev/null
	. tests/lib/postfix.sh
	# shellcheck source=/dev/null
	. tests/lib/tlsgate.sh
	# A benchmark reports, it does not speak TAP.
	bail() {
		echo "bench_$RB_NAME: $*" >&2
		exit 1
	}
	RB_LG=$TG_BIN/tests/e2e/helper_loadgen
	RB_SINK=$TG_BIN/tests/e2e/helper_sink
	# As many descriptors as this shell may have: the idle-session runs hold thousands.
	ulimit -Sn "$(ulimit -Hn)"
	RB_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	RB_RUNS=$TG_WORK/runs
	RB_CRASHES=0
	mkdir -p "$RB_RUNS"
	tg_topology
	for ns in "$NS_IN" "$NS_GW" "$NS_OUT"; do
		# Thousands of short sessions per second between the same two addresses: let
		# connect() reuse TIME_WAIT ports, and use the whole port range.
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
			"net.ipv4.ip_local_port_range=1024 65535" net.core.somaxconn=4096
	done
	if [ -n "${RB_PKI:-}" ]; then
		# made on the host: key generation costs a minute under TCG
		mkdir -p "$TG_PKI"
		cp "$RB_PKI"/* "$TG_PKI/" || bail "cannot copy $RB_PKI"
	else
		tg_pki
	fi
}

rb_say() {
	echo "bench_$RB_NAME: [${SECONDS}s] $*"
}

rb_cpu_ms() { # PID -> utime+stime in ms (empty PID -> empty)
	[ -n "$1" ] || return 0
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' \
		"/proc/$1/stat"
}

# utime+stime+cutime+cstime of PID and every live descendant, in ms: a child that exits between
# two readings moves from its own line into its reaped parent's cutime, so deltas stay whole.
rb_tree_cpu_ms() { # PID -> ms (empty PID -> empty)
	[ -n "$1" ] || return 0
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v hz="$(getconf CLK_TCK)" '
		{ pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
		  ppid[pid] = f[2]; t[pid] = f[12] + f[13] + f[14] + f[15] }
		END { for (p in t) { q = p; n = 0
			while (q != root && q in ppid && n++ < 64) q = ppid[q]
			if (q == root) sum += t[p] }
		      print int(sum * 1000 / hz) }'
}

rb_pf_master() { # NAME -> the master process of that Postfix instance
	tr -d ' ' < "$(pf_dir "$1")/queue/pid/master.pid"
}

rb_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Descriptors PID may still open: its soft RLIMIT_NOFILE minus what it has open.
rb_fd_room() {
	local lim
	lim=$(awk '/^Max open files/ { print $4 }' "/proc/$1/limits")
	echo $((lim - $(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l)))
}

rb_sink() { # NS ADDR:PORT [args]
	local ns=$1 addr=$2
	shift 2
	RB_SINK_OUT=$TG_WORK/sink.out
	rm -f "$TG_WORK/sink.ready"
	tg_bg ip netns exec "$ns" "$RB_SINK" --listen "$addr" --threads "$(nproc)" \
		--ready "$TG_WORK/sink.ready" "$@" > "$RB_SINK_OUT"
	RB_SINK_PID=$TG_BG_PID
	local i
	for ((i = 0; i < 200; i++)); do
		[ -e "$TG_WORK/sink.ready" ] && return 0
		sleep 0.05 # the sink's readiness file: nothing else to wait on
	done
	bail "helper_sink did not start"
}

rb_sink_stat() {
	local n i
	n=$(wc -l < "$RB_SINK_OUT")
	kill -USR1 "$RB_SINK_PID"
	for ((i = 0; i < 500; i++)); do
		[ "$(wc -l < "$RB_SINK_OUT")" -gt "$n" ] && break
		sleep 0.01 # the sink answers SIGUSR1 with a line: poll for it
	done
	tail -n 1 "$RB_SINK_OUT"
}

rb_sink_wait() { # FIELD N [TIMEOUT_S]
	local end=$((SECONDS + ${3:-120}))
	while [ "$(rb_sink_stat | jq ".$1")" -lt "$2" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

rb_run() { # OUT NS PID ADDR:PORT [loadgen args]
	local out=$1 ns=$2 pid=$3 target=$4 c0 c1 s0 s1
	shift 4
	s0=$(rb_sink_stat)
	c0=$(rb_tree_cpu_ms "$pid")
	ip netns exec "$ns" "$RB_LG" --connect "$target" "$@" > "$out.lg" 2> "$out.err"
	c1=$(rb_tree_cpu_ms "$pid")
	s1=$(rb_sink_stat)
	jq -e . "$out.lg" >/dev/null 2>&1 ||
		echo '{"messages":0,"errors":-1,"failed":true}' > "$out.lg"
	rb_run_json "$out" "$s0" "$s1" "$c0" "$c1"
}

# OUT.json from OUT.lg (the client's JSON) and the readings before and after the run.
rb_run_json() { # OUT SINK0 SINK1 CPU0 CPU1
	local out=$1
	jq -c --argjson s0 "$2" --argjson s1 "$3" --arg c0 "$4" --arg c1 "$5" '. + {
		relay_cpu_ms: (if $c0 == "" then null else ($c1 | tonumber) - ($c0 | tonumber) end),
		relay_cpu_start_ms: (if $c0 == "" then null else ($c0 | tonumber) end),
		sink_start: $s0,
		sink: {messages: ($s1.messages - $s0.messages),
		       body_bytes: ($s1.body_bytes - $s0.body_bytes),
		       tls_sessions: ($s1.tls_sessions - $s0.tls_sessions),
		       tls_resumed: ($s1.tls_resumed - $s0.tls_resumed),
		       cpu_ms: ($s1.cpu_ms - $s0.cpu_ms)}}' "$out.lg" > "$out.json"
	if [ "$(jq .errors "$out.json")" != 0 ]; then
		echo "bench_$RB_NAME: $(basename "$out"): $(jq -c '{messages, errors}' "$out.json")" \
			"$(head -c 300 "$out.err")" >&2
	fi
}

# Postfix's smtp-source: one process with -s 50 for one message per session; for PER > 1, 50 at
# a time of `smtp-source -d -m PER` (one session each: -d keeps the connection for the next
# message).  It has no pipelining and no TLS.  A run's JSON has the loadgen's main fields.
rb_run_ss() { # OUT NS PID ADDR:PORT N PER SIZE
	local out=$1 ns=$2 pid=$3 target=$4 n=$5 per=$6 size=$7 c0 c1 s0 s1 t0 t1 rc
	local ss=(smtp-source -l "$size" -f sender@example.org -t sink@example.net -M client.example.org)
	s0=$(rb_sink_stat)
	c0=$(rb_tree_cpu_ms "$pid")
	t0=$(date +%s%N)
	if [ "$per" = 1 ]; then
		ip netns exec "$ns" "${ss[@]}" -s 50 -m "$n" "$target" > "$out.err" 2>&1
	else
		seq $((n / per)) | ip netns exec "$ns" xargs -P 50 -I{} "${ss[@]}" -d -m "$per" \
			"$target" > "$out.err" 2>&1
	fi
	rc=$?
	t1=$(date +%s%N)
	c1=$(rb_tree_cpu_ms "$pid")
	s1=$(rb_sink_stat)
	jq -n -c --argjson n "$n" --argjson per "$per" --argjson rc "$rc" --argjson size "$size" \
		--argjson ns $((t1 - t0)) '{client: "smtp-source", messages: (if $rc == 0 then $n
		else 0 end), errors: (if $rc == 0 then 0 else 1 end), sessions: ($n / $per),
		size: $size, seconds: ($ns / 1e9), msgs_per_s: (if $rc == 0 then $n * 1e9 / $ns
		else 0 end)}' > "$out.lg"
	rb_run_json "$out" "$s0" "$s1" "$c0" "$c1"
}

rb_best() { # FIELD FILES... -> the best clean run, with every run's FIELD under "all"
	local f=$1
	shift
	# A run with errors measured a failure, not the relay: it never counts as the best.
	jq -s -c --arg f "$f" 'map(select(.errors == 0)) as $ok |
		(if ($ok | length) == 0 then {failed: true}
		 else ($ok | max_by(.[$f])) end) +
		{all: map(.[$f]), runs_with_errors: (map(select(.errors != 0)) | length)}' "$@"
}

# Until nothing is established on PORT in NS: the relay has let go of the last sessions.
rb_wait_idle() { # NS PORT
	local i
	for ((i = 0; i < 300; i++)); do
		ip netns exec "$1" ss -Htn state established "sport = :$2" | grep -q . || return 0
		sleep 0.1
	done
	return 1
}

rb_hold() { # NAME PID PORT N
	local name=$1 pid=$2 port=$3 want=$4 n=$4 room cap="" r0 r1 held lp t0 t1 i k phase
	local out=$TG_WORK/hold.out
	room=$(rb_fd_room "$pid")
	if [ $((2 * n + 64)) -gt "$room" ]; then
		n=$(((room - 64) / 2))
		cap="RLIMIT_NOFILE $(awk '/^Max open files/ { print $5 }' "/proc/$pid/limits") (hard)"
	fi
	# Warm up first: what the process creates once (thread arenas, OpenSSL's per-thread
	# state) is not per session.
	for phase in warm measure; do
		k=$n
		[ $phase = warm ] && k=${RB_WARM:-20}
		: > "$out"
		t0=$(date +%s%N)
		ip netns exec "$NS_IN" "$RB_LG" --connect "192.0.2.1:$port" --hold "$k" \
			--concurrency 50 --timeout 600 > "$out" 2> "$out.err" &
		lp=$!
		for ((i = 0; i < 12000; i++)); do
			grep -q '^held' "$out" && break
			kill -0 "$lp" 2>/dev/null || break
			sleep 0.05 # the load generator prints "held N" when all are open
		done
		t1=$(date +%s%N)
		held=$(awk '/^held/ { print $2 }' "$out")
		[ $phase = measure ] && r1=$(rb_rss_kib "$pid")
		kill "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
		if [ $phase = warm ]; then
			rb_wait_idle "$NS_GW" "$port" || bail "$name kept the warm-up sessions"
			r0=$(rb_rss_kib "$pid")
		fi
	done
	jq -n -c --arg name "$name" --argjson want "$want" --arg cap "$cap" \
		--argjson held "${held:-0}" --argjson r0 "$r0" --argjson r1 "$r1" \
		--argjson ms $(((t1 - t0) / 1000000)) \
		'{relay_name: $name, sessions_requested: $want, sessions: $held,
		  capped_by: (if $cap == "" then null else $cap end), rss_before_kib: $r0,
		  rss_after_kib: $r1, open_seconds: ($ms / 1000),
		  bytes_per_session: (if $held > 0 then (($r1 - $r0) * 1024 / $held | round)
				      else null end)}'
	rb_wait_idle "$NS_GW" "$port" || true
}

rb_perf() { # PID OUT CMD...
	local pid=$1 out=$2 pp i
	shift 2
	if ! command -v perf >/dev/null; then
		"$@"
		echo '{"dso":[],"sym":[]}' > "$out.json"
		return
	fi
	rm -f "$out.data"
	perf record -q -F "${RB_PERF_HZ:-1999}" -p "$pid" -o "$out.data" >/dev/null 2>&1 &
	pp=$!
	# perf writes its file's header once it is attached (slow to start under TCG)
	for ((i = 0; i < 600; i++)); do
		[ -s "$out.data" ] && break
		kill -0 "$pp" 2>/dev/null || break
		sleep 0.1
	done
	"$@"
	kill -INT "$pp"
	wait "$pp"
	rb_perf_top() { # SORT N
		perf report -i "$out.data" --no-children --sort "$1" --stdio -g none 2>/dev/null |
			awk -v max="$2" '/^ *[0-9.]+%/ && n < max { p = $1; $1 = "";
				sub(/^ +/, ""); gsub(/"/, ""); gsub(/\[[.k]\] /, "");
				printf "%s{\"pct\":%s,\"where\":\"%s\"}", (n++ ? "," : "["), p + 0, $0 }
				END { print (n ? "]" : "[]") }'
	}
	jq -n -c --argjson d "$(rb_perf_top dso 4)" --argjson s "$(rb_perf_top sym 6)" '{dso: $d, sym: $s}' \
		> "$out.json"
}

rb_measure() { # OUT RELAY [loadgen args]  (RB_CLIENT=smtp-source: rb_run_ss with RB_SS="N PER SIZE")
	local out=$1 relay=$2 ns addr pid extra s0 t0 n c2 s2
	shift 2
	read -r ns addr pid extra <<< "$(rb_target "$relay")"
	[ "$pid" = - ] && pid=
	if [ "$relay" = postfix ]; then
		s0=$(rb_sink_stat | jq .messages)
		t0=$(date +%s%N)
	fi
	if [ "${RB_CLIENT:-}" = smtp-source ]; then
		# shellcheck disable=SC2086 # N PER SIZE
		rb_run_ss "$out" "$ns" "$pid" "$addr" $RB_SS
	else
		# shellcheck disable=SC2086
		rb_run "$out" "$ns" "$pid" "$addr" "$@" $extra
	fi
	if [ "$relay" = postfix ]; then
		n=$(jq .messages "$out.json")
		if rb_sink_wait messages $((s0 + n)) 300; then
			# Postfix's CPU and the sink's until the queue reached the sink
			c2=$(rb_tree_cpu_ms "$pid")
			s2=$(rb_sink_stat)
			jq -c --argjson ms $((($(date +%s%N) - t0) / 1000000)) --arg c2 "$c2" \
				--argjson s2 "$s2" '. + {delivered_seconds: ($ms / 1000),
				      delivered_per_s: (.messages * 1000 / $ms),
				      relay_cpu_ms: (if $c2 == "" or .relay_cpu_start_ms == null then null
						     else ($c2 | tonumber) - .relay_cpu_start_ms end),
				      sink: {messages: ($s2.messages - .sink_start.messages),
					     body_bytes: ($s2.body_bytes - .sink_start.body_bytes),
					     tls_sessions: ($s2.tls_sessions - .sink_start.tls_sessions),
					     tls_resumed: ($s2.tls_resumed - .sink_start.tls_resumed),
					     cpu_ms: ($s2.cpu_ms - .sink_start.cpu_ms)}}' \
				"$out.json" > "$out.tmp"
			mv "$out.tmp" "$out.json"
		else
			echo "bench_$RB_NAME: Postfix did not deliver its queue within 300 s" >&2
		fi
	fi
	if declare -F rb_after >/dev/null; then
		rb_after "$relay" "$(basename "$out")"
	fi
}

rb_dead() { # NAME PID LOG RUN
	local rc
	kill -0 "$2" 2>/dev/null && return 1
	wait "$2" 2>/dev/null
	rc=$?
	RB_CRASHES=$((RB_CRASHES + 1))
	{
		echo "$1 (pid $2) exited with status $rc during $4; its last log lines:"
		tail -n 4 "$3" | cut -c 1-200
	} > "$RB_RUNS/crash.$RB_CRASHES.txt"
	echo "bench_$RB_NAME: $1 died during $4 (status $rc); starting it again" >&2
	return 0
}

rb_pf_alive() { # NAME RUN
	local d ns
	d=$(pf_dir "$1")
	ns=$(cat "$d/netns")
	cp "$d/maillog" "$RB_RUNS/$1.maillog" 2>/dev/null
	ip netns exec "$ns" postfix -c "$d/etc" status >/dev/null 2>&1 && return 0
	RB_CRASHES=$((RB_CRASHES + 1))
	{
		echo "Postfix $1 was not running after $2; its last log lines:"
		tail -n 4 "$d/maillog" | cut -c 1-200
	} > "$RB_RUNS/crash.$RB_CRASHES.txt"
	echo "bench_$RB_NAME: Postfix $1 was down after $2; starting it again" >&2
	ip netns exec "$ns" postfix -c "$d/etc" start >/dev/null 2>&1
	tg_wait_listen "$ns" 25 60 || bail "Postfix $1 does not start again"
}

rb_best_group() { # FIELD PREFIX RELAYS...
	local f=$1 p=$2 relay
	shift 2
	for relay in "$@"; do
		# a contestant measured only in some groups (bench_relay: resumption, not in bulk)
		compgen -G "$RB_RUNS/$p.$relay.*json" >/dev/null || continue
		# shellcheck disable=SC2086
		rb_best "$f" $RB_RUNS/$p.$relay.*json | jq -c --arg r "$relay" '{($r): .}'
	done | jq -s -c 'add // {}'
}

# After the runs: keep them if asked (TLSGATE_BENCH_KEEP=DIR), then each relay's best msgs/s
# (msgs1, msgs10) and MB/s (bulk) run and its latency run, as RB_RUNS/g.{msgs1,msgs10,bulk,lat}.
rb_group_results() { # RELAYS...
	local relay
	[ -n "${TLSGATE_BENCH_KEEP:-}" ] && cp -r "$RB_RUNS" "$TLSGATE_BENCH_KEEP"
	rb_best_group msgs_per_s msgs1 "$@" > "$RB_RUNS/g.msgs1"
	rb_best_group msgs_per_s msgs10 "$@" > "$RB_RUNS/g.msgs10"
	rb_best_group mb_per_s bulk "$@" > "$RB_RUNS/g.bulk"
	for relay in "$@"; do
		[ -e "$RB_RUNS/lat.$relay.json" ] || continue
		jq -c --arg r "$relay" '{($r): .}' "$RB_RUNS/lat.$relay.json"
	done | jq -s -c 'add // {}' > "$RB_RUNS/g.lat"
}

rb_crashes() {
	local f
	for f in "$RB_RUNS"/crash.*.txt; do
		[ -e "$f" ] && jq -R -s . "$f"
	done | jq -s -c .
}

rb_pf_relay() { # NAME NS ADDR NEXT_HOP LEVEL [CERT]
	local name=$1 ns=$2 addr=$3 next=$4 level=$5 cert=${6:-} d
	d=$(pf_dir "$name")
	mkdir -p "$d/etc"
	_pf_common_main "$d" "$name" "$ns" "$addr"
	_pf_master "$d"
	postconf -c "$d/etc" -e "relayhost = [${next%:*}]:${next##*:}" \
		"smtp_tls_security_level = $level" "message_size_limit = 0"
	if [ -n "$cert" ]; then
		postconf -c "$d/etc" -e "smtpd_tls_security_level = may" \
			"smtpd_tls_cert_file = $cert.crt" "smtpd_tls_key_file = $cert.key" \
			"smtpd_tls_received_header = yes"
	fi
	_pf_start "$name" "$ns" "$d" "$addr"
}

rb_machine() {
	jq -n -c --arg k "$(uname -r)" --arg n "$(nproc)" --arg load "$RB_LOAD_START" \
		--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		--arg ossl "$(openssl version)" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--arg pf "$(dpkg-query -W -f '${Version}' postfix 2>/dev/null)" \
		--arg st "$(dpkg-query -W -f '${Version}' stunnel4 2>/dev/null)" \
		--arg thp "$(sed 's/.*\[\(.*\)\].*/\1/' \
			/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)" \
		'{date: $date, kernel: $k, nproc: ($n | tonumber), cpu: $cpu, openssl: $ossl,
		  postfix: $pf, stunnel: $st,
		  loadavg_at_start: $load, transparent_hugepage: $thp}'
}
