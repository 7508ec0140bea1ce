# shellcheck shell=bash
# Private Exim instances for the interop tests, run from the unpacked Debian package
# (exim4-daemon-light: GnuTLS; $TG_MTA_ROOT, tests/lib/fetch-mta) without installing it: each has
# its own configuration (exim -C), spool, log directory and Maildir store, and runs in a network
# namespace.  Source after tap.sh, netns.sh and mta.sh; call mta_root_or_skip first.  The binary
# looks up its compiled-in user Debian-exim before reading any configuration: created here once.
#
#   ex_mx NAME NS ADDR [tls|notls] [CERT_BASENAME]
#       An MX for EX_DOMAINS (default "example.net example.org") on ADDR:25 (EX_PORT) in NS
#       (exim -bdf),
#       storing each message for USER@DOMAIN in the Maildir $TG_EX_BASE/NAME/mail/DOMAIN/USER/
#       (as Debian-exim) for USER in EX_USERS (default alice bob carol dave erin frank
#       postmaster), in DOMAIN/_other/ for anyone else.  With tls: STARTTLS offered with
#       CERT_BASENAME.{crt,key}.  Every EHLO/HELO it is given is logged as
#       "[PID] helo name=NAME tls=yes|no" (one PID per connection).
#   ex_client NAME NS HOST:PORT
#       An inside MTA that routes everything to HOST:PORT (manualroute; smtp transport with
#       its defaults: PIPELINING, CHUNKING (EX_CHUNKING=no: DATA), STARTTLS when offered).
#       Exim 4.96 pipelines QUIT after the message's end and half-closes.  No daemon:
#       ex_send NAME FROM TO < MSG submits and delivers in the foreground (exim -odf);
#       ex_queue_run NAME forces one delivery attempt of whatever is queued (exim -qff).
#   ex_log NAME                 its main log
#   ex_mails NAME RCPT          stored files, oldest first; ex_wait_mail NAME RCPT COUNT [TIMEOUT]
#   ex_wait_log NAME REGEX [COUNT [TIMEOUT]]   until REGEX matches COUNT (default 1) log lines
#   ex_queue NAME               the message ids still queued

TG_EX_BASE=${TG_EX_BASE:-$(mktemp -d /tmp/tg-exim.XXXXXX)}
chmod 755 "$TG_EX_BASE"
tg_on_exit "rm -rf '$TG_EX_BASE'"

ex_dir() {
	echo "$TG_EX_BASE/$1"
}

_ex_exim() { # dir args...
	local d=$1
	shift
	ip netns exec "$(cat "$d/netns")" "$TG_MTA_ROOT/usr/sbin/exim4" -C "$d/etc/exim.conf" "$@"
}

_ex_common() { # dir name ns
	local d=$1
	mta_system_user Debian-exim
	mkdir -p "$d/etc" "$d/spool" "$d/log" "$d/mail"
	chown Debian-exim:Debian-exim "$d/spool" "$d/log"
	echo "$3" > "$d/netns"
	cat > "$d/etc/exim.conf" <<EOC
primary_hostname = $2.test.example.net
# deliveries re-exec the binary (with this -C): not the compiled-in /usr/sbin/exim4
exim_path = $TG_MTA_ROOT/usr/sbin/exim4
qualify_domain = example.org
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
log_selector = +pid +smtp_connection +received_recipients +tls_cipher +tls_peerdn \\
	+incoming_interface +outgoing_interface +smtp_protocol_error +smtp_syntax_error
never_users = root
# no DNS in the test namespaces: no reverse or ident lookups
host_lookup =
rfc1413_hosts =
keep_environment =
acl_smtp_helo = acl_helo
acl_smtp_rcpt = acl_rcpt
EOC
}

ex_mx() {
	local name=$1 ns=$2 addr=$3 tls=${4:-tls} cert=${5:-} d dom u
	d=$(ex_dir "$name")
	_ex_common "$d" "$name" "$ns"
	chown Debian-exim:Debian-exim "$d/mail"
	: > "$d/etc/domains"
	for dom in ${EX_DOMAINS:-example.net example.org}; do
		echo "$dom: $dom" >> "$d/etc/domains"
	done
	for u in ${EX_USERS:-alice bob carol dave erin frank postmaster}; do
		echo "$u: $u"
	done > "$d/etc/users"
	echo "*: _other" >> "$d/etc/users"
	{
		echo "local_interfaces = <; $addr"
		echo "daemon_smtp_ports = ${EX_PORT:-25}"
		if [ "$tls" = tls ]; then
			install -m 600 -o Debian-exim "$cert.key" "$d/etc/key"
			echo "tls_advertise_hosts = *"
			echo "tls_certificate = $cert.crt"
			echo "tls_privatekey = $d/etc/key"
		else
			echo "tls_advertise_hosts ="
		fi
		cat <<EOC

begin acl
acl_helo:
  accept logwrite = helo name=\$sender_helo_name tls=\${if def:tls_in_cipher{yes}{no}}
acl_rcpt:
  accept domains = lsearch;$d/etc/domains
  deny message = relay not permitted

begin routers
store:
  driver = accept
  domains = lsearch;$d/etc/domains
  local_parts = lsearch*;$d/etc/users
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = $d/mail/\$domain_data/\$local_part_data
  maildir_format = true
  create_directory = true
  # Deliveries re-exec exim with -C, which drops root: they can only run as the exim user.
  user = Debian-exim
  group = Debian-exim
  return_path_add = true
EOC
	} >> "$d/etc/exim.conf"
	tg_bg ip netns exec "$ns" "$TG_MTA_ROOT/usr/sbin/exim4" -C "$d/etc/exim.conf" -bdf \
		> "$d/daemon.out" 2>&1
	mta_wait_listen "$ns" "$addr" "${EX_PORT:-25}" 20 ||
		{ cat "$d/daemon.out" "$d/log/paniclog" "$d/log/mainlog" >&2 2>/dev/null
		  bail "exim $name: not listening on $addr:${EX_PORT:-25}"; }
}

ex_client() {
	local name=$1 ns=$2 relay=$3 d
	d=$(ex_dir "$name")
	_ex_common "$d" "$name" "$ns"
	cat >> "$d/etc/exim.conf" <<EOC
tls_advertise_hosts =

begin acl
acl_helo:
  accept
acl_rcpt:
  deny

begin routers
smarthost:
  driver = manualroute
  route_list = * ${relay%:*}
  transport = remote_smtp

begin transports
remote_smtp:
  driver = smtp
  port = ${relay##*:}
  helo_data = $name.test.example.net
$([ "${EX_CHUNKING:-yes}" = no ] && echo "  hosts_try_chunking =")

begin retry
* * F,1m,1m
EOC
	_ex_exim "$d" -bV > "$d/check.log" 2>&1 ||
		{ cat "$d/check.log" >&2; bail "exim $name: configuration check failed"; }
}

# (stderr: exim says each time that -C cost it root, which only the deliveries' user notices)
ex_send() { # name from to < message
	_ex_exim "$(ex_dir "$1")" -odf -oi -f "$2" "$3" 2>>"$(ex_dir "$1")/cmd.err"
}

ex_queue_run() {
	_ex_exim "$(ex_dir "$1")" -qff 2>>"$(ex_dir "$1")/cmd.err"
}

ex_queue() {
	_ex_exim "$(ex_dir "$1")" -bpi
}

ex_log() {
	cat "$(ex_dir "$1")/log/mainlog" 2>/dev/null
}

ex_mails() { # name rcpt
	local dir
	dir="$(ex_dir "$1")/mail/${2#*@}/${2%@*}/new"
	ls -1tr "$dir" 2>/dev/null | sed "s|^|$dir/|"
}

ex_wait_mail() { # name rcpt count [timeout]
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		[ "$(ex_mails "$1" "$2" | wc -l)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

ex_wait_log() { # name regex [count [timeout]]
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		[ "$(ex_log "$1" | grep -cE "$2")" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
