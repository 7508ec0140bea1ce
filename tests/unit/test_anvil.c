// SPDX-License-Identifier: GPL-2.0-only
/* daemon/anvil.c: per-client-address session counts and connection rates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "daemon/anvil.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	}
	return ss;
}

static void test_count(void **state)
{
	struct sockaddr_storage a = addr("203.0.113.25"), b = addr("203.0.113.26");
	struct sockaddr_storage mapped = addr("::ffff:203.0.113.25");
	struct anvil *an;

	(void)state;
	assert_int_equal(anvil_new(2, 0, &an), 0);
	assert_int_equal(anvil_connect(an, &a, 1000), ANVIL_OK);
	/* a v4 client of a dual-stack listener is the same client */
	assert_int_equal(anvil_connect(an, &mapped, 1000), ANVIL_OK);
	assert_int_equal(anvil_connect(an, &a, 1000), ANVIL_TOO_MANY);
	assert_int_equal(anvil_connect(an, &b, 1000), ANVIL_OK);
	anvil_disconnect(an, &a);
	assert_int_equal(anvil_connect(an, &a, 1000), ANVIL_OK);
	anvil_free(an);
}

static void test_ipv6_slash64(void **state)
{
	struct sockaddr_storage a1 = addr("2001:db8:2::25"), a2 = addr("2001:db8:2::ffff:1");
	struct sockaddr_storage other = addr("2001:db8:3::25");
	struct anvil *an;

	(void)state;
	assert_int_equal(anvil_new(1, 0, &an), 0);
	assert_int_equal(anvil_connect(an, &a1, 0), ANVIL_OK);
	assert_int_equal(anvil_connect(an, &a2, 0), ANVIL_TOO_MANY); /* same /64 */
	assert_int_equal(anvil_connect(an, &other, 0), ANVIL_OK);
	anvil_free(an);
}

static void test_rate(void **state)
{
	struct sockaddr_storage a = addr("203.0.113.25");
	struct anvil *an;

	(void)state;
	assert_int_equal(anvil_new(0, 3, &an), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(anvil_connect(an, &a, 5000), ANVIL_OK);
		anvil_disconnect(an, &a);
	}
	assert_int_equal(anvil_connect(an, &a, 5000 + 59999), ANVIL_TOO_FAST);
	/* a minute after the window began, a new one */
	assert_int_equal(anvil_connect(an, &a, 5000 + 60000), ANVIL_OK);
	anvil_free(an);
}

static void test_no_limits(void **state)
{
	struct sockaddr_storage a = addr("203.0.113.25");
	struct anvil *an;

	(void)state;
	assert_int_equal(anvil_new(0, 0, &an), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(anvil_connect(an, &a, 0), ANVIL_OK);
	anvil_free(an);
	assert_int_equal(anvil_connect(NULL, &a, 0), ANVIL_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_ipv6_slash64),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_no_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
