// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rules by normalised key: an open-addressing hash table of rule indexes (linear probing, at
 * most half full), so a domain lookup costs one hash and a probe or two whatever the table size.
 * The keys are the administrator's, so collision flooding is not a concern; lookups with names
 * from the network only probe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

/* FNV-1a 64 with a murmur3 finaliser: cheap, and fixed forever (rule ids depend on it). */
uint64_t policy_hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int policy_strtab_init(struct strtab *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	t->e = calloc(cap, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	t->mask = cap - 1;
	return 0;
}

void policy_strtab_free(struct strtab *t)
{
	free(t->e);
	t->e = NULL;
	t->mask = 0;
}

long policy_strtab_insert(struct strtab *t, const struct policy_rule *rules, uint32_t idx)
{
	const char *key = rules[idx].key;
	uint32_t h = (uint32_t)policy_hash64(key, strlen(key), 0);

	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		struct policy_strtab_ent *e = &t->e[i];

		if (!e->slot) {
			e->slot = idx + 1;
			e->hash = h;
			e->key = key;
			return idx;
		}
		if (e->hash == h && !strcmp(e->key, key))
			return (long)(e->slot - 1);
	}
}

long policy_strtab_find(const struct strtab *t, const char *s, size_t len)
{
	uint32_t h;

	if (!t->e)
		return -1;
	h = (uint32_t)policy_hash64(s, len, 0);
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const struct policy_strtab_ent *e = &t->e[i];

		if (!e->slot)
			return -1;
		if (e->hash == h && !strncmp(e->key, s, len) && e->key[len] == '\0')
			return (long)(e->slot - 1);
	}
}
