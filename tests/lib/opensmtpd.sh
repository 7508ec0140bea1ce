# shellcheck shell=bash
# Private OpenSMTPD instances for the interop tests, run from the unpacked Debian package
# ($TG_MTA_ROOT, tests/lib/fetch-mta) without installing it.  Source after tap.sh, netns.sh and
# mta.sh; call mta_root_or_skip first.
#
# smtpd has its paths compiled in (/var/spool/smtpd, the chroot /var/lib/opensmtpd/empty, the
# control socket /var/run/smtpd.sock, its helpers in /usr/libexec/opensmtpd), so each instance
# runs in a private mount namespace where its own directories are bound over /var/spool,
# /var/lib, /run and /usr/libexec, and /etc/resolv.conf names 127.0.0.1 (no DNS in the test
# namespaces: lookups fail at once instead of timing out).  smtpd -d logs to stderr: that is the
# instance's log.  Its privilege-separated processes run as the system users opensmtpd and
# opensmtpq, created here once.
#
#   os_mx NAME NS ADDR [tls|notls] [CERT_BASENAME]
#       An MX for OS_DOMAINS (default "example.net example.org") on ADDR:25 (OS_PORT) in NS,
#       storing each message for USER@DOMAIN in the Maildir $TG_OS_BASE/NAME/mail/DOMAIN/USER/
#       (as nobody).  With tls: STARTTLS offered with CERT_BASENAME.{crt,key} (but see
#       os_tls_works).
#   os_client NAME NS HOST:PORT
#       An inside MTA listening on 127.0.0.1:25 (OS_SUBMIT_PORT) in NS that relays everything
#       to HOST:PORT (smtp://, opportunistic STARTTLS); os_send NAME FROM TO FILE submits FILE.
#   os_log NAME                 its log
#   os_mails NAME RCPT          stored files, oldest first; os_wait_mail NAME RCPT COUNT [TIMEOUT]
#   os_wait_log NAME REGEX [COUNT [TIMEOUT]]   until REGEX matches COUNT (default 1) log lines
#   os_tls_works NS ADDR        whether a STARTTLS handshake with the MX at ADDR completes
#       (OpenSMTPD 6.8.0p2, Debian 12's, cannot sign with OpenSSL 3: every handshake fails with
#       "EVP lib" -- upstream issues #1171, #1239)

TG_OS_BASE=${TG_OS_BASE:-$(mktemp -d /tmp/tg-opensmtpd.XXXXXX)}
chmod 755 "$TG_OS_BASE"
tg_on_exit "rm -rf '$TG_OS_BASE'"

os_dir() {
	echo "$TG_OS_BASE/$1"
}

_os_prepare() { # dir
	local d=$1
	mta_system_user opensmtpd
	mta_system_user opensmtpq
	mkdir -p "$d/etc" "$d/var-spool" "$d/var-lib/opensmtpd/empty" "$d/run" "$d/mail"
	chmod 755 "$d" "$d/var-lib/opensmtpd/empty"
	echo "nameserver 127.0.0.1" > "$d/etc/resolv.conf"
}

_os_start() { # name ns dir addr port
	local name=$1 ns=$2 d=$3
	ip netns exec "$ns" unshare -m --propagation private sh -c "
		mount --bind '$d/etc/resolv.conf' /etc/resolv.conf &&
		mount --bind '$TG_MTA_ROOT/usr/libexec' /usr/libexec &&
		exec '$TG_MTA_ROOT/usr/sbin/smtpd' -n -f '$d/etc/smtpd.conf'" > "$d/check.log" 2>&1 ||
		{ cat "$d/check.log" >&2; bail "opensmtpd $name: configuration check failed"; }
	tg_bg ip netns exec "$ns" unshare -m --propagation private sh -c "
		mount --bind '$d/var-spool' /var/spool && mount --bind '$d/var-lib' /var/lib &&
		mount --bind '$d/run' /run && mount --bind '$d/etc/resolv.conf' /etc/resolv.conf &&
		mount --bind '$TG_MTA_ROOT/usr/libexec' /usr/libexec &&
		exec '$TG_MTA_ROOT/usr/sbin/smtpd' -d -f '$d/etc/smtpd.conf'" > "$d/log" 2>&1
	echo "$ns" > "$d/netns"
	mta_wait_listen "$ns" "$4" "$5" 20 ||
		{ cat "$d/log" >&2; bail "opensmtpd $name: not listening on $4:$5"; }
}

os_mx() {
	local name=$1 ns=$2 addr=$3 tls=${4:-tls} cert=${5:-} d dom listen
	d=$(os_dir "$name")
	_os_prepare "$d"
	chown nobody:nogroup "$d/mail"
	: > "$d/etc/vusers"
	for dom in ${OS_DOMAINS:-example.net example.org}; do
		echo "@$dom nobody" >> "$d/etc/vusers"
	done
	listen="listen on $addr port ${OS_PORT:-25} hostname $name.test.example.net"
	{
		if [ "$tls" = tls ]; then
			# smtpd refuses a key others can read
			install -m 600 "$cert.key" "$d/etc/key"
			echo "pki $name cert \"$cert.crt\""
			echo "pki $name key \"$d/etc/key\""
			listen="$listen tls pki $name"
		fi
		echo "table vusers file:$d/etc/vusers"
		echo "$listen"
		echo "action \"store\" maildir \"$d/mail/%{rcpt.domain}/%{rcpt.user}\" virtual <vusers>"
		for dom in ${OS_DOMAINS:-example.net example.org}; do
			echo "match from any for domain \"$dom\" action \"store\""
		done
	} > "$d/etc/smtpd.conf"
	_os_start "$name" "$ns" "$d" "$addr" "${OS_PORT:-25}"
}

os_client() {
	local name=$1 ns=$2 relay=$3 d
	d=$(os_dir "$name")
	_os_prepare "$d"
	echo "${OS_SUBMIT_PORT:-25}" > "$d/submit_port"
	cat > "$d/etc/smtpd.conf" <<EOC
listen on 127.0.0.1 port ${OS_SUBMIT_PORT:-25} hostname $name.test.example.net
action "relay" relay host smtp://$relay helo $name.test.example.net
match from any for any action "relay"
EOC
	_os_start "$name" "$ns" "$d" 127.0.0.1 "${OS_SUBMIT_PORT:-25}"
}

os_send() { # name from to file
	local d
	d=$(os_dir "$1")
	{ cat "$4"; printf '.\r\n'; } > "$d/submit.$$"
	ip netns exec "$(cat "$d/netns")" swaks --server 127.0.0.1 --port "$(cat "$d/submit_port")" \
		--from "$2" --to "$3" --data "@$d/submit.$$" > "$d/submit.out" 2>&1
}

os_log() {
	cat "$(os_dir "$1")/log" 2>/dev/null
}

os_mails() { # name rcpt
	local dir
	dir="$(os_dir "$1")/mail/${2#*@}/${2%@*}/new"
	ls -1tr "$dir" 2>/dev/null | sed "s|^|$dir/|"
}

os_wait_mail() { # name rcpt count [timeout]
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		[ "$(os_mails "$1" "$2" | wc -l)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

os_wait_log() { # name regex [count [timeout]]
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		[ "$(os_log "$1" | grep -cE "$2")" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

os_tls_works() { # ns addr [port]
	echo QUIT | ip netns exec "$1" timeout 10 openssl s_client -connect "$2:${3:-25}" \
		-starttls smtp -brief > /dev/null 2>&1
}
