// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backend selection (ktls/select.c) for every reason a direction stays in userspace, the state
 * strings the daemon logs, and real endpoints' states where they do not depend on the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ktls/endpoint.h"
#include "ktls/select.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"

static struct ktls_caps all_caps(void)
{
	struct ktls_caps c = {.ulp = true};

	for (int v = 0; v < KTLS_NVERSIONS; v++)
		for (int i = 0; i < KTLS_NCIPHERS; i++)
			c.tx[v][i] = c.rx[v][i] = true;
	return c;
}

/* What a good TLS 1.3 hand-off looks like to the selector. */
static struct ktls_sel_in good13(const struct ktls_caps *caps)
{
	return (struct ktls_sel_in){
		.enabled = true,
		.caps = caps,
		.version_ok = true,
		.version = KTLS_TLS13,
		.cipher_ok = true,
		.cipher = KTLS_AES_256_GCM,
		.openssl_tx = true,
		.have_rx_secret = true,
	};
}

static void sel_fmt(const struct ktls_sel *s, char *buf, size_t len)
{
	char tx[64], rx[64];

	snprintf(buf, len, "tx=%s rx=%s", ktls_mode_format(s->tx, s->tx_why, 0, tx, sizeof(tx)),
		 ktls_mode_format(s->rx, s->rx_why, 0, rx, sizeof(rx)));
}

static void expect(const struct ktls_sel_in *in, const char *want, bool install)
{
	struct ktls_sel s;
	char got[160];

	ktls_select(in, &s);
	sel_fmt(&s, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(s.install_rx, install);
	assert_false(s.unusable);
}

static void test_tls13_all_kernel(void **state)
{
	struct ktls_caps caps = all_caps();
	struct ktls_sel_in in = good13(&caps);

	(void)state;
	expect(&in, "tx=kernel rx=kernel", true);
	in.caps = NULL; /* not probed: try */
	expect(&in, "tx=kernel rx=kernel", true);
}

static void test_tls12_openssl_did_both(void **state)
{
	struct ktls_caps caps = all_caps();
	struct ktls_sel_in in = good13(&caps);

	(void)state;
	in.version = KTLS_TLS12;
	in.openssl_rx = true;
	in.have_rx_secret = false;
	expect(&in, "tx=kernel rx=kernel", false);
	in.openssl_rx = false; /* TLS 1.2 RX is OpenSSL's to install, never ours */
	expect(&in, "tx=kernel rx=user(openssl-declined)", false);
}

static void test_host_without_ulp(void **state)
{
	struct ktls_caps caps = {.ulp = false, .ulp_err = -ENOENT};
	struct ktls_sel_in in = good13(&caps);

	(void)state;
	in.openssl_tx = false;
	expect(&in, "tx=user(no-tls-ulp) rx=user(no-tls-ulp)", false);
}

static void test_reasons(void **state)
{
	struct ktls_caps caps = all_caps();
	struct ktls_sel_in in;

	(void)state;
	in = good13(&caps);
	in.enabled = false;
	in.openssl_tx = false;
	expect(&in, "tx=user(ktls-disabled) rx=user(ktls-disabled)", false);

	in = good13(&caps);
	in.openssl_tx = false;
	in.cipher_ok = false; /* AES-CCM, CBC... */
	expect(&in, "tx=user(cipher-unsupported) rx=user(cipher-unsupported)", false);

	in = good13(&caps);
	in.openssl_tx = false;
	in.version_ok = false;
	expect(&in, "tx=user(tls-version) rx=user(tls-version)", false);

	in = good13(&caps);
	caps.rx[KTLS_TLS13][KTLS_AES_256_GCM] = false;
	expect(&in, "tx=kernel rx=user(kernel-lacks-cipher)", false);
	caps = all_caps();

	in = good13(&caps);
	in.openssl_tx = false; /* e.g. max_send_fragment changed */
	expect(&in, "tx=user(openssl-declined) rx=kernel", true);

	in = good13(&caps);
	in.ssl_pending = true;
	expect(&in, "tx=kernel rx=user(openssl-buffered)", false);

	in = good13(&caps);
	in.read_after_handshake = true;
	expect(&in, "tx=kernel rx=user(read-before-offload)", false);

	in = good13(&caps);
	in.have_rx_secret = false;
	expect(&in, "tx=kernel rx=user(no-traffic-secret)", false);
}

static void test_openssl_rx_with_buffered_bytes(void **state)
{
	struct ktls_caps caps = all_caps();
	struct ktls_sel_in in = good13(&caps);
	struct ktls_sel s;

	(void)state;
	in.version = KTLS_TLS12;
	in.openssl_rx = true;
	in.ssl_pending = true;
	ktls_select(&in, &s);
	assert_true(s.unusable);
}

static void test_mode_format(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(ktls_mode_format(KTLS_MODE_PLAIN, NULL, 0, b, sizeof(b)), "plain");
	assert_string_equal(ktls_mode_format(KTLS_MODE_KERNEL, NULL, 0, b, sizeof(b)), "kernel");
	assert_string_equal(
		ktls_mode_format(KTLS_MODE_USER, KTLS_WHY_INSTALL, -ENOENT, b, sizeof(b)),
		"user(install-failed:ENOENT)");
	assert_string_equal(ktls_mode_format(KTLS_MODE_USER, KTLS_WHY_NO_ULP, 0, b, 8), "user(no");
}

/* Real endpoints, in the states that do not depend on the machine's kernel. */
static void test_endpoint_states(void **state)
{
	struct kh_suite s = kh_suites[3];
	SSL_CTX *cctx = kh_ctx(&s, false), *sctx = kh_ctx(&s, true);
	struct ktls_ep *plain, *c, *sv;
	struct ktls_caps caps;
	char buf[128];
	int a, b;

	(void)state;
	assert_int_equal(tg_tcp_loopback_pair(&a, &b), 0);
	plain = ktls_ep_new(a);
	assert_non_null(plain);
	assert_string_equal(ktls_ep_state(plain, buf, sizeof(buf)), "plain");
	assert_int_equal(ktls_ep_tx_mode(plain), KTLS_MODE_PLAIN);
	assert_int_equal(ktls_ep_offload(plain, NULL), -EINVAL);
	ktls_ep_free(plain);
	close(b);

	/* a session kept in userspace on purpose */
	SSL_CTX_clear_options(cctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_clear_options(sctx, SSL_OP_ENABLE_KTLS);
	assert_int_equal(kh_tls_pair_ctx(cctx, sctx, &c, &sv), 0);
	assert_string_equal(ktls_ep_state(c, buf, sizeof(buf)),
			    "tx=user(handshake) rx=user(handshake)");
	assert_int_equal(ktls_probe(&caps), 0);
	assert_int_equal(ktls_ep_offload(c, &caps), 0);
	assert_int_equal(ktls_ep_offload(c, &caps), 0); /* once is enough; again is harmless */
	assert_string_equal(ktls_ep_state(c, buf, sizeof(buf)),
			    "tx=user(ktls-disabled) rx=user(ktls-disabled)");
	assert_int_equal(ktls_ep_rx_mode(c), KTLS_MODE_USER);
	assert_string_equal(ktls_ep_error(c), "");
	/* OpenSSL still does the record layer: its SSL is not released */
	assert_false(ktls_ep_release_ssl(c));
	assert_non_null(ktls_ep_ssl(c));
	ktls_ep_free(c);
	ktls_ep_free(sv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* Bytes read through OpenSSL before the offload make the TLS 1.3 RX sequence unknown. */
static void test_read_before_offload(void **state)
{
	struct ktls_ep *c, *sv;
	struct ktls_counters k0, k1;
	char buf[128];

	(void)state;
	ktls_counters_get(&k0);
	assert_int_equal(kh_tls_pair(&kh_suites[3], &c, &sv), 0);
	assert_int_equal(ktls_ep_offload(sv, NULL), 0);
	assert_int_equal(kh_write_all(sv, "early", 5, 5000), 5);
	assert_int_equal(kh_read_full(c, buf, 5, 5000), 5);
	assert_int_equal(ktls_ep_offload(c, NULL), 0);
	ktls_ep_state(c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "rx=user(read-before-offload)"));
	/* and the session still works */
	assert_int_equal(kh_write_all(sv, "late", 4, 5000), 4);
	assert_int_equal(kh_read_full(c, buf, 4, 5000), 4);
	assert_memory_equal(buf, "late", 4);
	ktls_counters_get(&k1);
	assert_true(k1.rx_user - k0.rx_user >= 1);
	ktls_ep_free(c);
	ktls_ep_free(sv);
}

static void test_misuse(void **state)
{
	struct ktls_ep *ep;
	char buf[8];
	int a, b;

	(void)state;
	assert_null(ktls_ep_new(-1));
	assert_int_equal(tg_tcp_loopback_pair(&a, &b), 0);
	ep = ktls_ep_new(a);
	assert_int_equal(ktls_ep_read(ep, buf, 0), -EINVAL);
	assert_int_equal(ktls_ep_write(ep, buf, 0), 0);
	assert_int_equal(ktls_ep_handshake(ep), -EINVAL);
	assert_int_equal(ktls_ep_start_tls(ep, NULL, false), -EINVAL);
	assert_int_equal(ktls_ep_read(ep, buf, sizeof(buf)), -EAGAIN);
	assert_true(ktls_ep_events(ep) & EPOLLIN);
	assert_int_equal(ktls_ep_shutdown(ep), 0);
	ktls_ep_free(ep);
	/* the peer sees our FIN */
	assert_int_equal(read(b, buf, sizeof(buf)), 0);
	close(b);
	ktls_ep_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_all_kernel),
		cmocka_unit_test(test_tls12_openssl_did_both),
		cmocka_unit_test(test_host_without_ulp),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_openssl_rx_with_buffered_bytes),
		cmocka_unit_test(test_mode_format),
		cmocka_unit_test(test_endpoint_states),
		cmocka_unit_test(test_read_before_offload),
		cmocka_unit_test(test_misuse),
	};

	return cmocka_run_group_tests_name("ktls_select", tests, NULL, NULL);
}
