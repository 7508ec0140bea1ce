#!/bin/bash
# Benchmark of ktls/'s data path (make bench).  Not a test: numbers, written to
# bench/results/ktls.json and a short table in bench/results/ktls.md.
#
#   bench/bench_ktls.sh            BUILD=build (the build dir), TLSGATE_BENCH_MIB=256,
#                                  TLSGATE_BENCH_VM=0 skips the VM part
#
# 1. In one VM boot (Debian's 6.1 kernel, real kTLS; TCG, so only ratios mean anything):
#    TLSGATE_BENCH_MIB MiB through the relay's two pumps (plain -> TLS client, TLS server ->
#    plain; tests/e2e/helper_ktls_bench), TLS 1.3 AES-128-GCM, once with the session in the
#    kernel (kTLS + splice) and once in OpenSSL: throughput ratio, CPU of the pump threads per
#    GiB (getrusage user+sys), payload bytes through userspace buffers and through OpenSSL's
#    crypto (pump counters), and with strace -ff on a smaller run the pump threads' syscalls
#    per MiB.
# 2. On the host (no kTLS): the userspace backend against a raw `openssl s_client | s_server`
#    pipe of the same size and suite (target: within 10%).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${BUILD:-build}
helper=$B/tests/e2e/helper_ktls_bench
MIB=${TLSGATE_BENCH_MIB:-256}
SMIB=${TLSGATE_BENCH_STRACE_MIB:-32}
SUITE=tls1.3-aes-128-gcm
OSSL_SUITE=TLS_AES_128_GCM_SHA256
res=bench/results

# "field NAME FILE": a scalar from the helper's one-line JSON.
field() {
	sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2" | head -n 1 | tr -d '"'
}

# Inside the VM: both backends, then the strace runs; results into the shared directory $2.
if [ "${1:-}" = --in-vm ]; then
	w=$2
	"$helper" --backend kernel --suite "$SUITE" --mib "$MIB" > "$w/vm-kernel.json"
	"$helper" --backend user --suite "$SUITE" --mib "$MIB" > "$w/vm-user.json"
	for b in kernel user; do
		rm -f /tmp/st.*
		strace -qq -ff -o /tmp/st "$helper" --backend "$b" --suite "$SUITE" --mib "$SMIB" \
			> "$w/vm-strace-$b.json"
		tids=$(sed -n 's/.*"pump_tids":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/p' \
			"$w/vm-strace-$b.json")
		for t in $tids; do
			cat "/tmp/st.$t"
		done | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort | uniq -c | sort -rn \
			> "$w/vm-syscalls-$b.txt"
	done
	exit 0
fi

[ -x "$helper" ] || { echo "bench_ktls: $helper missing (run make)" >&2; exit 1; }
mkdir -p "$res"
work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

vm_ok=false
if [ "${TLSGATE_BENCH_VM:-1}" != 0 ]; then
	echo "bench_ktls: VM run (kernel vs userspace backend, $MIB MiB each; strace at $SMIB MiB)"
	tests/vm/run -w "$work" -- "$0" --in-vm "$work" && vm_ok=true
fi

echo "bench_ktls: host run (userspace backend vs raw openssl s_client | s_server, $MIB MiB)"
best_wall() { # prefix runs...: keep the run with the lowest wall time as PREFIX.json
	local p=$1 n=$2 best=
	for i in $(seq "$n"); do
		"$helper" --backend user --suite "$SUITE" --mib "$MIB" > "$p.$i.json"
		if [ -z "$best" ] || [ "$(field wall_ms "$p.$i.json")" -lt "$(field wall_ms "$best")" ]; then
			best=$p.$i.json
		fi
	done
	cp "$best" "$p.json"
}
best_wall "$work/host-user" 3

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=bench.example -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
raw_best_wall= raw_best_cpu=
# s_server ends the session when its stdin ends: give it one that never does
mkfifo "$work/stdin"
exec 3<>"$work/stdin"
for i in 1 2 3; do
	port=$((20000 + RANDOM % 30000))
	/usr/bin/time -f '%e %U %S' -o "$work/srv.time" openssl s_server -accept "127.0.0.1:$port" \
		-naccept 1 -quiet -cert "$work/cert.pem" -key "$work/key.pem" -tls1_3 \
		-ciphersuites "$OSSL_SUITE" <&3 2>/dev/null > "$work/srv.out" &
	spid=$!
	for _ in $(seq 100); do
		ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.05 # the server is starting: nothing to wait on but its socket
	done
	head -c "${MIB}M" /dev/zero | /usr/bin/time -f '%e %U %S' -o "$work/cli.time" \
		openssl s_client -connect "127.0.0.1:$port" -quiet -no_ign_eof -tls1_3 \
		-ciphersuites "$OSSL_SUITE" > /dev/null 2>&1 || true # exits 1: unverified cert
	wait "$spid" || true
	spid=
	got=$(stat -c %s "$work/srv.out")
	rm -f "$work/srv.out"
	if [ "$got" != $((MIB << 20)) ]; then
		echo "bench_ktls: raw openssl run moved $got bytes, not $((MIB << 20))" >&2
		continue
	fi
	read -r cw cu cs < "$work/cli.time"
	read -r _ su ss < "$work/srv.time"
	wall=$(awk -v w="$cw" 'BEGIN { printf "%d", w * 1000 }')
	cpu=$(awk -v a="$cu" -v b="$cs" -v c="$su" -v d="$ss" 'BEGIN { printf "%d", (a+b+c+d) * 1000 }')
	if [ -z "$raw_best_wall" ] || [ "$wall" -lt "$raw_best_wall" ]; then
		raw_best_wall=$wall raw_best_cpu=$cpu
	fi
done
exec 3>&-
[ -n "$raw_best_wall" ] || { echo "bench_ktls: no raw openssl run completed" >&2; exit 1; }

# ---- results ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "null"; else printf "%.2f", a / b }'; }
per_gib() { awk -v ms="$1" -v mib="$2" 'BEGIN { printf "%d", ms * 1024 / mib }'; }
calls_per_mib() { awk -v mib="$2" '{ n += $1 } END { printf "%.1f", n / mib }' "$1"; }
syscalls_json() { # top syscalls of the pump threads as {"name":count,...}
	awk 'BEGIN { printf "{" } NR <= 8 { printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $2, $1 }
		END { printf "}" }' "$1"
}

hu=$work/host-user.json
host_user_cpu=$(( $(field pump_cpu_user_ms "$hu") + $(field pump_cpu_sys_ms "$hu") ))
{
	echo "{"
	echo "  \"suite\": \"$SUITE\","
	echo "  \"mib\": $MIB,"
	if $vm_ok && [ -s "$work/vm-kernel.json" ] && [ -s "$work/vm-user.json" ]; then
		vk=$work/vm-kernel.json vu=$work/vm-user.json
		echo "  \"vm\": {"
		echo "    \"kernel\": $(cat "$vk"),"
		echo "    \"user\": $(cat "$vu"),"
		echo "    \"throughput_kernel_over_user\": $(ratio "$(field wall_ms "$vu")" "$(field wall_ms "$vk")"),"
		echo "    \"cpu_per_gib_kernel_over_user\": $(ratio "$(field pump_cpu_ms_per_gib "$vk")" "$(field pump_cpu_ms_per_gib "$vu")"),"
		echo "    \"strace_mib\": $SMIB,"
		echo "    \"pump_syscalls_per_mib\": {\"kernel\": $(calls_per_mib "$work/vm-syscalls-kernel.txt" "$SMIB"), \"user\": $(calls_per_mib "$work/vm-syscalls-user.txt" "$SMIB")},"
		echo "    \"pump_syscalls\": {\"kernel\": $(syscalls_json "$work/vm-syscalls-kernel.txt"), \"user\": $(syscalls_json "$work/vm-syscalls-user.txt")}"
		echo "  },"
	else
		echo "  \"vm\": null,"
	fi
	echo "  \"host\": {"
	echo "    \"user\": $(cat "$hu"),"
	echo "    \"raw_openssl\": {\"wall_ms\": $raw_best_wall, \"cpu_ms\": $raw_best_cpu, \"cpu_ms_per_gib\": $(per_gib "$raw_best_cpu" "$MIB")},"
	echo "    \"user_wall_over_raw\": $(ratio "$(field wall_ms "$hu")" "$raw_best_wall"),"
	echo "    \"user_cpu_over_raw\": $(ratio "$host_user_cpu" "$raw_best_cpu")"
	echo "  }"
	echo "}"
} > "$res/ktls.json"

{
	echo "# ktls benchmark ($SUITE, $MIB MiB, one direction through both pumps)"
	echo
	echo "Generated by bench/bench_ktls.sh; raw numbers in ktls.json."
	echo
	if $vm_ok && [ -s "$work/vm-kernel.json" ]; then
		echo "## VM (Debian 6.1 kernel under TCG: compare ratios only)"
		echo
		echo "| backend | state | MiB/s | pump CPU ms/GiB | payload bytes via userspace | bytes through OpenSSL crypto | pump syscalls/MiB |"
		echo "|---|---|---|---|---|---|---|"
		for b in kernel user; do
			f=$work/vm-$b.json
			echo "| $b | $(field client_state "$f") | $(field mib_per_s "$f") | $(field pump_cpu_ms_per_gib "$f") | $(field copy_bytes "$f") | $(field user_crypto_bytes "$f") | $(calls_per_mib "$work/vm-syscalls-$b.txt" "$SMIB") |"
		done
		echo
		echo "Kernel over userspace: throughput x$(ratio "$(field wall_ms "$work/vm-user.json")" "$(field wall_ms "$work/vm-kernel.json")"), CPU per GiB x$(ratio "$(field pump_cpu_ms_per_gib "$work/vm-kernel.json")" "$(field pump_cpu_ms_per_gib "$work/vm-user.json")")."
		echo "Under TCG every instruction is emulated, the kernel's AES-GCM (aesni_intel) and OpenSSL's own assembly each at its own cost, so this ratio says little about hardware. What carries over is in the table: with the kernel backend no payload byte passes through the pump's memory and OpenSSL does no record crypto, and it makes about half the syscalls per MiB (splice only)."
		for b in kernel user; do
			echo "Pump threads' top syscalls, $b backend, $SMIB MiB under strace:" \
				"$(awk 'NR <= 6 { printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }' \
					"$work/vm-syscalls-$b.txt")."
		done
		echo
	else
		echo "## VM: not run (tests/vm/run failed or no kernel; run tests/vm/fetch-kernel)"
		echo
	fi
	echo "## Host (no kTLS): userspace backend vs raw openssl s_client | s_server"
	echo
	echo "| | wall ms | MiB/s | CPU ms | CPU ms/GiB |"
	echo "|---|---|---|---|---|"
	echo "| tlsgate userspace backend (2 pumps) | $(field wall_ms "$hu") | $(field mib_per_s "$hu") | $host_user_cpu | $(field pump_cpu_ms_per_gib "$hu") |"
	echo "| openssl s_client \\| s_server | $raw_best_wall | $(awk -v m="$MIB" -v w="$raw_best_wall" 'BEGIN { printf "%d", m * 1000 / w }') | $raw_best_cpu | $(per_gib "$raw_best_cpu" "$MIB") |"
	echo
	echo "Userspace backend over raw OpenSSL: wall x$(ratio "$(field wall_ms "$hu")" "$raw_best_wall"), CPU x$(ratio "$host_user_cpu" "$raw_best_cpu") (best of 3 each)."
} > "$res/ktls.md"

cat "$res/ktls.md"
