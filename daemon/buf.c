// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/buf.h"
#include "lib/pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->cap = b->cap0 = cap;
	b->off = b->len = 0;
	b->pool = NULL;
	return 0;
}

void buf_init_pool(struct buf *b, struct tg_pool *pool)
{
	buf_init(b, pool->size);
	b->pool = pool;
}

static int reserve(struct buf *b)
{
	if (b->data)
		return 0;
	b->data = b->pool ? tg_pool_get(b->pool) : malloc(b->cap);
	return b->data ? 0 : -ENOMEM;
}

static void give_back(struct buf *b)
{
	/* an adopted allocation (buf_adopt) is larger than the pool's objects: malloc's own */
	if (b->pool && b->cap == b->cap0)
		tg_pool_put(b->pool, b->data);
	else
		free(b->data);
	b->data = NULL;
	b->cap = b->cap0;
}

void buf_release(struct buf *b)
{
	if (b->len || !b->data)
		return;
	give_back(b);
	b->off = 0;
}

void buf_free(struct buf *b)
{
	give_back(b);
	b->off = b->len = 0;
}

static void compact(struct buf *b)
{
	if (b->off && b->len)
		memmove(b->data, b->data + b->off, b->len);
	b->off = 0;
}

char *buf_tail(struct buf *b)
{
	if (reserve(b))
		return NULL;
	if (b->off && buf_space(b) < b->cap / 2)
		compact(b);
	return b->data + b->off + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

int buf_appendv(struct buf *b, const struct iovec *iov, size_t iovcnt)
{
	size_t n = 0;

	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > b->cap)
			return -ENOSPC;
		n += iov[i].iov_len;
	}
	if (!n)
		return 0;
	if (n > buf_room(b))
		return -ENOSPC;
	if (reserve(b))
		return -ENOMEM;
	if (n > buf_space(b))
		compact(b);
	for (size_t i = 0; i < iovcnt; i++) {
		memcpy(b->data + b->off + b->len, iov[i].iov_base, iov[i].iov_len);
		b->len += iov[i].iov_len;
	}
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };

	return buf_appendv(b, &iov, 1);
}

int buf_adopt(struct buf *b, const void *p, size_t n)
{
	char *d;

	if (b->len)
		return -EBUSY;
	if (n <= b->cap)
		return buf_append(b, p, n);
	d = malloc(n);
	if (!d)
		return -ENOMEM;
	memcpy(d, p, n);
	give_back(b);
	b->data = d;
	b->cap = n;
	b->off = 0;
	b->len = n;
	return 0;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char tmp[1024];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENOSPC;
	return buf_append(b, tmp, (size_t)n);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

size_t buf_line(const struct buf *b)
{
	const char *nl = b->len ? memchr(buf_head(b), '\n', b->len) : NULL;

	return nl ? (size_t)(nl - buf_head(b)) + 1 : 0;
}
