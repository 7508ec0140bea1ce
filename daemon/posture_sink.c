// SPDX-License-Identifier: GPL-2.0-only
/*
 * The posture store's sink: see daemon/posture_sink.h.  Outcomes are counted on the main
 * thread (0.5 us each); the file is written by daemon/posture_writer.c's thread, so the main
 * loop never waits for the disk (at the 100 000-domain bound a write takes ~0.1 s:
 * docs/POSTURE.md has the measurements).
 */
#include "daemon/posture_sink.h"
#include "daemon/outcome.h"
#include "daemon/posture_writer.h"
#include "lib/log.h"
#include "report/posture.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_RETRY_MS 1000 /* a write still running when the next was due: asked again */

struct posture_sink {
	struct posture_store *store;
	struct posture_writer *writer;
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

static void on_timer(struct loop_timer *t)
{
	struct posture_sink *p = (struct posture_sink *)((char *)t -
							  offsetof(struct posture_sink, timer));
	time_t now = time(NULL);
	uint64_t wait_ms = (uint64_t)p->interval_s * 1000;
	uint64_t to_midnight = (uint64_t)(86400 - now % 86400) * 1000;

	/* the writer thread takes it from here; a failed write is logged there and tried again
	 * at the next interval */
	if (posture_writer_kick(p->writer, now) == -EBUSY)
		wait_ms = BUSY_RETRY_MS;
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
	rc = posture_writer_start(p->store, NULL, &p->writer);
	if (rc) {
		posture_store_close(p->store, time(NULL));
		free(p);
		return rc;
	}
	rc = outcome_sink_add(g->outcomes, on_outcome, p);
	if (rc) {
		posture_writer_stop(p->writer);
		posture_store_close(p->store, time(NULL));
		free(p);
		return rc;
	}
	p->loop = l;
	p->interval_s = c->posture_flush_interval ? c->posture_flush_interval : 60;
	loop_timer_init(&p->timer, on_timer);
	on_timer(&p->timer); /* arms it (and prunes days past posture_days now) */
	log_info("posture: %s, %u days kept, at most %u domains a day, written every %us", dir,
		 c->posture_days, o.max_domains ? o.max_domains : POSTURE_MAX_DOMAINS_DEFAULT,
		 p->interval_s);
	*out = p;
	return 0;
}

void posture_sink_close(struct posture_sink *p)
{
	if (!p)
		return;
	loop_timer_disarm(p->loop, &p->timer);
	/* the write under way ends first; then what came since is written here (shutdown) */
	posture_writer_stop(p->writer);
	posture_store_close(p->store, time(NULL));
	free(p);
}
