#!/bin/sh
# Install the Debian 12 packages tlsgate's build, tests and demo need.  Idempotent: installs only
# what is missing, non-interactively.  Postfix is preseeded to "No configuration" so that installing
# it neither prompts nor starts a system instance: the tests run their own instances (postfix -c).
set -eu

# build
PKGS="build-essential pkg-config xz-utils clang llvm libssl-dev openssl libnl-3-dev libnl-genl-3-dev
libnl-route-3-dev libbpf-dev libunbound-dev bpftool libcmocka-dev libelf-dev zlib1g-dev"
# tests: netns/tc, a real-kTLS kernel under qemu, real SMTP and TLS peers, DNS
PKGS="$PKGS iproute2 kmod cpio qemu-system-x86 busybox-static postfix swaks gnutls-bin
ca-certificates procps psmisc iputils-ping libclang-rt-14-dev testssl.sh debhelper dpkg-dev nsd jq stunnel4 strace time
lintian debootstrap"
# What Debian only recommends but the tests use: swaks speaks TLS through Net::SSLeay and
# IO::Socket::SSL and IPv6 through IO::Socket::INET6 (with --no-install-recommends it has neither).
PKGS="$PKGS libnet-ssleay-perl libio-socket-ssl-perl libio-socket-inet6-perl"
# tests/lib/tcpinject.py: an on-path attacker's crafted frames (AF_PACKET) in the e2e tier
PKGS="$PKGS python3"
# Exim and OpenSMTPD conflict with Postfix as packages: tests/lib/fetch-mta unpacks them into
# build/mta/ instead.  Of the libraries they link, only libidn12 (Exim's) is not already here.
PKGS="$PKGS libidn12"
# DANE (policy/dane.c, libunbound above): the root trust anchor it defaults to; the tests sign a
# private zone (ldns-keygen, ldns-signzone) and serve it with nsd; unbound (the daemon) is the
# validating resolver posttls-finger needs for the differential test against tlsgate's verdicts.
PKGS="$PKGS dns-root-data ldnsutils unbound"
# MTA-STS: tests/e2e/test_mta_sts.sh checks tlsgated's fetches against mta-sts-query
# (postfix-mta-sts-resolver).  Its only recommend, python3-uvloop, is left out: only the daemon
# (mta-sts-daemon) uses it, mta-sts-query runs on asyncio's own loop.
PKGS="$PKGS postfix-mta-sts-resolver"
# TLS reports: tests/e2e/test_tlsrpt*.sh check them with other implementations (the JSON against
# the RFC's fields, the DKIM signature with dkimpy)
PKGS="$PKGS python3-jsonschema python3-dkim"
# Pages checked in a real browser: headless Chromium renders `tlsgatectl explain --html`
# (tests/e2e/test_explain_html.sh) and `report --html` (test_report_html.sh; make demo's
# screenshot) with --dump-dom and --screenshot.  Headless needs no X server; of its recommends
# only a font is wanted, with fontconfig to find it (chromium-sandbox: the tests run it with
# --no-sandbox as root; upower, notification daemons, libu2f: not for a headless page).
PKGS="$PKGS chromium fontconfig fonts-dejavu-core"

missing=""
for p in $PKGS; do
	# "install ok installed" is the only state that means the package is usable.
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Never let a package start a system service on this machine (postfix would bind port 25).
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	created_policy=1
fi
trap 'if [ $created_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
apt_get() {
	apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
apt_get update >/dev/null || apt_get update
# shellcheck disable=SC2086
apt_get install --no-install-recommends $missing
