// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/ids.c: a rule's id depends on its direction and key only -- the same in every load,
 * whatever the order, the other rules, the level or the attributes; pinned values guard the
 * function itself (ids are persisted in BPF maps and metrics: they must never change between
 * versions); collisions resolve deterministically.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy_int.h"

static struct policy *load_text(const char *text)
{
	char path[] = "/tmp/tg-policy-ids.XXXXXX";
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (policy_load(path, NULL, &p, &err))
		fail_msg("%s", err.msg);
	unlink(path);
	return p;
}

static uint32_t id_of(const struct policy *p, const char *key)
{
	const struct policy_rule *r = policy_rule_find(p, POLICY_OUTBOUND, key);

	assert_non_null(r);
	return r->id;
}

static void test_pinned(void **state)
{
	(void)state;
	/* Computed once with the documented function; a change here breaks every deployment's
	 * metrics and pinned maps. */
	assert_int_equal(policy_id_hash(POLICY_OUTBOUND, "example.org"), 90981073u);
	assert_int_equal(policy_id_hash(POLICY_INBOUND, "example.org"), 296611717u);
	assert_int_equal(policy_id_hash(POLICY_OUTBOUND, "[mx.example.org]:25"), 1741621175u);
	assert_int_equal(policy_id_hash(POLICY_OUTBOUND, "192.0.2.0/24"), 1407359212u);
}

static void test_same_rule_same_id(void **state)
{
	struct policy *a = load_text("example.org encrypt\n"
				     ".example.org verify\n"
				     "[mx.example.org]:25 secure\n"
				     "192.0.2.0/24 may\n");
	/* Other order, other levels and attributes, other neighbours, other spelling. */
	struct policy *b = load_text("# edited\n"
				     "10.example.net may\n"
				     "192.0.2.0/24 encrypt protocols=>=TLSv1.2\n"
				     "[MX.Example.Org.]:25 verify match=nexthop\n"
				     "EXAMPLE.ORG. secure\n"
				     ".example.org   verify\n");
	static const char *const keys[] = { "example.org", ".example.org", "[mx.example.org]:25",
					    "192.0.2.0/24" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(id_of(a, keys[i]), id_of(b, keys[i]));
		assert_true(id_of(a, keys[i]) >= POLICY_ID_FIRST);
	}
	assert_int_equal(id_of(a, "example.org"), 90981073u);
	policy_put(a);
	policy_put(b);
}

static void test_directions_differ(void **state)
{
	char path[] = "/tmp/tg-policy-ids-in.XXXXXX", opath[] = "/tmp/tg-policy-ids-out.XXXXXX";
	struct policy_error err;
	struct policy *p = NULL;
	int fd = mkstemp(path), ofd = mkstemp(opath);

	(void)state;
	assert_true(fd >= 0 && ofd >= 0);
	assert_int_equal(write(fd, "example.org encrypt\n", 20), 20);
	assert_int_equal(write(ofd, "example.org encrypt\n", 20), 20);
	close(fd);
	close(ofd);
	assert_int_equal(policy_load(opath, path, &p, &err), 0);
	assert_int_not_equal(policy_rule_find(p, POLICY_OUTBOUND, "example.org")->id,
			     policy_rule_find(p, POLICY_INBOUND, "example.org")->id);
	assert_int_equal(policy_rule_find(p, POLICY_INBOUND, "example.org")->id, 296611717u);
	policy_put(p);
	unlink(path);
	unlink(opath);
}

/* Collisions: order-independent, first free id at or above the hash, wrapping past 2^32-1. */
static void test_collisions(void **state)
{
	struct policy_rule r[6] = {
		{ .dir = POLICY_OUTBOUND, .key = "b.example" },
		{ .dir = POLICY_OUTBOUND, .key = "a.example" },
		{ .dir = POLICY_INBOUND, .key = "a.example" },
		{ .dir = POLICY_OUTBOUND, .key = "c.example" },
		{ .dir = POLICY_OUTBOUND, .key = "y.example" },
		{ .dir = POLICY_OUTBOUND, .key = "z.example" },
	};
	struct id_ent e[6], f[6];

	(void)state;
	/* b, a(out), a(in) all hash to 100; c hashes to 101; y and z to the top. */
	for (int i = 0; i < 6; i++)
		e[i] = (struct id_ent){ .id = i < 3 ? 100 : i == 3 ? 101 : UINT32_MAX,
					.rule = &r[i] };
	for (int i = 0; i < 6; i++)
		f[i] = e[5 - i];	/* the same set in another order */
	policy_ids_place(e, 6);
	policy_ids_place(f, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(e[i].id, f[i].id);
		assert_ptr_equal(e[i].rule, f[i].rule);
	}
	/* Taken in (hash, direction, key) order, each at the first free id at or above its
	 * hash; sorted by id after: the wrapped one first. */
	assert_int_equal(e[0].id, POLICY_ID_FIRST);
	assert_string_equal(e[0].rule->key, "z.example");
	assert_int_equal(e[1].id, 100);
	assert_ptr_equal(e[1].rule, &r[1]);	/* outbound a.example */
	assert_int_equal(e[2].id, 101);
	assert_ptr_equal(e[2].rule, &r[0]);	/* outbound b.example */
	assert_int_equal(e[3].id, 102);
	assert_ptr_equal(e[3].rule, &r[2]);	/* inbound a.example */
	assert_int_equal(e[4].id, 103);
	assert_ptr_equal(e[4].rule, &r[3]);	/* c.example wanted 101 */
	assert_int_equal(e[5].id, UINT32_MAX);
	assert_string_equal(e[5].rule->key, "y.example");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A large table: every id unique and outside the reserved range; a reload gives the same. */
static void test_many_unique(void **state)
{
	size_t n = 100000, cap = n * 32, used = 0;
	char *text = malloc(cap);
	uint32_t *ids = calloc(n, sizeof(*ids));
	struct policy *a, *b;

	(void)state;
	assert_non_null(text);
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used, "d%zu.example encrypt\n", i);
	a = load_text(text);
	b = load_text(text);
	assert_int_equal(policy_rule_count(a, POLICY_OUTBOUND), n);
	for (size_t i = 0; i < n; i++) {
		ids[i] = policy_rule_at(a, POLICY_OUTBOUND, i)->id;
		assert_true(ids[i] >= POLICY_ID_FIRST);
		assert_int_equal(ids[i], policy_rule_at(b, POLICY_OUTBOUND, i)->id);
		assert_ptr_equal(policy_rule_by_id(a, ids[i]),
				 policy_rule_at(a, POLICY_OUTBOUND, i));
	}
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (size_t i = 1; i < n; i++)
		assert_int_not_equal(ids[i - 1], ids[i]);
	assert_true(policy_equal(a, b));
	policy_put(a);
	policy_put(b);
	free(ids);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_same_rule_same_id),
		cmocka_unit_test(test_directions_differ),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_many_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
