// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-thread object pools (lib/pool.h).  A worker's sessions take and give back the same few
 * sizes all the time (the session, its 16 KiB side buffers after every event that emptied one,
 * the bounce buffer of a body): a LIFO list makes that a pointer swap on memory still warm in
 * the cache instead of a trip through malloc's bins each way (bench/notes/relay.md: what it
 * saved, which is little next to the kernel's share).
 */
#include "lib/pool.h"

#include <stdlib.h>
#include <string.h>

#if TG_POOL_POISONS
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

void tg_pool_init(struct tg_pool *p, size_t size, unsigned int cap)
{
	memset(p, 0, sizeof(*p));
	/* a kept object holds the link to the next one */
	p->size = size < sizeof(void *) ? sizeof(void *) : size;
	p->cap = cap;
}

/* The first kept object, unpoisoned and unlinked; NULL when none is kept. */
static void *pop(struct tg_pool *p)
{
	void *obj = p->free;

	if (!obj)
		return NULL;
	POOL_UNPOISON(obj, p->size);
	memcpy(&p->free, obj, sizeof(void *));
	p->cached--;
	return obj;
}

void *tg_pool_get(struct tg_pool *p)
{
	void *obj = TG_POOL_REUSES ? pop(p) : NULL;

	if (obj) {
		p->hits++;
		return obj;
	}
	p->misses++;
	return malloc(p->size);
}

void *tg_pool_zget(struct tg_pool *p)
{
	void *obj = tg_pool_get(p);

	if (obj)
		memset(obj, 0, p->size);
	return obj;
}

void tg_pool_put(struct tg_pool *p, void *obj)
{
	if (!obj)
		return;
	if (p->cached >= p->cap) {
		free(obj);
		return;
	}
	memcpy(obj, &p->free, sizeof(void *));
	/* the link too: only pop() reads a kept object, and it unpoisons first */
	POOL_POISON(obj, p->size);
	p->free = obj;
	p->cached++;
}

unsigned int tg_pool_trim(struct tg_pool *p, unsigned int keep)
{
	unsigned int n = 0;

	while (p->cached > keep) {
		free(pop(p));
		n++;
	}
	return n;
}

void tg_pool_fini(struct tg_pool *p)
{
	tg_pool_trim(p, 0);
}
