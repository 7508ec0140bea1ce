#!/bin/bash
# The Debian package (make deb): it builds from the source tree, carries the daemon, the CLI,
# the hardened systemd unit, the default configuration (as conffiles) and the man pages; the
# packaged daemon accepts the packaged configuration as it is; removal detaches the kernel half.
# Nothing is installed on this machine: the package is unpacked into a scratch directory.
set -u
. "$(dirname "$0")/../lib/tap.sh"

command -v dpkg-buildpackage >/dev/null || { echo "dpkg-buildpackage not installed"; exit 77; }
work=$(mktemp -d /tmp/tg-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
top=$(cd "$(dirname "$0")/../.." && pwd)

deb=$("$top/scripts/build-deb" "$work/out" 2>"$work/err" | tail -n 1)
ok $? "the package builds ($(basename "${deb:-none}"))"
[ -f "$deb" ] || { cat "$work/err"; bail "no package"; }
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/files"
for f in ./usr/sbin/tlsgated ./usr/sbin/tlsgatectl ./lib/systemd/system/tlsgated.service \
	./etc/tlsgate/tlsgate.conf ./etc/tlsgate/tls_policy ./etc/tlsgate/inbound_policy \
	./usr/share/man/man8/tlsgated.8.gz ./usr/share/man/man8/tlsgatectl.8.gz \
	./usr/share/man/man5/tlsgate.conf.5.gz ./usr/share/doc/tlsgate/POLICY.md.gz \
	./usr/share/doc/tlsgate/examples/grafana/tlsgate.json; do
	grep -qx "$f" "$work/files"
	ok $? "contains $f"
done
dpkg-deb -e "$deb" "$work/ctl"
sort "$work/ctl/conffiles" | tr '\n' ' ' | grep -q "/etc/tlsgate/inbound_policy /etc/tlsgate/tls_policy /etc/tlsgate/tlsgate.conf"
ok $? "the configuration files are conffiles (an upgrade keeps the admin's edits)"
grep -q "tlsgated --detach" "$work/ctl/prerm"
ok $? "removal detaches the BPF programs (prerm: tlsgated --detach)"
grep -q "addgroup --system tlsgate" "$work/ctl/postinst"
ok $? "installation creates the tlsgate group (read access for tlsgatectl)"
grep -q "adduser --system --ingroup tlsgate" "$work/ctl/postinst" &&
	grep -q "chown tlsgate:tlsgate /etc/tlsgate/tls_policy" "$work/ctl/postinst"
ok $? "installation creates the tlsgate user the daemon becomes, owner of the policy files"
grep -q "Depends:.*libbpf1.*libssl3" "$work/ctl/control"
ok $? "shared-library dependencies computed"

# Debian's own judge of a package: no errors and no warnings (info tags are advice).
if command -v lintian >/dev/null; then
	lintian "$deb" > "$work/lintian" 2>&1
	! grep -E "^[EW]: " "$work/lintian"
	ok $? "lintian: no errors, no warnings"
else
	skip "lintian not installed (make deps)" "lintian: no errors, no warnings"
fi

dpkg-deb -x "$deb" "$work/root"
r=$work/root
"$r/usr/sbin/tlsgated" --check-config -c "$r/etc/tlsgate/tlsgate.conf" \
	-o "outbound_policy=$r/etc/tlsgate/tls_policy" -o "inbound_policy=$r/etc/tlsgate/inbound_policy" \
	> "$work/check" 2>&1
ok $? "the packaged daemon accepts the packaged default configuration"
grep -q "^configuration ok" "$work/check" || cat "$work/check"
ex=$r/usr/share/doc/tlsgate/examples/tls_policy.uk-public-sector
[ -f "$ex" ] && ! grep -q "tls_policy.uk-public-sector" "$r/etc/tlsgate/tlsgate.conf"
ok $? "the UK public-sector example policy is installed, off (the default config does not name it)"
out=$("$r/usr/sbin/tlsgatectl" policy check "$ex" 2>&1)
is "$?/$out" "0/$ex: 13 rules (12 in monitor mode), no errors, 0 warnings" \
	"the packaged tlsgatectl accepts it: every rule in monitor mode but the exception"
for m in tlsgated.8 tlsgatectl.8; do
	man -l "$r/usr/share/man/man8/$m.gz" 2>&1 | grep -q "SYNOPSIS"
	ok $? "man page $m renders"
done
unit=$r/lib/systemd/system/tlsgated.service
grep -q "^ExecStart=/usr/sbin/tlsgated -f" "$unit" && grep -q "^NoNewPrivileges=yes" "$unit" &&
	grep -q "^ProtectSystem=strict" "$unit" && grep -q "^CapabilityBoundingSet=" "$unit"
ok $? "the unit runs tlsgated -f, hardened (NoNewPrivileges, ProtectSystem=strict, capabilities)"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
for c in CAP_SETUID CAP_SETGID CAP_CHOWN CAP_SETPCAP; do
	case " $caps " in *" $c "*) ;; *) false ;; esac
	ok $? "the unit lets tlsgated drop to its user: $c in the bounding set"
done
case " $caps " in *" CAP_NET_RAW "*) false ;; *) true ;; esac
ok $? "... and no CAP_NET_RAW (no SO_MARK any more)"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit" > "$work/verify" 2>&1
	! grep -v "Failed to resolve\|not executable\|/usr/sbin/tlsgated" "$work/verify" | grep -qi "error\|unknown"
	ok $? "systemd-analyze verify: no unknown directives"
else
	skip "systemd-analyze not installed" "systemd-analyze verify"
fi
tap_done
