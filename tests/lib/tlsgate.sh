# shellcheck shell=bash
# Running tlsgated (and its test peers) in the e2e topology.  Source after tap.sh, netns.sh,
# pki.sh and postfix.sh.
#
#   tg_pki                      a CA and certificates for mx1.example.net, wrong.example.com and
#                               gw.example.net under $TG_PKI (EC; with TG_PKI_RSA=1 gw also gets
#                               an RSA pair)
#   tg_mx_addrs                 more outside addresses: 203.0.113.26 ... .35 on $NS_OUT eth0
#   tg_gw NAME PORT [-o k=v]... tlsgated in $NS_GW listening on 192.0.2.1:PORT; its log is
#                               $TG_WORK/NAME.log; waits until it listens ($TG_GW_WRAP, e.g.
#                               "prlimit --nofile=200:200", is put before it)
#   tg_gw_inbound NAME PORT NEXT_HOP [-o k=v]...   tlsgated for inbound mail on
#                               203.0.113.1:PORT with the gw.example.net certificates
#   tg_gw_log NAME
#   tg_fake_mx NAME ADDR MODE [args]   helper_fake_mx in $NS_OUT (or $TG_FAKE_NS) on ADDR:25,
#                               store in $TG_WORK/NAME/
#   tg_smtp PORT [--timeout S] < script     helper_smtp_client from $NS_IN to 192.0.2.1:PORT
#   tg_msg FILE SIZE_KB [HEADERS...]        write a CRLF message of about SIZE_KB to FILE (and
#                               FILE.swaks: the same with the end mark, for swaks --data)
#   tg_same_message SENT STORED     the stored message (MX headers stripped, LF line ends as
#                               Postfix stores them) equals what was sent

TG_WORK=$(mktemp -d /tmp/tg-e2e.XXXXXX)
chmod 755 "$TG_WORK"
tg_on_exit "rm -rf '$TG_WORK'"
TG_PKI=$TG_WORK/pki
TG_BIN=$TG_BUILD
TG_HOSTNAME=gw.example.net
# The binaries under test; the e2e-san tier points these at build/san/ (ASan+UBSan) while the
# test peers stay the normal build.
TG_DAEMON=${TLSGATE_DAEMON_BIN:-$TG_BIN/tlsgated}
TG_CTL=${TLSGATE_CTL_BIN:-$TG_BIN/tlsgatectl}
# The test peers may be a SANITIZE=1 build too: their leaks at exit are not what is tested.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# tlsgated's own sanitizer reports go to files of their own ($TG_SAN/NAME.PID), which the test
# reads when the daemon stops (tg_report_daemon) and once more at exit (tg_report_san): a
# report anywhere fails the test, also one from a daemon that died or was never stopped.
TG_SAN=$TG_WORK/san
mkdir -p "$TG_SAN"
tg_on_exit "tg_report_san"

tg_pki() {
	pki_init "$TG_PKI" || bail "pki: CA"
	pki_leaf "$TG_PKI" mx1.example.net || bail "pki: mx1"
	pki_leaf "$TG_PKI" wrong.example.com || bail "pki: wrong"
	pki_leaf "$TG_PKI" gw.example.net || bail "pki: gw"
	# RSA key generation takes minutes under TCG: only for tests that need the RSA pair
	if [ "${TG_PKI_RSA:-0}" = 1 ]; then
		PKI_KEY=rsa pki_leaf "$TG_PKI" gw-rsa gw.example.net || bail "pki: gw rsa"
	fi
}

tg_mx_addrs() {
	local i
	for i in $(seq 26 35); do
		ip -n "$NS_OUT" addr add "203.0.113.$i/24" dev eth0
	done
}

# The environment tlsgated NAME runs with: leak detection at exit, the first error ends the
# process (UBSan too), reports into $TG_SAN/NAME.PID.  Harmless for a build without sanitizers.
tg_daemon_env() { # NAME -> TG_DAEMON_ENV (an array for env)
	TG_DAEMON_ENV=(
		"ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:log_path=$TG_SAN/$1"
		"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$TG_SAN/$1"
		"LSAN_OPTIONS=log_path=$TG_SAN/$1"
	)
}

# Print the sanitizer reports among FILES as a failed TAP line each and mark them read.
_tg_san_fail() { # WHO FILE...
	local who=$1 f
	shift
	for f in "$@"; do
		case $f in *.read) continue ;; esac
		[ -s "$f" ] || continue
		echo "not ok - $who: sanitizer report ($(basename "$f"))"
		head -n 40 "$f" | sed 's/^/# /'
		mv "$f" "$f.read"
	done
}

# At exit: stop a tlsgated and fail the test if it crashed doing so, or if it left a sanitizer
# report (in its log or in $TG_SAN).
tg_report_daemon() { # NAME PID
	local st
	kill -TERM "$2" 2>/dev/null
	wait "$2" 2>/dev/null
	st=$?
	if [ "$st" -gt 128 ] && [ "$st" != 143 ]; then
		echo "not ok - tlsgated $1 died with signal $((st - 128)) when stopped"
		tail -n 20 "$TG_WORK/$1.log" | sed 's/^/# /'
	fi
	if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$TG_WORK/$1.log"; then
		echo "not ok - tlsgated $1: sanitizer report"
		grep -A 30 -E "ERROR: AddressSanitizer|runtime error:" "$TG_WORK/$1.log" | sed 's/^/# /'
	fi
	_tg_san_fail "tlsgated $1" "$TG_SAN/$1".[0-9]*
}

# Last at exit, after every background process was stopped: reports nobody read yet.
tg_report_san() {
	_tg_san_fail "tlsgated" "$TG_SAN"/*.[0-9]*
}

# The test namespaces have no DNS: the destinations' own policies (DANE, MTA-STS; on by default)
# would defer every recipient as a lookup failure.  Tests of them turn them on with a test zone
# (test_dest_policy.sh); later -o options win.
TG_NO_DEST_POLICY=(-o outbound_dane=no -o outbound_mta_sts=no)
# Outbound connection reuse: the tier runs the daemon's own default (outbound_connection_reuse =
# yes: a client's QUIT after a delivered message keeps the MX connection idle for the next session
# to the same destination), so no option is passed unless TG_OUTBOUND_REUSE (yes or no, set by a
# test before it starts a daemon, or in the environment) asks.  With reuse the MX sees a session's
# QUIT only when the idle connection ends, and the next session's transaction on the same
# connection after a RSET; tests whose expectations need a connection per session (a resumed
# handshake, the MX's own 221, the MX's log of one session's connection) set TG_OUTBOUND_REUSE=no.
tg_reuse_opt() { # sets TG_REUSE_OPT: the -o for TG_OUTBOUND_REUSE, none when it is unset
	TG_REUSE_OPT=()
	[ -n "${TG_OUTBOUND_REUSE:-}" ] && TG_REUSE_OPT=(-o "outbound_connection_reuse=$TG_OUTBOUND_REUSE")
	return 0
}

tg_gw() {
	local name=$1 port=$2 log
	shift 2
	log="$TG_WORK/$name.log"
	mkdir -p "$TG_WORK/$name"
	tg_daemon_env "$name"
	tg_reuse_opt
	# shellcheck disable=SC2086 # TG_GW_WRAP is words (e.g. prlimit --nofile=...)
	tg_bg env "${TG_DAEMON_ENV[@]}" ${TG_GW_WRAP:-} ip netns exec "$NS_GW" "$TG_DAEMON" -f \
		-o hostname=$TG_HOSTNAME -o workers=1 -o "outbound_listen=192.0.2.1:$port" \
		-o outbound_transparent=no -o "tls_ca_file=$TG_PKI/ca.crt" \
		-o "run_dir=$TG_WORK/$name" -o "state_dir=$TG_WORK/$name" "${TG_NO_DEST_POLICY[@]}" \
		"${TG_REUSE_OPT[@]}" "${TG_INBOUND_DEFAULTS[@]}" "$@" \
		> "$log" 2>&1
	eval "TG_GW_PID_$name=$TG_BG_PID"
	tg_on_exit "tg_report_daemon $name $TG_BG_PID"
	if ! tg_wait_listen "$NS_GW" "$port" 20; then
		cat "$log"
		bail "tlsgated $name did not start"
	fi
}

# tlsgated with its BPF half (steering, enforcement; bpf_pin_dir etc. in the options), started
# with nsenter --net rather than `ip netns exec`, which would give it a private /sys without the
# machine's bpffs (where the pins that must outlive the daemon live).  The log is appended to
# (restarts keep the history); ready once PORT listens and this start's line (BPF attached,
# listeners registered) is logged.  Sets TG_BG_PID; stopping and reporting are the caller's
# (fail-closed tests kill it on purpose).
tg_gw_bpf() { # NAME PORT [-o k=v]...
	local name=$1 port=$2 log="$TG_WORK/$1.log" starts i
	shift 2
	mkdir -p "$TG_WORK/$name"
	starts=$(grep -c "tlsgated .* started" "$log" 2>/dev/null)
	tg_daemon_env "$name"
	tg_reuse_opt
	tg_bg env "${TG_DAEMON_ENV[@]}" nsenter --net="/run/netns/$NS_GW" "$TG_DAEMON" -f \
		-o hostname=$TG_HOSTNAME \
		-o workers=1 -o "run_dir=$TG_WORK/$name" -o "state_dir=$TG_WORK/$name" \
		"${TG_NO_DEST_POLICY[@]}" "${TG_REUSE_OPT[@]}" \
		"${TG_INBOUND_DEFAULTS[@]}" "$@" >> "$log" 2>&1
	if ! tg_wait_listen "$NS_GW" "$port" 20; then
		cat "$log"
		bail "tlsgated $name did not start"
	fi
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "tlsgated .* started" "$log")" -gt "${starts:-0}" ] && return 0
		sleep 0.1 # this start's line is the readiness signal: nothing else to wait on
	done
	bail "tlsgated $name did not finish starting"
}

# tlsgated for inbound mail: listening on the gateway's outside address 203.0.113.1:PORT with
# the gw.example.net certificates (ECDSA and RSA), relaying to NEXT_HOP (inside).
# The verdict header (inbound_security_header, on by default) adds a line to every message and
# turns CHUNKING off; tests about other things compare delivered bytes and use BDAT, so they
# start without it.  test_inbound_security_header.sh sets TG_INBOUND_DEFAULTS=() to run the
# shipped default.
if ! declare -p TG_INBOUND_DEFAULTS > /dev/null 2>&1; then
	TG_INBOUND_DEFAULTS=(-o inbound_security_header=no)
fi

tg_gw_inbound() { # NAME PORT NEXT_HOP [-o k=v]...
	local name=$1 port=$2 next=$3 log
	shift 3
	log="$TG_WORK/$name.log"
	mkdir -p "$TG_WORK/$name"
	local rsa=()
	[ -e "$TG_PKI/gw-rsa.crt" ] && rsa=(-o "inbound_cert=$TG_PKI/gw-rsa.crt:$TG_PKI/gw-rsa.key")
	tg_daemon_env "$name"
	tg_bg env "${TG_DAEMON_ENV[@]}" ip netns exec "$NS_GW" "$TG_DAEMON" -f \
		-o hostname=$TG_HOSTNAME -o workers=1 -o "inbound_listen=203.0.113.1:$port" \
		-o "inbound_next_hop=$next" \
		-o "inbound_cert=$TG_PKI/gw.example.net.crt:$TG_PKI/gw.example.net.key" "${rsa[@]}" \
		-o "run_dir=$TG_WORK/$name" -o "state_dir=$TG_WORK/$name" "${TG_NO_DEST_POLICY[@]}" \
		"${TG_INBOUND_DEFAULTS[@]}" "$@" > "$log" 2>&1
	tg_on_exit "tg_report_daemon $name $TG_BG_PID"
	if ! tg_wait_listen "$NS_GW" "$port" 20; then
		cat "$log"
		bail "tlsgated $name did not start"
	fi
}

tg_gw_log() {
	cat "$TG_WORK/$1.log"
}

tg_fake_mx() {
	local name=$1 addr=$2 mode=$3 ns=${TG_FAKE_NS:-$NS_OUT}
	shift 3
	mkdir -p "$TG_WORK/$name"
	tg_bg ip netns exec "$ns" "$TG_BIN/tests/e2e/helper_fake_mx" --listen "$addr:25" \
		--mode "$mode" --store "$TG_WORK/$name" --ready "$TG_WORK/$name/ready" "$@"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$TG_WORK/$name/ready" ] && return 0
		sleep 0.1
	done
	bail "fake MX $name not ready"
}

tg_smtp() {
	local port=$1
	shift
	ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 192.0.2.1 "$port" "$@"
}

# A message with CRLF line ends, unique Message-Id, about SIZE_KB of base64-looking lines.
tg_msg() {
	local file=$1 kb=$2
	shift 2
	{
		printf 'From: sender@example.org\r\nTo: alice@example.net\r\n'
		printf 'Subject: tlsgate e2e %s\r\n' "$RANDOM"
		printf 'Message-Id: <%s.%s@example.org>\r\nDate: %s\r\n' "$$" "$RANDOM" \
			"$(date -R)"
		for h in "$@"; do
			printf '%s\r\n' "$h"
		done
		printf '\r\n'
		head -c $((kb * 1024 * 3 / 4)) /dev/urandom | base64 -w 76 | sed 's/$/\r/'
		printf 'last line\r\n'
	} > "$file"
	# swaks sends a data file as is when it carries the end mark, else it adds a blank line
	{ cat "$file"; printf '.\r\n'; } > "$file.swaks"
}

tg_same_message() {
	local sent=$1 stored=$2
	cmp -s <(tr -d '\r' < "$sent") <(pf_strip_delivery "$stored")
}
