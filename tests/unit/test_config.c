// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/config.c: the value parsers (durations, addresses; regressions found by fuzz_config),
 * and the list keys, parsed when set, so a typo fails at start (and in --check-config), not later
 * when the datapath is attached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "daemon/config.h"

static void test_duration(void **state)
{
	unsigned int v = 0;

	(void)state;
	assert_int_equal(config_parse_duration("30", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(config_parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(config_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(config_parse_duration("7s", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(config_parse_duration("8d", &v), -EINVAL);
	assert_int_equal(config_parse_duration("169h", &v), -ERANGE);
	/* 5124095576030432 * 3600 wraps around 2^64 to 3584: it was taken as an hour */
	v = 1;
	assert_int_equal(config_parse_duration("5124095576030432h", &v), -ERANGE);
	assert_int_equal(config_parse_duration("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(v, 1);
	/* strtoul's leniency is not a duration */
	assert_int_equal(config_parse_duration("+5", &v), -EINVAL);
	assert_int_equal(config_parse_duration("-0", &v), -EINVAL);
	assert_int_equal(config_parse_duration(" 5", &v), -EINVAL);
	assert_int_equal(config_parse_duration("", &v), -EINVAL);
}

static void test_addr_any_port(void **state)
{
	struct config_addr a;

	(void)state;
	assert_int_equal(config_parse_addr("*:25", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), 25);
	/* the port is all digits, as for a numeric host (it was read as 25) */
	assert_int_equal(config_parse_addr("*:25abc", &a), -EINVAL);
	assert_int_equal(config_parse_addr("*:+25", &a), -EINVAL);
	assert_int_equal(config_parse_addr("*:0", &a), -EINVAL);
	assert_int_equal(config_parse_addr("*:65536", &a), -EINVAL);
	assert_int_equal(config_parse_addr("192.0.2.1:25", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(config_parse_addr("192.0.2.1:25x", &a), -EINVAL);
	/* getaddrinfo keeps the low 16 bits of a bigger port: 4095432 would listen on 32712 */
	assert_int_equal(config_parse_addr("192.0.2.1:4095432", &a), -EINVAL);
	assert_int_equal(config_parse_addr("[2001:db8::1]:70000", &a), -EINVAL);
	assert_int_equal(config_parse_addr("192.0.2.1:0", &a), -EINVAL);
	assert_int_equal(config_parse_addr("[2001:db8::1]:587", &a), 0);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), 587);
}

static void test_lists_parsed(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.steer_port_list.n, 1);
	assert_int_equal(c.steer_port_list.port[0], 25);
	assert_int_equal(config_set(&c, "inside_interfaces", "eth1, veth-in2", err, sizeof(err)), 0);
	assert_int_equal(c.inside_ifs.n, 2);
	assert_string_equal(c.inside_ifs.name[1], "veth-in2");
	assert_string_equal(c.inside_interfaces, "eth1, veth-in2"); /* as written, for logs */
	assert_int_equal(config_set(&c, "steer_ports", "25 587", err, sizeof(err)), 0);
	assert_int_equal(c.steer_port_list.n, 2);
	assert_int_equal(c.steer_port_list.port[1], 587);
	assert_int_equal(config_set(&c, "steer_exclude", "192.0.2.50 2001:db8:1::/48", err,
				    sizeof(err)), 0);
	assert_int_equal(c.steer_exclude_list.n, 2);
	assert_int_equal(c.steer_exclude_list.p[0].family, AF_INET);
	assert_int_equal(c.steer_exclude_list.p[0].len, 32);
	assert_int_equal(c.steer_exclude_list.p[1].family, AF_INET6);
	assert_int_equal(c.steer_exclude_list.p[1].len, 48);
	config_free(&c);
}

static void test_typos_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "steer_ports", "25 0" },	{ "steer_ports", "65536" },
		{ "steer_ports", "25x" },	{ "steer_ports", "+25" },
		{ "steer_exclude", "192.0.2.0/33" },
		{ "steer_exclude", "192.0.2" }, { "steer_exclude", "2001:db8::/129" },
		{ "steer_exclude", "192.0.2.0/" }, { "inside_interfaces", "averyveryverylongname0" },
		{ "outside_interfaces", "eth0/1" },
	};
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i][0]));
	}
	/* a refused value leaves the previous one in force */
	assert_int_equal(c.steer_port_list.n, 1);
	assert_int_equal(c.steer_port_list.port[0], 25);
	config_free(&c);
}

/* Outbound destination policy (daemon/destpol.h): defaults and values. */
static void test_destination_keys(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_true(c.outbound_dane);
	assert_true(c.outbound_mta_sts);
	assert_string_equal(c.dane_trust_anchor, "/usr/share/dns/root.key");
	assert_int_equal(c.destination_cache_ttl, 300);
	assert_int_equal(c.destination_lookup_timeout, 10);
	assert_true(c.enforce_destination_policy);
	assert_int_equal(config_set(&c, "enforce_destination_policy", "no", err, sizeof(err)), 0);
	assert_false(c.enforce_destination_policy);
	assert_int_equal(config_set(&c, "outbound_dane", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "outbound_mta_sts", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "dane_trust_anchor", "/etc/tlsgate/ta.key", err,
				    sizeof(err)), 0);
	assert_int_equal(config_set(&c, "destination_cache_ttl", "1h", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "destination_lookup_timeout", "30s", err, sizeof(err)),
			 0);
	assert_false(c.outbound_dane);
	assert_false(c.outbound_mta_sts);
	assert_string_equal(c.dane_trust_anchor, "/etc/tlsgate/ta.key");
	assert_int_equal(c.destination_cache_ttl, 3600);
	assert_int_equal(c.destination_lookup_timeout, 30);
	assert_int_equal(config_set(&c, "outbound_dane", "maybe", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "outbound_dane"));
	assert_int_equal(config_set(&c, "destination_lookup_timeout", "10x", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "destination_lookup_timeout"));
	assert_int_equal(c.destination_lookup_timeout, 30);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_addr_any_port),
		cmocka_unit_test(test_lists_parsed),
		cmocka_unit_test(test_typos_refused),
		cmocka_unit_test(test_destination_keys),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
