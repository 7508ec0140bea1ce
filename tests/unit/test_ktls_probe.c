// SPDX-License-Identifier: GPL-2.0-only
/* ktls/probe.c and ktls/stat.c: the start-up line and the tls_stat parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ktls/ktls.h"
#include "ktls/stat.h"

static void test_format_unavailable(void **state)
{
	struct ktls_caps caps = { .ulp = false, .ulp_err = -ENOENT };
	char buf[128];

	(void)state;
	ktls_caps_format(&caps, buf, sizeof(buf));
	assert_string_equal(buf, "unavailable (kernel has no tls ULP)");
	assert_string_equal(ktls_caps_unavailable_reason(&caps), "kernel has no tls ULP");
}

static void test_format_all(void **state)
{
	struct ktls_caps caps = { .ulp = true };
	char buf[128];

	(void)state;
	for (int v = 0; v < KTLS_NVERSIONS; v++)
		for (int c = 0; c < KTLS_NCIPHERS; c++)
			caps.tx[v][c] = caps.rx[v][c] = true;
	ktls_caps_format(&caps, buf, sizeof(buf));
	assert_string_equal(buf, "tx,rx aes-128-gcm aes-256-gcm chacha20-poly1305");
	assert_null(ktls_caps_unavailable_reason(&caps));
}

static void test_format_keyupdate(void **state)
{
	struct ktls_caps caps = { .ulp = true, .tls13_rekey = true };
	char buf[128];

	(void)state;
	for (int c = 0; c < KTLS_NCIPHERS; c++)
		caps.tx[KTLS_TLS13][c] = caps.rx[KTLS_TLS13][c] = true;
	ktls_caps_format(&caps, buf, sizeof(buf));
	assert_string_equal(buf, "tx,rx aes-128-gcm aes-256-gcm chacha20-poly1305 keyupdate");
}

/* The probe itself, on whatever kernel runs the test: consistent with its own summary. */
static void test_probe_runs(void **state)
{
	struct ktls_caps caps;
	char buf[128];

	(void)state;
	assert_int_equal(ktls_probe(&caps), 0);
	ktls_caps_format(&caps, buf, sizeof(buf));
	if (!caps.ulp) {
		assert_non_null(strstr(buf, "unavailable ("));
		assert_false(caps.tx[KTLS_TLS13][KTLS_AES_128_GCM]);
		assert_false(caps.tls13_rekey);
	} else {
		assert_non_null(strstr(buf, "tx"));
	}
}

static void test_format_tx_only_one_cipher(void **state)
{
	struct ktls_caps caps = { .ulp = true };
	char buf[128];

	(void)state;
	caps.tx[KTLS_TLS12][KTLS_AES_128_GCM] = true;
	ktls_caps_format(&caps, buf, sizeof(buf));
	/* TX alone does not list a cipher: a cipher is usable when both directions are. */
	assert_string_equal(buf, "tx");
}

static void test_format_truncates_safely(void **state)
{
	struct ktls_caps caps = { .ulp = true };
	char buf[8];
	int n;

	(void)state;
	for (int c = 0; c < KTLS_NCIPHERS; c++)
		caps.tx[KTLS_TLS13][c] = caps.rx[KTLS_TLS13][c] = true;
	n = ktls_caps_format(&caps, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("tx,rx aes-128-gcm aes-256-gcm chacha20-poly1305"));
	assert_string_equal(buf, "tx,rx a");
}

static void test_stat_parse(void **state)
{
	struct ktls_stat st;

	(void)state;
	assert_int_equal(ktls_stat_read_file("tests/unit/data/tls_stat.6.1", &st), 0);
	assert_int_equal(st.tx_sw, 14);
	assert_int_equal(st.rx_sw, 12);
	assert_int_equal(st.curr_tx_sw, 1);
	assert_int_equal(st.decrypt_error, 3);
	assert_int_equal(st.rx_rekey_ok, 0); /* absent before 6.14 */
}

static void test_stat_missing(void **state)
{
	struct ktls_stat st;

	(void)state;
	assert_int_equal(ktls_stat_read_file("tests/unit/data/does-not-exist", &st), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_unavailable),
		cmocka_unit_test(test_format_all),
		cmocka_unit_test(test_format_keyupdate),
		cmocka_unit_test(test_probe_runs),
		cmocka_unit_test(test_format_tx_only_one_cipher),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_stat_parse),
		cmocka_unit_test(test_stat_missing),
	};

	return cmocka_run_group_tests_name("ktls_probe", tests, NULL, NULL);
}
