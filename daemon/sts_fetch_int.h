/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the MTA-STS fetcher (contract in sts_fetch.h):
 *   sts_fetch.c  life, the queue of refreshes asked for, lookups, the timer for due policies
 *   sts_job.c    one refresh of one domain: TXT, A/AAAA, connect, TLS, HTTP, into the cache
 * Both run on the loop's thread only, except sts_fetch_lookup/_refresh (any thread: the queue).
 */
#ifndef TLSGATE_DAEMON_STS_FETCH_INT_H
#define TLSGATE_DAEMON_STS_FETCH_INT_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <resolv.h>

#include "daemon/sts_fetch.h"

#define STS_MAX_JOBS 32		/* refreshes under way at once */
#define STS_CHECK_INTERVAL_S 300	/* a domain's TXT record is checked at most this often */

struct sts_job;

struct sts_queued {
	char domain[POLICY_STS_NAME_MAX];
	bool force;
};

struct sts_fetch {
	struct loop *loop;
	pthread_t loop_thread;		/* the loop's: it starts jobs, others queue them */
	struct policy_sts_cache *cache;
	SSL_CTX *ctx;
	struct __res_state res;		/* for res_nmkquery */
	struct sockaddr_in ns;
	unsigned int timeout_s;
	uint16_t port;
	struct sts_job *jobs[STS_MAX_JOBS];
	struct loop_ev wake;		/* eventfd: other threads queued refreshes */
	struct loop_timer scan;
	pthread_mutex_t qlock;
	struct sts_queued *queue;
	size_t qn;
	void (*stored)(void *arg, const char *domain);
	void *stored_arg;
};

/* sts_job.c: start a refresh (or merge force into the one under way): 0, -EBUSY (every slot
 * taken), -ENOMEM.  The domain's state shows pending on return; the job ends by itself. */
int sts_job_start(struct sts_fetch *f, const char *domain, bool force);
/* Abandon a job (sts_fetch_free). */
void sts_job_free(struct sts_job *j);
/* sts_fetch.c: a job ended, a slot is free: start what was queued. */
void sts_fetch_start_queued(struct sts_fetch *f);

#endif
