// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy's life on the main thread: a snapshot is resolved (MX -> addresses, refreshed by
 * TTL), swapped in for new sessions and pushed to the kernel; reloads are all or nothing.  Both
 * the supervisor (SIGHUP, start) and the control ops (tlsgatectl policy edits) come here.
 */
#include "daemon/supervisor.h"
#include "daemon/datapath.h"
#include "lib/log.h"
#include "policy/policy.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

void supervisor_refresh_policy(struct supervisor *sv, struct policy *p)
{
	/* The address map is attached to the running snapshot; the kernel gets the new set. */
	resolve_now(sv, p);
	datapath_policy(sv->bpf, p);
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
	datapath_policy(sv->bpf, p);
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

