// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kTLS zero-copy options on software kTLS, as the kernel handles them (net/tls/tls_main.c):
 *
 *   TLS_TX_ZEROCOPY_RO: setsockopt takes it on any TLS socket (it stores the flag; 6.1 checks
 *     nothing but the value), getsockopt reads it back 1, and sock_diag reports TLS_INFO_ZC_RO_TX
 *     only when tx_conf is TLS_HW: on a software TX socket it is NOT reported (tls_get_info).
 *     daemon/session_nic.c therefore sets it only where the kernel said tx=hw.
 *   TLS_RX_EXPECT_NO_PAD: on a TLS 1.3 socket with RX in the kernel it is taken, read back 1 and
 *     reported (TLS_INFO_RX_NO_PAD); on TLS 1.2 the kernel refuses it with EINVAL (set and get).
 *
 * After the options, data still crosses both ways byte-identical.  sock_diag is asked directly
 * (the test is root: CAP_NET_ADMIN).  On a kernel without the tls ULP (the build host) every
 * check is skipped with the reason; under tests/vm/run (TLSGATE_REQUIRE_KTLS=1) that fails.
 */
#include "hw/hw.h"
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TLS_TX_ZEROCOPY_RO
#define TLS_TX_ZEROCOPY_RO 3
#endif
#ifndef TLS_RX_EXPECT_NO_PAD
#define TLS_RX_EXPECT_NO_PAD 4
#endif

static int set_opt(int fd, int opt, unsigned int v)
{
	return setsockopt(fd, SOL_TLS, opt, &v, sizeof(v)) ? -errno : 0;
}

static int get_opt(int fd, int opt, unsigned int *v)
{
	socklen_t l = sizeof(*v);

	*v = 0xffffffff;
	return getsockopt(fd, SOL_TLS, opt, v, &l) ? -errno : 0;
}

/* 64 KiB from a to b, compared. */
static bool bytes_cross(struct ktls_ep *a, struct ktls_ep *b, uint32_t seed)
{
	unsigned char *src = kh_stream_bytes(seed, false, 65536), got[65536];
	bool ok;

	ok = src && kh_write_all(a, src, sizeof(got), 20000) == (ssize_t)sizeof(got) &&
	     kh_read_full(b, got, sizeof(got), 20000) == (ssize_t)sizeof(got) &&
	     !memcmp(src, got, sizeof(got));
	free(src);
	return ok;
}

static void run(const struct kh_suite *s, const struct ktls_caps *caps, int nl)
{
	bool tls13 = s->version == TLS1_3_VERSION;
	struct ktls_ep *c = NULL, *sv = NULL;
	struct hw_tls_diag d;
	char cst[128], sst[128];
	unsigned int v;
	int rc;

	if (!tap_ok(kh_tls_pair(s, &c, &sv) == 0, "%s: handshake over loopback", s->label))
		return;
	tap_ok(ktls_ep_offload(c, caps) == 0 && ktls_ep_offload(sv, caps) == 0,
	       "%s: offload returns 0 on both ends", s->label);
	ktls_ep_state(c, cst, sizeof(cst));
	ktls_ep_state(sv, sst, sizeof(sst));
	tap_diag("%s: client %s / server %s", s->label, cst, sst);
	if (!tap_ok(ktls_ep_tx_mode(c) == KTLS_MODE_KERNEL && ktls_ep_rx_mode(sv) == KTLS_MODE_KERNEL,
		    "%s: client TX and server RX in the kernel", s->label))
		goto out;

	/* TX: taken and read back, not reported on software TX */
	rc = set_opt(ktls_ep_fd(c), TLS_TX_ZEROCOPY_RO, 1);
	tap_ok(rc == 0, "%s: setsockopt(TLS_TX_ZEROCOPY_RO, 1) on sw TX: %s", s->label,
	       rc ? strerror(-rc) : "taken");
	rc = get_opt(ktls_ep_fd(c), TLS_TX_ZEROCOPY_RO, &v);
	tap_ok(rc == 0 && v == 1, "%s: getsockopt(TLS_TX_ZEROCOPY_RO) reads %u (%s)", s->label, v,
	       rc ? strerror(-rc) : "ok");
	rc = hw_diag_socket(nl, ktls_ep_fd(c), &d);
	tap_ok(rc == 0 && d.ulp_info && d.tls && d.tx == HW_CONF_SW && !d.zc_ro_tx,
	       "%s: sock_diag: tx=%s, TLS_INFO_ZC_RO_TX %s (only reported for tx_conf TLS_HW)",
	       s->label, hw_tls_conf_name(d.tx), d.zc_ro_tx ? "reported" : "not reported");

	/* RX: TLS 1.3 only */
	rc = set_opt(ktls_ep_fd(sv), TLS_RX_EXPECT_NO_PAD, 1);
	if (tls13) {
		tap_ok(rc == 0, "%s: setsockopt(TLS_RX_EXPECT_NO_PAD, 1) on sw RX: %s", s->label,
		       rc ? strerror(-rc) : "taken");
		rc = get_opt(ktls_ep_fd(sv), TLS_RX_EXPECT_NO_PAD, &v);
		tap_ok(rc == 0 && v == 1, "%s: getsockopt(TLS_RX_EXPECT_NO_PAD) reads %u", s->label,
		       v);
		rc = hw_diag_socket(nl, ktls_ep_fd(sv), &d);
		tap_ok(rc == 0 && d.tls && d.rx == HW_CONF_SW && d.rx_no_pad,
		       "%s: sock_diag: rx=%s, TLS_INFO_RX_NO_PAD %s", s->label,
		       hw_tls_conf_name(d.rx), d.rx_no_pad ? "reported" : "not reported");
	} else {
		tap_ok(rc == -EINVAL, "%s: setsockopt(TLS_RX_EXPECT_NO_PAD) on TLS 1.2: %s (want EINVAL)",
		       s->label, rc ? strerror(-rc) : "taken");
		rc = get_opt(ktls_ep_fd(sv), TLS_RX_EXPECT_NO_PAD, &v);
		tap_ok(rc == -EINVAL, "%s: getsockopt(TLS_RX_EXPECT_NO_PAD) on TLS 1.2: %s", s->label,
		       rc ? strerror(-rc) : "answered");
		rc = ktls_ep_rx_expect_no_pad(sv);
		tap_ok(rc == -EINVAL, "%s: ktls_ep_rx_expect_no_pad passes the kernel's EINVAL on (%d)",
		       s->label, rc);
		rc = hw_diag_socket(nl, ktls_ep_fd(sv), &d);
		tap_ok(rc == 0 && d.tls && d.rx == HW_CONF_SW && !d.rx_no_pad,
		       "%s: sock_diag: rx=%s, TLS_INFO_RX_NO_PAD not reported", s->label,
		       hw_tls_conf_name(d.rx));
	}
	tap_ok(bytes_cross(c, sv, 7) && bytes_cross(sv, c, 8),
	       "%s: with the options set, 64 KiB cross each way byte-identical", s->label);
out:
	ktls_ep_free(c);
	ktls_ep_free(sv);
}

int main(void)
{
	struct ktls_caps caps;
	const char *why;
	char line[256];
	int nl;

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	ktls_caps_format(&caps, line, sizeof(line));
	tap_diag("ktls: %s", line);
	why = ktls_caps_unavailable_reason(&caps);
	if (why) {
		if (tap_require_ktls())
			tap_ok(false, "kTLS unavailable: %s", why);
		else
			tap_skip(why, "TLS_TX_ZEROCOPY_RO and TLS_RX_EXPECT_NO_PAD on software kTLS");
		return tap_done();
	}
	nl = hw_diag_open();
	if (nl < 0)
		tap_bail("sock_diag: %s", strerror(-nl));
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++)
		if (!strcmp(kh_suites[i].label, "tls1.2-aes-128-gcm") ||
		    !strcmp(kh_suites[i].label, "tls1.3-aes-128-gcm"))
			run(&kh_suites[i], &caps, nl);
	close(nl);
	return tap_done();
}
