# shellcheck shell=bash
# A DNSSEC-signed test zone with a private trust anchor, served by nsd in a namespace.  Source
# after tap.sh and netns.sh.  Keys and signatures are made at test time with ldns-keygen and
# ldns-signzone (ldnsutils); nothing outside the test's directory is used.
#
#   dnssec_available                  0, or 1 with the reason on stdout (the test skips)
#   dnssec_key DIR ZONE               a key for ZONE (one key with the SEP flag signs everything);
#                                     DIR/ZONE.ds holds its DS (the parent's record or, for the
#                                     top zone, the trust anchor for libunbound/unbound)
#   dnssec_sign DIR ZONE [expired]    DIR/ZONE.zone -> DIR/ZONE.signed, valid for a day; with
#                                     "expired" every signature ended a year ago (bogus answers)
#   dnssec_spki_sha256 CERT           hex SHA-256 of CERT's SubjectPublicKeyInfo: the data of a
#                                     "3 1 1" / "2 1 1" TLSA record
#   dnssec_nsd NS ADDR DIR ZONE=FILE...   nsd on ADDR:53 in NS serving the zones (stopped at exit)
#   dnssec_unbound NS ADDR DIR ANCHOR FWD  a validating unbound for the namespace's resolv.conf

dnssec_available() {
	local t
	for t in ldns-keygen ldns-signzone nsd openssl; do
		command -v "$t" >/dev/null && continue
		echo "$t not installed (make deps installs it)"
		return 1
	done
}

dnssec_key() { # DIR ZONE
	local d=$1 z=$2 k
	k=$(cd "$d" && ldns-keygen -a ECDSAP256SHA256 -k "$z." 2>/dev/null) ||
		bail "ldns-keygen failed for $z"
	echo "$k" > "$d/$z.keyname"
	# ldns-keygen writes K<zone>.+013+<id>.ds with the SHA-256 DS.
	cp "$d/$k.ds" "$d/$z.ds"
}

dnssec_sign() { # DIR ZONE [expired]
	local d=$1 z=$2 k inc exp
	k=$(cat "$d/$z.keyname")
	if [ "${3:-}" = expired ]; then
		inc=$(date -u -d '-2 years' +%Y%m%d%H%M%S)
		exp=$(date -u -d '-1 year' +%Y%m%d%H%M%S)
	else
		inc=$(date -u -d '-1 hour' +%Y%m%d%H%M%S)
		exp=$(date -u -d '+1 day' +%Y%m%d%H%M%S)
	fi
	(cd "$d" && ldns-signzone -o "$z." -i "$inc" -e "$exp" -f "$z.signed" "$z.zone" "$k") \
		>/dev/null 2>"$d/$z.sign.err" || bail "ldns-signzone $z: $(cat "$d/$z.sign.err")"
}

dnssec_spki_sha256() { # CERT
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}

dnssec_nsd() { # NS ADDR DIR ZONE=FILE...
	local ns=$1 addr=$2 d=$3 zf
	shift 3
	cat > "$d/nsd.conf" <<EOF
server:
	ip-address: $addr
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	pidfile: "$d/nsd.pid"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	zonelistfile: "$d/zone.list"
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
EOF
	for zf in "$@"; do
		printf 'zone:\n\tname: %s\n\tzonefile: %s\n' "${zf%%=*}" "${zf#*=}" >> "$d/nsd.conf"
	done
	tg_bg ip netns exec "$ns" nsd -d -c "$d/nsd.conf"
	tg_wait_listen "$ns" 53 20 || bail "nsd did not start: $(tail -n 5 "$d/nsd.log")"
}

# A validating recursive resolver (unbound) on ADDR:53 in NS that forwards everything to the nsd
# at FWD and trusts only ANCHOR_FILE; /etc/netns/NS/resolv.conf points the namespace's stub
# resolver at it with trust-ad, so Postfix tools see the AD bit (removed at exit).
dnssec_unbound_available() {
	command -v unbound >/dev/null && return 0
	echo "unbound not installed (make deps installs it)"
	return 1
}

dnssec_unbound() { # NS ADDR DIR ANCHOR_FILE FWD
	local ns=$1 addr=$2 d=$3 ta=$4 fwd=$5
	cat > "$d/unbound.conf" <<EOF2
server:
	interface: $addr
	port: 53
	username: ""
	chroot: ""
	directory: "$d"
	pidfile: "$d/unbound.pid"
	do-daemonize: no
	use-syslog: no
	logfile: "$d/unbound.log"
	verbosity: 1
	access-control: 0.0.0.0/0 allow
	do-not-query-localhost: no
	module-config: "validator iterator"
	trust-anchor-file: "$ta"
	do-ip6: no
forward-zone:
	name: "."
	forward-addr: $fwd
remote-control:
	control-enable: no
EOF2
	mkdir -p "/etc/netns/$ns"
	tg_on_exit "rm -rf '/etc/netns/$ns'"
	printf 'nameserver %s\noptions trust-ad\n' "$addr" > "/etc/netns/$ns/resolv.conf"
	tg_bg ip netns exec "$ns" unbound -d -c "$d/unbound.conf"
	tg_wait_listen "$ns" 53 20 || bail "unbound did not start: $(tail -n 5 "$d/unbound.log")"
}
