#!/bin/bash
# e2e: SIGTERM drain must not duplicate mail.  40 sessions have sent their message's end to the
# MX, which takes 4 s to answer; shutdown_timeout is 1 s.  Before, the drain deadline answered
# them "421 service shutting down" although the MX went on to accept every one: the clients
# would send them again.  Now a session whose end of data is with the MX waits for its reply
# (bounded by data_done_timeout) and passes it on; only then does it say 421.  The count that
# matters: 2xx replies the clients got = messages the MX accepted.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

N=40
tg_topology
tg_pki
tg_fake_mx mx 203.0.113.25 ok --fork --dot-delay 4000
tg_gw gw 2903 -o outbound_forward=203.0.113.25:25 -o shutdown_timeout=1s
gwpid=$TG_GW_PID_gw

# N sessions of 2 messages each: the first messages' ends reach the MX, then the drain starts
tg_bg ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_loadgen" --connect 192.0.2.1:2903 \
	--connections $N --concurrency $N --messages 2 --size 2k --timeout 30 > "$TG_WORK/lg.out"
lgpid=$TG_BG_PID
for ((i = 0; i < 200; i++)); do
	[ "$(ls "$TG_WORK"/mx/msg.* 2>/dev/null | wc -l)" -ge $N ] && break
	sleep 0.1
done
is "$(ls "$TG_WORK"/mx/msg.* 2>/dev/null | wc -l)" $N "the MX is reading all $N first messages"
sleep 0.5 # the bodies are small: let their ends arrive (the MX's reply is 4 s away)
kill -TERM "$gwpid"
wait "$lgpid"
cat "$TG_WORK/lg.out" | sed 's/^/# /'
for ((i = 0; i < 100; i++)); do kill -0 "$gwpid" 2>/dev/null || break; sleep 0.1; done
# the MX answers 4 s after each end of data, whether the gateway still listens or not
for ((i = 0; i < 100; i++)); do
	[ "$(ls "$TG_WORK"/mx/accepted.* 2>/dev/null | wc -l)" -ge $N ] && break
	sleep 0.1
done
accepted=$(ls "$TG_WORK"/mx/accepted.* 2>/dev/null | wc -l)
ok2xx=$(sed -n 's/.*"messages":\([0-9]*\).*/\1/p' "$TG_WORK/lg.out")
diag "MX accepted $accepted, clients got $ok2xx 2xx replies"
is "$ok2xx" "$accepted" "across the drain: client 2xx count = MX accepted count"
is "$accepted" $N "the MX accepted every message whose end it had"
tg_gw_log gw | grep -q "waiting for the next hop's reply to the end of data"
ok $? "the log says which sessions waited past the drain deadline"
! kill -0 "$gwpid" 2>/dev/null && tg_gw_log gw | grep -q "tlsgated stopped"
ok $? "tlsgated exits once they are done"

tap_done
