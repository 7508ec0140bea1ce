// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/tlsrpt.c with an injected clock: the day's counts across midnight (UTC) into the spool,
 * across a restart (day file and spool), retries and giving up after 24 h, and the RFC 8460
 * 5.3.1 exemption (only the token's own recipient, only until it expires).  Deliveries are the
 * e2e tier's (tests/e2e/test_tlsrpt.sh); here DNS goes to a closed port, so every delivery
 * attempt fails fast and is retried.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "daemon/tlsrpt_int.h"
#include "tests/lib/tmpdir.h"

#define DAY0 1796428800	/* 2026-12-05T00:00:00Z */

static int64_t fake_now;

static int64_t clock_fn(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static void set_now(int64_t t)
{
	__atomic_store_n(&fake_now, t, __ATOMIC_SEQ_CST);
}

struct fx {
	char dir[64];
	struct loop *l;
	struct tlsrpt_opts o;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(tg_tmpdir_new(f->dir, sizeof(f->dir), "tlsrpt-unit"), 0);
	assert_int_equal(loop_new(&f->l), 0);
	f->o.dir = f->dir;
	f->o.org = "Example Org";
	f->o.contact = "mailto:postmaster@example.org";
	f->o.submitter = "gw.example.org";
	f->o.sender = "tlsrpt@example.org";
	f->o.nameserver = "127.0.0.1:9";	/* discard: nothing answers, ICMP refuses */
	f->o.timeout_s = 1;
	f->o.retry_min_s = 60;
	f->o.now = clock_fn;
	set_now(DAY0 + 3600);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	loop_free(f->l);
	assert_int_equal(tg_tmpdir_remove(f->dir), 0);
	free(f);
	return 0;
}

static struct report_outcome outcome(const char *dom, int rpt)
{
	struct report_outcome o;

	memset(&o, 0, sizeof(o));
	o.dir = REPORT_OUTBOUND;
	o.policy = REPORT_POLICY_DANE;
	o.rpt_result = (int8_t)rpt;
	o.result = rpt >= 0 ? REPORT_POLICY_REFUSED : REPORT_DELIVERED;
	snprintf(o.domain, sizeof(o.domain), "%s", dom);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "198.51.100.25");
	snprintf(o.local_ip, sizeof(o.local_ip), "192.0.2.1");
	snprintf(o.policy_detail, sizeof(o.policy_detail), "3 1 1 abcd");
	return o;
}

static unsigned int count(const char *dir, const char *suffix)
{
	char path[128];
	DIR *d;
	struct dirent *de;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "%s/spool", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), s = strlen(suffix);

		if (l > s && !strcmp(de->d_name + l - s, suffix))
			n++;
	}
	closedir(d);
	return n;
}

/* Wait (bounded) for the sender thread to have tried n times. */
static void wait_attempts(struct tlsrpt *t, uint64_t n)
{
	struct tlsrpt_status st;

	for (int i = 0; i < 500; i++) {
		tlsrpt_status_get(t, &st);
		if (st.failed_attempts >= n)
			return;
		usleep(10000);
	}
	fail_msg("the sender made %" PRIu64 " attempts, not %" PRIu64, st.failed_attempts, n);
}

static void test_rollover_restart(void **state)
{
	struct fx *f = *state;
	struct tlsrpt *t;
	struct tlsrpt_status st;
	struct report_outcome o;

	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	for (int i = 0; i < 4; i++) {
		o = outcome("a.example", -1);
		tlsrpt_sink(&o, t);
	}
	o = outcome("a.example", POLICY_RPT_TLSA_INVALID);
	tlsrpt_sink(&o, t);
	o = outcome("b.example", POLICY_RPT_DANE_REQUIRED);
	tlsrpt_sink(&o, t);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.day_start, DAY0);
	assert_int_equal(st.domains, 2);
	assert_int_equal(st.sessions, 6);
	assert_int_equal(st.failures, 2);
	/* a restart in the day keeps its counts (the day file) */
	tlsrpt_free(t);
	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.sessions, 6);
	assert_int_equal(count(f->dir, ".job"), 0);
	/* one second before midnight: nothing; at midnight: one report per domain */
	set_now(DAY0 + 86399);
	tlsrpt_tick(t);
	assert_int_equal(count(f->dir, ".job"), 0);
	set_now(DAY0 + 86400 + 5);
	tlsrpt_tick(t);
	assert_int_equal(count(f->dir, ".job"), 2);
	assert_int_equal(count(f->dir, ".json.gz"), 2);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.day_start, DAY0 + 86400);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.spooled, 2);
	/* no DNS: each report is tried and kept for a retry */
	wait_attempts(t, 2);
	tlsrpt_free(t);
	/* a restart keeps the spool; the new day is empty */
	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.spooled, 2);
	assert_int_equal(st.sessions, 0);
	/* 24 h after they were made, the next attempt gives up */
	set_now(DAY0 + 2 * 86400 + 10);
	tlsrpt_flush(t);
	for (int i = 0; i < 500 && count(f->dir, ".job"); i++)
		usleep(10000);
	assert_int_equal(count(f->dir, ".job"), 0);
	assert_int_equal(count(f->dir, ".json.gz"), 0);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.given_up, 2);
	tlsrpt_free(t);
}

/* A reporter stopped for days: the day it had is closed at start, the next begins today. */
static void test_stale_day(void **state)
{
	struct fx *f = *state;
	struct tlsrpt *t;
	struct tlsrpt_status st;
	struct report_outcome o = outcome("a.example", -1);

	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	tlsrpt_sink(&o, t);
	tlsrpt_free(t);
	set_now(DAY0 + 5 * 86400 + 7);
	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	tlsrpt_status_get(t, &st);
	assert_int_equal(st.day_start, DAY0 + 5 * 86400);
	assert_int_equal(count(f->dir, ".job"), 1);
	tlsrpt_free(t);
}

static void test_exempt(void **state)
{
	struct fx *f = *state;
	struct tlsrpt *t;
	char token[TLSRPT_TOKEN_LEN + 1], other[TLSRPT_TOKEN_LEN + 1], from[128];

	assert_int_equal(tlsrpt_new(f->l, &f->o, &t), 0);
	assert_int_equal(tlsrpt_exempt_add(t, "tlsrpt@dest.example", token), 0);
	assert_int_equal(strlen(token), TLSRPT_TOKEN_LEN);
	snprintf(from, sizeof(from), "tlsrpt+%s@example.org", token);
	assert_true(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	assert_true(tlsrpt_exempt(t, from, "TLSRPT@Dest.Example"));
	/* the token opens only the recipient it was made for */
	assert_false(tlsrpt_exempt(t, from, "ceo@dest.example"));
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@other.example"));
	/* the bare sender, a guessed token, another domain's sender: nothing */
	assert_false(tlsrpt_exempt(t, "tlsrpt@example.org", "tlsrpt@dest.example"));
	memcpy(other, token, sizeof(other));
	other[0] = other[0] == 'a' ? 'b' : 'a';
	snprintf(from, sizeof(from), "tlsrpt+%s@example.org", other);
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	snprintf(from, sizeof(from), "tlsrpt+%s@evil.example", token);
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	snprintf(from, sizeof(from), "x+tlsrpt+%s@example.org", token);
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	snprintf(from, sizeof(from), "tlsrpt+%sx@example.org", token);
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	/* it expires */
	snprintf(from, sizeof(from), "tlsrpt+%s@example.org", token);
	set_now(DAY0 + 3600 + 27 * 3600);
	assert_false(tlsrpt_exempt(t, from, "tlsrpt@dest.example"));
	tlsrpt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rollover_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exempt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
