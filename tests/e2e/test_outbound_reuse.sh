#!/bin/bash
# e2e: outbound connection reuse (issue 17 item 2, daemon/session_reuse.c).  A client session
# that ends with QUIT after a delivered message leaves its TLS connection to the MX idle; the
# next session for the same destination and decision takes it (RSET, then the MX's greeting and
# EHLO reply kept from the first session).  Asserted from the MX's own log and store
# (helper_fake_mx):
#   - reuse: one TLS connection carries three messages separated by RSET, each stored once and
#     byte-identical; each later client still gets the MX's greeting, its EHLO reply and a 221;
#     the gateway logs "reused (2nd use)", "(3rd use)" and counts it; at shutdown the idle
#     connection gets QUIT;
#   - the races, where the next client must lose nothing and nothing may arrive twice: the MX
#     closes the idle connection (silently, and with a 421), writes junk to it while idle,
#     closes it right when the RSET comes, answers the RSET with 421 or 554;
#   - the time limit closes an idle connection with QUIT; a policy reload drops the pool (QUIT);
#     a connection older than outbound_connection_reuse_lifetime is not kept;
#   - a command pipelined after QUIT neither reaches the MX nor takes the QUIT's 221;
#   - `tlsgatectl session show` of a session on a reused connection says so;
#   - outbound_connection_reuse=no: a connection per session, each ended by QUIT.
# Where the kernel has kTLS (the vm tier), the reused connection is in the kernel both ways and
# /proc/net/tls_stat shows one TX and one RX kTLS session for the three messages.
# TLSGATE_REUSE_QUICK=1 runs only the first case (for the vm, where TCG is slow).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/mta.sh"

tg_topology
tg_mx_addrs
tg_pki
probe=$(ip netns exec "$NS_GW" "$TG_DAEMON" --probe)
ktls_why=""
case $probe in *unavailable*) ktls_why=${probe#*(}; ktls_why=${ktls_why%)} ;; esac
tlsstat() { # FIELD -> its value in the gateway namespace
	ip netns exec "$NS_GW" awk -v f="$1" '$1 == f { print $2 }' /proc/net/tls_stat 2>/dev/null ||
		echo 0
}
if [ -n "$ktls_why" ] && [ "${TLSGATE_REQUIRE_KTLS:-0}" != 0 ]; then
	bail "kTLS unavailable in the VM: $ktls_why"
fi

CERT=(--cert "$TG_PKI/mx1.example.net.crt" --key "$TG_PKI/mx1.example.net.key")
# NAME ADDR PORT MODE [gateway -o options...]: a fake MX on ADDR and a gateway on PORT for it,
# level verify, reuse on with a time limit that outlasts the case unless the case says
start_pair() {
	local name=$1 addr=$2 port=$3 mode=$4
	shift 4
	tg_fake_mx "$name" "$addr" "$mode" "${CERT[@]}" --idle-ms 300
	printf '%s\tverify match=mx1.example.net\n' "$addr" > "$TG_WORK/policy.$name"
	tg_gw "gw$name" "$port" -o "outbound_forward=$addr:25" \
		-o outbound_forward_host=mx1.example.net -o "outbound_policy=$TG_WORK/policy.$name" \
		-o outbound_connection_reuse=yes -o outbound_connection_reuse_time_limit=60s "$@"
	eval "PID_$name=\$TG_GW_PID_gw$name"
}

# Wait (bounded) until FILE has a line matching ERE: the readiness of what the MX or the
# gateway did, not a sleep.
wait_line() { # FILE ERE [TIMEOUT_S]
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# One client session from the inside with message number N of the case.
send() { # NAME PORT N
	tg_msg "$TG_WORK/m.$1.$3" 2
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port "$2" --from sender@example.org \
		--to alice@example.net --data "@$TG_WORK/m.$1.$3.swaks" > "$TG_WORK/swaks.$1.$3" 2>&1
}

# The client of message N saw an honest session: the MX's greeting, the MX's EHLO reply, its
# message accepted, our 221, and nothing else from the MX (no junk, no 421).
client_ok() { # NAME N WHAT
	local out=$TG_WORK/swaks.$1.$2
	grep -qE '^<-  220 fake\.example\.net ESMTP fake$' "$out" &&
		grep -qE '^<-  250-fake\.example\.net$' "$out" &&
		grep -qE '^<-  250 2\.0\.0 Ok: queued$' "$out" &&
		grep -qE '^<-  221 ' "$out" && ! grep -qE 'junk|^<-  (421|554)' "$out"
	ok $? "$3: client $2 got the MX's greeting and EHLO reply, its 250 and a 221" ||
		grep -E '^(<|\*\*\*)' "$out" | sed 's/^/# /'
}

# Every message sent in the case is at the MX exactly once, byte-identical, and the MX took
# responsibility for each once (its accepted.* files).
delivered_once() { # NAME COUNT WHAT
	local name=$1 n=$2 i f hits bad=0
	for ((i = 1; i <= n; i++)); do
		hits=0
		for f in "$TG_WORK/$name"/msg.*; do
			[ -e "$f" ] || continue
			mta_same_message "$TG_WORK/m.$name.$i" <(tr -d '\r' < "$f") 0 &&
				hits=$((hits + 1))
		done
		[ "$hits" = 1 ] || { bad=1; diag "message $i stored $hits times"; }
	done
	[ "$(ls "$TG_WORK/$name"/msg.* | wc -l)" = "$n" ] &&
		[ "$(ls "$TG_WORK/$name"/accepted.* | wc -l)" = "$n" ] &&
		[ "$(grep -cE '^C[0-9]+: DATA$' "$TG_WORK/$name/commands.log")" = "$n" ] && [ $bad = 0 ]
	ok $? "$3: each of the $n messages reached the MX exactly once, byte-identical" ||
		diag "$(ls "$TG_WORK/$name"; cat "$TG_WORK/$name/commands.log")"
}

cmds() { # NAME CONN: the commands connection CONN of the MX got, on one line (not the MX's
	# own notes, "<...>")
	sed -n "s/^C$2: //p" "$TG_WORK/$1/commands.log" | grep -v '^<' | awk '{ print $1 }' |
		tr '\n' ' ' | sed 's/ $//'
}

ctl_counter() { # GW JQ-PATH under .daemon.counters
	ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/$1" --pin-dir "$TG_WORK/no-pins" -j \
		stats 2>/dev/null | jq -r ".daemon.counters.$2"
}

stop_gw() { # NAME: SIGTERM, wait for the exit
	local pid
	eval "pid=\$PID_$1"
	kill "$pid" && wait "$pid"
}

# --- reuse: three sessions, one TLS connection ------------------------------------------
start_pair ok 203.0.113.26 2531 ok
# after the daemon's start (its kTLS probe counts too)
tx0=$(tlsstat TlsTxSw) rx0=$(tlsstat TlsRxSw)
for i in 1 2 3; do
	send ok 2531 $i
	ok $? "reuse: session $i delivered" || grep -E '^(<|\*\*\*)' "$TG_WORK/swaks.ok.$i" | sed 's/^/# /'
done
for i in 1 2 3; do client_ok ok $i reuse; done
delivered_once ok 3 reuse
is "$(cmds ok 1)" "EHLO STARTTLS EHLO MAIL RCPT DATA RSET MAIL RCPT DATA RSET MAIL RCPT DATA" \
	"reuse: the MX saw one connection: one handshake, the transactions separated by RSET"
! grep -q '^C2:' "$TG_WORK/ok/commands.log"
ok $? "reuse: no second connection to the MX"
grep -qE 'Verified TLS connection reused to mx1\.example\.net\[203\.0\.113\.26\]:25 \(2nd use\)' \
	"$TG_WORK/gwok.log" &&
	grep -qE 'TLS connection reused to .*\(3rd use\)' "$TG_WORK/gwok.log"
ok $? "reuse: the gateway logs the reused connection with its use count" ||
	diag "$(grep -E 'reuse|kept' "$TG_WORK/gwok.log")"
is "$(ctl_counter gwok reuse_taken)/$(ctl_counter gwok reuse_kept)/$(ctl_counter gwok reuse_idle)" \
	"2/3/1" "reuse: counted (taken 2, kept 3, idle now 1)"
if [ -n "$ktls_why" ]; then
	skip "$ktls_why" "reuse: the reused connection is kTLS both ways"
else
	is "$(($(tlsstat TlsTxSw) - tx0)):$(($(tlsstat TlsRxSw) - rx0)):$(tlsstat TlsDecryptError)" \
		"1:1:0" "reuse: one kTLS TX and RX session in the gateway carried all three messages"
	[ "$(grep -c 'TLS connection reused to .*ktls="tx=kernel rx=kernel"' "$TG_WORK/gwok.log")" = 2 ]
	ok $? "reuse: the reused connection is kTLS both ways (ktls=\"tx=kernel rx=kernel\")" ||
		diag "$(grep -E 'TLS connection' "$TG_WORK/gwok.log")"
fi
stop_gw ok
wait_line "$TG_WORK/ok/commands.log" '^C1: (QUIT|<closed without QUIT>)$'
is "$(cmds ok 1 | awk '{ print $NF }')" "QUIT" "reuse: at shutdown the idle connection gets QUIT"
if [ "${TLSGATE_REUSE_QUICK:-0}" = 1 ]; then
	tap_done
	exit
fi

# --- the MX closes the idle connection (silently; with a 421 on its idle timeout) -------
for mode in idle-close idle-421; do
	case $mode in idle-close) a=27 p=2532 ;; *) a=28 p=2533 ;; esac
	n=${mode//-/}
	start_pair $n 203.0.113.$a $p $mode
	send $n $p 1
	wait_line "$TG_WORK/$n/commands.log" '^C1: <idle: ' &&
		wait_line "$TG_WORK/gw$n.log" 'idle connection to .* closed: the next hop'
	ok $? "$mode: the gateway closed the idle connection when the MX did" ||
		diag "$(grep -E 'idle|reuse|kept' "$TG_WORK/gw$n.log")"
	send $n $p 2
	ok $? "$mode: the next session delivered"
	client_ok $n 2 "$mode"
	delivered_once $n 2 "$mode"
	is "$(cmds $n 2)" "EHLO STARTTLS EHLO MAIL RCPT DATA" \
		"$mode: the next session had a fresh connection (no RSET on it)"
done

# --- the MX writes junk to an idle connection ----------------------------------------------
start_pair idlejunk 203.0.113.29 2534 idle-junk
send idlejunk 2534 1
wait_line "$TG_WORK/idlejunk/commands.log" '^C1: <closed without QUIT>$'
ok $? "idle-junk: the gateway closed the idle connection the MX wrote junk to" ||
	diag "$(cat "$TG_WORK/idlejunk/commands.log")"
send idlejunk 2534 2
ok $? "idle-junk: the next session delivered"
client_ok idlejunk 2 idle-junk
delivered_once idlejunk 2 idle-junk
is "$(ctl_counter gwidlejunk reuse_lost)/$(ctl_counter gwidlejunk reuse_taken)" "1/0" \
	"idle-junk: counted as lost, never taken"

# --- the RSET fails: the MX closes as it comes, answers 421, answers 554 --------------------
for mode in rset-close rset-421 rset-554; do
	case $mode in rset-close) a=30 p=2535 ;; rset-421) a=31 p=2536 ;; *) a=32 p=2537 ;; esac
	n=${mode//-/}
	start_pair $n 203.0.113.$a $p $mode
	send $n $p 1
	send $n $p 2
	ok $? "$mode: the next session delivered over a fresh connection"
	client_ok $n 2 "$mode"
	delivered_once $n 2 "$mode"
	grep -qE '^C1: RSET$' "$TG_WORK/$n/commands.log" &&
		grep -qE 'idle connection to .* unusable \((the next hop closed it|RSET answered)' \
			"$TG_WORK/gw$n.log"
	ok $? "$mode: the RSET went over the idle connection, and its failure was seen" ||
		diag "$(grep -E 'idle|reuse|kept|unusable' "$TG_WORK/gw$n.log")"
	is "$(cmds $n 2)" "EHLO STARTTLS EHLO MAIL RCPT DATA" "$mode: the fresh connection"
	is "$(ctl_counter gw$n reuse_failed)/$(ctl_counter gw$n reuse_taken)" "1/0" \
		"$mode: counted as failed, not as taken"
done
is "$(cmds rset554 1 | awk '{ print $NF }')" "QUIT" \
	"rset-554: the refused connection was ended with QUIT"

# --- the time limit; a policy reload ------------------------------------------------------
start_pair expire 203.0.113.33 2538 ok -o outbound_connection_reuse_time_limit=1s
send expire 2538 1
wait_line "$TG_WORK/expire/commands.log" '^C1: QUIT$' 5 &&
	grep -q 'closed: outbound_connection_reuse_time_limit' "$TG_WORK/gwexpire.log"
ok $? "time limit: the idle connection got QUIT after outbound_connection_reuse_time_limit"

# outbound_connection_reuse_lifetime: a connection older than it is not kept at a QUIT
ip -n "$NS_OUT" addr add 203.0.113.37/24 dev eth0
start_pair life 203.0.113.37 2542 ok -o outbound_connection_reuse_lifetime=1s
send life 2542 1
sleep 1.2 # the lifetime itself must pass: nothing to wait on but the clock
send life 2542 2
is "$(cmds life 1)" "EHLO STARTTLS EHLO MAIL RCPT DATA RSET MAIL RCPT DATA QUIT" \
	"lifetime: reused once, then the client's QUIT went to the MX: the connection was too old"
grep -q 'not kept: used for 1 s, outbound_connection_reuse_lifetime=1s' "$TG_WORK/gwlife.log"
ok $? "lifetime: logged"
delivered_once life 2 lifetime

start_pair reload 203.0.113.34 2539 ok
send reload 2539 1
printf '198.51.100.7\tencrypt\n' >> "$TG_WORK/policy.reload"
# shellcheck disable=SC2154 # set by start_pair's eval
kill -HUP "$PID_reload"
wait_line "$TG_WORK/reload/commands.log" '^C1: QUIT$' &&
	grep -q 'closed: the policy was reloaded' "$TG_WORK/gwreload.log"
ok $? "reload: the idle connection made under the old policy got QUIT" ||
	diag "$(grep -E 'idle|reuse|kept|polic' "$TG_WORK/gwreload.log")"
send reload 2539 2
client_ok reload 2 reload
delivered_once reload 2 reload
is "$(cmds reload 2)" "EHLO STARTTLS EHLO MAIL RCPT DATA" \
	"reload: the session under the new policy made its own connection"

# --- `session show` of a session on a reused connection ------------------------------------
ip -n "$NS_OUT" addr add 203.0.113.36/24 dev eth0
start_pair show 203.0.113.36 2541 ok
send show 2541 1
coproc CLI {
	ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 192.0.2.1 2541 --timeout 20
}
clipid=$CLI_PID # bash unsets CLI_PID when the coprocess ends
printf 'expect 220\nsend EHLO client.example.org\\r\\n\nexpect 250\n' >&"${CLI[1]}"
while read -r line <&"${CLI[0]}"; do
	case $line in "S: 250 "*) break ;; esac
done
ctl_gw() { ip netns exec "$NS_GW" "$TG_CTL" --run-dir "$TG_WORK/gwshow" "$@"; }
id=$(ctl_gw -j session list | jq -r '.[0].id')
ctl_gw session show "$id" > "$TG_WORK/show.txt" 2>&1
grep -qE '^  connection +reused \(use 2 of the connection' "$TG_WORK/show.txt" &&
	[ "$(ctl_gw -j session show "$id" | jq -r '.. | .connection_uses? // empty' | head -n 1)" = 2 ]
ok $? "session show: the session runs over the connection's 2nd use" ||
	diag "$(cat "$TG_WORK/show.txt")"
printf 'send QUIT\\r\\n\nexpect 221\n' >&"${CLI[1]}"
eval "exec ${CLI[1]}>&-" # end of the script: the client ends
wait "$clipid"

# A client that pipelines a command after its QUIT: the QUIT still gets our 221 (not the
# reply to what follows it), and nothing after the QUIT reaches the MX.
tg_smtp 2541 > "$TG_WORK/afterquit.out" 2>&1 <<EOS
expect 220
send EHLO client.example.org\r\n
expect 250
send MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354
send Subject: after quit\r\n\r\nbody\r\n.\r\n
expect 250
send QUIT\r\nNOOP after-quit\r\n
expect 221
EOS
ok $? "a command pipelined after QUIT: the QUIT gets the 221" ||
	sed 's/^/# /' "$TG_WORK/afterquit.out"
[ "$(grep -c 'kept for reuse (' "$TG_WORK/gwshow.log")" = 2 ] &&
	! grep -q 'after-quit' "$TG_WORK/show/commands.log"
ok $? "... the connection is kept, and what came after the QUIT never reached the MX"

# --- reuse off -----------------------------------------------------------------------------
start_pair off 203.0.113.35 2540 ok -o outbound_connection_reuse=no
send off 2540 1
send off 2540 2
delivered_once off 2 "reuse off"
is "$(cmds off 1)|$(cmds off 2)" \
	"EHLO STARTTLS EHLO MAIL RCPT DATA QUIT|EHLO STARTTLS EHLO MAIL RCPT DATA QUIT" \
	"reuse off: a connection per session, each ended by the client's QUIT"

tap_done
