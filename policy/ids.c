// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stable rule ids.  A rule is identified by what it applies to: its direction and normalised key
 * (not its level or attributes, so editing "example.org may" into "example.org encrypt" keeps
 * the rule's counters).  The id is a function of that identity and of nothing that varies
 * between loads (not the line number, not the order, not the time):
 *
 *   h  = policy_hash64("o:" or "i:" + key)           FNV-1a 64 + murmur3 finaliser, seed 0
 *   id = POLICY_ID_FIRST + h mod (2^32 - POLICY_ID_FIRST)
 *
 * Two different keys can hash to the same id (about one pair in a table of 100 000 rules).  Then
 * the ids are made unique deterministically: rules are taken in order of (id, direction, key)
 * and each gets the first free id at or above its own (linear probing, wrapping to
 * POLICY_ID_FIRST).  So an id depends only on the set of rules that collide with it, which is the
 * same across reloads and restarts of the same tables; only adding or removing a colliding rule
 * can move it (probability ~ n / 2^32 per change), and the collision is logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "policy/policy_int.h"

uint32_t policy_id_hash(enum policy_dir dir, const char *key)
{
	size_t len = strlen(key);
	char stackbuf[320];
	char *buf = len + 3 <= sizeof(stackbuf) ? stackbuf : malloc(len + 3);
	uint64_t h;

	if (!buf) {	/* keys are short; still, never fail: hash the pieces */
		h = policy_hash64(key, len, dir);
		return POLICY_ID_FIRST + (uint32_t)(h % (0x100000000ULL - POLICY_ID_FIRST));
	}
	buf[0] = dir == POLICY_OUTBOUND ? 'o' : 'i';
	buf[1] = ':';
	memcpy(buf + 2, key, len);
	h = policy_hash64(buf, len + 2, 0);
	if (buf != stackbuf)
		free(buf);
	return POLICY_ID_FIRST + (uint32_t)(h % (0x100000000ULL - POLICY_ID_FIRST));
}

static int ent_cmp(const void *a, const void *b)
{
	const struct id_ent *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->rule->dir != y->rule->dir)
		return x->rule->dir < y->rule->dir ? -1 : 1;
	return strcmp(x->rule->key, y->rule->key);
}

static int id_cmp(const void *a, const void *b)
{
	const struct id_ent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Make the ids of e[0..n) (hashes in e[i].id) unique, as described above; sorts e by id. */
void policy_ids_place(struct id_ent *e, size_t n)
{
	uint64_t next = 0;
	size_t nwrap = 0;

	qsort(e, n, sizeof(*e), ent_cmp);
	for (size_t i = 0; i < n; i++) {
		uint32_t want = e[i].id;

		if (next > want)
			log_info("policy id-collision key=%s dir=%s hash=%u id=%s%llu",
				 e[i].rule->key, e[i].rule->dir == POLICY_OUTBOUND ? "out" : "in",
				 want, next > UINT32_MAX ? "wrapped+" : "",
				 (unsigned long long)(next & UINT32_MAX));
		if (next < want)
			next = want;
		if (next > UINT32_MAX) {
			e[i].id = 0;	/* wrapped: placed below */
			nwrap++;
			continue;
		}
		e[i].id = (uint32_t)next;
		next++;
	}
	if (nwrap) {
		/* Past 2^32-1: the first free ids from POLICY_ID_FIRST, in the same order.  The
		 * placed ids are an ascending prefix of e, the wrapped ones its tail. */
		uint32_t cand = POLICY_ID_FIRST;
		size_t used = 0;

		for (size_t i = n - nwrap; i < n; i++) {
			while (used < n - nwrap && e[used].id <= cand) {
				if (e[used].id == cand)
					cand++;
				used++;
			}
			e[i].id = cand++;
		}
		qsort(e, n, sizeof(*e), id_cmp);
	}
}

int policy_ids_assign(struct policy_rule *out, size_t nout, struct policy_rule *in, size_t nin,
		      struct id_ent **index)
{
	size_t n = nout + nin;
	struct id_ent *e = calloc(n + 1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct policy_rule *r = i < nout ? &out[i] : &in[i - nout];

		e[i].rule = r;
		e[i].id = policy_id_hash(r->dir, r->key);
	}
	policy_ids_place(e, n);
	for (size_t i = 0; i < n; i++)
		((struct policy_rule *)e[i].rule)->id = e[i].id;
	*index = e;
	return 0;
}

const char *policy_id_reserved_name(uint32_t id)
{
	switch (id) {
	case POLICY_ID_DEFAULT_OUT:
		return "outbound default";
	case POLICY_ID_DEFAULT_IN:
		return "inbound default";
	case POLICY_ID_DEST_POLICY:
		return "destination policy (DANE/MTA-STS)";
	default:
		return NULL;
	}
}
