// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy's life on the main thread: a snapshot is resolved (MX -> addresses, refreshed by
 * TTL), swapped in for new sessions and pushed to the kernel; reloads are all or nothing.  Both
 * the supervisor (SIGHUP, start) and the control ops (tlsgatectl policy edits) come here.
 * The kernel also gets the addresses the destinations' own policies make TLS-required
 * (daemon/destkern.h), decided here with the same precedence as a session's per RCPT.
 */
#include "daemon/supervisor.h"
#include "daemon/datapath.h"
#include "daemon/destkern.h"
#include "daemon/sts_fetch.h"
#include "lib/log.h"
#include "policy/destaddr.h"
#include "policy/policy.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void resolve_now(struct supervisor *sv, struct policy *p)
{
	struct policy_resolve_stats st = { 0 };
	uint64_t next;
	int rc;

	if (!sv->resolver || !p)
		return;
	rc = policy_resolver_refresh(sv->resolver, p, policy_resolver_now(), &st);
	if (rc)
		log_warn("policy resolve: %s", strerror(-rc));
	else if (st.queried)
		log_info("policy resolve names=%zu queried=%zu ok=%zu failed=%zu addresses=%zu",
			 st.names, st.queried, st.ok, st.failed, st.addrs);
	next = policy_resolver_next_due(sv->resolver);
	if (next != UINT64_MAX) {
		uint64_t now = policy_resolver_now();

		loop_timer_arm(sv->loop, &sv->resolve_timer,
			       (next > now ? next - now : 1) * 1000u);
	}
}

struct dest_ctx {
	const struct gateway *g;
	const struct policy *p;
	int64_t now; /* unix time, for MTA-STS expiry */
};

/*
 * Does domain require TLS toward host h, as a session would decide at RCPT (session_dest.c):
 * the admin's rule for the domain decides alone (dane asks for DANE, the other levels say it);
 * else DANE with TLSA records, else MTA-STS enforce for this host.
 */
static bool dest_requires(void *arg, const char *domain, const struct policy_destaddr_host *h)
{
	const struct dest_ctx *c = arg;
	const struct config *cfg = &c->g->cfg;
	struct policy_match m = policy_match_domain(c->p, domain);
	struct policy_sts_entry *e = NULL;
	bool r;

	if (m.rule->key_type != POLICY_KEY_DEFAULT) {
		/* a monitor rule refuses nothing: the kernel lets its flows pass too */
		if (gateway_rule_monitor(c->g, m.rule))
			return false;
		if (m.rule->written == POLICY_DANE)
			return policy_destaddr_host_requires(h->dane, NULL, h->name);
		return policy_level_requires_tls(m.rule->level);
	}
	if (cfg->outbound_mta_sts && c->g->sts &&
	    policy_sts_cache_get(sts_fetch_cache(c->g->sts), domain, &e, NULL) == 0 && e &&
	    e->expires <= c->now) {
		policy_sts_entry_put(e);
		e = NULL;
	}
	r = policy_destaddr_host_requires(cfg->outbound_dane ? h->dane : POLICY_DANE_NONE,
					  e ? &e->pol : NULL, h->name);
	if (e)
		policy_sts_entry_put(e);
	return r;
}

/* The table's entries and the destination-policy addresses into the kernel: always when the
 * table changed (force), else only when the addresses did. */
static void push_kernel(struct supervisor *sv, const struct policy *p, bool force)
{
	struct dest_ctx c = { .g = sv->g, .p = p, .now = time(NULL) };
	struct policy_destaddr_addr *req = NULL;
	size_t n = 0, seen = 0;
	bool changed = false;
	int rc;

	if (!sv->bpf || !p)
		return;
	if (sv->g->destkern) {
		rc = destkern_required(sv->g->destkern, dest_requires, &c, &req, &n, &seen,
				       &changed);
		if (rc)
			log_warn("destination policy addresses: %s (the kernel keeps the table's)",
				 strerror(-rc));
	}
	if ((force || changed) && datapath_policy(sv->bpf, p, &sv->g->cfg, req, n, seen) && sv->g->destkern)
		destkern_forget(sv->g->destkern); /* try again at the next change */
	free(req);
}

void supervisor_dest_changed(void *arg)
{
	struct supervisor *sv = arg;
	struct policy *p = gateway_policy_get(sv->g);

	push_kernel(sv, p, false);
	if (p)
		policy_put(p);
}

void supervisor_refresh_policy(struct supervisor *sv, struct policy *p)
{
	/* The address map is attached to the running snapshot; the kernel gets the new set. */
	resolve_now(sv, p);
	push_kernel(sv, p, true);
}

void supervisor_policy_log_warnings(const struct policy *p)
{
	for (size_t i = 0; i < policy_warning_count(p); i++)
		log_warn("policy: %s", policy_warning_at(p, i));
}

void supervisor_apply_policy(struct supervisor *sv, struct policy *p)
{
	supervisor_policy_log_warnings(p);
	resolve_now(sv, p);
	gateway_policy_set(sv->g, p);
	push_kernel(sv, p, true);
}

static void on_resolve_timer(struct loop_timer *t)
{
	struct supervisor *sv = (struct supervisor *)((char *)t -
						      offsetof(struct supervisor, resolve_timer));
	struct policy *p = gateway_policy_get(sv->g);

	supervisor_refresh_policy(sv, p);
	if (p)
		policy_put(p);
}

int supervisor_reload(struct supervisor *sv, char *msg, size_t msglen)
{
	struct policy_error perr = { { 0 } };
	struct gateway *g = sv->g;
	struct policy *p = NULL;
	int rc = policy_load(g->cfg.outbound_policy, g->cfg.inbound_policy, &p, &perr);

	if (rc) {
		snprintf(msg, msglen, "%s", perr.msg[0] ? perr.msg : strerror(-rc));
		log_err("policy: %s", msg);
		log_err("reload: keeping the current policy");
		return rc;
	}
	supervisor_apply_policy(sv, p);
	snprintf(msg, msglen, "policy reloaded: %zu outbound, %zu inbound rules",
		 policy_rule_count(p, POLICY_OUTBOUND), policy_rule_count(p, POLICY_INBOUND));
	log_info("reload: policy outbound=%s inbound=%s loaded (%s); configuration, certificates "
		 "and listeners are read at start only: they need a restart",
		 g->cfg.outbound_policy ? g->cfg.outbound_policy : "(none)",
		 g->cfg.inbound_policy ? g->cfg.inbound_policy : "(none)", msg);
	return 0;
}

int supervisor_open_resolver(struct supervisor *sv)
{
	struct policy_resolver_opts o = { .sz = sizeof(o) };
	int rc;

	if (!sv->g->cfg.resolve)
		return 0;
	o.nameserver = sv->g->cfg.dns_server;
	rc = policy_resolver_new(&o, &sv->resolver);
	if (rc)
		log_err("policy resolver (dns_server=%s): %s",
			sv->g->cfg.dns_server ? sv->g->cfg.dns_server : "resolv.conf", strerror(-rc));
	loop_timer_init(&sv->resolve_timer, on_resolve_timer);
	return rc;
}

