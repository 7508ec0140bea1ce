// SPDX-License-Identifier: GPL-2.0-only
/*
 * The posture store's writer thread: see daemon/posture_writer.h.  One job slot: the main
 * loop fills it only when the thread is idle, so at most one write runs and at most one
 * delta is out of the store.  The store's take/commit split (report/posture_store.c) is what
 * keeps the two threads off each other's data; the mutex orders the hand-over.
 */
#include "daemon/posture_writer.h"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOW_WRITE_MS 500 /* a write that takes longer is logged (it delays no one) */

struct posture_writer {
	struct posture_store *store;
	posture_writer_commit_fn commit;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct posture_day *job;	/* handed over, not yet picked up */
	bool busy;			/* job set or its commit running */
	bool stop;
	struct posture_writer_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *writer_main(void *arg)
{
	struct posture_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct posture_day *job;
		uint64_t start, ms;
		size_t rows = 0;
		int rc;

		while (!w->job && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		/* a job handed over before the stop is written first: nothing is lost */
		if (!w->job)
			break;
		job = w->job;
		w->job = NULL;
		pthread_mutex_unlock(&w->lock);

		start = mono_ms();
		rc = w->commit(w->store, job); /* logs its own failure */
		ms = mono_ms() - start;
		if (ms >= SLOW_WRITE_MS) {
			const struct posture_day *d = posture_store_written(w->store);

			for (size_t i = 0; i < d->ndom; i++)
				rows += d->dom[i]->nrow;
			log_warn("posture: writing today's file (%zu rows) took %llu ms "
				 "(writer thread)", rows, (unsigned long long)ms);
		}

		pthread_mutex_lock(&w->lock);
		w->st.writes++;
		w->st.failed += rc != 0;
		w->st.last_ms = ms;
		if (ms > w->st.max_ms)
			w->st.max_ms = ms;
		w->busy = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int posture_writer_start(struct posture_store *s, posture_writer_commit_fn commit,
			 struct posture_writer **out)
{
	struct posture_writer *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->store = s;
	w->commit = commit ? commit : posture_store_commit;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc) {
		log_err("posture: cannot start the writer thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

int posture_writer_kick(struct posture_writer *w, int64_t now)
{
	struct posture_day *delta;
	bool busy;
	int rc;

	pthread_mutex_lock(&w->lock);
	busy = w->busy;
	if (busy)
		w->st.busy++;
	pthread_mutex_unlock(&w->lock);
	if (busy)
		return -EBUSY;
	/* idle: the thread touches nothing of the store until the next job */
	rc = posture_store_take(w->store, now, &delta);
	if (rc || !delta)
		return rc;
	pthread_mutex_lock(&w->lock);
	w->job = delta;
	w->busy = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

bool posture_writer_busy(struct posture_writer *w)
{
	bool busy;

	pthread_mutex_lock(&w->lock);
	busy = w->busy;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

void posture_writer_stats(struct posture_writer *w, struct posture_writer_stats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	pthread_mutex_unlock(&w->lock);
}

void posture_writer_stop(struct posture_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
