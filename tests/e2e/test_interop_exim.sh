#!/bin/bash
# e2e interop with Exim 4.96 (Debian's exim4-daemon-light, GnuTLS), unpacked beside Postfix by
# tests/lib/fetch-mta (issue 12, items 8-10).  Exim as the MX behind steering (TLS through
# GnuTLS, and plaintext), as the inside client, as the outside sender and as the inside next hop:
#   - delivered bytes identical, each MTA's own log says delivered once, no duplicates: Exim as
#     client pipelines QUIT after the end of data and half-closes; a client that misses the 250
#     defers and its retry stores a second copy (item 8);
#   - tlsgated never sends an EHLO beyond its own (one in plaintext, one inside TLS): the MX
#     logs every EHLO it is given with the connection's pid (item 9);
#   - the half-close reproduction against Exim on the plain and TLS legs and inbound.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
tg_private_bpffs "$@"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"
. "$(dirname "$0")/../lib/mta.sh"
mta_root_or_skip
. "$(dirname "$0")/../lib/exim.sh"

tg_topology
tg_mx_addrs
tg_pki
tg_pindir interop-exim
ip -n "$NS_IN" addr add 192.0.2.20/24 dev eth0
ex_mx mx "$NS_OUT" 203.0.113.25 tls "$TG_PKI/mx1.example.net"
ex_mx plain "$NS_OUT" 203.0.113.26 notls
EX_PORT=2525 ex_mx inside "$NS_IN" 192.0.2.20 notls
pf_mx pfmx "$NS_OUT" 203.0.113.27 tls "$TG_PKI/mx1.example.net"
cat > "$TG_WORK/policy" <<EOP
203.0.113.25	verify match=mx1.example.net
203.0.113.27	verify match=mx1.example.net
EOP
tg_on_exit "nsenter --net=/run/netns/$NS_GW '$TG_BIN/tlsgated' --detach \
	-o 'bpf_pin_dir=$TG_PINDIR/tlsgate'"
tg_gw_bpf gw 10025 -o "tls_ca_file=$TG_PKI/ca.crt" -o "outbound_listen=127.0.0.1:10025" \
	-o outbound_transparent=yes -o inside_interfaces=inside0 \
	-o "bpf_pin_dir=$TG_PINDIR/tlsgate" -o "outbound_policy=$TG_WORK/policy" -o resolve=no \
	-o inbound_listen=203.0.113.1:25 -o inbound_next_hop=192.0.2.20:2525 \
	-o "inbound_cert=$TG_PKI/gw.example.net.crt:$TG_PKI/gw.example.net.key"
tg_on_exit "tg_report_daemon gw $TG_BG_PID"

# The EHLO sequence each connection gave an Exim instance: "no yes" = one EHLO in plaintext,
# one inside TLS.  One line per connection (pid), oldest first.
ehlo_seqs() {
	ex_log "$1" | awk '/ helo name=/ {
		pid = $3; sub(/.*tls=/, ""); if (!(pid in s)) o[n++] = pid; s[pid] = s[pid] " " $0 }
		END { for (i = 0; i < n; i++) print substr(s[o[i]], 2) }'
}
# Every connection from the gateway had exactly the sequence WANT.
all_ehlo_seqs() { # exim-instance want
	local seqs
	seqs=$(ehlo_seqs "$1")
	[ -n "$seqs" ] && ! grep -qvx "$2" <<<"$seqs" && return 0
	diag "EHLOs per connection:"
	sed 's/^/#   /' <<<"$seqs"
	return 1
}
received_once() { # exim-instance rcpt: one "<=" for RCPT, nothing deferred or failed
	[ "$(ex_log "$1" | grep -c " <= .* for .*$2")" = 1 ] &&
		! ex_log "$1" | grep -qE " (==|\*\*) $2"
}
# The client's log: delivered (=>) once with the MX's final 250 (after BDAT LAST Exim logs the
# chunk's 250 line too: "250- 3509 byte chunk, ...\n250 OK id=..."), never deferred or failed.
sent_once() { # exim-client rcpt
	[ "$(ex_log "$1" | grep -cE " => $2 .*C=\"(.*\\\\n)?250 ")" = 1 ] &&
		! ex_log "$1" | grep -qE " (==|\*\*) $2"
}

tg_msg "$TG_WORK/m" 3

# 1. Exim as the inside client (manualroute to the MX's address, steered).  A message the
# client deferred is retried by the forced queue run (ex_queue_run).
# 1a. -> Exim MX with TLS, CHUNKING: BDAT n LAST + QUIT + SHUT_WR.  (An Exim MX that loses the
# connection after the end of data drops the message: no duplicate, but a deferral.)
ex_client exc "$NS_IN" 203.0.113.25:25
ex_send exc sender@example.org alice@example.net < "$TG_WORK/m"
ok $? "Exim client: submitted and delivered in the foreground"
sent_once exc alice@example.net
ok $? "Exim client -> Exim MX (BDAT): the client's log says delivered once with the MX's 250" ||
	ex_log exc | grep -E " (=>|==|\*\*) " | sed 's/^/# /'
ex_queue_run exc
ex_wait_mail mx alice@example.net 1 10 &&
	mta_same_message "$TG_WORK/m" "$(ex_mails mx alice@example.net | head -n 1)" 2
ok $? "Exim client -> Exim MX (BDAT): stored byte-identical"
is "$(ex_mails mx alice@example.net | wc -l)" 1 "Exim client -> Exim MX (BDAT): exactly one copy"
from_gw_tls=" <= sender@example.org H=\([^)]*\) \[203\.0\.113\.1\] .*P=esmtps X=TLS1\.3:"
received_once mx alice@example.net && ex_log mx | grep -qE "$from_gw_tls.* for alice@example.net"
ok $? "Exim client -> Exim MX (BDAT): the MX's log: received once, from tlsgated, TLS 1.3 (GnuTLS)"

# 1b. -> Postfix MX with TLS, DATA: . + QUIT + SHUT_WR.  Postfix stores the message whether or
# not its 250 reaches the client: a deferral here is a second copy after the retry.
EX_CHUNKING=no ex_client excd "$NS_IN" 203.0.113.27:25
ex_send excd sender@example.org frank@example.org < "$TG_WORK/m"
sent_once excd frank@example.org
ok $? "Exim client -> Postfix MX (DATA): the client's log says delivered once with the MX's 250" ||
	ex_log excd | grep -E " (=>|==|\*\*) " | sed 's/^/# /'
ex_queue_run excd
pf_wait_mail pfmx frank@example.org 1 10 && pf_wait_queue_empty pfmx 10 &&
	mta_same_message "$TG_WORK/m" "$(pf_mails pfmx frank@example.org | head -n 1)" 2
ok $? "Exim client -> Postfix MX (DATA): stored byte-identical"
is "$(pf_mails pfmx frank@example.org | wc -l)" 1 \
	"Exim client -> Postfix MX (DATA): exactly one copy, also after the client's retry"
is "$(pf_log pfmx | grep -c "to=<frank@example.org>.*status=sent")" 1 \
	"Exim client -> Postfix MX (DATA): the MX's log says delivered once"

# 2. Postfix as the inside client -> Exim MX with TLS
pf_client pfc "$NS_IN" 203.0.113.25:25
pf_sendmail pfc sender@example.org bob@example.net < "$TG_WORK/m"
ex_wait_mail mx bob@example.net 1 30 &&
	mta_same_message "$TG_WORK/m" "$(ex_mails mx bob@example.net | head -n 1)" 3
ok $? "Postfix client -> tlsgated -> Exim MX: stored byte-identical"
pf_wait_queue_empty pfc 30 && pf_log pfc | grep -q "to=<bob@example.net>.*status=sent (250 OK id="
ok $? "Postfix client's log: status=sent with the MX's 250"
is "$(ex_mails mx bob@example.net | wc -l)" 1 "exactly one copy"

# 3. item 9: the Exim MX saw one EHLO in plaintext and one inside TLS per connection, never the
# client's EHLO as a third
all_ehlo_seqs mx "no yes"
ok $? "Exim MX (TLS): every connection from tlsgated had one EHLO before STARTTLS, one after"

# 4. plaintext leg: Exim client -> Exim MX without STARTTLS
ex_client exp "$NS_IN" 203.0.113.26:25
ex_send exp sender@example.org carol@example.net < "$TG_WORK/m"
sent_once exp carol@example.net
ok $? "plaintext leg: the Exim client's log says delivered once, no deferral"
ex_queue_run exp
ex_wait_mail plain carol@example.net 1 10 &&
	mta_same_message "$TG_WORK/m" "$(ex_mails plain carol@example.net | head -n 1)" 2
ok $? "plaintext leg: stored byte-identical"
is "$(ex_mails plain carol@example.net | wc -l)" 1 \
	"plaintext leg: exactly one copy, also after a forced queue run"
received_once plain carol@example.net
ok $? "plaintext leg: the Exim MX's log says received once"
all_ehlo_seqs plain "no"
ok $? "Exim MX (plaintext): exactly one EHLO per connection"

# 5. the half-close reproduction against Exim: plain leg, TLS leg (steered), DATA and BDAT
hc() { # ns host port rcpt tls mode instance hops what
	mta_halfclose "$1" "$2" "$3" "$4" "$TG_WORK/m" "$5" "$6" > "$TG_WORK/hc.${4%@*}" 2>&1 &&
		grep -q "^S: 250 OK id=" "$TG_WORK/hc.${4%@*}" && grep -q "^S: 221 " "$TG_WORK/hc.${4%@*}"
	ok $? "${9}: the client gets Exim's 250 and 221 after its half-close" ||
		sed 's/^/# /' "$TG_WORK/hc.${4%@*}"
	ex_wait_mail "$7" "$4" 1 5 &&
		mta_same_message "$TG_WORK/m" "$(ex_mails "$7" "$4" | head -n 1)" "$8" &&
		[ "$(ex_mails "$7" "$4" | wc -l)" = 1 ]
	ok $? "${9}: one copy stored, byte-identical"
}
hc "$NS_IN" 203.0.113.26 25 dave@example.net plain data plain 1 "half-close, plain leg, DATA"
hc "$NS_IN" 203.0.113.26 25 erin@example.net plain bdat plain 1 "half-close, plain leg, BDAT LAST"
hc "$NS_IN" 203.0.113.25 25 dave@example.net plain data mx 1 "half-close, TLS leg, DATA"
hc "$NS_IN" 203.0.113.25 25 erin@example.net plain bdat mx 1 "half-close, TLS leg, BDAT LAST"

# 6. inbound: Exim as the outside sender (STARTTLS to tlsgated) -> Exim as the inside next hop
ex_client exo "$NS_OUT" 203.0.113.1:25
ex_send exo sender@example.com frank@example.net < "$TG_WORK/m"
ex_queue_run exo
ex_wait_mail inside frank@example.net 1 10 &&
	mta_same_message "$TG_WORK/m" "$(ex_mails inside frank@example.net | head -n 1)" 3
ok $? "inbound Exim -> tlsgated -> Exim: stored byte-identical (plus tlsgate's Received)"
grep -q "by gw.example.net (tlsgate) with ESMTPS" "$(ex_mails inside frank@example.net | head -n 1)"
ok $? "inbound: the outside Exim used STARTTLS to tlsgated"
is "$(ex_mails inside frank@example.net | wc -l)" 1 \
	"inbound: exactly one copy, also after a forced queue run"
sent_once exo frank@example.net && ex_log exo | grep -q " => frank@example.net .* X=TLS1.3:" &&
	received_once inside frank@example.net
ok $? "inbound: the sender's log says delivered over TLS once, the inside Exim's received once"
hc "$NS_OUT" 203.0.113.1 25 postmaster@example.net plain data inside 2 \
	"half-close, inbound, plaintext sender"
hc "$NS_OUT" 203.0.113.1 25 alice@example.org tls data inside 2 "half-close, inbound, TLS sender"
all_ehlo_seqs inside "no"
ok $? "inside Exim: exactly one EHLO per connection from tlsgated"

! tg_gw_log gw | grep -qE ' fail .*reason="client disconnected'
ok $? "tlsgated never took a half-close for a disconnect"
# The client's QUIT reaches the MX: it ends each session itself, never "lost"
for i in mx plain inside; do
	! ex_log "$i" | grep -qE "SMTP connection from .* lost|TLS error on connection"
	ok $? "Exim $i: no session from tlsgated was lost or cut without TLS close"
done

tap_done
