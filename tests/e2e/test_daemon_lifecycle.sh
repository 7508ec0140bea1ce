#!/bin/bash
# e2e: tlsgated as a daemon among real MTAs.  A real Postfix as the inside client relays through
# it; a policy reload (SIGHUP) takes effect for new sessions and a bad table never replaces a
# good one; SIGTERM lets a session in progress finish before the process exits.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
pf_mx mx1 "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
printf '203.0.113.25 verify match=mx1.example.net\n' > "$TG_WORK/policy"
tg_gw gw 2801 -o outbound_forward=203.0.113.25:25 -o outbound_forward_host=mx1.example.net \
	-o "outbound_policy=$TG_WORK/policy" -o shutdown_timeout=20s
gwpid=$TG_GW_PID_gw

# 1. a real Postfix as the inside MTA, relaying through tlsgated
pf_client inside "$NS_IN" 192.0.2.1:2801
tg_msg "$TG_WORK/m1" 8
pf_sendmail inside sender@example.org alice@example.net < "$TG_WORK/m1"
ok $? "submitted to the inside Postfix"
pf_wait_mail mx1 alice@example.net 1 60
ok $? "the inside Postfix relayed it through tlsgated to the MX"
stored=$(pf_mails mx1 alice@example.net | tail -n 1)
grep -q "(using TLSv1.3 with cipher" "$stored" &&
	pf_log inside | grep -q "relay=192.0.2.1\[192.0.2.1\]:2801.*status=sent"
ok $? "the inside Postfix logged status=sent via the gateway; the MX hop was TLS"
# Postfix adds its own Received/Return-Path: compare the body we wrote
diff <(sed -n '/^\r*$/,$p' "$TG_WORK/m1" | tr -d '\r') <(sed -n '/^$/,$p' "$stored") >/dev/null
ok $? "the body arrived byte-identical"

# 2. reload: a stricter policy applies to new sessions; a broken table is refused
printf '203.0.113.25 secure match=other.example.net\n' > "$TG_WORK/policy"
kill -HUP "$gwpid"
for i in $(seq 100); do tg_gw_log gw | grep -q "reload: policy" && break; sleep 0.1; done
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2801 --from sender@example.org \
	--to bob@example.net > "$TG_WORK/s2" 2>&1
grep -q "^<\*\* 421 4.7.5 .*Server certificate not verified" "$TG_WORK/s2"
ok $? "after SIGHUP the new rule (secure, other name) refuses the MX"
printf '203.0.113.25 encrpyt\n' > "$TG_WORK/policy"
kill -HUP "$gwpid"
for i in $(seq 100); do tg_gw_log gw | grep -q "reload: keeping the current policy" && break; sleep 0.1; done
tg_gw_log gw | grep -q "policy: .*policy:1:.*unknown security level 'encrpyt'"
ok $? "a broken table is reported with file:line and the level it did not know"
ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2801 --from sender@example.org \
	--to bob@example.net > "$TG_WORK/s3" 2>&1
grep -q "^<\*\* 421 4.7.5" "$TG_WORK/s3"
ok $? "... and the good policy stays in force"

# 3. SIGTERM with a session in progress: it finishes, then the process exits
printf '203.0.113.25 verify match=mx1.example.net\n' > "$TG_WORK/policy"
kill -HUP "$gwpid"
for i in $(seq 100); do [ "$(tg_gw_log gw | grep -c 'reload: policy')" -ge 3 ] && break; sleep 0.1; done
coproc CLI { ip netns exec "$NS_IN" "$TG_BIN/tests/e2e/helper_smtp_client" 192.0.2.1 2801; }
clipid=$CLI_PID # bash unsets CLI_PID when the coprocess ends
echo "expect 220" >&"${CLI[1]}"
echo 'send EHLO client.example.org\r\n' >&"${CLI[1]}"
echo "expect 250" >&"${CLI[1]}"
read -r line <&"${CLI[0]}"   # the greeting has arrived: the session is established
kill -TERM "$gwpid"
for i in $(seq 100); do tg_gw_log gw | grep -q "signal 15: stopping" && break; sleep 0.1; done
! ip netns exec "$NS_GW" ss -Hltn "sport = :2801" | grep -q .
ok $? "after SIGTERM tlsgated stops listening"
kill -0 "$gwpid" 2>/dev/null
ok $? "... but stays up while a session is open"
cat >&"${CLI[1]}" <<EOS
send MAIL FROM:<sender@example.org>\r\n
expect 250
send RCPT TO:<carol@example.net>\r\n
expect 250
send DATA\r\n
expect 354
send Subject: during shutdown\r\n\r\nstill delivered\r\n.\r\n
expect 250
send QUIT\r\n
expect 221
EOS
[ -n "${CLI[1]:-}" ] && exec {CLI[1]}>&-
wait "$clipid"
ok $? "the open session completes its message during shutdown"
pf_wait_mail mx1 carol@example.net 1 30
ok $? "and the MX has it"
for i in $(seq 100); do kill -0 "$gwpid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$gwpid" 2>/dev/null && tg_gw_log gw | grep -q "tlsgated stopped"
ok $? "tlsgated exits once the session is done"

tap_done
