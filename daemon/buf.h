/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bounded byte buffer: data lives in [off, off+len) of a fixed-size allocation.  Bounded on
 * purpose: a full buffer is backpressure (stop reading the other side), never growth.  The
 * allocation is made when bytes first arrive and given back by buf_release() when the buffer is
 * empty, so an idle session holds no buffer memory at all.  The memory comes from malloc, or from
 * a pool (lib/pool.h) of objects of the buffer's size: the worker's, which keeps a bounded number
 * of released buffers for the next session instead of a free() and malloc() per event.
 */
#ifndef TLSGATE_DAEMON_BUF_H
#define TLSGATE_DAEMON_BUF_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/uio.h>

struct tg_pool;

struct buf {
	char *data;
	size_t cap, off, len;
	size_t cap0;		/* buf_init's capacity: cap again once an adopted allocation is released */
	struct tg_pool *pool;	/* where data comes from and goes back to; NULL: malloc */
};

/* Set the capacity; allocates nothing yet.  Always 0. */
int buf_init(struct buf *b, size_t cap);
/* The same with memory from `pool` (its thread's only), whose object size is the capacity. */
void buf_init_pool(struct buf *b, struct tg_pool *pool);
void buf_free(struct buf *b);
/* Give the memory back if the buffer is empty (no pointer into it may be kept across this). */
void buf_release(struct buf *b);

static inline char *buf_head(const struct buf *b)
{
	/* a released buffer has no memory: NULL, not NULL + 0 (undefined) */
	return b->data ? b->data + b->off : NULL;
}

static inline size_t buf_space(const struct buf *b)
{
	return b->cap - b->off - b->len;
}

/* What an append can take (the room at the front counts: an append compacts). */
static inline size_t buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

/* Where new bytes go (allocating on first use; NULL when out of memory); compacts first when
 * that frees room at the end. */
char *buf_tail(struct buf *b);
void buf_commit(struct buf *b, size_t n);	/* n bytes were written at buf_tail() */
void buf_consume(struct buf *b, size_t n);	/* n bytes at the head are done */
/*
 * Appends are all or nothing: -ENOSPC or -ENOMEM and not a byte written, never a half.  What is
 * queued toward a peer is a protocol unit (a command and its line end, a BDAT command and its
 * chunk); half of one would desynchronise the peer, so the result must be looked at.
 */
int buf_append(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
/* Several pieces as one unit: all of them or none. */
int buf_appendv(struct buf *b, const struct iovec *iov, size_t iovcnt)
	__attribute__((warn_unused_result));
/*
 * Bytes already taken from a peer, which must not be lost, into an empty buffer: beyond its
 * capacity if need be (an allocation of their size until buf_release gives it back).  -EBUSY
 * when the buffer is not empty, -ENOMEM.
 */
int buf_adopt(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), warn_unused_result));
void buf_reset(struct buf *b);

/* Length of the first line including its LF (accepting bare LF), or 0 when none is complete. */
size_t buf_line(const struct buf *b);

#endif
