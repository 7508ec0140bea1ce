/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The posture store's writer thread: the main loop takes what it counted since the last write
 * out of the store (posture_store_take, no disk) and hands it here; this thread merges it into
 * the day as written and writes the file (posture_store_commit: temporary file, fdatasync,
 * rename).  So the main loop never waits for the disk; one write at a time, and a write still
 * running when the next one is due is not started twice (posture_writer_kick says -EBUSY and
 * takes nothing: the outcomes stay counted in memory for the next one).
 */
#ifndef TLSGATE_DAEMON_POSTURE_WRITER_H
#define TLSGATE_DAEMON_POSTURE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "report/posture.h"

struct posture_writer;

/* What a write does with a delta; posture_store_commit unless a test needs to hold it. */
typedef int (*posture_writer_commit_fn)(struct posture_store *s, struct posture_day *delta);

struct posture_writer_stats {
	uint64_t writes, failed, busy;	/* writes done, of which failed; kicks while one ran */
	uint64_t last_ms, max_ms;	/* a write's time on the writer thread */
};

/* The thread for store s (commit NULL: posture_store_commit).  0 or -errno. */
int posture_writer_start(struct posture_store *s, posture_writer_commit_fn commit,
			 struct posture_writer **out);
/* On the thread that adds to the store: hand what changed (by `now`: midnight rolls the day)
 * to the thread.  0 (also when there was nothing to write), -EBUSY when a write still runs
 * (nothing taken), -ENOMEM. */
int posture_writer_kick(struct posture_writer *w, int64_t now);
bool posture_writer_busy(struct posture_writer *w);
void posture_writer_stats(struct posture_writer *w, struct posture_writer_stats *st);
/* Waits for a write under way to end, stops and frees the thread.  The store is the caller's
 * again: posture_store_close writes what is left. */
void posture_writer_stop(struct posture_writer *w);

#endif
