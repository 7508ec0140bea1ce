// SPDX-License-Identifier: GPL-2.0-only
/*
 * DANE's transport: libunbound, a validating resolver in-process.  Queries go out with
 * ub_resolve_async; libunbound works in its own thread (ub_ctx_async(ctx, 1): a thread, not the
 * forked process it would use otherwise) and signals answers on ub_fd(), which the caller puts
 * in its epoll; policy_dane_process() runs ub_process(), which only reads what is there and
 * calls the callbacks.  So a worker never blocks on DNS.
 *
 * Validation needs a trust anchor: the root key from dns-root-data by default, any DS/DNSKEY
 * file (tests: a private test zone's).  Without a forwarder libunbound recurses from the root
 * itself; a forwarder must pass DNSSEC records through (a validating resolver or one that
 * answers with DO) or every answer comes back bogus, which is a failure, never a downgrade.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "policy/dane.h"

#define UB_MAX_RR 256

struct ub_query {
	struct ub_query *next;
	struct policy_dane_resolver *r;
	policy_dane_done_fn done;
	void *arg;
	int id;
};

struct policy_dane_resolver {
	struct ub_ctx *ctx;
	struct ub_query *live;
};

static void unlink_query(struct policy_dane_resolver *r, struct ub_query *q)
{
	for (struct ub_query **pp = &r->live; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			return;
		}
	}
}

static void ub_done(void *mydata, int err, struct ub_result *res)
{
	struct ub_query *q = mydata;
	struct policy_dane_answer a = {.err = err};
	const unsigned char *data[UB_MAX_RR];
	size_t len[UB_MAX_RR];

	unlink_query(q->r, q);
	if (!err && res) {
		a.rcode = res->rcode;
		a.secure = res->secure != 0;
		a.bogus = res->bogus != 0;
		a.nxdomain = res->nxdomain != 0;
		a.canonname = res->canonname;
		a.why_bogus = res->why_bogus;
		for (size_t i = 0; res->havedata && res->data[i] && i < UB_MAX_RR; i++) {
			data[i] = (const unsigned char *)res->data[i];
			len[i] = res->len[i] < 0 ? 0 : (size_t)res->len[i];
			a.n = i + 1;
		}
		a.data = data;
		a.len = len;
	} else if (!err) {
		a.err = UB_NOMEM;
	}
	q->done(q->arg, &a);
	ub_resolve_free(res);
	free(q);
}

static int ub_start(void *t, const char *name, uint16_t type, policy_dane_done_fn done, void *arg,
		    int *id)
{
	struct policy_dane_resolver *r = t;
	struct ub_query *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return -ENOMEM;
	q->r = r;
	q->done = done;
	q->arg = arg;
	rc = ub_resolve_async(r->ctx, name, type, 1 /* IN */, q, ub_done, &q->id);
	if (rc) {
		free(q);
		return rc == UB_NOMEM ? -ENOMEM : -EIO;
	}
	q->next = r->live;
	r->live = q;
	*id = q->id;
	return 0;
}

static void ub_cancel_query(void *t, int id)
{
	struct policy_dane_resolver *r = t;

	for (struct ub_query *q = r->live; q; q = q->next) {
		if (q->id == id) {
			ub_cancel(r->ctx, id);
			unlink_query(r, q);
			free(q);
			return;
		}
	}
}

int policy_dane_resolver_new(const struct policy_dane_resolver_opts *o,
			     struct policy_dane_resolver **out, char *err, size_t errlen)
{
	struct policy_dane_resolver *r = calloc(1, sizeof(*r));
	const char *ta = o && o->trust_anchor ? o->trust_anchor : POLICY_DANE_ROOT_KEY;
	int rc = -EINVAL, u;

	if (!r)
		return -ENOMEM;
	r->ctx = ub_ctx_create();
	if (!r->ctx) {
		snprintf(err, errlen, "ub_ctx_create failed");
		rc = -ENOMEM;
		goto fail;
	}
	u = ub_ctx_async(r->ctx, 1);
	if (!u)
		u = ub_ctx_add_ta_file(r->ctx, ta);
	if (u) {
		snprintf(err, errlen, "trust anchor %s: %s", ta, ub_strerror(u));
		goto fail;
	}
	if (o && o->forwarder) {
		/* A test's or an appliance's resolver may well sit on the loopback. */
		u = ub_ctx_set_option(r->ctx, "do-not-query-localhost:", "no");
		if (!u)
			u = ub_ctx_set_fwd(r->ctx, o->forwarder);
		if (u) {
			snprintf(err, errlen, "forwarder %s: %s", o->forwarder, ub_strerror(u));
			goto fail;
		}
	}
	/* libunbound as a library does not chroot, change user or syslog; said explicitly so a
	 * future default cannot surprise a daemon that has dropped its privileges. */
	u = ub_ctx_set_option(r->ctx, "chroot:", "");
	if (!u)
		u = ub_ctx_set_option(r->ctx, "username:", "");
	if (!u)
		u = ub_ctx_set_option(r->ctx, "use-syslog:", "no");
	if (u) {
		snprintf(err, errlen, "libunbound options: %s", ub_strerror(u));
		goto fail;
	}
	if (access(ta, R_OK)) {
		rc = -errno;
		snprintf(err, errlen, "trust anchor %s: %s", ta, strerror(-rc));
		goto fail;
	}
	/* libunbound reads the anchor file when the context is finalized, normally at the first
	 * query -- for a daemon, after it dropped its privileges.  Finalize now, still at set-up:
	 * removing local data for a name that has none is the public call that does it and
	 * nothing else.  A malformed anchor fails here too. */
	u = ub_ctx_data_remove(r->ctx, "tlsgate-finalize.invalid.");
	if (u) {
		snprintf(err, errlen, "trust anchor %s: %s", ta, ub_strerror(u));
		goto fail;
	}
	if (ub_fd(r->ctx) < 0) {
		snprintf(err, errlen, "libunbound: no file descriptor");
		rc = -EIO;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	policy_dane_resolver_free(r);
	return rc;
}

void policy_dane_resolver_free(struct policy_dane_resolver *r)
{
	if (!r)
		return;
	while (r->live) {
		struct ub_query *q = r->live;

		r->live = q->next;
		free(q);
	}
	if (r->ctx)
		ub_ctx_delete(r->ctx);
	free(r);
}

int policy_dane_fd(struct policy_dane_resolver *r)
{
	return ub_fd(r->ctx);
}

int policy_dane_process(struct policy_dane_resolver *r)
{
	int u = ub_process(r->ctx);

	return u ? -EIO : 0;
}

void policy_dane_transport_of(struct policy_dane_resolver *r, struct policy_dane_transport *tr)
{
	tr->start = ub_start;
	tr->cancel = ub_cancel_query;
	tr->t = r;
}
