/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A free list of fixed-size objects for one thread (a worker): what is given back is kept for
 * the next taker instead of going through malloc, up to `cap` objects; beyond that it is freed at
 * once, and tg_pool_trim() frees what is kept (an idle worker gives its memory back).  No locks:
 * every call for one pool must come from the thread that owns it.
 *
 * Under AddressSanitizer a kept object is poisoned, so a use after tg_pool_put() is reported
 * (use-after-poison) as a use after free() would be, and it is never handed out again: gets are
 * malloc's there, so a stale pointer cannot land in the next taker's object unseen (ASan's own
 * quarantine keeps freed memory from malloc for the same reason).  The list then only holds
 * (up to `cap`, poisoned) until trimmed.
 */
#ifndef TLSGATE_LIB_POOL_H
#define TLSGATE_LIB_POOL_H

#include <stddef.h>
#include <stdint.h>

/* 1 when built with AddressSanitizer (GCC says so with a macro, clang with __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define TG_POOL_POISONS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG_POOL_POISONS 1
#endif
#endif
#ifndef TG_POOL_POISONS
#define TG_POOL_POISONS 0
#endif
/* Whether tg_pool_get() hands out kept objects (not under ASan, above). */
#define TG_POOL_REUSES (!TG_POOL_POISONS)

struct tg_pool {
	size_t size;		/* of one object, at least a pointer */
	unsigned int cap;	/* how many given-back objects are kept at most */
	unsigned int cached;	/* kept now */
	void *free;		/* the kept ones, linked through their first bytes */
	uint64_t hits, misses;	/* tg_pool_get()s served from the list / by malloc */
};

/* An empty pool of `size`-byte objects keeping at most `cap` of them. */
void tg_pool_init(struct tg_pool *p, size_t size, unsigned int cap);
/* An object of p->size bytes (a kept one when there is one, unless ASan), contents undefined;
 * NULL when out of memory. */
void *tg_pool_get(struct tg_pool *p);
/* The same, zeroed. */
void *tg_pool_zget(struct tg_pool *p);
/* Give obj (from tg_pool_get on the same pool, or NULL) back: kept, or freed when p->cap are. */
void tg_pool_put(struct tg_pool *p, void *obj);
/* Free the kept objects beyond `keep`; how many were freed. */
unsigned int tg_pool_trim(struct tg_pool *p, unsigned int keep);
/* Free every kept object; the pool can be used again (it is empty). */
void tg_pool_fini(struct tg_pool *p);

#endif
