/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A worker: one thread, one epoll loop, its own SO_REUSEPORT listening sockets and the sessions
 * they accepted.  No locks on the data path: a session belongs to one worker for its whole life.
 * The lock only guards the session list against the control thread's dumps.
 */
#ifndef TLSGATE_DAEMON_WORKER_H
#define TLSGATE_DAEMON_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "daemon/session.h"

struct gateway;

#define WORKER_MAX_LISTENERS 16

struct listener {
	struct loop_ev ev;
	struct worker *w;
	enum session_role role;
	bool transparent;		/* may take steered connections (IP_TRANSPARENT) */
	bool steering;			/* in tg_listen: a port of its own, no SO_REUSEPORT */
	struct sockaddr_storage addr;	/* where it is bound */
	struct loop_timer backoff;	/* not watched until it fires: accept() keeps failing */
};

struct worker {
	unsigned int id;
	struct gateway *gw;
	struct loop *loop;
	struct session_host host;	/* the sessions this worker runs */
	pthread_t thread;
	bool running;
	struct loop_ev wake;		/* eventfd: stop, kill requests */
	struct listener listeners[WORKER_MAX_LISTENERS];
	size_t nlisteners;
	pthread_mutex_t lock;		/* the kill queue */
	atomic_bool stop;		/* stop accepting; end sessions by the deadline */
	uint64_t kill_ids[64];		/* sessions the control thread wants ended (under lock) */
	size_t nkill;
	uint64_t stop_deadline_ms;
	bool trim_due;			/* sessions ended since the last malloc_trim */
	uint64_t last_trim_ms;
	int spare_fd;			/* /dev/null, given up to answer a client on EMFILE */
	char busy_reply[320];		/* "421 4.3.2 <hostname> Error: too many sessions..." */
	char nofd_reply[320];		/* ... out of descriptors */
	uint64_t warn_ms;		/* rate limit of the accept warnings: the last one */
	unsigned long warn_suppressed;	/* ... and how many were not logged since */
};

/* Create the worker with its listeners for the configured addresses (SO_REUSEPORT), and its
 * steering listeners when BPF steers (lone sockets, see worker.c add_listener). */
int worker_new(struct gateway *gw, unsigned int id, struct worker **out);
int worker_start(struct worker *w);
/* Ask it to stop accepting and end its sessions within deadline_ms; then join. */
void worker_stop(struct worker *w, uint64_t deadline_ms);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/*
 * From another thread: ask the worker that owns session `id` to end it with a 421.  0 when it
 * was found and the request queued, -ENOENT when the worker has no such session, -EBUSY when
 * its queue is full.
 */
int worker_kill(struct worker *w, uint64_t id);

/* From another thread: fn for each of the worker's sessions (under its lock; must not block). */
void worker_foreach_session(struct worker *w, void (*fn)(const struct session_view *v, void *ctx),
			    void *ctx);


#endif
