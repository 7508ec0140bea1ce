# shellcheck shell=bash
# Real Postfix instances for e2e tests, without touching a system instance: each has its own
# config directory (postfix -c DIR), queue, data directory, log file and Maildir store, and runs
# inside a network namespace.  Source after tap.sh and netns.sh.
#
#   pf_mx NAME NS ADDR [tls|notls] [CERT_BASENAME]
#       An MX for any domain listed in PF_DOMAINS (default "example.net example.org"), listening
#       on ADDR:25 in NS, storing every message as a Maildir file under
#       $TG_PF_BASE/NAME/mail/DOMAIN/USER/new/ for USER in PF_USERS (default alice bob carol dave
#       erin frank postmaster), DOMAIN/_other/ for any other user.  With tls: STARTTLS offered with
#       CERT_BASENAME.{crt,key} (from pki.sh), TLS details in its Received header.
#       PF_MAIN_EXTRA: lines appended to its main.cf (a test's own settings).
#   pf_client NAME NS HOST:PORT         An inside MTA that relays everything to [HOST]:PORT;
#                                       pf_sendmail NAME FROM TO < MSG submits to it.
#   pf_stop NAME                        (done automatically at exit)
#   pf_dir NAME                         its directory
#   pf_wait_mail NAME RCPT COUNT [TIMEOUT_S]   until COUNT messages are stored for RCPT
#   pf_mails NAME RCPT                  the stored files, oldest first
#   pf_strip_delivery FILE              the message as it arrived: without the headers the MX
#                                       itself prepended (Return-Path, X-Original-To,
#                                       Delivered-To, its Received)
#   pf_log NAME                         its mail log
# Postfix takes a few seconds to start (much longer inside the TCG VM); pf_* wait for readiness.

TG_PF_BASE=${TG_PF_BASE:-$(mktemp -d /tmp/tg-postfix.XXXXXX)}
chmod 755 "$TG_PF_BASE"
tg_on_exit "rm -rf '$TG_PF_BASE'"
_pf_instances=()

_pf_common_main() { # dir name ns addr
	local d=$1
	cat > "$d/etc/main.cf" <<EOM
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = $4
inet_protocols = all
myhostname = $2.test.example.net
mydomain = test.example.net
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 [2001:db8::]/32
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtputf8_enable = yes
# no reverse lookups: there is no DNS in the test namespaces (5 s timeouts per session)
smtpd_peername_lookup = no
message_size_limit = 104857600
biff = no
alias_maps =
alias_database =
smtp_host_lookup = native
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_banner = \$myhostname ESMTP
# Tests drive many sessions quickly from few addresses.
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s
EOM
}

_pf_master() { # dir
	# The stock master.cf, with every service out of chroot (our queue is not in a chroot tree).
	awk 'BEGIN { OFS = "  " }
	     /^[a-z]/ && NF >= 8 { if ($5 == "y" || $5 == "-") $5 = "n" }
	     { print }' /etc/postfix/master.cf > "$1/etc/master.cf"
}

_pf_start() { # name ns dir addr
	local name=$1 ns=$2 d=$3 i
	mkdir -p "$d/queue" "$d/data"
	chown postfix "$d/data"
	ip netns exec "$ns" postfix -c "$d/etc" check >"$d/check.log" 2>&1 ||
		{ cat "$d/check.log"; bail "postfix $name: configuration check failed"; }
	ip netns exec "$ns" postfix -c "$d/etc" start >"$d/start.log" 2>&1 ||
		{ cat "$d/start.log" >&2; bail "postfix $name: start failed"; }
	_pf_instances+=("$name")
	tg_on_exit "ip netns exec '$ns' postfix -c '$d/etc' stop"
	echo "$ns" > "$d/netns"
	tg_wait_listen "$ns" 25 "${PF_START_TIMEOUT:-120}" ||
		{ cat "$d/maillog" >&2 2>/dev/null; bail "postfix $name: not listening on 25"; }
}

pf_dir() {
	echo "$TG_PF_BASE/$1"
}

pf_mx() {
	local name=$1 ns=$2 addr=$3 tls=${4:-tls} cert=${5:-} d dom
	d=$(pf_dir "$name")
	mkdir -p "$d/etc" "$d/mail"
	_pf_common_main "$d" "$name" "$ns" "$addr"
	_pf_master "$d"
	: > "$d/etc/vmailbox"
	chown -R nobody:nogroup "$d/mail"
	cat >> "$d/etc/main.cf" <<EOM
virtual_mailbox_domains = ${PF_DOMAINS:-example.net example.org}
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
virtual_mailbox_limit = 0
EOM
	# user@domain -> domain/user/ (Maildir, one file per message) for PF_USERS, and every other
	# address of the domain to domain/_other/.  (Postfix forbids regexp substitution here.)
	for dom in ${PF_DOMAINS:-example.net example.org}; do
		for u in ${PF_USERS:-alice bob carol dave erin frank postmaster}; do
			echo "$u@$dom $dom/$u/" >> "$d/etc/vmailbox"
		done
		echo "@$dom $dom/_other/" >> "$d/etc/vmailbox"
	done
	if [ "$tls" = tls ]; then
		cat >> "$d/etc/main.cf" <<EOM
smtpd_tls_security_level = may
smtpd_tls_cert_file = $cert.crt
smtpd_tls_key_file = $cert.key
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
EOM
	fi
	[ -n "${PF_MAIN_EXTRA:-}" ] && printf '%s\n' "$PF_MAIN_EXTRA" >> "$d/etc/main.cf"
	_pf_start "$name" "$ns" "$d" "$addr"
}

pf_client() {
	local name=$1 ns=$2 relay=$3 d
	d=$(pf_dir "$name")
	mkdir -p "$d/etc"
	_pf_common_main "$d" "$name" "$ns" "all"
	_pf_master "$d"
	cat >> "$d/etc/main.cf" <<EOM
relayhost = [${relay%:*}]:${relay##*:}
smtp_tls_security_level = ${PF_CLIENT_TLS:-none}
EOM
	_pf_start "$name" "$ns" "$d" "all"
}

pf_log() {
	cat "$(pf_dir "$1")/maillog" 2>/dev/null
}

pf_mails() { # name rcpt
	local user=${2%@*} dom=${2#*@}
	ls -1tr "$(pf_dir "$1")/mail/$dom/$user/new/" 2>/dev/null |
		sed "s|^|$(pf_dir "$1")/mail/$dom/$user/new/|"
}

pf_wait_mail() { # name rcpt count [timeout]
	local i n
	for ((i = 0; i < ${4:-60} * 10; i++)); do
		n=$(pf_mails "$1" "$2" | wc -l)
		[ "$n" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# The message as handed to the MX: drop the header lines the MX's own delivery put on top.
pf_strip_delivery() {
	awk '
		done { print; next }
		/^(Return-Path|X-Original-To|Delivered-To):/ { skip = 1; next }
		/^Received:/ && !seen_rcvd { seen_rcvd = 1; skip = 1; next }
		/^[ \t]/ && skip { next }
		{ done = 1; print }
	' "$1"
}

# Submit a message to an instance with its sendmail(1) (through postdrop, as MUAs do).
# The first Received header of a stored message once the storing MTA's own lines are gone (the
# hop before it: tlsgated's, for inbound tests), unfolded onto one line.
pf_first_received() { # STORED_FILE
	pf_strip_delivery "$1" | awk '/^Received:/ { r = $0; inr = 1; next }
		inr && /^[ \t]/ { r = r $0; next } { if (inr) { print r; exit } }'
}

pf_sendmail() { # name from to < message
	local d
	d=$(pf_dir "$1")
	ip netns exec "$(cat "$d/netns")" sendmail -C "$d/etc" -f "$2" "$3"
}

# Wait until the instance's queue is empty (everything delivered or bounced).
pf_wait_queue_empty() { # name [timeout]
	local d i
	d=$(pf_dir "$1")
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		[ -z "$(find "$d/queue/active" "$d/queue/incoming" "$d/queue/deferred" \
			"$d/queue/maildrop" -type f 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
