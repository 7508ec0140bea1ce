// SPDX-License-Identifier: GPL-2.0-only
/*
 * Longest-prefix match for address rules.  CIDR blocks are either nested or disjoint, so the
 * address space splits into at most 2n+1 intervals, each owned by the longest prefix covering it
 * (or by none).  We build that partition once per snapshot with a sort and a stack sweep,
 * O(n log n), and a lookup is one binary search over the interval starts: O(log n), no
 * pointers to chase, two flat arrays per family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/policy_int.h"

u128 policy_lpm_addr(int family, const uint8_t addr[16])
{
	size_t n = family == AF_INET ? 4 : 16;
	u128 a = 0;

	for (size_t i = 0; i < n; i++)
		a = (a << 8) | addr[i];
	return a;
}

struct pfx {
	u128 start, end;	/* inclusive */
	uint8_t len;
	int32_t idx;
};

static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->len - (int)y->len;	/* the enclosing block first */
}

static void emit(struct policy_lpm_fam *f, u128 start, int32_t idx)
{
	if (f->n && f->start[f->n - 1] == start) {
		f->idx[f->n - 1] = idx;
		if (f->n > 1 && f->idx[f->n - 2] == idx)
			f->n--;
		return;
	}
	if (f->n && f->idx[f->n - 1] == idx)
		return;
	f->start[f->n] = start;
	f->idx[f->n] = idx;
	f->n++;
}

static int build_fam(struct policy_lpm_fam *f, const struct policy_rule *rules, size_t n, int family)
{
	unsigned int bits = family == AF_INET ? 32 : 128;
	u128 space_end = bits == 128 ? ~(u128)0 : (((u128)1 << 32) - 1);
	struct pfx *v = NULL, **stack = NULL;
	size_t np = 0, sp = 0;
	int rc = -ENOMEM;

	for (size_t i = 0; i < n; i++)
		if (rules[i].key_type == POLICY_KEY_ADDR && rules[i].family == family)
			np++;
	v = calloc(np + 1, sizeof(*v));
	stack = calloc(np + 1, sizeof(*stack));
	f->start = calloc(2 * np + 1, sizeof(*f->start));
	f->idx = calloc(2 * np + 1, sizeof(*f->idx));
	if (!v || !stack || !f->start || !f->idx)
		goto out;
	np = 0;
	for (size_t i = 0; i < n; i++) {
		const struct policy_rule *r = &rules[i];
		u128 host_mask;

		if (r->key_type != POLICY_KEY_ADDR || r->family != family)
			continue;
		host_mask = r->prefix_len == 0 ? space_end
			: r->prefix_len >= bits ? 0 : (((u128)1 << (bits - r->prefix_len)) - 1);
		v[np].start = policy_lpm_addr(family, r->addr) & ~host_mask & space_end;
		v[np].end = v[np].start | host_mask;
		v[np].len = r->prefix_len;
		v[np].idx = (int32_t)i;
		np++;
	}
	qsort(v, np, sizeof(*v), pfx_cmp);
	f->n = 0;
	emit(f, 0, -1);
	for (size_t i = 0; i < np; i++) {
		while (sp && stack[sp - 1]->end < v[i].start) {
			u128 next = stack[sp - 1]->end + 1;

			sp--;
			emit(f, next, sp ? stack[sp - 1]->idx : -1);
		}
		emit(f, v[i].start, v[i].idx);
		stack[sp++] = &v[i];
	}
	while (sp) {
		u128 end = stack[sp - 1]->end;

		sp--;
		if (end != space_end)
			emit(f, end + 1, sp ? stack[sp - 1]->idx : -1);
	}
	rc = 0;
out:
	free(v);
	free(stack);
	return rc;
}

int policy_lpm_build(struct lpm *l, const struct policy_rule *rules, size_t n)
{
	memset(l, 0, sizeof(*l));
	if (build_fam(&l->v4, rules, n, AF_INET) || build_fam(&l->v6, rules, n, AF_INET6)) {
		policy_lpm_free(l);
		return -ENOMEM;
	}
	return 0;
}

void policy_lpm_free(struct lpm *l)
{
	free(l->v4.start);
	free(l->v4.idx);
	free(l->v6.start);
	free(l->v6.idx);
	memset(l, 0, sizeof(*l));
}

int32_t policy_lpm_lookup(const struct lpm *l, int family, const uint8_t addr[16])
{
	const struct policy_lpm_fam *f = family == AF_INET ? &l->v4 : &l->v6;
	u128 a = policy_lpm_addr(family, addr);
	size_t lo = 0, hi = f->n;

	if (!f->n)
		return -1;
	/* The last interval starting at or before a: start[0] == 0, so there is one. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->start[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	return f->idx[lo];
}

bool policy_sockaddr(const struct sockaddr *sa, int *family, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(addr, &sin->sin_addr, 4);
		*family = AF_INET;
		if (port)
			*port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
			*family = AF_INET;
		} else {
			memcpy(addr, &sin6->sin6_addr, 16);
			*family = AF_INET6;
		}
		if (port)
			*port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}
