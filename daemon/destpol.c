// SPDX-License-Identifier: GPL-2.0-only
/*
 * The destination lookup cache (contract in destpol.h): a hash of entries by domain, an LRU list
 * for the bound, per entry at most one lookup (policy_dane_lookup_domain_flags) with its
 * deadline timer, and the waiters to wake when it ends.
 *
 * Lifetimes: the verdict structs carry no TTLs (policy/dane.h reduces answers to verdicts), so
 * a verdict is kept ttl_s whatever its records said, and a FAILED one fail_ttl_s -- long enough
 * that a broken domain does not cost a lookup per RCPT, short enough that mail deferred for it
 * goes out soon after the domain is fixed.  An expired verdict is not served: the next get
 * starts a lookup and waits for it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "daemon/destpol.h"
#include "lib/log.h"

struct destpol_entry {
	struct destpol *d;
	struct destpol_entry *hnext;		/* hash chain */
	struct destpol_entry *older, *newer;	/* LRU list */
	struct policy_dane_domain *v;		/* policy_dane_domain_size bytes, or NULL */
	bool v_static;				/* v is oom_verdict */
	uint64_t expires_ms;
	struct policy_dane_lookup *lookup;	/* while a lookup runs */
	struct loop_timer deadline;
	struct destpol_waiter *waiters;		/* wait for the running lookup */
	struct destpol_waiter *waking;		/* being woken (finish()) */
	bool in_finish;
	char name[POLICY_DANE_NAME_MAX];
};

/*
 * The reverse view for the SNI at connect time: which MX host name a destination address stands
 * for in the verdicts cached here.  Only a hint (the verdicts decide, per RCPT): bounded, and a
 * node lives as long as the verdict it points into.
 */
#define DESTPOL_ADDR_BUCKETS 4096
#define DESTPOL_ADDR_MAX 65536

struct destpol_addr {
	struct destpol_addr *next;
	const struct destpol_entry *e;
	const struct policy_dane_host *h;	/* in e->v */
	uint8_t alen;
	uint8_t addr[16];
};

struct destpol {
	struct loop *loop;
	struct destpol_addr *addrs[DESTPOL_ADDR_BUCKETS];
	size_t naddrs;
	struct policy_dane_resolver *res;	/* NULL over a caller's transport */
	struct loop_ev ev;
	struct policy_dane_transport tr;
	unsigned int flags;			/* POLICY_DANE_F_* */
	uint64_t ttl_ms, fail_ttl_ms, timeout_ms;
	size_t max, n;
	struct destpol_entry **buckets;
	size_t nbuckets;			/* a power of two */
	struct destpol_entry *newest, *oldest;
	bool process_warned;
	void (*stored)(void *arg, const struct policy_dane_domain *v, uint64_t expires_ms);
	void *stored_arg;
};

/* The verdict when not even a FAILED one can be allocated. */
static struct policy_dane_domain oom_verdict = {
	.state = POLICY_DANE_FAILED,
	.reason = "out of memory",
};

static size_t bucket_of(const struct destpol *d, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h & (d->nbuckets - 1);
}

static struct destpol_entry *find(const struct destpol *d, const char *name)
{
	struct destpol_entry *e = d->buckets[bucket_of(d, name)];

	while (e && strcmp(e->name, name))
		e = e->hnext;
	return e;
}

static void lru_unlink(struct destpol *d, struct destpol_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		d->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
	e->older = e->newer = NULL;
}

static void lru_push(struct destpol *d, struct destpol_entry *e)
{
	e->older = d->newest;
	e->newer = NULL;
	if (d->newest)
		d->newest->newer = e;
	d->newest = e;
	if (!d->oldest)
		d->oldest = e;
}

static void waiter_unlink(struct destpol_waiter *w)
{
	if (w->next)
		w->next->pprev = w->pprev;
	*w->pprev = w->next;
	w->next = NULL;
	w->pprev = NULL;
	w->e = NULL;
}

static void waiter_push(struct destpol_waiter **head, struct destpol_waiter *w)
{
	w->next = *head;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = head;
	*head = w;
}

static size_t addr_bucket(const uint8_t *a, size_t alen)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	return h & (DESTPOL_ADDR_BUCKETS - 1);
}

static void addr_add(struct destpol *d, const struct destpol_entry *e,
		     const struct policy_dane_host *h, const uint8_t *a, size_t alen)
{
	struct destpol_addr *n;
	size_t b = addr_bucket(a, alen);

	if (d->naddrs >= DESTPOL_ADDR_MAX || !(n = calloc(1, sizeof(*n))))
		return; /* a hint: without it the SNI is what it would have been */
	n->e = e;
	n->h = h;
	n->alen = (uint8_t)alen;
	memcpy(n->addr, a, alen);
	n->next = d->addrs[b];
	d->addrs[b] = n;
	d->naddrs++;
}

/* Index (add) or forget (!add) the addresses of e's verdict. */
static void addr_index(struct destpol_entry *e, bool add)
{
	struct destpol *d = e->d;
	const struct policy_dane_domain *v = e->v;

	for (size_t i = 0; v && !e->v_static && i < v->nhost; i++) {
		const struct policy_dane_host *h = &v->host[i];

		for (size_t k = 0; k < h->n4 + h->n6; k++) {
			const uint8_t *a = k < h->n4 ? h->addr4[k] : h->addr6[k - h->n4];
			size_t alen = k < h->n4 ? 4 : 16;
			struct destpol_addr **pp = &d->addrs[addr_bucket(a, alen)];

			if (add) {
				addr_add(d, e, h, a, alen);
				continue;
			}
			while (*pp) {
				struct destpol_addr *n = *pp;

				if (n->e == e && n->h == h && n->alen == alen &&
				    !memcmp(n->addr, a, alen)) {
					*pp = n->next;
					free(n);
					d->naddrs--;
				} else {
					pp = &n->next;
				}
			}
		}
	}
}

const char *destpol_sni_for_addr(const struct destpol *d, const uint8_t *addr, size_t alen)
{
	const struct destpol_addr *n;
	const char *any = NULL;
	uint64_t now = loop_now_ms();

	if (!d || (alen != 4 && alen != 16))
		return NULL;
	for (n = d->addrs[addr_bucket(addr, alen)]; n; n = n->next) {
		if (n->alen != alen || memcmp(n->addr, addr, alen) || n->e->expires_ms <= now)
			continue;
		/* a host with TLSA records: its TLSA base domain is the SNI DANE wants */
		if (n->h->state == POLICY_DANE_USABLE || n->h->state == POLICY_DANE_UNUSABLE_ALL)
			return n->h->base[0] ? n->h->base : n->h->name;
		if (!any)
			any = n->h->name;
	}
	return any;
}

static void verdict_free(struct destpol_entry *e)
{
	addr_index(e, false);
	if (e->v && !e->v_static) {
		policy_dane_domain_clear(e->v);
		free(e->v);
	}
	e->v = NULL;
	e->v_static = false;
}

/* Keep the verdict in an allocation of its own size: a domain has a few hosts, the struct room
 * for POLICY_DANE_MAX_HOSTS (some 27 KiB); max_entries full ones would be hundreds of MB. */
static void verdict_set(struct destpol_entry *e, const struct policy_dane_domain *dom)
{
	struct policy_dane_domain *v = malloc(policy_dane_domain_size(dom));

	verdict_free(e);
	if (v && policy_dane_domain_copy(v, dom)) {
		free(v);
		v = NULL;
	}
	if (!v) {
		e->v = &oom_verdict;
		e->v_static = true;
		e->expires_ms = loop_now_ms() + e->d->fail_ttl_ms;
		return;
	}
	e->v = v;
	e->expires_ms = loop_now_ms() +
			(v->state == POLICY_DANE_FAILED ? e->d->fail_ttl_ms : e->d->ttl_ms);
	addr_index(e, true);
	if (e->d->stored)
		e->d->stored(e->d->stored_arg, v, e->expires_ms);
}

static void verdict_fail(struct destpol_entry *e, const char *why)
{
	/* whole while built (the compiler checks the bounds), kept at its size by verdict_set */
	struct policy_dane_domain *dom = calloc(1, sizeof(*dom));

	if (dom) {
		snprintf(dom->domain, sizeof(dom->domain), "%s", e->name);
		dom->state = POLICY_DANE_FAILED;
		snprintf(dom->reason, sizeof(dom->reason), "%s", why);
	}
	verdict_set(e, dom ? dom : &oom_verdict);
	free(dom);
}

/* The lookup ended (answered or timed out): wake whoever waited.  A wake may get and cancel
 * freely: the waiters are moved to a list of their own first (one that starts waiting on this
 * entry meanwhile waits for the next lookup), each is unlinked before its wake, and the entry
 * is not evicted while in here. */
static void finish(struct destpol_entry *e)
{
	struct destpol_waiter *w;

	log_debug("destpol domain=%s state=%s hosts=%zu reason=\"%s\"", e->name,
		  policy_dane_state_name(e->v->state), e->v->nhost, e->v->reason);
	e->waking = e->waiters;
	if (e->waking)
		e->waking->pprev = &e->waking;
	e->waiters = NULL;
	e->in_finish = true;
	while ((w = e->waking)) {
		waiter_unlink(w);
		w->wake(w);
	}
	e->in_finish = false;
}

static void on_result(void *arg, const struct policy_dane_domain *dom)
{
	struct destpol_entry *e = arg;

	e->lookup = NULL; /* it frees itself after this */
	loop_timer_disarm(e->d->loop, &e->deadline);
	verdict_set(e, dom);
	finish(e);
}

static void on_deadline(struct loop_timer *t)
{
	struct destpol_entry *e =
		(struct destpol_entry *)((char *)t - offsetof(struct destpol_entry, deadline));

	log_warn("destpol domain=%s lookup timed out after %llus", e->name,
		 (unsigned long long)(e->d->timeout_ms / 1000));
	policy_dane_lookup_cancel(e->lookup);
	e->lookup = NULL;
	verdict_fail(e, "lookup timed out");
	finish(e);
}

static bool evictable(const struct destpol_entry *e)
{
	return !e->waiters && !e->waking && !e->in_finish;
}

static void entry_free(struct destpol *d, struct destpol_entry *e)
{
	struct destpol_entry **pp = &d->buckets[bucket_of(d, e->name)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(d, e);
	policy_dane_lookup_cancel(e->lookup);
	loop_timer_disarm(d->loop, &e->deadline);
	verdict_free(e);
	d->n--;
	free(e);
}

static struct destpol_entry *entry_new(struct destpol *d, const char *name)
{
	struct destpol_entry *e;
	size_t b;

	/* The least recently used that nobody waits for.  Entries with waiters may take the
	 * cache past its bound: as many as sessions wait, no more. */
	for (e = d->oldest; d->n >= d->max && e;) {
		struct destpol_entry *next = e->newer;

		if (evictable(e))
			entry_free(d, e);
		e = next;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->d = d;
	memcpy(e->name, name, sizeof(e->name));
	loop_timer_init(&e->deadline, on_deadline);
	b = bucket_of(d, name);
	e->hnext = d->buckets[b];
	d->buckets[b] = e;
	lru_push(d, e);
	d->n++;
	return e;
}

static int lookup_start(struct destpol *d, struct destpol_entry *e)
{
	int rc = policy_dane_lookup_domain_flags(&d->tr, e->name, d->flags, on_result, e,
						 &e->lookup);

	if (rc)
		return rc;
	rc = loop_timer_arm(d->loop, &e->deadline, d->timeout_ms);
	if (rc) {
		policy_dane_lookup_cancel(e->lookup);
		e->lookup = NULL;
	}
	return rc;
}

int destpol_get(struct destpol *d, const char *domain, const struct policy_dane_domain **out,
		struct destpol_waiter *w)
{
	char name[POLICY_DANE_NAME_MAX];
	struct destpol_entry *e;
	int rc;

	if (w)
		destpol_cancel(w);
	if (policy_dane_name_norm(domain, name) || !name[0])
		return -EINVAL;
	e = find(d, name);
	if (e) {
		lru_unlink(d, e);
		lru_push(d, e);
		if (e->v && loop_now_ms() < e->expires_ms) {
			*out = e->v;
			return 1;
		}
	} else {
		e = entry_new(d, name);
		if (!e)
			return -ENOMEM;
	}
	if (!e->lookup) {
		rc = lookup_start(d, e);
		if (rc) {
			char why[128];

			/* not even asked: a failure like any other, never "no policy" */
			snprintf(why, sizeof(why), "lookup could not be started: %s",
				 strerror(-rc));
			log_warn("destpol domain=%s %s", name, why);
			verdict_fail(e, why);
			*out = e->v;
			return 1;
		}
	}
	if (w) {
		waiter_push(&e->waiters, w);
		w->e = e;
	}
	return 0;
}

void destpol_cancel(struct destpol_waiter *w)
{
	if (w && w->e)
		waiter_unlink(w);
}

size_t destpol_count(const struct destpol *d)
{
	return d->n;
}

static void on_resolver(struct loop_ev *ev, uint32_t events)
{
	struct destpol *d = (struct destpol *)((char *)ev - offsetof(struct destpol, ev));
	int rc;

	(void)events;
	rc = policy_dane_process(d->res);
	/* A broken pipe to libunbound's thread would report readable forever; say it once (the
	 * lookups then end at their deadlines, as failures). */
	if (rc && !d->process_warned) {
		log_err("destpol: resolver: %s", strerror(-rc));
		d->process_warned = true;
	}
}

static int destpol_alloc(struct loop *l, const struct destpol_opts *o, struct destpol **out)
{
	struct destpol_opts op = { 0 };
	struct destpol *d;

	if (o)
		memcpy(&op, o, o->sz && o->sz < sizeof(op) ? o->sz : sizeof(op));
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = l;
	d->ev.fd = -1;
	d->flags = POLICY_DANE_F_ADDRS_ALWAYS | (op.dane ? 0 : POLICY_DANE_F_NO_TLSA);
	d->ttl_ms = 1000ull * (op.ttl_s ? op.ttl_s : DESTPOL_TTL_S);
	d->fail_ttl_ms = 1000ull * (op.fail_ttl_s ? op.fail_ttl_s : DESTPOL_FAIL_TTL_S);
	d->timeout_ms = 1000ull * (op.timeout_s ? op.timeout_s : DESTPOL_TIMEOUT_S);
	d->max = op.max_entries ? op.max_entries : DESTPOL_MAX_ENTRIES;
	d->stored = op.stored;
	d->stored_arg = op.stored_arg;
	for (d->nbuckets = 64; d->nbuckets < d->max && d->nbuckets < (1u << 20);)
		d->nbuckets *= 2;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

int destpol_new_transport(struct loop *l, const struct destpol_opts *o,
			  const struct policy_dane_transport *tr, struct destpol **out)
{
	struct destpol *d;
	int rc = destpol_alloc(l, o, &d);

	if (rc)
		return rc;
	d->tr = *tr;
	*out = d;
	return 0;
}

int destpol_new(struct loop *l, const struct destpol_opts *o, struct destpol **out, char *err,
		size_t errlen)
{
	struct policy_dane_resolver_opts ro = { .sz = sizeof(ro) };
	struct destpol *d;
	int rc = destpol_alloc(l, o, &d);

	if (rc) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	if (o) {
		ro.trust_anchor = o->trust_anchor;
		ro.forwarder = o->forwarder;
	}
	rc = policy_dane_resolver_new(&ro, &d->res, err, errlen);
	if (rc)
		goto fail;
	policy_dane_transport_of(d->res, &d->tr);
	d->ev.fn = on_resolver;
	d->ev.fd = policy_dane_fd(d->res);
	rc = loop_watch(l, &d->ev, EPOLLIN);
	if (rc) {
		snprintf(err, errlen, "resolver fd: %s", strerror(-rc));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	destpol_free(d);
	return rc;
}

void destpol_free(struct destpol *d)
{
	if (!d)
		return;
	while (d->oldest) {
		struct destpol_entry *e = d->oldest;

		while (e->waiters)
			waiter_unlink(e->waiters);
		while (e->waking)
			waiter_unlink(e->waking);
		entry_free(d, e);
	}
	if (d->ev.fd >= 0)
		loop_unwatch(d->loop, &d->ev);
	policy_dane_resolver_free(d->res);
	free(d->buckets);
	free(d);
}
