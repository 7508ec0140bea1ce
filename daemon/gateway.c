// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/gateway.h"
#include "policy/policy.h"

struct policy *gateway_policy_get(struct gateway *g)
{
	struct policy *p;

	pthread_mutex_lock(&g->policy_lock);
	p = g->policy ? policy_get(g->policy) : NULL;
	pthread_mutex_unlock(&g->policy_lock);
	return p;
}

void gateway_policy_set(struct gateway *g, struct policy *p)
{
	struct policy *old;

	pthread_mutex_lock(&g->policy_lock);
	old = g->policy;
	g->policy = p;
	atomic_fetch_add(&g->policy_gen, 1);
	pthread_mutex_unlock(&g->policy_lock);
	if (old)
		policy_put(old);
}
