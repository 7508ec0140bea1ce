#!/bin/bash
# e2e: tlsgated reads the network without privileges.  The real daemon runs in the gateway
# namespace with steering (inside0) and enforcement (outside0), configured with `user =` a test
# user this test creates (idempotently).  After set-up:
#   - every task (/proc/PID/task/*/status) has that uid and gid everywhere, CapEff, CapPrm,
#     CapInh and CapAmb of 0 and NoNewPrivs 1;
#   - the daemon holds only the BPF fds it needs (bpftool: tg_policy, its two tries, tg_listen,
#     tg_events, tg_relay; no tg_config, tg_flows, counters, exclusions, programs);
#   - its one child, the sock_diag helper (tlsgated-diag), is that user too with exactly
#     CAP_NET_ADMIN effective, permitted and bounding (nothing inheritable or ambient),
#     no_new_privs, holds no BPF fd and nothing but sockets and /dev/null, and from the
#     daemon's uid its memory cannot be read (/proc/PID/mem, /proc/PID/environ, ptrace);
#   - with kTLS (the vm tier) the session log's kernel= comes from the helper: "tx=sw rx=sw",
#     not "unknown (needs CAP_NET_ADMIN)";
#   - a mail from an inside host to an MX address is steered, relayed with TLS to a real Postfix
#     and stored byte-identical; the enforcer knew the relay's flow as the relay's (tg_relay,
#     registered unprivileged: no SO_MARK);
#   - a plaintext bypass from an excluded inside host to an encrypt MX is still cut at MAIL FROM
#     (the MX never sees the sender), and `tlsgatectl monitor` gets the drop event from the
#     unprivileged daemon;
#   - a gateway socket of the same unprivileged user is treated as the relay only when it was
#     registered in tg_relay;
#   - `tlsgatectl policy add` rewrites the policy file (now the user's) and the kernel's policy
#     (no map is created: CAP_BPF is gone), and SIGHUP reloads it;
#   - after a kill -9 of the daemon its helper exits too; the restarted daemon drops again, relays, answers tlsgatectl and swaps;
#   - a user that does not exist, relay_mark together with a user, or a run_dir that is neither
#     new, empty nor the user's, is a start-up error.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

command -v swaks >/dev/null || bail "swaks not installed (make deps)"
command -v jq >/dev/null || bail "jq not installed (make deps)"
command -v bpftool >/dev/null || bail "bpftool not installed (make deps)"
if ! command -v useradd >/dev/null; then
	echo "1..0 # SKIP useradd not available: cannot create the test user"
	exit 0
fi
user=tlsgate-e2e
# idempotent, and left in place (a system user without home or shell) for the next run
getent passwd "$user" >/dev/null ||
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$user" || bail "cannot create user $user"
helper=$TG_BUILD/tests/e2e/helper_bpf_gate
uid=$(id -u "$user")
gid=$(id -g "$user")

tg_topology
tg_mx_addrs
tg_pki
tg_pindir privdrop
pins=$TG_PINDIR/tlsgate
ip -n "$NS_IN" addr add 192.0.2.11/24 dev eth0 # excluded from steering
pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
pf_mx plain "$NS_OUT" 203.0.113.26 notls
tg_fake_mx later 203.0.113.27 ok
# The policy where the package puts it: a directory the daemon's user may write in (sticky,
# so that it can replace only its own files), a file root's until the daemon takes it.
etc=$TG_WORK/etc
mkdir -p "$etc"
chown "root:$gid" "$etc"
chmod 1775 "$etc"
cat > "$etc/policy" <<EOP
203.0.113.25	verify match=mx1.example.net
203.0.113.26	encrypt
EOP
chmod 644 "$etc/policy"

gwns() { # the machine's bpffs stays visible (see tg_gw_bpf)
	nsenter --net="/run/netns/$NS_GW" "$@"
}
stats() {
	gwns "$TG_BIN/tlsgatectl" --pin-dir "$pins" -j stats | jq -r "$1"
}
ctl() {
	gwns "$TG_BIN/tlsgatectl" --run-dir "$TG_WORK/gw" "$@"
}
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach -o 'bpf_pin_dir=$pins'"
start_gw() {
	tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o "user=$user" \
		-o "outbound_listen=127.0.0.1:10025 [::1]:10025" -o outbound_transparent=yes \
		-o inside_interfaces=inside0 -o outside_interfaces=outside0 -o "bpf_pin_dir=$pins" \
		-o steer_exclude=192.0.2.11/32 -o "outbound_policy=$etc/policy" -o resolve=no
	gwpid=$TG_BG_PID
}
start_gw
# at exit: the daemon then running (section 7 kills the first one on purpose)
tg_on_exit 'tg_report_daemon gw $gwpid'

log=$TG_WORK/gw.log

# 1. who the daemon is now
grep -q "privileges dropped user=$user uid=$uid gid=$gid capabilities=none" "$log"
ok $? "the daemon logs the drop to $user ($uid:$gid)"
ntask=0
bad=""
for st in /proc/"$gwpid"/task/*/status; do
	ntask=$((ntask + 1))
	tid=$(basename "$(dirname "$st")")
	diag "task $tid: $(grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "$st" | tr '\t\n' ' ')"
	awk -v u="$uid" -v g="$gid" '
		/^Uid:/ { ok += ($2 == u && $3 == u && $4 == u && $5 == u) }
		/^Gid:/ { ok += ($2 == g && $3 == g && $4 == g && $5 == g) }
		/^Groups:/ { ok += (NF == 1 || (NF == 2 && $2 == g)) }
		/^Cap(Inh|Prm|Eff|Amb):/ { ok += ($2 == "0000000000000000") }
		/^NoNewPrivs:/ { ok += ($2 == 1) }
		END { exit ok != 8 }' "$st" || bad="$bad $tid"
done
[ "$ntask" -ge 2 ] && [ -z "$bad" ]
ok $? "all $ntask tasks (main + worker): uid/gid $uid/$gid, no capabilities, no_new_privs${bad:+ (not:$bad)}"

# 2. the BPF fds it still holds
# (fdinfo of a BPF map fd names its id; bpftool the id's name)
held=$(awk '/^map_id:/ { print $2 }' /proc/"$gwpid"/fdinfo/* 2>/dev/null | while read -r id; do
	bpftool -j map show id "$id" | jq -r .name
done | sort | tr '\n' ' ')
diag "maps held by the daemon: $held"
# (tg_config: each policy swap adds the ports of [host]:port rules to the policed set)
is "$held" "tg_config tg_events tg_listen tg_policy tg_policy_trie tg_policy_trie tg_relay " \
	"the daemon holds only tg_policy + 2 tries, tg_config, tg_listen, tg_events, tg_relay"
is "$(cat /proc/"$gwpid"/fdinfo/* 2>/dev/null | grep -c '^prog_id:')" 0 "... and no program"
[ "$(stat -c %U "$TG_WORK/gw")" = "$user" ] && [ -s "$TG_WORK/gw/ctl" ]
ok $? "run_dir is the user's (and holds the control runfile)"
[ "$(stat -c %U:%G "$etc/policy")" = "$user:$user" ]
ok $? "the policy file is the user's (tlsgatectl policy edits)"

# 2b. the sock_diag helper: the daemon's only child, CAP_NET_ADMIN and nothing else
helper_of() { # the daemon's tlsgated-diag child
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$c"/comm 2>/dev/null)" = tlsgated-diag ] && echo "$c"
	done
}
hp=$(helper_of "$gwpid")
[ -n "$hp" ] && grep -q "diag helper pid=$hp user=$user capabilities=cap_net_admin" "$log"
ok $? "the daemon started its sock_diag helper (pid ${hp:-none}) as $user"
hp=${hp:-0}
diag "helper: $(grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/"$hp"/status 2>/dev/null | tr '\t\n' '  ')"
awk -v u="$uid" -v g="$gid" '
	/^Uid:/ { ok += ($2 == u && $3 == u && $4 == u && $5 == u) }
	/^Gid:/ { ok += ($2 == g && $3 == g && $4 == g && $5 == g) }
	/^Cap(Eff|Prm|Bnd):/ { ok += ($2 == "0000000000001000") }
	/^Cap(Inh|Amb):/ { ok += ($2 == "0000000000000000") }
	/^NoNewPrivs:/ { ok += ($2 == 1) }
	END { exit ok != 8 }' /proc/"$hp"/status 2>/dev/null
ok $? "helper: uid/gid $uid/$gid, CapEff = CapPrm = CapBnd = CAP_NET_ADMIN only, no inheritable or ambient, no_new_privs"
is "$(cat /proc/"$hp"/fdinfo/* 2>/dev/null | grep -c -E '^(map|prog|link)_id:')" 0 \
	"helper: no BPF map, program or link"
is "$(for f in /proc/"$hp"/fd/*; do readlink "$f"; done 2>/dev/null | grep -v -E '^(socket:|/dev/null$)' | wc -l)" 0 \
	"helper: only sockets (its channels, sock_diag) and /dev/null"
asuser() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }
# (open only: reading /proc/PID/mem at offset 0 fails anyway)
! asuser sh -c "exec 3< /proc/$hp/mem" 2>/dev/null &&
	! asuser sh -c "exec 3< /proc/$hp/environ" 2>/dev/null
ok $? "as $user: /proc/$hp/mem and environ cannot be opened"
! asuser timeout 10 gdb -batch -nx -p "$hp" -ex 'info registers rip' 2>&1 | grep -q '^rip'
ok $? "as $user: ptrace (gdb -p) cannot attach to the helper"
kill -0 "$hp"
ok $? "the helper is still running"

# 3. the relay: steered, TLS, delivered; the enforcer saw the relay's own flow
relay0=$(stats '.global.flows.relay')
tg_msg "$TG_WORK/m1" 4
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --from sender@example.org \
	--to alice@example.net --data "@$TG_WORK/m1.swaks" > "$TG_WORK/s1" 2>&1
ok $? "inside client -> 203.0.113.25:25 delivered" || {
	sed 's/^/# swaks: /' "$TG_WORK/s1" | tail -n 15
	sed 's/^/# tlsgated: /' "$log" | tail -n 25
}
grep -q "session=.* start role=outbound client=192.0.2.10:[0-9]* dest=203.0.113.25\[203.0.113.25\]:25 .*level=verify" "$log"
ok $? "steered to the unprivileged daemon, original destination kept"
pf_wait_mail mx1 alice@example.net 1 30 &&
	tg_same_message "$TG_WORK/m1" "$(pf_mails mx1 alice@example.net | tail -n 1)" &&
	grep -q "using TLSv1.3" "$(pf_mails mx1 alice@example.net | tail -n 1)"
ok $? "stored byte-identical at the MX, received with TLS"
[ "$(stats '.global.flows.relay')" -gt "$relay0" ]
ok $? "the enforcer counted the relay's connection as the relay's (tg_relay, no SO_MARK)"
! grep -q "bpf relay register" "$log"
ok $? "no registration failure logged"
# what the kernel runs the leg on: the ULP nest of sock_diag needs CAP_NET_ADMIN, which the
# workers lack; the helper asks for them.  Only where the leg is in the kernel (the vm tier).
# With the TLS session cache (the default) TLS 1.3 RX moves to the kernel after the first reply
# inside TLS, and the line that says so carries the kernel's word; else the "established" line,
# or the "reused" one when the session took a connection an earlier one left (the default).
est=$(grep -E "TLS (connection (established|reused) )?to 203.0.113.25" "$log" | tail -n 1)
diag "$est"
if grep -q 'ktls="tx=kernel' <<<"$est"; then
	grep -q 'kernel="tx=sw rx=sw"' <<<"$est"
	ok $? "kTLS leg: kernel=\"tx=sw rx=sw\" from the helper (not unknown)"
elif [ "${TLSGATE_REQUIRE_KTLS:-0}" = 1 ]; then
	ok 1 "kTLS leg expected (TLSGATE_REQUIRE_KTLS=1)"
else
	skip "no kTLS on this kernel: the leg is in userspace" "kTLS leg: kernel= from the helper"
fi

# 4. the enforcer still cuts a plaintext bypass; the event reaches tlsgatectl monitor
ip netns exec "$NS_GW" timeout 20 "$TG_BIN/tlsgatectl" --run-dir "$TG_WORK/gw" monitor \
	> "$TG_WORK/mon" 2>&1 &
monpid=$!
tg_on_exit "kill $monpid 2>/dev/null"
for ((i = 0; i < 100; i++)); do # readiness: a USERSOCK socket joined a group (see test_ctl_daemon)
	ip netns exec "$NS_GW" awk '$2 == 2 && $4 != "00000000" { f = 1 } END { exit !f }' \
		/proc/net/netlink && break
	sleep 0.1
done
ip netns exec "$NS_IN" swaks --server 203.0.113.26 --local-interface 192.0.2.11 \
	--from bypass@example.org --to erin@example.net --timeout 6 > "$TG_WORK/s2" 2>&1
st=$?
[ $st != 0 ] && ! grep -q "^<-  250 2.1.0" "$TG_WORK/s2"
ok $? "excluded host, plaintext to the encrypt MX: MAIL FROM never answered"
! pf_log plain | grep -q "bypass@example.org" && [ -z "$(pf_mails plain erin@example.net)" ]
ok $? "... the MX never saw the sender"
for ((i = 0; i < 50; i++)); do grep -q "drop.*203.0.113.26" "$TG_WORK/mon" && break; sleep 0.1; done
grep -q "enforce drop .*reason=plaintext-mail.*client=192.0.2.11" "$log" &&
	grep -q "drop.*203.0.113.26" "$TG_WORK/mon"
ok $? "the unprivileged daemon logged the drop and published it to tlsgatectl monitor" || {
	diag "monitor: $(tail -n 5 "$TG_WORK/mon")"
	diag "log: $(grep -E 'enforce|drop' "$log" | tail -n 5)"
}
kill "$monpid" 2>/dev/null

# 5. tg_relay, not the uid, makes a flow the relay's
"$helper" smtp "$NS_GW" 203.0.113.25 "relay:$pins:$uid" relay@example.org bob@example.net \
	> "$TG_WORK/h1" 2>&1
ok $? "a socket $user registered in tg_relay (without capabilities) passes in plaintext"
pf_wait_mail mx1 bob@example.net 1 30
ok $? "... and is delivered"
"$helper" smtp "$NS_GW" 203.0.113.25 "uid:$uid" other@example.org bob@example.net \
	> "$TG_WORK/h2" 2>&1
ok $((!$?)) "the same user's unregistered socket: plaintext MAIL FROM dropped"
! pf_log mx1 | grep -q "other@example.org"
ok $? "... the MX never saw it"

# 6. policy edits and reloads, unprivileged
ip netns exec "$NS_IN" swaks --server 203.0.113.27 --local-interface 192.0.2.11 \
	--from before@example.org --to x@example.net > "$TG_WORK/s3" 2>&1
ok $? "203.0.113.27 has no rule yet: plaintext from the excluded host passes"
ctl policy add outbound 203.0.113.27 encrypt > "$TG_WORK/add" 2>&1
ok $? "tlsgatectl policy add outbound 203.0.113.27 encrypt ($(cat "$TG_WORK/add"))"
grep -q "^203.0.113.27[[:space:]]*encrypt" "$etc/policy" &&
	[ "$(stat -c %U "$etc/policy")" = "$user" ]
ok $? "the daemon rewrote its policy file"
n=$(ls "$TG_WORK/later" | grep -c '^msg')
ip netns exec "$NS_IN" swaks --server 203.0.113.27 --local-interface 192.0.2.11 \
	--from after@example.org --to x@example.net --timeout 6 > "$TG_WORK/s4" 2>&1
[ $? != 0 ] && [ "$(ls "$TG_WORK/later" | grep -c '^msg')" = "$n" ]
ok $? "... and the kernel's: the same plaintext is now cut (policy swapped without CAP_BPF)"
kill -HUP "$gwpid"
for ((i = 0; i < 50; i++)); do grep -q "reload: policy .* loaded" "$log" && break; sleep 0.1; done
grep -q "reload: policy outbound=$etc/policy .*loaded (policy reloaded: 3 outbound" "$log" &&
	grep -q "need a restart" "$log"
ok $? "SIGHUP: the user reads the policy again (3 rules) and says what needs a restart"
ip netns exec "$NS_IN" swaks --server 203.0.113.27 --local-interface 192.0.2.11 \
	--from again@example.org --to x@example.net --timeout 6 > "$TG_WORK/s5" 2>&1
[ $? != 0 ] && [ "$(ls "$TG_WORK/later" | grep -c '^msg')" = "$n" ]
ok $? "after the reload (the other trie, emptied and refilled) the rule still holds"
ctl policy del outbound 203.0.113.27 > /dev/null 2>&1 &&
	ip netns exec "$NS_IN" swaks --server 203.0.113.27 --local-interface 192.0.2.11 \
		--from gone@example.org --to x@example.net > "$TG_WORK/s6" 2>&1
ok $? "policy del: plaintext to 203.0.113.27 passes again (third swap)"
kill -0 "$gwpid"
ok $? "the daemon is still running"
! grep -qE "bpf policy replace .*err=|policy update failed" "$log"
ok $? "no policy update failed"

# 7. a restart after a crash (pins with the last policy, run_dir with a stale runfile, all
# the user's now) comes up unprivileged again, relays, and swaps policies
kill -9 "$gwpid"
wait "$gwpid" 2>/dev/null
for ((i = 0; i < 100; i++)); do # gone, or a zombie nobody reaped yet
	[ ! -e /proc/"$hp" ] || grep -q '^State:[[:space:]]*Z' /proc/"$hp"/status 2>/dev/null && break
	sleep 0.1
done
[ "$hp" != 0 ] && { [ ! -e /proc/"$hp" ] || grep -q '^State:[[:space:]]*Z' /proc/"$hp"/status; }
ok $? "kill -9 of the daemon: its helper exits too (EOF on its channels, PR_SET_PDEATHSIG)"
start_gw
is "$(grep -c "privileges dropped user=$user" "$log")" 2 "restarted, dropped again"
[ -n "$(helper_of "$gwpid")" ]
ok $? "... with a new helper"
ip netns exec "$NS_IN" swaks --server 203.0.113.25 --from sender@example.org \
	--to carol@example.net > "$TG_WORK/s7" 2>&1 && pf_wait_mail mx1 carol@example.net 1 30
ok $? "relayed after the restart"
ctl policy add outbound 203.0.113.27 encrypt > "$TG_WORK/add2" 2>&1 &&
	! ip netns exec "$NS_IN" swaks --server 203.0.113.27 --local-interface 192.0.2.11 \
		--from restarted@example.org --to x@example.net --timeout 6 > "$TG_WORK/s8" 2>&1 &&
	[ "$(ls "$TG_WORK/later" | grep -c '^msg')" = "$((n + 1))" ]
ok $? "tlsgatectl answers the restarted daemon; its policy add reaches the kernel"

# 8. a drop that cannot happen is an error, never a silent run as root
"$TG_BIN/tlsgated" --check-config -o outbound_listen=127.0.0.1:1 -o user=no-such-user-tg \
	> "$TG_WORK/c1" 2>&1
[ $? != 0 ] && grep -q "privileges user=no-such-user-tg error=\"no such user\"" "$TG_WORK/c1"
ok $? "user = a missing user: start-up error"
"$TG_BIN/tlsgated" --check-config -o outbound_listen=127.0.0.1:1 -o "user=$user" \
	-o relay_mark=0x100 > "$TG_WORK/c2" 2>&1
[ $? != 0 ] && grep -q "relay_mark = 0x100 needs CAP_NET_ADMIN" "$TG_WORK/c2"
ok $? "relay_mark with a user: start-up error"

# run_dir = a directory that is not the daemon's (think /run): refused, not handed over
mkdir -p "$TG_WORK/foreign"
touch "$TG_WORK/foreign/keep"
ip netns exec "$NS_GW" timeout 20 "$TG_BIN/tlsgated" -f -o workers=1 -o "user=$user" \
	-o outbound_listen=192.0.2.1:10026 -o "tls_ca_file=$TG_PKI/ca.crt" \
	-o "run_dir=$TG_WORK/foreign" -o "state_dir=$TG_WORK/foreign" > "$TG_WORK/c3" 2>&1
[ $? = 1 ] && grep -q "run_dir=$TG_WORK/foreign is owned by uid 0, not by user=$user, and not empty" \
	"$TG_WORK/c3" && [ "$(stat -c %U "$TG_WORK/foreign")" = root ]
ok $? "a run_dir that is someone else's and not empty: start-up error, ownership unchanged"

tap_done
