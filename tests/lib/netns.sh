# shellcheck shell=bash
# Network namespaces for e2e tests.  Source it after tap.sh.  Everything created here is removed
# on exit, also when the test fails or is interrupted: namespaces (with their veths and qdiscs),
# pinned BPF objects, and background processes registered with tg_bg.
#
# tg_topology builds the gateway picture from DESIGN.md with documentation addresses:
#
#   $NS_IN  (inside MTAs)       eth0 192.0.2.10/24    2001:db8:1::10/64   via 192.0.2.1
#   $NS_GW  (the appliance)     inside0 192.0.2.1/24  2001:db8:1::1/64   (forwarding)
#                               outside0 203.0.113.1/24 2001:db8:2::1/64
#   $NS_OUT (the internet, MXs) eth0 203.0.113.25/24  2001:db8:2::25/64   via 203.0.113.1
#                               (198.51.100.0/24 addresses can be added on its lo for more MXs)

TG_ID=${TG_ID:-$$}
NS_IN="tg-in-$TG_ID"
NS_GW="tg-gw-$TG_ID"
NS_OUT="tg-out-$TG_ID"
TG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TG_BUILD=${BUILD:-$TG_TOP/build}
case $TG_BUILD in /*) ;; *) TG_BUILD=$TG_TOP/$TG_BUILD ;; esac
_tg_cleanups=()
_tg_namespaces=()

# Run "$@" at exit, last registered first, quietly; a command named tg_report_* keeps its output
# (it may print TAP lines: a daemon that crashed while being stopped fails the test).
tg_on_exit() {
	_tg_cleanups+=("$*")
}

_tg_cleanup() {
	local rc=$? i
	for ((i = ${#_tg_cleanups[@]} - 1; i >= 0; i--)); do
		case ${_tg_cleanups[$i]} in
		tg_report_*) eval "${_tg_cleanups[$i]}" || true ;; # may add TAP lines
		*) eval "${_tg_cleanups[$i]}" >/dev/null 2>&1 || true ;;
		esac
	done
	for ns in "${_tg_namespaces[@]}"; do
		# Kill whatever still runs in it, then delete it: its veths and qdiscs go with it.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	exit $rc
}
trap _tg_cleanup EXIT
trap 'exit 130' INT TERM

tg_netns_add() {
	ip netns add "$1" || bail "cannot create netns $1"
	_tg_namespaces+=("$1")
	ip -n "$1" link set lo up
}

# Start "$@" in the background and kill it at exit; its pid is in $TG_BG_PID.
tg_bg() {
	"$@" &
	TG_BG_PID=$!
	tg_on_exit "kill $TG_BG_PID; wait $TG_BG_PID"
}

# Tests that pin BPF objects call this first, with the script's arguments: when the machine has
# no bpffs on /sys/fs/bpf, the test re-executes itself in a private mount namespace and mounts
# one there, so nothing it pins or mounts is ever visible to (or removed under) anyone else.
# Run the daemon with nsenter --net (not ip netns exec, which remounts /sys) to keep it.
tg_private_bpffs() {
	if [ -z "${TG_MNTNS:-}" ] && ! mountpoint -q /sys/fs/bpf; then
		TG_MNTNS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || bail "cannot mount bpffs on /sys/fs/bpf"
	fi
}

tg_bpffs() {
	mountpoint -q /sys/fs/bpf ||
		bail "no bpffs on /sys/fs/bpf: the test must call tg_private_bpffs \"\$@\" first"
}

# A pin directory under /sys/fs/bpf, removed at exit; its path is left in $TG_PINDIR.
tg_pindir() {
	tg_bpffs
	TG_PINDIR="/sys/fs/bpf/tlsgate-test-$TG_ID${1:+-$1}"
	mkdir -p "$TG_PINDIR" || bail "cannot create $TG_PINDIR"
	tg_on_exit "rm -rf '$TG_PINDIR'"
}

tg_topology() {
	tg_netns_add "$NS_IN"
	tg_netns_add "$NS_GW"
	tg_netns_add "$NS_OUT"
	ip -n "$NS_GW" link add inside0 type veth peer name eth0 netns "$NS_IN"
	ip -n "$NS_GW" link add outside0 type veth peer name eth0 netns "$NS_OUT"
	for ns in "$NS_IN" "$NS_GW" "$NS_OUT"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	ip -n "$NS_IN" addr add 192.0.2.10/24 dev eth0
	ip -n "$NS_IN" addr add 2001:db8:1::10/64 dev eth0 nodad
	ip -n "$NS_GW" addr add 192.0.2.1/24 dev inside0
	ip -n "$NS_GW" addr add 2001:db8:1::1/64 dev inside0 nodad
	ip -n "$NS_GW" addr add 203.0.113.1/24 dev outside0
	ip -n "$NS_GW" addr add 2001:db8:2::1/64 dev outside0 nodad
	ip -n "$NS_OUT" addr add 203.0.113.25/24 dev eth0
	ip -n "$NS_OUT" addr add 2001:db8:2::25/64 dev eth0 nodad
	for l in "$NS_IN eth0" "$NS_GW inside0" "$NS_GW outside0" "$NS_OUT eth0"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$NS_IN" route add default via 192.0.2.1
	ip -n "$NS_IN" -6 route add default via 2001:db8:1::1
	ip -n "$NS_OUT" route add default via 203.0.113.1
	ip -n "$NS_OUT" -6 route add default via 2001:db8:2::1
	# Readiness, not a sleep: the path works end to end in both families.
	ip netns exec "$NS_IN" ping -c 1 -W 5 203.0.113.25 >/dev/null ||
		bail "topology: inside cannot reach 203.0.113.25"
	ip netns exec "$NS_IN" ping -6 -c 1 -W 5 2001:db8:2::25 >/dev/null ||
		bail "topology: inside cannot reach 2001:db8:2::25"
}

# Wait until something listens on TCP PORT in namespace NS (readiness check, bounded).
tg_wait_listen() { # NS PORT [TIMEOUT_S]
	local i
	for ((i = 0; i < ${3:-30} * 10; i++)); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
