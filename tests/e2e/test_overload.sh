#!/bin/bash
# e2e: tlsgated short of file descriptors.  Started with RLIMIT_NOFILE 200 (soft and hard), it
# fits max_sessions to what the descriptors allow and refuses the rest with a 421 naming the
# host; when descriptors run out anyway (the limit lowered under it at run time), the waiting
# clients still get a 421 (a reserved descriptor), and neither case makes it spin or flood its
# log.  (Before: EMFILE left the connection queued, level-triggered epoll woke the worker at
# once, 60 000 warnings a second, the client got nothing.)
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

command -v prlimit >/dev/null || { skip "no prlimit (util-linux)" "overload"; tap_done; exit; }

ticks() { # PID: user+system CPU clock ticks so far
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

tg_topology
tg_pki
tg_fake_mx mx 203.0.113.25 ok --fork
TG_GW_WRAP="prlimit --nofile=200:200" tg_gw gw 2901 -o outbound_forward=203.0.113.25:25
gwpid=$TG_GW_PID_gw
conns="$TG_BIN/tests/e2e/helper_conns"

tg_gw_log gw | grep -q "max_sessions=10000 lowered to [0-9]*: RLIMIT_NOFILE=200"
ok $? "max_sessions is fitted to RLIMIT_NOFILE and the log says so"

# 1. more clients than the descriptors allow, all at once, and they stay
tg_bg ip netns exec "$NS_IN" "$conns" --connect 192.0.2.1:2901 --count 150 --timeout 10 \
	--hold --ready "$TG_WORK/held" > "$TG_WORK/a.out"
holdpid=$TG_BG_PID
for ((i = 0; i < 150; i++)); do [ -e "$TG_WORK/held" ] && break; sleep 0.1; done
cat "$TG_WORK/a.out" | sed 's/^/# /'
grep -q "greeting n=150 220=[1-9][0-9]* 421=[1-9][0-9]* other=0 none=0" "$TG_WORK/a.out"
ok $? "every client got an answer: a greeting, or a 421 when the daemon is full"
grep -q '^first421 text="421 4.3.2 gw.example.net Error: too many sessions' "$TG_WORK/a.out"
ok $? "the refusal is 421 4.3.2 with the hostname"
lines0=$(tg_gw_log gw | wc -l)
t0=$(ticks "$gwpid")
sleep 2 # measuring idle CPU over a time span: nothing to wait for instead
t1=$(ticks "$gwpid")
diag "CPU while full: $((t1 - t0)) ticks of $((2 * hz))"
[ $((t1 - t0)) -lt $((hz / 5)) ]
ok $? "the daemon stays idle while full (< 10% CPU)"
lines1=$(tg_gw_log gw | wc -l)
[ $((lines1 - lines0)) -lt 5 ]
ok $? "and logs nothing more while idle"
[ "$(tg_gw_log gw | grep -c 'refused')" -lt 20 ]
ok $? "refusals are logged at most once a second"
kill "$holdpid"
wait "$holdpid" 2>/dev/null
for ((i = 0; i < 100; i++)); do
	[ "$(ip netns exec "$NS_GW" ss -Htn state established "sport = :2901" | wc -l)" = 0 ] && break
	sleep 0.1
done

# 2. out of descriptors anyway: the limit is lowered under the running daemon to its lowest
# free descriptor number, so accept() fails with EMFILE
lowest=$(ls "/proc/$gwpid/fd" | sort -n | awk 'BEGIN { n = 0 } $1 == n { n++ } END { print n }')
prlimit --pid "$gwpid" --nofile="$lowest:200" # the soft limit: raising it back needs no privilege
lines0=$(tg_gw_log gw | wc -l)
ip netns exec "$NS_IN" "$conns" --connect 192.0.2.1:2901 --count 20 --timeout 5 > "$TG_WORK/b.out"
cat "$TG_WORK/b.out" | sed 's/^/# /'
grep -q "greeting n=20 220=0 421=20 other=0 none=0" "$TG_WORK/b.out"
ok $? "out of descriptors (EMFILE): every waiting client gets a 421"
grep -q '^first421 text="421 4.3.2 gw.example.net ' "$TG_WORK/b.out"
ok $? "... 421 4.3.2 with the hostname"
t0=$(ticks "$gwpid")
sleep 2 # idle CPU over a time span, as above
t1=$(ticks "$gwpid")
diag "CPU after EMFILE: $((t1 - t0)) ticks of $((2 * hz))"
[ $((t1 - t0)) -lt $((hz / 5)) ]
ok $? "no busy loop on EMFILE (< 10% CPU)"
lines1=$(tg_gw_log gw | wc -l)
diag "log lines for 20 refusals: $((lines1 - lines0))"
[ $((lines1 - lines0)) -lt 10 ]
ok $? "the log stays small (warnings once a second)"
prlimit --pid "$gwpid" --nofile=200:200
ip netns exec "$NS_IN" "$conns" --connect 192.0.2.1:2901 --count 1 --timeout 5 > "$TG_WORK/c.out"
grep -q "greeting n=1 220=1" "$TG_WORK/c.out"
ok $? "with descriptors back, a new client is served again"

tap_done
