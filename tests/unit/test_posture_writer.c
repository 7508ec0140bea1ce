// SPDX-License-Identifier: GPL-2.0-only
/* daemon/posture_writer.c with report/posture_store.c's take/commit: the write on its own
 * thread, one at a time, a shutdown while a write runs losing nothing, a failed write leaving
 * the previous file as it was and being tried again. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/posture_writer.h"
#include "tests/lib/tmpdir.h"

#define DAY0 19844 /* 2024-05-01 */
#define T0 ((int64_t)DAY0 * 86400 + 3600)

static char dir[256];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(tg_tmpdir_new(dir, sizeof(dir), "test_posture_writer"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tg_tmpdir_remove(dir), 0);
	return 0;
}

/* n outcomes, one message each, to domains d0.example .. d<k-1>.example */
static void add_n(struct posture_store *s, unsigned int n, unsigned int k, int64_t t)
{
	for (unsigned int i = 0; i < n; i++) {
		struct report_outcome o = {
			.time = t, .dir = REPORT_OUTBOUND, .result = REPORT_DELIVERED,
			.cert = REPORT_CERT_NONE, .rpt_result = -1, .new_session = true,
			.messages = 1, .recipients = 1,
		};

		snprintf(o.domain, sizeof(o.domain), "d%u.example", i % k);
		snprintf(o.mx, sizeof(o.mx), "mx.d%u.example", i % k);
		assert_int_equal(posture_store_add(s, &o), 0);
	}
}

/* messages in the day's file on disk (-1: no readable file) */
static long on_disk(int64_t day)
{
	struct posture_day *win;
	bool seen[1];
	uint32_t c[POSTURE_NCTR];

	assert_int_equal(posture_day_new(-1, 0, &win), 0);
	assert_int_equal(posture_store_read(dir, day, day, win, seen, NULL, NULL), 0);
	posture_day_sum(win, REPORT_OUTBOUND, c);
	posture_day_free(win);
	return seen[0] ? (long)c[POSTURE_MESSAGES] : -1;
}

/* Until the thread has no write under way: its end is the readiness to wait for. */
static void wait_idle(struct posture_writer *w)
{
	const struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 20000 && posture_writer_busy(w); i++)
		nanosleep(&ms, NULL);
	assert_false(posture_writer_busy(w));
}

/* A commit that waits at a gate the test opens; counts commits running at once. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, in_commit, stopping;
static int running, max_running;

static int held_commit(struct posture_store *s, struct posture_day *delta)
{
	int rc;

	pthread_mutex_lock(&gate_lock);
	if (++running > max_running)
		max_running = running;
	in_commit = true;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	rc = posture_store_commit(s, delta);
	pthread_mutex_lock(&gate_lock);
	running--;
	pthread_mutex_unlock(&gate_lock);
	return rc;
}

static void gate_reset(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = in_commit = stopping = false;
	running = max_running = 0;
	pthread_mutex_unlock(&gate_lock);
}

static void gate_wait_in_commit(void)
{
	pthread_mutex_lock(&gate_lock);
	while (!in_commit)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* The file written by the thread; nothing to write, nothing done. */
static void test_writes(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	struct posture_writer_stats st;
	struct posture_writer *w;
	struct posture_store *s;

	(void)state;
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_writer_start(s, NULL, &w), 0);
	add_n(s, 100, 10, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 100);
	assert_int_equal(posture_writer_kick(w, T0), 0); /* nothing changed */
	posture_writer_stats(w, &st);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.failed, 0);
	/* midnight: the old day's last outcomes, then the new day */
	add_n(s, 5, 10, T0);
	add_n(s, 7, 10, T0 + 86400);
	assert_int_equal(posture_writer_kick(w, T0 + 86400), 0);
	wait_idle(w);
	assert_int_equal(posture_writer_kick(w, T0 + 86400), 0);
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 105);
	assert_int_equal(on_disk(DAY0 + 1), 7);
	posture_writer_stop(w);
	posture_store_close(s, T0 + 86400);
}

/* A write still running when the next is due is not started twice, and what was counted
 * meanwhile goes in the next one. */
static void test_busy_not_twice(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	struct posture_writer_stats st;
	struct posture_writer *w;
	struct posture_store *s;

	(void)state;
	gate_reset();
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_writer_start(s, held_commit, &w), 0);
	add_n(s, 50, 5, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	gate_wait_in_commit();
	add_n(s, 20, 5, T0);
	assert_int_equal(posture_writer_kick(w, T0), -EBUSY);
	assert_int_equal(posture_writer_kick(w, T0), -EBUSY);
	assert_true(posture_writer_busy(w));
	gate_release();
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 50);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 70);
	posture_writer_stats(w, &st);
	assert_int_equal(st.writes, 2);
	assert_int_equal(st.busy, 2);
	assert_int_equal(max_running, 1);
	posture_writer_stop(w);
	posture_store_close(s, T0);
}

static void *release_when_stopping(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_lock);
	while (!stopping)
		pthread_cond_wait(&gate_cond, &gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	return NULL;
}

/* Shutdown while a write runs: the write ends, what came after it is written by the close,
 * a restart reads it all. */
static void test_stop_while_writing(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	struct posture_writer *w;
	struct posture_store *s;
	pthread_t rel;

	(void)state;
	gate_reset();
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_writer_start(s, held_commit, &w), 0);
	add_n(s, 300, 30, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	gate_wait_in_commit();
	add_n(s, 11, 30, T0); /* after the take: in no write yet */
	assert_int_equal(pthread_create(&rel, NULL, release_when_stopping, NULL), 0);
	/* the write is held in its commit until the stop has been asked for */
	pthread_mutex_lock(&gate_lock);
	stopping = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	posture_writer_stop(w);
	assert_int_equal(pthread_join(rel, NULL), 0);
	assert_int_equal(on_disk(DAY0), 300);
	posture_store_close(s, T0);
	assert_int_equal(on_disk(DAY0), 311);
	/* a restart adds to it */
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_store_written(s)->ndom, 30);
	add_n(s, 1, 30, T0);
	posture_store_close(s, T0);
	assert_int_equal(on_disk(DAY0), 312);
}

/* A failed write leaves the previous file whole; the next kick tries again even with nothing
 * new, and the file then has everything. */
static void test_error_keeps_previous(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	struct posture_writer_stats st;
	struct posture_writer *w;
	struct posture_store *s;
	char tmp[400];

	(void)state;
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_writer_start(s, NULL, &w), 0);
	add_n(s, 40, 4, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 40);
	/* the temporary file's name taken by a directory: open() fails, even for root */
	snprintf(tmp, sizeof(tmp), "%s/2024-05-01.posture.tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	add_n(s, 9, 4, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	wait_idle(w);
	posture_writer_stats(w, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(on_disk(DAY0), 40);
	assert_true(posture_store_written(s)->dirty);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(posture_writer_kick(w, T0), 0); /* nothing new: the retry */
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 49);
	posture_writer_stats(w, &st);
	assert_int_equal(st.writes, 3);
	assert_int_equal(st.failed, 1);
	posture_writer_stop(w);
	posture_store_close(s, T0);
}

/* A failed write at midnight keeps the old day: what came is counted into it, and it is
 * written once the disk is back. */
static void test_error_at_rollover(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	struct posture_writer *w;
	struct posture_store *s;
	char tmp[400];

	(void)state;
	assert_int_equal(posture_store_open(&opts, T0, &s), 0);
	assert_int_equal(posture_writer_start(s, NULL, &w), 0);
	add_n(s, 10, 2, T0);
	assert_int_equal(posture_writer_kick(w, T0), 0);
	wait_idle(w);
	snprintf(tmp, sizeof(tmp), "%s/2024-05-01.posture.tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	add_n(s, 3, 2, T0);
	add_n(s, 4, 2, T0 + 86400);
	assert_int_equal(posture_writer_kick(w, T0 + 86400), 0); /* the old day's delta */
	wait_idle(w);
	assert_int_equal(posture_writer_kick(w, T0 + 86400), 0); /* the new day's: not rolled */
	wait_idle(w);
	assert_int_equal(on_disk(DAY0), 10);
	assert_int_equal(on_disk(DAY0 + 1), -1);
	assert_int_equal(posture_store_written(s)->day, DAY0);
	assert_int_equal(rmdir(tmp), 0);
	posture_writer_stop(w);
	posture_store_close(s, T0 + 86400);
	assert_int_equal(on_disk(DAY0), 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_not_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_keeps_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_at_rollover, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
