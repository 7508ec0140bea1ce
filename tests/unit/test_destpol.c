// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/destpol.c over a fake transport and the real loop (daemon/loop.c): hits, misses that
 * wake their waiters, one lookup shared by many, cancel, the deadline (a cached FAILED verdict
 * that expires), the LRU bound, and waiters that get and cancel from inside their wake.
 *
 * The fake transport answers every domain alike when pump() runs: no MX RRset (the domain is
 * its own host), A 192.0.2.25, no AAAA, no TLSA; secure or insecure as T.secure says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/destpol.h"
#include "daemon/loop.h"
#include "tests/lib/fake_dane.h"

#define T_A 1
#define T_MX 15
#define T_AAAA 28
#define T_TLSA 52

static struct {
	struct tg_fake_dane f;	/* the questions destpol asked */
	bool secure;
} T;

static const unsigned char a1[] = { 192, 0, 2, 25 };

static struct policy_dane_transport fake_tr; /* over T.f (main) */

static size_t asked(uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < T.f.nq; i++)
		n += T.f.q[i].type == type;
	return n;
}

/* Answer every live query, and those the answers start. */
static void pump(void)
{
	for (size_t i = 0; i < T.f.nq; i++) {
		const unsigned char *data[1] = { a1 };
		size_t len[1] = { 4 };
		struct policy_dane_answer a = { .secure = T.secure, .data = data, .len = len };
		struct tg_fake_dane_q *q = &T.f.q[i];

		if (!q->live)
			continue;
		q->live = false;
		if (q->type == T_A)
			a.n = 1;
		if (q->type == T_TLSA)
			a.nxdomain = true, a.rcode = 3;
		q->done(q->arg, &a);
	}
}

struct tw {
	struct destpol_waiter w;
	int woken;
	void (*then)(struct tw *t);
	struct destpol *d;
	struct tw *other;
	const char *next_domain;
	int got;
	const struct policy_dane_domain *v;
};

static void tw_wake(struct destpol_waiter *w)
{
	struct tw *t = (struct tw *)((char *)w - offsetof(struct tw, w));

	t->woken++;
	if (t->then)
		t->then(t);
}

static void tw_init(struct tw *t, struct destpol *d)
{
	memset(t, 0, sizeof(*t));
	t->w.wake = tw_wake;
	t->d = d;
}

struct fix {
	struct loop *l;
	struct destpol *d;
};

static struct destpol *fix_new(struct fix *f, const struct destpol_opts *o)
{
	memset(&T, 0, sizeof(T));
	T.secure = true;
	assert_int_equal(loop_new(&f->l), 0);
	assert_int_equal(destpol_new_transport(f->l, o, &fake_tr, &f->d), 0);
	return f->d;
}

static void fix_free(struct fix *f)
{
	destpol_free(f->d);
	loop_free(f->l);
}

static void test_miss_wake_hit(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	struct tw t;
	size_t nq;

	(void)state;
	tw_init(&t, d);
	assert_int_equal(destpol_get(d, "Example.TEST.", &v, &t.w), 0);
	assert_int_equal(t.woken, 0); /* never from inside get */
	assert_int_equal(destpol_count(d), 1);
	assert_int_equal(asked(T_MX), 1);
	pump();
	assert_int_equal(t.woken, 1);
	assert_int_equal(destpol_get(d, "example.test", &v, NULL), 1);
	assert_string_equal(v->domain, "example.test");
	assert_int_equal(v->state, POLICY_DANE_NONE);
	assert_int_equal(v->nhost, 1);
	assert_true(v->implicit_mx);
	assert_ptr_equal(policy_dane_host_by_addr(v, a1, 4), &v->host[0]);
	assert_string_equal(v->host[0].reason, "no TLSA records"); /* TLSA was asked */
	assert_int_equal(asked(T_TLSA), 1);
	/* a hit asks nothing and wakes nobody */
	nq = T.f.nq;
	assert_int_equal(destpol_get(d, "EXAMPLE.test", &v, &t.w), 1);
	assert_int_equal(T.f.nq, nq);
	pump();
	assert_int_equal(t.woken, 1);
	/* names that are not */
	assert_int_equal(destpol_get(d, "", &v, &t.w), -EINVAL);
	assert_int_equal(destpol_get(d, "a..b", &v, &t.w), -EINVAL);
	assert_int_equal(destpol_get(d, "bad name.test", &v, &t.w), -EINVAL);
	fix_free(&f);
}

/* DANE off: no TLSA query; the hosts and addresses all the same, of an insecure domain too. */
static void test_no_dane_insecure(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = false };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);

	(void)state;
	T.secure = false;
	assert_int_equal(destpol_get(d, "insecure.test", &v, NULL), 0);
	pump();
	assert_int_equal(destpol_get(d, "insecure.test", &v, NULL), 1);
	assert_int_equal(v->state, POLICY_DANE_NONE);
	assert_string_equal(v->reason, "MX RRset insecure");
	assert_int_equal(v->nhost, 1);
	assert_int_equal(v->host[0].n4, 1);
	T.secure = true;
	assert_int_equal(destpol_get(d, "secure.test", &v, NULL), 0);
	pump();
	assert_int_equal(destpol_get(d, "secure.test", &v, NULL), 1);
	assert_string_equal(v->host[0].reason, "TLSA not asked");
	assert_int_equal(asked(T_TLSA), 0);
	fix_free(&f);
}

static void test_shared_and_cancel(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	struct tw t1, t2, t3;

	(void)state;
	tw_init(&t1, d);
	tw_init(&t2, d);
	tw_init(&t3, d);
	destpol_cancel(&t1.w); /* not waiting: nothing happens */
	assert_int_equal(destpol_get(d, "shared.test", &v, &t1.w), 0);
	assert_int_equal(destpol_get(d, "shared.test", &v, &t2.w), 0);
	assert_int_equal(destpol_get(d, "shared.test", &v, &t3.w), 0);
	assert_int_equal(asked(T_MX), 1); /* one lookup for all */
	destpol_cancel(&t2.w);
	destpol_cancel(&t2.w);
	pump();
	assert_int_equal(t1.woken, 1);
	assert_int_equal(t2.woken, 0);
	assert_int_equal(t3.woken, 1);
	/* a waiter moved to another domain waits for that one only */
	assert_int_equal(destpol_get(d, "one.test", &v, &t1.w), 0);
	assert_int_equal(destpol_get(d, "two.test", &v, &t1.w), 0);
	pump();
	assert_int_equal(t1.woken, 2);
	fix_free(&f);
}

/* The deadline: the lookup is cancelled and a FAILED verdict cached for fail_ttl_s, then
 * looked up again. */
static void test_timeout(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true, .timeout_s = 1, .fail_ttl_s = 1 };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	uint64_t t0 = loop_now_ms();
	struct tw t;
	size_t nq;

	(void)state;
	tw_init(&t, d);
	assert_int_equal(destpol_get(d, "slow.test", &v, &t.w), 0);
	while (!t.woken && loop_now_ms() - t0 < 5000)
		assert_true(loop_run_once(f.l, 2000) >= 0);
	assert_int_equal(t.woken, 1);
	assert_true(loop_now_ms() - t0 >= 1000);
	assert_int_equal(T.f.cancelled, 1); /* the MX query */
	assert_int_equal(destpol_get(d, "slow.test", &v, &t.w), 1);
	assert_int_equal(v->state, POLICY_DANE_FAILED);
	assert_string_equal(v->reason, "lookup timed out");
	assert_string_equal(v->domain, "slow.test");
	nq = T.f.nq;
	/* expired: asked again (time passing is what is tested; nothing to wait for instead) */
	usleep(1100 * 1000);
	assert_int_equal(destpol_get(d, "slow.test", &v, &t.w), 0);
	assert_int_equal(T.f.nq, nq + 1);
	pump();
	assert_int_equal(t.woken, 2);
	assert_int_equal(destpol_get(d, "slow.test", &v, NULL), 1);
	assert_int_equal(v->state, POLICY_DANE_NONE);
	fix_free(&f);
}

/* A transport that cannot even ask: FAILED at once, never a silent NONE. */
static void test_start_fails(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	struct tw t;

	(void)state;
	tw_init(&t, d);
	T.f.refuse = true;
	assert_int_equal(destpol_get(d, "refused.test", &v, &t.w), 1);
	assert_int_equal(v->state, POLICY_DANE_FAILED);
	assert_non_null(strstr(v->reason, "lookup could not be started"));
	fix_free(&f);
}

static void test_eviction(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true, .max_entries = 4 };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	char name[32];
	struct tw t;

	(void)state;
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "d%d.test", i);
		assert_int_equal(destpol_get(d, name, &v, NULL), 0);
		assert_true(destpol_count(d) <= 4);
	}
	assert_int_equal(T.f.cancelled, 2); /* the evicted lookups of d0, d1 */
	pump();
	assert_int_equal(destpol_get(d, "d2.test", &v, NULL), 1); /* now the most recent */
	assert_int_equal(destpol_get(d, "d0.test", &v, NULL), 0); /* evicted: d3 goes */
	assert_int_equal(destpol_count(d), 4);
	assert_int_equal(destpol_get(d, "d4.test", &v, NULL), 1);
	assert_int_equal(destpol_get(d, "d2.test", &v, NULL), 1);
	pump();

	/* an entry somebody waits for stays, beyond the bound if need be */
	tw_init(&t, d);
	assert_int_equal(destpol_get(d, "waited.test", &v, &t.w), 0);
	for (int i = 10; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d.test", i);
		assert_int_equal(destpol_get(d, name, &v, NULL), 0);
	}
	assert_int_equal(destpol_count(d), 4);
	pump();
	assert_int_equal(t.woken, 1);
	assert_int_equal(destpol_get(d, "waited.test", &v, NULL), 1);
	fix_free(&f);
}

/* From inside wake: a get of the same domain (a hit), a get that waits for another, a cancel
 * of a waiter that would have been woken next. */
static void reenter(struct tw *t)
{
	const struct policy_dane_domain *v = NULL;

	t->got = destpol_get(t->d, "reenter.test", &v, NULL);
	t->v = v;
	if (t->other)
		destpol_cancel(&t->other->w);
	if (t->next_domain) {
		assert_int_equal(destpol_get(t->d, t->next_domain, &v, &t->w), 0);
		t->next_domain = NULL;
	}
}

static void test_reentrant(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true, .max_entries = 2 };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	struct tw t1, t2, t3;

	(void)state;
	tw_init(&t1, d);
	tw_init(&t2, d);
	tw_init(&t3, d);
	t1.then = t2.then = t3.then = reenter;
	t1.next_domain = "after.test";
	assert_int_equal(destpol_get(d, "reenter.test", &v, &t1.w), 0);
	assert_int_equal(destpol_get(d, "reenter.test", &v, &t2.w), 0);
	assert_int_equal(destpol_get(d, "reenter.test", &v, &t3.w), 0);
	/* waiters are woken newest first: t3 cancels t2 */
	t3.other = &t2;
	pump();
	assert_int_equal(t3.woken, 1);
	assert_int_equal(t3.got, 1);
	assert_string_equal(t3.v->domain, "reenter.test");
	assert_int_equal(t2.woken, 0);
	/* t1 asked for after.test from its wake (which, with max_entries 2, may evict) and was
	 * woken again when that ended */
	assert_int_equal(t1.woken, 2);
	assert_int_equal(destpol_get(d, "after.test", &v, NULL), 1);
	fix_free(&f);
}

/* Freeing with lookups and waiters: nobody is woken, every query cancelled. */
static void test_free_pending(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .dane = true };
	const struct policy_dane_domain *v = NULL;
	struct fix f;
	struct destpol *d = fix_new(&f, &o);
	struct tw t;

	(void)state;
	tw_init(&t, d);
	assert_int_equal(destpol_get(d, "pending.test", &v, &t.w), 0);
	fix_free(&f);
	assert_int_equal(T.f.cancelled, 1);
	assert_int_equal(t.woken, 0);
	destpol_cancel(&t.w); /* its session ends later: still safe */
}

/* The libunbound-backed constructor: a missing trust anchor is a start-up error. */
static void test_new_resolver(void **state)
{
	struct destpol_opts o = { .sz = sizeof(o), .trust_anchor = "/nonexistent/root.key" };
	struct destpol *d = NULL;
	struct loop *l;
	char err[256] = "";

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(destpol_new(l, &o, &d, err, sizeof(err)), -ENOENT);
	assert_null(d);
	assert_non_null(strstr(err, "trust anchor /nonexistent/root.key"));
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_wake_hit),
		cmocka_unit_test(test_no_dane_insecure),
		cmocka_unit_test(test_shared_and_cancel),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_new_resolver),
	};

	tg_fake_dane_transport(&T.f, &fake_tr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
