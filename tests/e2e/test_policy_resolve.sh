#!/bin/bash
# e2e: policy/resolve.c against a real authoritative DNS server (nsd from Debian) in a network
# namespace with documentation addresses.  Domain rules resolve MX -> A/AAAA, [host] rules
# A/AAAA only; a changed zone is picked up exactly when the TTL runs out (the resolver's clock is
# given by the test, so nothing waits for a TTL); a failed resolution -- server down, NXDOMAIN --
# keeps the last good set and is reported; the system resolver path (resolv.conf, as `ip netns
# exec` bind-mounts /etc/netns/NAME/resolv.conf) works too.
#
#   $NS_GW  (the gateway: the resolver runs here)  eth0 203.0.113.1/24
#   $NS_DNS (the nameserver: nsd)                  eth0 203.0.113.53/24
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

helper=$TG_BUILD/tests/e2e/helper_policy_resolve
[ -x "$helper" ] || bail "$helper not built"
if ! command -v nsd >/dev/null; then
	echo "nsd not installed (make deps installs it)"
	exit 77	# run-cases: a skip, with the line above as the reason
fi

NS_DNS="tg-dns-$TG_ID"
tg_netns_add "$NS_GW"
tg_netns_add "$NS_DNS"
ip -n "$NS_GW" link add eth0 type veth peer name eth0 netns "$NS_DNS"
ip -n "$NS_GW" addr add 203.0.113.1/24 dev eth0
ip -n "$NS_DNS" addr add 203.0.113.53/24 dev eth0
ip -n "$NS_GW" link set eth0 up
ip -n "$NS_DNS" link set eth0 up
ip netns exec "$NS_GW" ping -c 1 -W 5 203.0.113.53 >/dev/null || bail "no path to 203.0.113.53"

work=$(mktemp -d)
tg_on_exit "rm -rf '$work'"

# ---- the nameserver ---------------------------------------------------------------------------
cat > "$work/nsd.conf" <<EOF
server:
	ip-address: 203.0.113.53
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$work"
	database: ""
	pidfile: "$work/nsd.pid"
	xfrdfile: "$work/xfrd.state"
	xfrdir: "$work"
	zonelistfile: "$work/zone.list"
	logfile: "$work/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: example.org
	zonefile: example.org.zone
zone:
	name: example.net
	zonefile: example.net.zone
zone:
	name: example.com
	zonefile: example.com.zone
EOF

soa() { # ORIGIN
	printf '$ORIGIN %s.\n$TTL 300\n' "$1"
	printf '@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 60\n'
	printf '@ IN NS ns.example.org.\n'
}

# zones VERSION: v1 initial; v2 mx2 moved; v3 old.example.org gone, example.net renumbered
zones() {
	local mx2=198.51.100.12 net=198.51.100.20
	[ "$1" != v1 ] && mx2=198.51.100.13
	[ "$1" = v3 ] && net=198.51.100.21
	{
		soa example.org
		echo "ns      IN A 203.0.113.53"
		echo "@   300 IN MX 10 mx1"
		echo "@   300 IN MX 20 mx2"
		echo "mx1 600 IN A    198.51.100.11"
		echo "mx1 600 IN AAAA 2001:db8:5::11"
		echo "mx2 120 IN A    $mx2"
		[ "$1" != v3 ] && echo "old 300 IN A    198.51.100.40"
	} > "$work/example.org.zone"
	{
		soa example.net
		echo "@   300 IN A    $net"    # no MX: the domain is its own mail host
		echo "@   300 IN AAAA 2001:db8:5::20"
	} > "$work/example.net.zone"
	{
		soa example.com
		echo "mx  300 IN A  198.51.100.30"
		# An MX on the [host] name must not be followed: [host] means no MX lookup.
		echo "mx  300 IN MX 10 other"
		echo "other 300 IN A 198.51.100.31"
	} > "$work/example.com.zone"
}

nsd_pid=
nsd_start() {
	tg_bg ip netns exec "$NS_DNS" nsd -d -c "$work/nsd.conf"
	nsd_pid=$TG_BG_PID
	tg_wait_listen "$NS_DNS" 53 20 || bail "nsd did not start: $(tail -n 5 "$work/nsd.log")"
}

nsd_stop() {
	kill "$nsd_pid" 2>/dev/null
	wait "$nsd_pid" 2>/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_DNS" ss -Hltnu "sport = :53" | grep -q . || return 0
		sleep 0.1
	done
	bail "nsd did not stop"
}

# ---- the resolver, driven over a pipe ---------------------------------------------------------
coproc HELPER { ip netns exec "$NS_GW" "$helper" --ns 203.0.113.53 --min-ttl 1 --retry 30 \
	--timeout 1 2>"$work/helper.log"; }
tg_on_exit "kill $HELPER_PID"
hin=${HELPER[1]} hout=${HELPER[0]}

# q COMMAND: its answer (without the "." line) in $A
q() {
	local line
	A=
	echo "$*" >&"$hin"
	while IFS= read -r -t 30 line <&"$hout"; do
		[ "$line" = . ] && return 0
		A+="${A:+$'\n'}$line"
	done
	bail "helper did not answer '$*' (log: $(tail -n 3 "$work/helper.log"))"
}

cat > "$work/tls_policy" <<'EOF'
# outbound policy under test
example.org          encrypt
example.net          verify match=nexthop
[mx.example.com]:25  secure
old.example.org      encrypt
.example.org         may
198.51.100.0/24      may
EOF

zones v1
nsd_start
ok 0 "nsd serves example.org, example.net, example.com on 203.0.113.53"

q load "$work/tls_policy"
is "$A" "ok rules=6" "policy loaded"
q refresh 1000
is "$A" "names=4 queried=4 ok=4 failed=0 addrs=7" \
	"first refresh resolves the four names (.example.org has no address)"
q lpm
is "$A" "198.51.100.0/24 may 198.51.100.0/24
198.51.100.11/32 encrypt example.org
198.51.100.12/32 encrypt example.org
198.51.100.20/32 verify example.net
198.51.100.30/32 may 198.51.100.0/24
198.51.100.30/32 port 25 secure [mx.example.com]:25
198.51.100.40/32 encrypt old.example.org
2001:db8:5::11/128 encrypt example.org
2001:db8:5::20/128 verify example.net" \
	"LPM list: MX -> A/AAAA for domains, A only for [host] (its own MX not followed)"
q dest 198.51.100.12
is "$A" "example.org encrypt resolved" "connect to mx2's address: example.org's policy"
q mx 198.51.100.12
is "$A" "mx2.example.org" "the address maps back to its MX name"
q dest 198.51.100.99
is "$A" "198.51.100.0/24 may cidr" "an unrelated address in the CIDR: the CIDR rule"
q dest 203.0.113.7 mx.example.com
is "$A" "[mx.example.com]:25 secure host-port" "an MX name given at connect time: its [host] rule"
q status
is "$A" "example.net addrs=2 set=1 failures=0 expires=1300 error=
example.org addrs=3 set=1 failures=0 expires=1120 error=
[host]mx.example.com addrs=1 set=1 failures=0 expires=1300 error=
old.example.org addrs=1 set=1 failures=0 expires=1300 error=" \
	"each name expires with the smallest TTL of its records (mx2's A: 120 s)"

# ---- TTL-respecting refresh --------------------------------------------------------------------
nsd_stop
zones v2
nsd_start
q refresh 1119
is "$A" "names=4 queried=0 ok=0 failed=0 addrs=7" "before the TTL runs out nothing is queried"
q lpm
echo "$A" | grep -q '^198.51.100.12/32 encrypt example.org$'
ok $? "the old address is still used one second before expiry"
q refresh 1120
is "$A" "names=4 queried=1 ok=1 failed=0 addrs=7" "at expiry example.org alone is queried again"
q lpm
echo "$A" | grep -q '^198.51.100.13/32 encrypt example.org$' &&
	! echo "$A" | grep -q '198.51.100.12/'
ok $? "the zone change is picked up: 198.51.100.13 replaces 198.51.100.12"

# ---- failures keep the last good set -----------------------------------------------------------
nsd_stop
q refresh 1300
is "$A" "names=4 queried=4 ok=0 failed=4 addrs=7" \
	"nameserver down: every due name fails, map unchanged"
q lpm
echo "$A" | grep -q '^198.51.100.20/32 verify example.net$' &&
	echo "$A" | grep -q '^198.51.100.30/32 port 25 secure \[mx.example.com\]:25$' &&
	echo "$A" | grep -q '^198.51.100.40/32 encrypt old.example.org$'
ok $? "the last good addresses stay in the LPM list"
q status
echo "$A" | grep -q '^example.net addrs=2 set=1 failures=1 expires=1330 error=MX example.net: '
ok $? "the failure is reported with its reason and retried after 30 s: $(echo "$A" | head -n 1)"
grep -q 'policy resolve name=example.net error=' "$work/helper.log"
ok $? "the failure is logged"

zones v3
nsd_start
q refresh 1330
is "$A" "names=4 queried=4 ok=3 failed=1 addrs=7" \
	"server back: three names resolve again, old.example.org is NXDOMAIN"
q lpm
echo "$A" | grep -q '^198.51.100.21/32 verify example.net$' &&
	! echo "$A" | grep -q '198.51.100.20/' &&
	echo "$A" | grep -q '^198.51.100.40/32 encrypt old.example.org$'
ok $? "example.net renumbered; NXDOMAIN keeps old.example.org's last good address"
q status
want='old.example.org addrs=1 set=1 failures=2 expires=1360 error=MX old.example.org: NXDOMAIN'
echo "$A" | grep -qxF "$want"
ok $? "NXDOMAIN reported: $(echo "$A" | grep '^old')"

# ---- the system resolver: resolv.conf of the namespace ------------------------------------------
mkdir -p "/etc/netns/$NS_GW"
tg_on_exit "rm -rf '/etc/netns/$NS_GW'"
echo "nameserver 203.0.113.53" > "/etc/netns/$NS_GW/resolv.conf"
out=$(printf 'load %s\nrefresh 1\nlpm\nquit\n' "$work/tls_policy" |
	ip netns exec "$NS_GW" "$helper" --min-ttl 1 --timeout 1 2>/dev/null)
echo "$out" | grep -q '^names=4 queried=4 ok=3 failed=1 addrs=6$' &&
	echo "$out" | grep -q '^198.51.100.13/32 encrypt example.org$'
ok $? "without --ns the resolver uses the namespace's resolv.conf"

echo quit >&"$hin"
wait "$HELPER_PID"
ok $? "helper exited cleanly"
tap_done
