#!/bin/bash
# e2e: the real tlsgatectl against the real control server (tests/e2e/helper_ctld: control_server
# with an in-memory ops table), in a network namespace of its own (NETLINK_USERSOCK ports and
# groups are per namespace, so concurrent runs cannot meet).  Covers: the daemon-not-running and
# stale messages, status, policy add/show/del/import/check, sessions, monitor receiving a
# published event, refusals for an unprivileged user (and reads for a group member), prefixes,
# typos, and -j output that jq accepts.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"

ctl_bin=$TG_BUILD/tlsgatectl
helper=$TG_BUILD/tests/e2e/helper_ctld
[ -x "$ctl_bin" ] || bail "$ctl_bin not built"
[ -x "$helper" ] || bail "$helper not built"
command -v jq >/dev/null || bail "jq not installed (make deps)"
command -v setpriv >/dev/null || bail "setpriv not installed (util-linux)"
getent passwd nobody >/dev/null || bail "no user nobody"
# The read group for the unprivileged checks: gid 100 ("users" on Debian), which nobody lacks.
group=$(getent group 100 | cut -d: -f1)
[ -n "$group" ] || bail "no group with gid 100"

NS="tg-ctl-$TG_ID"
tg_netns_add "$NS"
rd=$(mktemp -d /tmp/tg-ctl-e2e.XXXXXX)
chmod 755 "$rd"	# unprivileged tlsgatectl must read RUNDIR/ctl
tg_on_exit "rm -rf '$rd'"

ctl() { ip netns exec "$NS" "$ctl_bin" --run-dir "$rd" --timeout 5 "$@"; }
nobody() { ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$ctl_bin" --run-dir "$rd" --timeout 5 "$@"; }
member() { ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --groups="$group" \
	"$ctl_bin" --run-dir "$rd" --timeout 5 "$@"; }

# --- no daemon yet ---
out=$(ctl status 2>&1)
rc=$?
is "$rc" 1 "status without a daemon fails"
is "$out" "tlsgatectl: tlsgated is not running (no $rd/ctl)" "...and says the daemon is not running"

# policy check is offline (like nginx -t): no daemon needed, every error and warning listed,
# -j too.  Entries Postfix reads differently are warnings (the table loads); what only tlsgate
# reads (an address key) is an error that refuses the table.
printf 'a.example encrypt\n  cont\nb.example sometimes\nc.example may\nc.example encrypt\n192.0.2.0/33 encrypt\n' \
	> "$rd/bad0"
out=$(ctl policy check outbound "$rd/bad0" 2>&1)
is "$?/$out" "1/tlsgatectl: policy check: warning: $rd/bad0:2:3: malformed attribute 'cont' (expected name=value); entry refused: mail to 'a.example' is deferred (4xx) until it is fixed
tlsgatectl: policy check: warning: $rd/bad0:3:11: unknown security level 'sometimes' (expected none, may, encrypt, fingerprint, verify, secure); entry refused: mail to 'b.example' is deferred (4xx) until it is fixed
tlsgatectl: policy check: $rd/bad0:6:11: invalid prefix length '33' (expected 0-32)
tlsgatectl: policy check: warning: $rd/bad0:5:1: duplicate key 'c.example' ignored (the entry at line 4 applies, as in Postfix)
tlsgatectl: policy check: $rd/bad0: 1 error, 3 warnings" \
	"policy check without a daemon: every error and warning with file:line:col, then a count; exit 1"
out=$(ctl -j policy check "$rd/bad0")
is "$?/$(echo "$out" | jq -r '.result, (.diagnostics | length), .errors, .warnings')" "1/error
4
1
3" "policy check -j: the diagnostics as a list"
out=$(printf '192.0.2.0/24 encrypt\n' | ctl policy check inbound -)
is "$?/$out" "0/-: 1 rules, no errors, 0 warnings" "policy check inbound of stdin without a daemon"

# --- start the test daemon; its stdin/stdout are fifos for publish commands ---
mkfifo "$rd/cmd" "$rd/ans"
exec 7<>"$rd/cmd" 8<>"$rd/ans"	# read-write opens do not wait for the other end
# (not tg_bg: a background job's stdin is /dev/null unless redirected on the job itself)
ip netns exec "$NS" "$helper" "$rd" --group "$group" <&7 >&8 2>"$rd/log" &
helper_pid=$!
tg_on_exit "kill $helper_pid; wait $helper_pid"
read -r -t 10 ready <&8
case $ready in "ready port="*) ok 0 "helper_ctld up: $ready" ;; *) bail "helper did not start: $(cat "$rd/log")" ;; esac
helper_cmd() { echo "$*" >&7 && read -r -t 10 ans <&8 && [ "$ans" = ok ]; }

# --- status ---
out=$(ctl status)
ok $? "status answers"
echo "$out" | grep -q "^tlsgated 0.1.0-helper pid [0-9]* up " ; ok $? "status: version, pid, uptime"
echo "$out" | grep -Eq "^ktls: (available|unavailable \(kernel has no tls ULP\))$"
ok $? "status: kTLS support line ($(echo "$out" | grep ^ktls:))"
is "$(echo "$out" | grep -c "^    TLSv1\.[23] ")" 6 "status: per-cipher availability (2 versions x 3 ciphers)"
echo "$out" | grep -q "^sessions: 3 active" ; ok $? "status: sessions"
is "$(ctl -j status | jq -r '.sessions.active, .ktls.ciphers[0].cipher, .listeners[0].role')" \
	"$(printf '3\naes-128-gcm\noutbound-transparent')" "status -j: valid JSON with the fields"

# --- prefixes and typos ---
ctl pol sh >/dev/null ; ok $? "prefixes: 'pol sh' is policy show"
ctl sess ls >/dev/null ; ok $? "prefixes: 'sess ls' is session list"
out=$(ctl s 2>&1)
is "$?/$out" "2/tlsgatectl: ambiguous object 's'; it could be session status stats sts" \
	"an ambiguous prefix is refused with the candidates"
out=$(ctl polcy show 2>&1)
rc=$?
is "$rc" 2 "a misspelt object exits 2"
echo "$out" | grep -q "unknown object 'polcy'; try policy session monitor" ; ok $? "...naming the objects"
out=$(ctl policy shw 2>&1)
rc=$?
is "$rc" 2 "a misspelt command exits 2"
echo "$out" | grep -q "unknown policy command 'shw'; try show" ; ok $? "...naming the commands"
echo "$out" | grep -q "^Usage: tlsgatectl policy show" ; ok $? "...with the usage"

# --- policy add / show / del ---
out=$(ctl policy add example.org encrypt 'protocols=>=TLSv1.2')
ok $? "policy add example.org encrypt protocols=>=TLSv1.2"
is "$out" "$(printf 'example.org encrypt protocols=>=TLSv1.2\t# id 16 outbound policy add:1')" \
	"policy add prints the rule with its id"
ctl policy add .example.net verify match=.example.net:example.net >/dev/null
ctl policy add inbound 198.51.100.0/24 encrypt >/dev/null
out=$(ctl policy show)
is "$(echo "$out" | cut -f1)" "$(printf '%s\n' 'example.org encrypt protocols=>=TLSv1.2' \
	'.example.net verify match=.example.net:example.net' '198.51.100.0/24 encrypt')" \
	"policy show lists the rules as policy lines"
is "$(ctl policy show inbound | cut -f1)" "198.51.100.0/24 encrypt" "policy show inbound"
is "$(ctl -j policy show | jq -c '[.[] | [.id, .dir, .key, .level]]')" \
	'[[16,"outbound","example.org","encrypt"],[17,"outbound",".example.net","verify"],[18,"inbound","198.51.100.0/24","encrypt"]]' \
	"policy show -j"
is "$(ctl -j policy show | jq -c '.[1].match')" '[".example.net","example.net"]' \
	"policy show -j: match patterns as a list"
out=$(ctl policy add example.org encrpyt 2>&1)
is "$?/$out" \
	"1/tlsgatectl: policy add: policy add:1:13: unknown security level 'encrpyt' (expected none, may, encrypt, fingerprint, verify, secure)" \
	"a bad line is refused with the daemon's file:line:col message"
out=$(ctl policy add example.org may 2>&1)
is "$?/$out" "1/tlsgatectl: policy add: example.org already has a rule (id 16): del it first" \
	"policy add of an existing key is refused"
out=$(ctl policy del example.org)
is "$?/$out" "0/deleted rule 16 (example.org)" "policy del"
out=$(ctl policy del example.org 2>&1)
is "$?/$out" "1/tlsgatectl: policy del: no outbound rule for key example.org" \
	"policy del of a missing key fails, saying so"

# --- import / check ---
tbl=$rd/tls_policy
for i in $(seq 1 40); do echo "d$i.example.org encrypt protocols=>=TLSv1.2"; done > "$tbl"
out=$(ctl policy import "$tbl")
is "$?/$out" "0/imported 40 outbound rules from $tbl" "policy import of 40 rules"
is "$(ctl policy show outbound | wc -l)" 40 "policy show: the imported table replaced the rules"
ctl policy show outbound | cut -f1 > "$rd/shown"
ctl policy import "$rd/shown" >/dev/null
is "$(ctl policy show outbound | cut -f1)" "$(cat "$rd/shown")" \
	"policy show output imports back to the same rules"
printf 'a.example encrypt\nb.example may\n192.0.2.0/33 secure\n' > "$rd/bad"
out=$(ctl policy check "$rd/bad" 2>&1)
is "$?/$out" "1/tlsgatectl: policy check: $rd/bad:3:11: invalid prefix length '33' (expected 0-32)
tlsgatectl: policy check: $rd/bad: 1 error, 0 warnings" "policy check reports file:line:col"
# (the import goes to helper_ctld, whose small parser refuses unknown attributes)
printf 'a.example encrypt\nb.example may\nc.example secure bogus=1\n' > "$rd/badimp"
out=$(ctl policy import "$rd/badimp" 2>&1)
rc=$?
is "$rc" 1 "policy import of a bad file fails"
is "$(ctl policy show outbound | wc -l)" 40 "...and changes nothing (all or nothing)"
out=$(ctl policy check "$tbl")
is "$?/$out" "0/$tbl: 40 rules, no errors, 0 warnings" "policy check of a good file"
out=$(ctl policy import /nonexistent 2>&1)
is "$?/$out" "1/tlsgatectl: policy import: /nonexistent: No such file or directory" \
	"policy import of a missing file"

# --- sessions ---
out=$(ctl session list)
is "$(echo "$out" | wc -l)" 4 "session list: a header and 3 sessions"
echo "$out" | grep -Eq "^2 +outbound +192\.0\.2\.11:41001 +mx2\.example\.org\[203\.0\.113\.25\]:25 +relay +TLSv1\.3"
ok $? "session list: a row reads like ss (id, role, client, name[ip]:port, state, TLS)"
ctl -s session list | head -1 | grep -q "Bytes-c2s" ; ok $? "-s session list adds byte counts"
ctl session show 2 | grep -q "^  destination  mx2.example.org\[203.0.113.25\]:25$"
ok $? "session show 2"
out=$(ctl session show 99 2>&1)
is "$?/$out" "1/tlsgatectl: session show: no session 99" "session show of a missing id"

# --- monitor ---
# Readiness: the monitor's netlink socket shows up in /proc/net/netlink with a group bit set.
monitor_joined() { # PID
	local inodes
	inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p')
	[ -n "$inodes" ] || return 1
	ip netns exec "$NS" awk -v list=" $(echo $inodes) " \
		'$2 == 2 && $4 != "00000000" && index(list, " " $10 " ") { f = 1 } END { exit !f }' \
		/proc/net/netlink
}
wait_for() { # FILE PATTERN
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# (not through ctl(): $! must be tlsgatectl itself, which `ip netns exec` becomes)
ip netns exec "$NS" "$ctl_bin" --run-dir "$rd" monitor > "$rd/mon" 2>&1 &
mon=$!
tg_on_exit "kill $mon"
ip netns exec "$NS" "$ctl_bin" --run-dir "$rd" -j monitor > "$rd/monj" 2>&1 &
monj=$!
tg_on_exit "kill $monj"
for ((i = 0; i < 100; i++)); do monitor_joined $mon && monitor_joined $monj && break; sleep 0.05; done
monitor_joined $mon ; ok $? "monitor joined the event group"
helper_cmd publish session-start 1 ; ok $? "the daemon published a session-start event"
wait_for "$rd/mon" "session-start session 1 outbound 192.0.2.10:41000 -> mx1.example.org\[203.0.113.25\]:25"
ok $? "monitor printed it"
helper_cmd publish drop
wait_for "$rd/mon" "drop 192.0.2.10:41236 -> 203.0.113.25:25 rule 16 encrypt (plaintext-data)"
ok $? "monitor printed a drop event"
out=$(ctl session kill 3)
is "$?/$out" "0/session 3 ended (421 sent to the client)" "session kill 3"
wait_for "$rd/mon" "session-end session 3"
ok $? "monitor saw the session end"
is "$(ctl session list | wc -l)" 3 "the killed session is gone from the list"
wait_for "$rd/monj" '"session-end"'
is "$(jq -r .type < "$rd/monj" | tr '\n' ' ')" "session-start drop session-end " \
	"monitor -j: one valid JSON object per event"
out=$(nobody monitor 2>&1)
is "$?/$out" \
	"1/tlsgatectl: monitor: monitor needs root (CAP_NET_ADMIN): the kernel lets no one else join NETLINK_USERSOCK multicast groups" \
	"an unprivileged monitor is told why it cannot listen"

# --- who may do what ---
uid=$(id -u nobody)
out=$(nobody status 2>&1)
is "$?/$out" \
	"1/tlsgatectl: status: permission denied: status needs root or membership in group $group (request from uid $uid)" \
	"an unprivileged user may not read"
out=$(nobody policy add evil.example none 2>&1)
is "$?/$out" \
	"1/tlsgatectl: policy add: permission denied: policy add changes tlsgated and needs root (request from uid $uid)" \
	"an unprivileged user may not change policy"
member status >/dev/null ; ok $? "a member of group $group may read (status)"
is "$(member policy show outbound | wc -l)" 40 "a member may read (policy show)"
out=$(member policy del d1.example.org 2>&1)
rc=$?
is "$rc" 1 "a member may not change policy"
is "$(ctl policy show outbound | wc -l)" 40 "...and nothing changed"

# --- daemon-wide ---
out=$(ctl log level debug)
is "$?/$out" "0/log level: ok" "log level debug"
is "$(ctl log level)" debug "log level shows the level"
out=$(ctl reload)
is "$?/$out" "0/reload: reloaded: 41 rules" "reload"

# --- a list longer than one dump page ---
for i in $(seq 1 3000); do echo "host$i.example.com secure match=host$i.example.com"; done > "$tbl"
ctl policy import "$tbl" >/dev/null
out=$(ctl policy show outbound | cut -f1)
is "$(echo "$out" | wc -l)" 3000 "policy show of 3000 rules (several dump pages): all of them"
is "$out" "$(cat "$tbl")" "...each once, in order"
is "$(ctl -j policy show outbound | jq length)" 3000 "...and as JSON"
echo stats >&7
read -r -t 10 stats <&8
pages=$(echo "$stats" | sed -n 's/.* pages=\([0-9]*\).*/\1/p')
[ "${pages:-0}" -gt 10 ] ; ok $? "the daemon sent them in pages ($stats)"

# --- stale RUNDIR/ctl after a crash ---
kill -9 "$helper_pid"
wait "$helper_pid" 2>/dev/null
pid=$(sed -n 's/^pid=//p' "$rd/ctl")
out=$(ctl status 2>&1)
is "$?/$out" "1/tlsgatectl: tlsgated is not running (stale $rd/ctl: pid $pid gone)" \
	"a crashed daemon's RUNDIR/ctl is recognised as stale"
tap_done
