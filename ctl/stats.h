/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgatectl stats: the BPF counters (stats.c) and, after them, the daemon's own counters
 * (stats_daemon.c), asked of tlsgated when it runs.
 */
#ifndef TLSGATE_CTL_STATS_H
#define TLSGATE_CTL_STATS_H

#include <stdbool.h>

#include "control/nlproto.h"
#include "ctl/ctl.h"
#include "lib/jsonw.h"

struct ctl_stats_daemon {
	bool up;		    /* tlsgated answered with its counters */
	bool running;		    /* it could be reached at all (an error may still follow) */
	char why[NLPROTO_TEXT_MAX]; /* when !up: why not, in words */
	void *reply;		    /* the METRICS message, which ms points into */
	struct nlproto_metrics ms;
};

/* Ask tlsgated (RUNDIR/ctl) for its counters; never fails: d->up or d->why says how it went. */
void ctl_stats_daemon_get(const struct ctl_opts *o, struct ctl_stats_daemon *d);
void ctl_stats_daemon_free(struct ctl_stats_daemon *d);

/* "daemon:" and a line per family, or "daemon: not running". */
void ctl_stats_daemon_text(const struct ctl_stats_daemon *d);
/* A "daemon" member of the current JSON object. */
void ctl_stats_daemon_json(struct jsonw *w, const struct ctl_stats_daemon *d);
/* tlsgate_daemon_up, then each family as tlsgate_daemon_NAME[_total] with HELP and TYPE. */
void ctl_stats_daemon_prometheus(const struct ctl_stats_daemon *d);

#endif
