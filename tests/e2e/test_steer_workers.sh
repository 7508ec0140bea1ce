#!/bin/bash
# e2e (and vm: Debian's 6.1 kernel, where bpf_sk_assign refuses a SO_REUSEPORT socket): steered
# sessions are spread over the workers.  tlsgated with 2 workers steers an inside host's
# connections to an MX's own address; each worker has its own lone steering listener in
# tg_listen and the steer program picks one by flow hash.  N sessions (helper_loadgen, one
# message each, plaintext to a sink: cheap under TCG) must all be delivered and split within
# 60/40 between the workers, counted from the daemon's log (a session id's first hex digit is its
# worker).  With 300 sessions a fair split leaves that band with a probability of about 5e-4.
# No TLS and no PKI: key generation alone would cost a minute under TCG.
# Then a session from a fixed source port leaves the gateway a TIME_WAIT socket on the MX's
# address; with the daemon stopped, the same 4-tuple must reach the MX itself within seconds
# (bpf/steer.bpf.c pick_socket), and so must 4 more sessions.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/tlsgate.sh"

N=${TLSGATE_STEER_SESSIONS:-300}
SINK=$TG_BIN/tests/e2e/helper_sink
LG=$TG_BIN/tests/e2e/helper_loadgen
for b in "$SINK" "$LG"; do
	[ -x "$b" ] || bail "$b not built (make)"
done

tg_topology
tg_pindir steer
pins=$TG_PINDIR/tlsgate
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_DAEMON' --detach -o 'bpf_pin_dir=$pins'"

# The MX: a plaintext sink on the outside (policy none: no TLS, the steering is what is tested).
tg_bg ip netns exec "$NS_OUT" "$SINK" --listen 203.0.113.25:25 --threads 1 \
	--ready "$TG_WORK/sink.ready" > "$TG_WORK/sink.out"
sink=$TG_BG_PID
for ((i = 0; i < 200; i++)); do
	[ -e "$TG_WORK/sink.ready" ] && break
	sleep 0.05 # the sink's readiness file: nothing else to wait on
done
[ -e "$TG_WORK/sink.ready" ] || bail "helper_sink did not start"

echo "203.0.113.0/24 none" > "$TG_WORK/policy"
tg_gw_bpf gw 10025 -o workers=2 -o "outbound_listen=127.0.0.1:10025" \
	-o outbound_transparent=yes -o inside_interfaces=inside0 -o outside_interfaces=outside0 \
	-o "bpf_pin_dir=$pins" -o "outbound_policy=$TG_WORK/policy" -o resolve=no
gwpid=$TG_BG_PID
tg_on_exit "tg_report_daemon gw $gwpid"
grep -q "bpf: steering over 2 workers' listeners" "$TG_WORK/gw.log"
ok $? "kernel $(uname -r): each of the 2 workers has a steering listener in tg_listen"
lone=$(ip netns exec "$NS_GW" ss -Hltn 'src 127.0.0.1' | grep -vc ':10025 ')
is "$lone" 2 "two steering listeners on ports of their own (lone sockets), besides :10025"

ip netns exec "$NS_IN" "$LG" --connect 203.0.113.25:25 --connections "$N" --concurrency 8 \
	--messages 1 --size 1k --timeout 300 > "$TG_WORK/lg.json" 2> "$TG_WORK/lg.err"
ok $? "$N sessions to the MX's address, one message each"
is "$(jq .messages "$TG_WORK/lg.json")" "$N" "all $N messages accepted"

sink_messages() { # the sink's count of messages received (it answers SIGUSR1 with a line)
	local i n
	n=$(wc -l < "$TG_WORK/sink.out")
	kill -USR1 "$sink"
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l < "$TG_WORK/sink.out")" -gt "$n" ] && break
		sleep 0.05
	done
	tail -n 1 "$TG_WORK/sink.out" | jq .messages
}
is "$(sink_messages)" "$N" "the sink got all $N"

# "session=0000000a start role=outbound ... dest=203.0.113.25[...]:25": worker 0; "1..." worker 1
starts=$(grep -o 'session=[0-9a-f]* start role=outbound .*dest=203\.0\.113\.25' "$TG_WORK/gw.log")
w0=$(grep -c '^session=0[0-9a-f]\{8\} ' <<< "$starts")
w1=$(grep -c '^session=1[0-9a-f]\{8\} ' <<< "$starts")
is "$((w0 + w1))" "$N" "all $N sessions were steered (original destination 203.0.113.25)"
diag "worker 0: $w0 sessions, worker 1: $w1"
[ "$w0" -ge $((N * 2 / 5)) ] && [ "$w1" -ge $((N * 2 / 5)) ]
ok $? "split within 60/40: worker 0 $w0, worker 1 $w1 of $N"

stats=$(nsenter --net="/run/netns/$NS_GW" "$TG_CTL" --pin-dir "$pins" stats --prometheus)
echo "$stats" | grep -qx "tlsgate_bpf_flows_total{kind=\"steered\"} $N"
ok $? "stats: $N flows steered"
echo "$stats" | grep -qx 'tlsgate_bpf_steer_errors_total 0'
ok $? "stats: no steer errors"

# One session from a fixed source port: the daemon closes the steered connection first (after
# its 221), so the gateway keeps a TIME_WAIT socket whose local address is the MX's, 60 s long.
SPORT=20025 # below the ephemeral range: no other connection takes it
printf '%s\n' 'expect 220' 'send EHLO in.example\r\n' 'expect 250' \
	'send MAIL FROM:<a@in.example>\r\n' 'expect 250' 'send RCPT TO:<b@mx.example>\r\n' \
	'expect 250' 'send DATA\r\n' 'expect 354' 'send Subject: tw\r\n\r\nx\r\n.\r\n' \
	'expect 250' 'send QUIT\r\n' 'expect 221' 'readall' > "$TG_WORK/one.smtp"
ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.25 25 --timeout 20 \
	--source-port "$SPORT" < "$TG_WORK/one.smtp" > "$TG_WORK/one1.out"
ok $? "steered session from source port $SPORT"
tw_filter="( src 203.0.113.25:25 and dst 192.0.2.10:$SPORT )"
tw=$(ip netns exec "$NS_GW" ss -Htan state time-wait "$tw_filter")
[ -n "$tw" ]
ok $? "the gateway holds the steered side in TIME_WAIT (local address the MX's)"
diag "gateway: ${tw:-no TIME_WAIT socket}"

# Shutdown: steering stops before the listeners close; the flows go to the MX directly.
kill -TERM "$gwpid"
wait "$gwpid" 2>/dev/null
# The same 4-tuple again while that TIME_WAIT lasts (CI hit it by chance: a reused ephemeral
# port).  Before the steer program handled it, TCP early demux attached the TIME_WAIT socket to
# the SYN and ip_forward() drops a packet that carries a socket: blackholed for the rest of the
# minute (and, with early demux off, the steer program handed the session's later segments to
# the TIME_WAIT socket).  Now the SYN goes to the TIME_WAIT socket, whose ACK the client answers
# with a reset that ends it; the SYN's retransmission is forwarded.  The host's 6.18 resends it
# at once (tens of ms); Debian's 6.1 under TCG 0.3-9 s; the TIME_WAIT alone lasts 60 s, so
# 20 s tells a fix from the bug.
t0=$(date +%s%N)
ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 203.0.113.25 25 --timeout 20 \
	--source-port "$SPORT" < "$TG_WORK/one.smtp" > "$TG_WORK/one2.out"
ok $? "daemon stopped, same source port while the gateway's TIME_WAIT lasts: the MX answers"
diag "session took $((($(date +%s%N) - t0) / 1000000)) ms"
[ -z "$(ip netns exec "$NS_GW" ss -Htan state time-wait "$tw_filter")" ]
ok $? "that TIME_WAIT socket is gone (the client's reset ended it)"

ip netns exec "$NS_IN" "$LG" --connect 203.0.113.25:25 --connections 4 --concurrency 2 \
	--messages 1 --size 1k --timeout 60 > "$TG_WORK/lg2.json" 2>/dev/null
is "$(jq .messages "$TG_WORK/lg2.json")" 4 "daemon stopped: not steered, the MX itself answers"
is "$(sink_messages)" "$((N + 6))" \
	"the sink got the $N, the two from port $SPORT and the 4"
tap_done
