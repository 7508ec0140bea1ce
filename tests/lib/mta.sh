# shellcheck shell=bash
# What the Exim and OpenSMTPD helpers (exim.sh, opensmtpd.sh) share.  Source after tap.sh and
# netns.sh, before them (mta_halfclose: after tlsgate.sh).
#
#   mta_root_or_skip          $TG_MTA_ROOT: the unpacked Exim and OpenSMTPD packages
#                             (tests/lib/fetch-mta); when they cannot be had the test exits 77
#                             (run-cases: a skip) with the reason.  Call before any TAP line.
#   mta_system_user NAME      a system user and group NAME, created once (the packages' maintainer
#                             scripts would; the binaries look their users up by name at start)
#   mta_wait_listen NS ADDR PORT [TIMEOUT_S]   until something listens on exactly ADDR:PORT
#   mta_strip FILE [HOPS]     the message as the first MTA got it: without the headers the
#                             storing MTA prepended (Return-Path, Exim's Return-path,
#                             X-Original-To, Delivered-To) and its first HOPS (default 1)
#                             Received headers
#   mta_same_message SENT STORED [HOPS]   mta_strip of STORED equals SENT (CRs dropped)
#   mta_halfclose ...         a client that half-closes after a pipelined QUIT (below)

mta_root_or_skip() {
	local err
	err=$(mktemp)
	# shellcheck disable=SC2034 # used by exim.sh and opensmtpd.sh
	if ! TG_MTA_ROOT=$("$TG_TOP/tests/lib/fetch-mta" 2>"$err"); then
		echo "Exim/OpenSMTPD not available: $(cat "$err")"
		rm -f "$err"
		exit 77 # run-cases: a skip, with the line above as the reason
	fi
	rm -f "$err"
}

mta_system_user() {
	getent group "$1" >/dev/null || groupadd --system "$1" || bail "cannot create group $1"
	getent passwd "$1" >/dev/null ||
		useradd --system -g "$1" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$1" || bail "cannot create user $1"
}

mta_wait_listen() {
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		ip netns exec "$1" ss -Hltn "src $2 and sport = :$3" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

mta_strip() {
	awk -v hops="${2:-1}" '
		done { print; next }
		tolower($0) ~ /^(return-path|x-original-to|delivered-to):/ { skip = 1; next }
		/^Received:/ && seen < hops { seen++; skip = 1; next }
		/^[ \t]/ && skip { next }
		{ done = 1; print }
	' "$1"
}

mta_same_message() {
	cmp -s <(tr -d '\r' < "$1") <(mta_strip "$2" "${3:-1}")
}

# A client that pipelines the end of its message with QUIT and half-closes in the same flight,
# as Exim 4.96 does: EHLO [STARTTLS, EHLO], MAIL, RCPT, then either DATA, the message and
# ".\r\nQUIT\r\n", or "BDAT n LAST", the message and "QUIT\r\n"; then shutdown(SHUT_WR) (inside
# TLS after a close_notify) and read to EOF.  Toward a server without PIPELINING (OpenSMTPD)
# Exim waits for the message's 250 and then sends QUIT and half-closes: mode nopipe.  Exit
# status 0 only when both the message's 250 and QUIT's 221 arrived (helper_smtp_client's); the
# transcript goes to stdout.
#   mta_halfclose NS HOST PORT RCPT MSG_FILE [plain|tls] [data|bdat|nopipe]
# shellcheck disable=SC2028 # the \r\n are helper_smtp_client's escapes, not echo's
mta_halfclose() {
	local ns=$1 host=$2 port=$3 rcpt=$4 msg=$5 tls=${6:-plain} mode=${7:-data}
	{
		echo "expect 220"
		echo 'send EHLO halfclose.example.org\r\n'
		echo "expect 250"
		if [ "$tls" = tls ]; then
			echo 'send STARTTLS\r\n'
			echo "expect 220"
			echo starttls
			echo 'send EHLO halfclose.example.org\r\n'
			echo "expect 250"
		fi
		echo 'send MAIL FROM:<sender@example.org>\r\n'
		echo "expect 250"
		echo "send RCPT TO:<$rcpt>\\r\\n"
		echo "expect 250"
		if [ "$mode" = bdat ]; then
			echo "send BDAT $(stat -c %s "$msg") LAST\\r\\n"
			echo "sendfile $msg"
			echo 'send QUIT\r\n'
			echo shutdown
			echo "expect 250"
		elif [ "$mode" = nopipe ]; then
			echo 'send DATA\r\n'
			echo "expect 354"
			echo "sendfile $msg"
			echo 'send .\r\n'
			echo "expect 250"
			echo 'send QUIT\r\n'
			echo shutdown
		else
			echo 'send DATA\r\n'
			echo "expect 354"
			echo "sendfile $msg"
			echo 'send .\r\nQUIT\r\n'
			echo shutdown
			echo "expect 250"
		fi
		echo "expect 221"
		echo readall
	} | ip netns exec "$ns" "$TG_BIN/tests/e2e/helper_smtp_client" "$host" "$port" --timeout 10
}
