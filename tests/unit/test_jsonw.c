// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonw.h"

static char *render(void (*fn)(struct jsonw *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jsonw *w = jsonw_new(f);

	fn(w);
	jsonw_destroy(&w);
	fclose(f);
	return buf;
}

static void doc_nested(struct jsonw *w)
{
	jsonw_start_object(w);
	jsonw_string_field(w, "s", "a\"b\\c\n\x01");
	jsonw_u64_field(w, "n", 18446744073709551615ull);
	jsonw_name(w, "list");
	jsonw_start_array(w);
	jsonw_s64(w, -1);
	jsonw_bool(w, true);
	jsonw_null(w);
	jsonw_start_object(w);
	jsonw_end_object(w);
	jsonw_end_array(w);
	jsonw_string_field(w, "z", NULL);
	jsonw_string_field_opt(w, "o1", NULL);
	jsonw_string_field_opt(w, "o2", "");
	jsonw_string_field_opt(w, "o3", "x");
	jsonw_end_object(w);
}

static void test_nested(void **state)
{
	char *s = render(doc_nested);

	(void)state;
	assert_string_equal(s, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551615,"
			       "\"list\":[-1,true,null,{}],\"z\":null,\"o1\":null,\"o2\":null,"
			       "\"o3\":\"x\"}\n");
	free(s);
}

static void doc_empty_array(struct jsonw *w)
{
	jsonw_start_array(w);
	jsonw_end_array(w);
}

static void test_empty_array(void **state)
{
	char *s = render(doc_empty_array);

	(void)state;
	assert_string_equal(s, "[]\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_empty_array),
	};

	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
