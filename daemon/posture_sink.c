// SPDX-License-Identifier: GPL-2.0-only
/*
 * The posture store's sink: see daemon/posture_sink.h.  The write happens on the main thread;
 * it is a text file of about 100 bytes a row, written only when something changed, and its
 * time is logged when it takes long (docs/POSTURE.md has the measurements).
 */
#include "daemon/posture_sink.h"
#include "daemon/outcome.h"
#include "lib/log.h"
#include "report/posture.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOW_WRITE_MS 50 /* a write that takes longer is logged */

struct posture_sink {
	struct posture_store *store;
	struct loop *loop;
	struct loop_timer timer;
	unsigned int interval_s;
	uint64_t failed;	/* outcomes that could not be counted (no memory) */
};

static void on_outcome(const struct report_outcome *o, void *ctx)
{
	struct posture_sink *p = ctx;

	if (posture_store_add(p->store, o) && !p->failed++)
		log_warn("posture: an outcome could not be counted (out of memory)");
}

static void flush(struct posture_sink *p)
{
	uint64_t start = loop_now_ms(), ms;
	const struct posture_day *d = posture_store_today(p->store);
	size_t rows = 0;

	for (size_t i = 0; i < d->ndom; i++)
		rows += d->dom[i]->nrow;
	if (posture_store_flush(p->store, time(NULL)))
		return; /* logged; tried again at the next interval */
	ms = loop_now_ms() - start;
	if (ms >= SLOW_WRITE_MS)
		log_warn("posture: writing today's file (%zu rows) took %llu ms on the main thread",
			 rows, (unsigned long long)ms);
}

static void on_timer(struct loop_timer *t)
{
	struct posture_sink *p = (struct posture_sink *)((char *)t -
							  offsetof(struct posture_sink, timer));
	time_t now = time(NULL);
	uint64_t wait_ms = (uint64_t)p->interval_s * 1000;
	uint64_t to_midnight = (uint64_t)(86400 - now % 86400) * 1000;

	flush(p);
	/* midnight UTC rolls the day over even when no outcome comes */
	if (to_midnight < wait_ms)
		wait_ms = to_midnight + 1000;
	loop_timer_arm(p->loop, &p->timer, wait_ms);
}

int posture_sink_open(struct gateway *g, struct loop *l, struct posture_sink **out)
{
	const struct config *c = &g->cfg;
	struct posture_store_opts o = {
		.days = c->posture_days,
		.max_domains = c->posture_max_domains,
	};
	struct posture_sink *p;
	char dir[4096];
	int rc;

	*out = NULL;
	if (!c->posture_days || !g->outcomes)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/posture", c->state_dir ? c->state_dir : ".");
	o.dir = dir;
	rc = posture_store_open(&o, time(NULL), &p->store);
	if (rc) {
		log_err("posture: cannot open %s: %s", dir, strerror(-rc));
		free(p);
		return rc;
	}
	rc = outcome_sink_add(g->outcomes, on_outcome, p);
	if (rc) {
		posture_store_close(p->store, time(NULL));
		free(p);
		return rc;
	}
	p->loop = l;
	p->interval_s = c->posture_flush_interval ? c->posture_flush_interval : 60;
	loop_timer_init(&p->timer, on_timer);
	on_timer(&p->timer); /* arms it (and prunes days past posture_days now) */
	log_info("posture: %s, %u days kept, at most %u domains a day, written every %us", dir,
		 c->posture_days, posture_store_today(p->store)->max_domains, p->interval_s);
	*out = p;
	return 0;
}

void posture_sink_close(struct posture_sink *p)
{
	if (!p)
		return;
	loop_timer_disarm(p->loop, &p->timer);
	posture_store_close(p->store, time(NULL));
	free(p);
}
