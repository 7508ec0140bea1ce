// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MTA-STS fetcher (contract in sts_fetch.h): its life, the queue of refreshes other threads
 * ask for (a mutex and an eventfd), lookups, and the timer that keeps cached policies fresh.
 * A refresh itself is sts_job.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sts_fetch_int.h"
#include "lib/log.h"

#define QUEUE_MAX 1024		/* refreshes asked for and not started */
#define SCAN_INTERVAL_MS 60000	/* cached policies due a refresh are looked for this often */

void sts_fetch_start_queued(struct sts_fetch *f)
{
	for (;;) {
		struct sts_queued q;
		int rc;

		/* Taken off the queue first: a job that fails at once ends in job_done, which
		 * comes back here. */
		pthread_mutex_lock(&f->qlock);
		if (!f->qn) {
			pthread_mutex_unlock(&f->qlock);
			return;
		}
		q = f->queue[0];
		memmove(f->queue, f->queue + 1, (f->qn - 1) * sizeof(*f->queue));
		f->qn--;
		pthread_mutex_unlock(&f->qlock);
		rc = sts_job_start(f, q.domain, q.force);
		if (rc == -EBUSY) {
			/* back to the front; the next job_done starts it (the queue had room
			 * for it a moment ago, and only this thread takes entries out) */
			pthread_mutex_lock(&f->qlock);
			if (f->qn < QUEUE_MAX) {
				memmove(f->queue + 1, f->queue, f->qn * sizeof(*f->queue));
				f->queue[0] = q;
				f->qn++;
			}
			pthread_mutex_unlock(&f->qlock);
			return;
		}
		if (rc)
			log_warn("mta-sts domain=%s: cannot start a refresh: %s", q.domain,
				 strerror(-rc));
	}
}

static int enqueue(struct sts_fetch *f, const char *domain, bool force)
{
	uint64_t one = 1;
	int rc = 0;

	pthread_mutex_lock(&f->qlock);
	for (size_t i = 0; i < f->qn; i++) {
		if (!strcmp(f->queue[i].domain, domain)) {
			f->queue[i].force |= force;
			goto out;
		}
	}
	if (f->qn == QUEUE_MAX) {
		rc = -EBUSY;
		goto out;
	}
	snprintf(f->queue[f->qn].domain, sizeof(f->queue[f->qn].domain), "%s", domain);
	f->queue[f->qn++].force = force;
out:
	pthread_mutex_unlock(&f->qlock);
	/* A full eventfd counter still wakes the loop: nothing is lost when this fails. */
	if (!rc && write(f->wake.fd, &one, sizeof(one)) != sizeof(one))
		log_debug("mta-sts: wake: %s", strerror(errno));
	return rc;
}

int sts_fetch_refresh(struct sts_fetch *f, const char *domain, bool force)
{
	char d[POLICY_STS_NAME_MAX];
	int rc;

	if (!policy_sts_domain_norm(domain, d))
		return -EINVAL;
	if (!pthread_equal(pthread_self(), f->loop_thread))
		return enqueue(f, d, force);
	rc = sts_job_start(f, d, force);
	return rc == -EBUSY ? enqueue(f, d, force) : rc;
}

enum sts_lookup sts_fetch_lookup(struct sts_fetch *f, const char *domain,
				 struct policy_sts_entry **out)
{
	struct policy_sts_state st = { 0 };
	struct policy_sts_entry *e = NULL;
	char d[POLICY_STS_NAME_MAX];
	int64_t now = (int64_t)time(NULL);
	bool known;

	*out = NULL;
	if (!policy_sts_domain_norm(domain, d))
		return STS_LOOKUP_NONE;
	known = !policy_sts_cache_get(f->cache, d, &e, &st);
	if (!st.pending && (!known || now >= st.next_check))
		st.pending = !sts_fetch_refresh(f, d, false);
	if (e && e->expires > now && e->pol.mode != POLICY_STS_NONE) {
		*out = e;
		return STS_LOOKUP_POLICY;
	}
	policy_sts_entry_put(e);
	return st.pending && !e ? STS_LOOKUP_PENDING : STS_LOOKUP_NONE;
}

/* ---- timers, wake-ups, life --------------------------------------------------------------- */

struct due {
	char (*names)[POLICY_STS_NAME_MAX];
	size_t n, max;
	int64_t now;
};

static int collect_due(const char *domain, const struct policy_sts_entry *e,
		       const struct policy_sts_state *st, void *arg)
{
	struct due *d = arg;

	/* Cached policies are kept fresh on their own once half of max_age has gone by, so a
	 * domain mailed rarely does not lose its protection. */
	if (!e || st->pending || d->now < st->next_check ||
	    d->now < e->fetched + (int64_t)e->pol.max_age / 2)
		return 0;
	snprintf(d->names[d->n++], POLICY_STS_NAME_MAX, "%s", domain);
	return d->n == d->max;
}

static void on_scan(struct loop_timer *t)
{
	struct sts_fetch *f = (struct sts_fetch *)((char *)t - offsetof(struct sts_fetch, scan));
	char names[STS_MAX_JOBS][POLICY_STS_NAME_MAX];
	struct due d = { .names = names, .max = STS_MAX_JOBS, .now = (int64_t)time(NULL) };

	policy_sts_cache_foreach(f->cache, collect_due, &d);
	for (size_t i = 0; i < d.n; i++)
		if (sts_fetch_refresh(f, names[i], false))
			break;
	loop_timer_arm(f->loop, &f->scan, SCAN_INTERVAL_MS);
}

static void on_wake(struct loop_ev *ev, uint32_t events)
{
	struct sts_fetch *f = (struct sts_fetch *)((char *)ev - offsetof(struct sts_fetch, wake));
	uint64_t n;

	(void)events;
	if (read(ev->fd, &n, sizeof(n)) != sizeof(n) && errno != EAGAIN)
		log_warn("mta-sts: eventfd: %s", strerror(errno));
	sts_fetch_start_queued(f);
}

static int parse_ns(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (*end || !p || p > 65535)
			return -EINVAL;
		sin->sin_port = htons((uint16_t)p);
	}
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

int sts_fetch_new(struct loop *l, const struct sts_fetch_opts *o, struct sts_fetch **out)
{
	struct sts_fetch *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->loop_thread = pthread_self();
	f->loop = l;
	f->wake.fd = -1;
	f->timeout_s = o->timeout_s ? o->timeout_s : 10;
	f->port = o->port ? o->port : 443;
	f->stored = o->stored;
	f->stored_arg = o->stored_arg;
	pthread_mutex_init(&f->qlock, NULL);
	loop_timer_init(&f->scan, on_scan);
	f->queue = calloc(QUEUE_MAX, sizeof(*f->queue));
	if (!f->queue) {
		rc = -ENOMEM;
		goto fail;
	}
	if (res_ninit(&f->res)) {
		rc = -EIO;
		goto fail;
	}
	f->res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	if (o->nameserver && o->nameserver[0]) {
		rc = parse_ns(o->nameserver, &f->ns);
		if (rc)
			goto fail;
	} else if (f->res.nscount > 0 && f->res.nsaddr_list[0].sin_family == AF_INET) {
		f->ns = f->res.nsaddr_list[0];
	} else {
		rc = parse_ns("127.0.0.1", &f->ns);
		if (rc)
			goto fail;
	}
	f->ctx = SSL_CTX_new(TLS_client_method());
	if (!f->ctx || !SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION)) {
		rc = -ENOMEM;
		goto fail;
	}
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_file && o->ca_file[0] ?
		    SSL_CTX_load_verify_locations(f->ctx, o->ca_file, NULL) != 1 :
		    SSL_CTX_set_default_verify_paths(f->ctx) != 1) {
		log_err("mta-sts: cannot load WebPKI roots (mta_sts_ca_file=%s)",
			o->ca_file ? o->ca_file : "");
		rc = -EINVAL;
		goto fail;
	}
	rc = policy_sts_cache_open(o->cache_dir, o->max_entries, &f->cache);
	if (rc) {
		log_err("mta-sts cache %s: %s", o->cache_dir, strerror(-rc));
		goto fail;
	}
	f->wake.fn = on_wake;
	f->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->wake.fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = loop_watch(l, &f->wake, EPOLLIN);
	rc = rc ?: loop_timer_arm(l, &f->scan, SCAN_INTERVAL_MS);
	if (rc)
		goto fail;
	*out = f;
	return 0;
fail:
	sts_fetch_free(f);
	return rc;
}

void sts_fetch_free(struct sts_fetch *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < STS_MAX_JOBS; i++)
		if (f->jobs[i])
			sts_job_free(f->jobs[i]);
	loop_timer_disarm(f->loop, &f->scan);
	if (f->wake.fd >= 0) {
		loop_unwatch(f->loop, &f->wake);
		close(f->wake.fd);
	}
	SSL_CTX_free(f->ctx);
	res_nclose(&f->res);
	policy_sts_cache_free(f->cache);
	pthread_mutex_destroy(&f->qlock);
	free(f->queue);
	free(f);
}

struct policy_sts_cache *sts_fetch_cache(struct sts_fetch *f)
{
	return f->cache;
}
