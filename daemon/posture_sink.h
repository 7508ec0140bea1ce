/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The posture store's sink (report/posture.h) on the supervisor's loop: each outcome the
 * workers publish (daemon/outcome.h) is counted into today's day in memory; today's file is
 * written every posture_flush_interval, at midnight UTC and at shutdown.  A worker never waits
 * for it: the queue is between them.
 */
#ifndef TLSGATE_DAEMON_POSTURE_SINK_H
#define TLSGATE_DAEMON_POSTURE_SINK_H

#include "daemon/gateway.h"
#include "daemon/loop.h"

struct posture_sink;

/* Opens STATE_DIR/posture (today's file read) and adds the sink to g->outcomes; *out NULL
 * when posture_days is 0.  On the main thread, after the privilege drop (the files are the
 * user's), before the workers start. */
int posture_sink_open(struct gateway *g, struct loop *l, struct posture_sink **out);
/* After the outcome queue is freed (it drains into the sink): the last write. */
void posture_sink_close(struct posture_sink *p);

#endif
