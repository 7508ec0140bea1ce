#!/bin/bash
# e2e: one outside address cannot make the gateway open connections to the inside MTA without
# bound.  Every inbound session holds a connection to the inside next hop from before its
# greeting, and the inside MTA charges them all to the gateway's address (before: 200 idle
# connections from one address made 118 inside connections in 2 s).  Now one client address
# (IPv4, or an IPv6 /64) may hold inbound_client_connection_limit sessions and open
# inbound_client_rate_limit a minute; beyond, 421 4.7.0; and an idle client must send its first
# command within first_command_timeout.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
TG_FAKE_NS=$NS_IN tg_fake_mx inside 192.0.2.10 ok --fork
tg_gw_inbound gw 2904 192.0.2.10:25 -o inbound_client_connection_limit=20 \
	-o inbound_client_rate_limit=550 -o first_command_timeout=3s
conns="$TG_BIN/tests/e2e/helper_conns"
inside_conns() { # established connections the inside MTA has on port 25
	ip netns exec "$NS_IN" ss -Htn state established "sport = :25" | wc -l
}

# 1. 500 idle connections from one address
tg_bg ip netns exec "$NS_OUT" "$conns" --connect 203.0.113.1:2904 --source 203.0.113.25 \
	--count 500 --timeout 15 --hold --ready "$TG_WORK/held" > "$TG_WORK/a.out"
holdpid=$TG_BG_PID
for ((i = 0; i < 200; i++)); do [ -e "$TG_WORK/held" ] && break; sleep 0.1; done
cat "$TG_WORK/a.out" | sed 's/^/# /'
grep -q "^greeting n=500 220=20 421=480 other=0 none=0" "$TG_WORK/a.out"
ok $? "500 idle connections from one address: 20 sessions, 480 refused"
grep -q '^first421 text="421 4.7.0 gw.example.net Error: too many connections from 203.0.113.25"' \
	"$TG_WORK/a.out"
ok $? "the refusal is Postfix's 421 4.7.0 too many connections"
n=$(inside_conns)
ehlos=$(grep -c "^C[0-9]*: EHLO" "$TG_WORK/inside/commands.log")
diag "inside MTA: $n connections open, $ehlos EHLOs from the gateway in all"
[ "$n" -le 20 ] && [ "$ehlos" -le 20 ]
ok $? "the inside MTA saw at most 20 connections"
# meanwhile another sender is served
ip netns exec "$NS_OUT" "$conns" --connect 203.0.113.1:2904 --source 203.0.113.26 --count 1 \
	--timeout 5 > "$TG_WORK/b.out"
grep -q "^greeting n=1 220=1" "$TG_WORK/b.out"
ok $? "another address is served meanwhile"

# 2. the idle ones are sent away by first_command_timeout, and their inside connections go
for ((i = 0; i < 100; i++)); do [ "$(inside_conns)" = 0 ] && break; sleep 0.1; done
is "$(inside_conns)" 0 "idle clients are dropped after first_command_timeout (3 s)"
tg_gw_log gw | grep -q 'reason="deadline state=relay: the client.s command took too long'
ok $? "... and the log says so"
kill "$holdpid"
wait "$holdpid" 2>/dev/null

# 3. the rate: 550 a minute from one address; this one has used 500
for b in 1 2 3 4 5; do
	ip netns exec "$NS_OUT" "$conns" --connect 203.0.113.1:2904 --source 203.0.113.25 \
		--count 15 --timeout 5 >> "$TG_WORK/c.out"
	for ((i = 0; i < 50; i++)); do
		[ "$(ip netns exec "$NS_GW" ss -Htn state established "sport = :2904" | wc -l)" = 0 ] &&
			break
		sleep 0.1
	done
done
cat "$TG_WORK/c.out" | sed 's/^/# /'
greeted=$(sed -n 's/^greeting .* 220=\([0-9]*\) .*/\1/p' "$TG_WORK/c.out" | paste -sd+ | bc)
is "$greeted" 50 "inbound_client_rate_limit: 50 more sessions this minute, then 421"

tap_done
