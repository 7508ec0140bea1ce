// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "lib/log.h"

static void test_level_parse(void **state)
{
	(void)state;
	assert_int_equal(tg_log_level_parse("err"), TG_LOG_ERR);
	assert_int_equal(tg_log_level_parse("debug"), TG_LOG_DEBUG);
	assert_int_equal(tg_log_level_parse("verbose"), -EINVAL);
	assert_int_equal(tg_log_level_parse(""), -EINVAL);
	assert_string_equal(tg_log_level_name(TG_LOG_WARN), "warn");
	assert_string_equal(tg_log_level_name((enum tg_log_level)99), "?");
}

static void test_level_filter_keeps_errno(void **state)
{
	(void)state;
	tg_log_set_level(TG_LOG_ERR);
	errno = EAGAIN;
	log_debug("dropped line %d", 1);
	log_err("unit-test line session=%s", "x");
	assert_int_equal(errno, EAGAIN); /* logging never clobbers the errno being reported */
	assert_int_equal(tg_log_get_level(), TG_LOG_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_level_filter_keeps_errno),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
