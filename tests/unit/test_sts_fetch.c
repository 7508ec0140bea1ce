// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/sts_fetch.c's lookup API, the one the sessions will call from worker threads: a cached
 * policy in force is returned; mode none, an expired policy and an unknown domain are not; an
 * unknown domain asked from another thread is queued (PENDING, the caller never waits) and the
 * loop's thread then runs the refresh, which here fails at once (nothing answers DNS on
 * 127.0.0.1:1) and leaves no policy, the error recorded and the domain backed off.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/loop.h"
#include "daemon/sts_fetch.h"
#include "tests/lib/tmpdir.h"

static const char enforce[] = "version: STSv1\nmode: enforce\nmx: *.a.example\nmax_age: 86400\n";
static const char none[] = "version: STSv1\nmode: none\nmax_age: 86400\n";
static const char short_lived[] = "version: STSv1\nmode: enforce\nmx: mx.old.example\nmax_age: 1\n";

static void put(struct policy_sts_cache *c, const char *domain, const char *text, int64_t when)
{
	struct policy_sts_entry *e;
	char why[128];

	assert_int_equal(policy_sts_entry_new(domain, "id1", when, text, strlen(text), &e, why,
					      sizeof(why)), 0);
	assert_int_equal(policy_sts_cache_put(c, e), 0);
}

struct ask {
	struct sts_fetch *f;
	const char *domain;
	enum sts_lookup r;
};

static void *ask_thread(void *arg)
{
	struct ask *a = arg;
	struct policy_sts_entry *e;

	a->r = sts_fetch_lookup(a->f, a->domain, &e);
	policy_sts_entry_put(e);
	return NULL;
}

static void test_lookup(void **state)
{
	char dir[] = "/tmp/tg-sts-fetch.XXXXXX", sub[64];
	struct sts_fetch_opts o = { .nameserver = "127.0.0.1:1", .timeout_s = 5 };
	struct policy_sts_state st = { 0 };
	struct policy_sts_cache *c;
	struct policy_sts_entry *e;
	struct sts_fetch *f;
	struct loop *l;
	struct ask a;
	pthread_t th;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/mta-sts", dir);
	/* what an earlier run left on disk */
	assert_int_equal(policy_sts_cache_open(sub, 0, &c), 0);
	put(c, "a.example", enforce, now);
	put(c, "n.example", none, now);
	put(c, "old.example", short_lived, now - 10);
	policy_sts_cache_free(c);

	assert_int_equal(loop_new(&l), 0);
	o.cache_dir = sub;
	assert_int_equal(sts_fetch_new(l, &o, &f), 0);

	/* a policy in force: returned, and a domain checked less than 5 minutes ago is not... */
	st.last_check = now;
	st.next_check = now + 300;
	assert_int_equal(policy_sts_cache_set_state(sts_fetch_cache(f), "a.example", &st), 0);
	assert_int_equal(sts_fetch_lookup(f, "A.Example.", &e), STS_LOOKUP_POLICY);
	assert_non_null(e);
	assert_int_equal(e->pol.mode, POLICY_STS_ENFORCE);
	assert_true(policy_sts_mx_match(&e->pol, "mx1.a.example"));
	assert_false(policy_sts_mx_match(&e->pol, "mx1.b.example"));
	policy_sts_entry_put(e);
	assert_int_equal(policy_sts_cache_get(sts_fetch_cache(f), "a.example", NULL, &st), 0);
	assert_false(st.pending);	/* ... asked again */
	/* mode none and an expired policy: nothing applies (and a refresh is due) */
	assert_int_equal(sts_fetch_lookup(f, "n.example", &e), STS_LOOKUP_NONE);
	assert_null(e);
	assert_int_equal(sts_fetch_lookup(f, "old.example", &e), STS_LOOKUP_NONE);
	assert_null(e);
	assert_int_equal(sts_fetch_lookup(f, "not a domain", &e), STS_LOOKUP_NONE);

	/* an unknown domain asked by a worker: queued, PENDING, no waiting */
	a = (struct ask){ .f = f, .domain = "new.example" };
	assert_int_equal(pthread_create(&th, NULL, ask_thread, &a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.r, STS_LOOKUP_PENDING);
	/* the loop's thread picks it up and the refresh fails (DNS refused) */
	for (int i = 0; i < 100; i++) {
		memset(&st, 0, sizeof(st));
		if (!policy_sts_cache_get(sts_fetch_cache(f), "new.example", NULL, &st) &&
		    !st.pending && st.failures)
			break;
		assert_true(loop_run_once(l, 100) >= 0);
	}
	assert_false(st.pending);
	assert_int_equal(st.failures, 1);
	assert_non_null(strstr(st.error, "TXT lookup"));
	assert_true(st.next_check >= now + 60);
	/* backed off: asking again returns at once, queues nothing, no policy */
	assert_int_equal(sts_fetch_lookup(f, "new.example", &e), STS_LOOKUP_NONE);
	assert_int_equal(loop_run_once(l, 0), 0);

	sts_fetch_free(f);
	loop_free(l);
	assert_int_equal(tg_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
