// SPDX-License-Identifier: GPL-2.0-only
/*
 * Looked-up recipient domains, from the workers to the supervisor's aggregator (contract in
 * destkern.h): a mutex-protected list and an eventfd in, two timers (coalescing, first expiry)
 * and the previous answer for "changed" out.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pthread.h>
#include <stdatomic.h>

#include "daemon/destkern.h"
#include "lib/log.h"

struct destkern {
	struct loop *loop;
	struct policy_destaddr *agg;
	void (*changed)(void *arg);
	void *arg;
	struct loop_ev wake;		/* eventfd: workers posted records */
	struct loop_timer coalesce;	/* new facts: push soon, once */
	struct loop_timer expiry;	/* the first record expires */
	pthread_mutex_t lock;		/* the list below */
	struct policy_destaddr_rec *head, **tail;
	size_t qn;
	atomic_uint_fast64_t dropped;	/* records the full list refused */
	struct policy_destaddr_addr *last;	/* the previous destkern_required answer */
	size_t nlast;
	bool have_last;
};

static void soon(struct destkern *k)
{
	if (!loop_timer_armed(&k->coalesce))
		loop_timer_arm(k->loop, &k->coalesce, DESTKERN_COALESCE_MS);
}

void destkern_post(struct destkern *k, const struct policy_dane_domain *v, uint64_t expires_ms)
{
	struct policy_destaddr_rec *r;
	uint64_t one = 1;
	bool wake;

	if (!k || policy_destaddr_rec_new(v, expires_ms, &r))
		return; /* no memory: the kernel only misses an address the session still checks */
	pthread_mutex_lock(&k->lock);
	if (k->qn >= DESTKERN_QUEUE_MAX) {
		pthread_mutex_unlock(&k->lock);
		free(r);
		atomic_fetch_add(&k->dropped, 1);
		return;
	}
	r->next = NULL;
	*k->tail = r;
	k->tail = &r->next;
	wake = !k->qn++;
	pthread_mutex_unlock(&k->lock);
	/* A full eventfd counter still wakes the loop: nothing is lost when this fails. */
	if (wake && write(k->wake.fd, &one, sizeof(one)) != sizeof(one))
		log_debug("destkern: wake: %s", strerror(errno));
}

void destkern_touch(struct destkern *k)
{
	if (k)
		soon(k);
}

static void on_wake(struct loop_ev *ev, uint32_t events)
{
	struct destkern *k = (struct destkern *)((char *)ev - offsetof(struct destkern, wake));
	struct policy_destaddr_rec *r, *next;
	uint64_t cnt, dropped;

	(void)events;
	if (read(ev->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("destkern: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&k->lock);
	r = k->head;
	k->head = NULL;
	k->tail = &k->head;
	k->qn = 0;
	pthread_mutex_unlock(&k->lock);
	for (; r; r = next) {
		char dom[POLICY_DANE_NAME_MAX];
		int rc;

		next = r->next;
		memcpy(dom, r->domain, sizeof(dom));
		rc = policy_destaddr_put(k->agg, r);
		if (rc)
			log_warn("destkern domain=%s not tracked for the kernel: %s", dom,
				 strerror(-rc));
	}
	dropped = atomic_exchange(&k->dropped, 0);
	if (dropped)
		log_warn("destkern: %llu lookups not tracked for the kernel (queue full)",
			 (unsigned long long)dropped);
	soon(k);
}

static void on_coalesce(struct loop_timer *t)
{
	struct destkern *k = (struct destkern *)((char *)t - offsetof(struct destkern, coalesce));

	k->changed(k->arg);
}

static void on_expiry(struct loop_timer *t)
{
	struct destkern *k = (struct destkern *)((char *)t - offsetof(struct destkern, expiry));

	k->changed(k->arg);
}

static bool same(const struct destkern *k, const struct policy_destaddr_addr *v, size_t n)
{
	return k->have_last && n == k->nlast && (!n || !memcmp(v, k->last, n * sizeof(*v)));
}

int destkern_required(struct destkern *k, policy_destaddr_requires_fn fn, void *arg,
		      struct policy_destaddr_addr **out, size_t *n, size_t *seen, bool *changed)
{
	struct policy_destaddr_addr *copy = NULL;
	uint64_t now = loop_now_ms(), next;
	int rc;

	policy_destaddr_expire(k->agg, now);
	next = policy_destaddr_next_expiry(k->agg);
	if (next == UINT64_MAX)
		loop_timer_disarm(k->loop, &k->expiry);
	else
		loop_timer_arm(k->loop, &k->expiry, next > now ? next - now : 1);
	rc = policy_destaddr_required(k->agg, fn, arg, out, n, seen);
	if (rc)
		return rc;
	*changed = !same(k, *out, *n);
	if (!*changed)
		return 0;
	if (*n) {
		copy = malloc(*n * sizeof(*copy));
		if (!copy) {
			free(*out);
			*out = NULL;
			return -ENOMEM;
		}
		memcpy(copy, *out, *n * sizeof(*copy));
	}
	free(k->last);
	k->last = copy;
	k->nlast = *n;
	k->have_last = true;
	return 0;
}

void destkern_forget(struct destkern *k)
{
	k->have_last = false;
}

int destkern_new(struct loop *l, size_t max_pairs, void (*changed)(void *arg), void *arg,
		 struct destkern **out)
{
	struct destkern *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return -ENOMEM;
	k->loop = l;
	k->changed = changed;
	k->arg = arg;
	k->tail = &k->head;
	k->wake.fd = -1;
	loop_timer_init(&k->coalesce, on_coalesce);
	loop_timer_init(&k->expiry, on_expiry);
	pthread_mutex_init(&k->lock, NULL);
	rc = policy_destaddr_new(max_pairs, &k->agg);
	if (rc)
		goto fail;
	k->wake.fn = on_wake;
	k->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->wake.fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = loop_watch(l, &k->wake, EPOLLIN);
	if (rc)
		goto fail;
	*out = k;
	return 0;
fail:
	destkern_free(k);
	return rc;
}

void destkern_free(struct destkern *k)
{
	struct policy_destaddr_rec *r, *next;

	if (!k)
		return;
	if (k->wake.fd >= 0) {
		loop_unwatch(k->loop, &k->wake);
		close(k->wake.fd);
	}
	loop_timer_disarm(k->loop, &k->coalesce);
	loop_timer_disarm(k->loop, &k->expiry);
	for (r = k->head; r; r = next) {
		next = r->next;
		free(r);
	}
	policy_destaddr_free(k->agg);
	pthread_mutex_destroy(&k->lock);
	free(k->last);
	free(k);
}
