// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/anvil.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ANVIL_BUCKETS 4096
#define ANVIL_WINDOW_MS 60000u
/* Entries at most (~50 bytes each): beyond, clients are admitted uncounted rather than refused,
 * so that many addresses cannot lock everyone out by filling the table. */
#define ANVIL_MAX_ENTRIES 200000u

struct anvil_entry {
	struct anvil_entry *next;
	uint8_t key[16];	/* IPv4 (v4-mapped), or the IPv6 /64 */
	unsigned int count;	/* open sessions */
	unsigned int rate;	/* connections in the window */
	uint64_t window_ms;	/* start of the rate window */
};

struct anvil {
	pthread_mutex_t lock;
	unsigned int count_limit, rate_limit;
	unsigned int entries;
	unsigned int sweep;	/* the next bucket to clear of idle entries */
	struct anvil_entry *bucket[ANVIL_BUCKETS];
};

int anvil_new(unsigned int count_limit, unsigned int rate_limit, struct anvil **out)
{
	struct anvil *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->count_limit = count_limit;
	a->rate_limit = rate_limit;
	*out = a;
	return 0;
}

void anvil_free(struct anvil *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < ANVIL_BUCKETS; i++) {
		while (a->bucket[i]) {
			struct anvil_entry *e = a->bucket[i];

			a->bucket[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* The client an address belongs to: IPv4 as v4-mapped, IPv6 cut to its /64.  false: neither. */
static bool client_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		memcpy(key, &in6->sin6_addr, 16);
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memset(key + 8, 0, 8);
		return true;
	}
	return false;
}

static unsigned int bucket_of(const uint8_t key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % ANVIL_BUCKETS;
}

static bool idle(const struct anvil_entry *e, uint64_t now_ms)
{
	return !e->count && now_ms - e->window_ms >= ANVIL_WINDOW_MS;
}

/* Free the bucket's entries that hold nothing any more; the one for key is returned if kept. */
static struct anvil_entry *scan(struct anvil *a, unsigned int b, const uint8_t *key,
				uint64_t now_ms)
{
	struct anvil_entry **pp = &a->bucket[b], *found = NULL;

	while (*pp) {
		struct anvil_entry *e = *pp;

		if (key && !memcmp(e->key, key, 16)) {
			found = e;
		} else if (idle(e, now_ms)) {
			*pp = e->next;
			free(e);
			a->entries--;
			continue;
		}
		pp = &e->next;
	}
	return found;
}

enum anvil_verdict anvil_connect(struct anvil *a, const struct sockaddr_storage *addr,
				 uint64_t now_ms)
{
	enum anvil_verdict v = ANVIL_OK;
	struct anvil_entry *e;
	uint8_t key[16];
	unsigned int b;

	if (!a || (!a->count_limit && !a->rate_limit) || !client_key(addr, key))
		return ANVIL_OK;
	b = bucket_of(key);
	pthread_mutex_lock(&a->lock);
	/* a little sweeping with every connection keeps idle clients from piling up */
	a->sweep = (a->sweep + 1) % ANVIL_BUCKETS;
	if (a->sweep != b)
		scan(a, a->sweep, NULL, now_ms);
	e = scan(a, b, key, now_ms);
	if (!e) {
		if (a->entries >= ANVIL_MAX_ENTRIES || !(e = calloc(1, sizeof(*e)))) {
			/* admitted uncounted: anvil_disconnect() finds no entry (or one made
			 * later, which then loses one from its count) */
			pthread_mutex_unlock(&a->lock);
			return ANVIL_OK;
		}
		memcpy(e->key, key, 16);
		e->window_ms = now_ms;
		e->next = a->bucket[b];
		a->bucket[b] = e;
		a->entries++;
	}
	if (now_ms - e->window_ms >= ANVIL_WINDOW_MS) {
		e->window_ms = now_ms;
		e->rate = 0;
	}
	e->rate++;
	if (a->rate_limit && e->rate > a->rate_limit)
		v = ANVIL_TOO_FAST;
	else if (a->count_limit && e->count >= a->count_limit)
		v = ANVIL_TOO_MANY;
	else
		e->count++;
	pthread_mutex_unlock(&a->lock);
	return v;
}

void anvil_disconnect(struct anvil *a, const struct sockaddr_storage *addr)
{
	struct anvil_entry *e;
	uint8_t key[16];

	if (!a || (!a->count_limit && !a->rate_limit) || !client_key(addr, key))
		return;
	pthread_mutex_lock(&a->lock);
	for (e = a->bucket[bucket_of(key)]; e; e = e->next) {
		if (!memcmp(e->key, key, 16)) {
			if (e->count)
				e->count--;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
}
