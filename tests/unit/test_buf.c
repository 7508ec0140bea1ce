// SPDX-License-Identifier: GPL-2.0-only
/* daemon/buf.c: bounded buffers that hold memory only while they hold bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "daemon/buf.h"
#include "lib/pool.h"

static void test_lazy_and_release(void **state)
{
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 64), 0);
	assert_null(b.data);
	assert_int_equal(buf_space(&b), 64);
	assert_int_equal(buf_line(&b), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_null(b.data); /* nothing to hold, nothing held */
	assert_int_equal(buf_append(&b, "EHLO x\r\nNO", 10), 0);
	assert_non_null(b.data);
	assert_int_equal(buf_line(&b), 8);
	buf_release(&b); /* not empty: kept */
	assert_non_null(b.data);
	buf_consume(&b, 8);
	assert_memory_equal(buf_head(&b), "NO", 2);
	buf_consume(&b, 2);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_bounded(void **state)
{
	struct buf b;
	char big[65] = { 0 };

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, big, 65), -ENOSPC);
	assert_int_equal(buf_append(&b, big, 60), 0);
	assert_int_equal(buf_append(&b, big, 5), -ENOSPC); /* full is backpressure, not growth */
	buf_consume(&b, 40);
	/* room at the front is reused by compaction */
	assert_int_equal(buf_append(&b, "abcdefghij", 10), 0);
	assert_int_equal(b.len, 30);
	assert_memory_equal(buf_head(&b) + 20, "abcdefghij", 10);
	assert_int_equal(buf_printf(&b, "%s", "x"), 0);
	buf_free(&b);
}

static void test_tail_commit(void **state)
{
	struct buf b;
	char *t;

	(void)state;
	buf_init(&b, 16);
	t = buf_tail(&b);
	assert_non_null(t);
	memcpy(t, "0123456789", 10);
	buf_commit(&b, 10);
	buf_consume(&b, 9);
	t = buf_tail(&b); /* compacts: the one byte moves to the front */
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_space(&b), 15);
	assert_int_equal(*buf_head(&b), '9');
	buf_free(&b);
}

/* A unit (command + chunk) goes in whole or not at all: never a "BDAT n" without its bytes. */
static void test_appendv_all_or_nothing(void **state)
{
	struct buf b;
	char hdr[40];
	struct iovec iov[2] = { { "BDAT 40\r\n", 9 }, { hdr, sizeof(hdr) } };

	(void)state;
	memset(hdr, 'h', sizeof(hdr));
	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, "RCPT TO:<a@b>\r\n", 15), 0);
	assert_int_equal(buf_appendv(&b, iov, 2), 0);
	assert_int_equal(b.len, 15 + 9 + 40);
	buf_consume(&b, 15);
	/* 15 bytes of room: the command alone would fit, the unit does not */
	assert_int_equal(buf_appendv(&b, iov, 2), -ENOSPC);
	assert_int_equal(b.len, 49);
	assert_memory_equal(buf_head(&b), "BDAT 40\r\n", 9);
	assert_int_equal(buf_printf(&b, "%s", "0123456789abcdef"), -ENOSPC);
	assert_int_equal(b.len, 49);
	buf_consume(&b, 49);
	assert_int_equal(buf_appendv(&b, iov, 2), 0); /* compacted: room again */
	buf_free(&b);
}

static const char big_line[65] = { 'x' };

/* A pooled buffer's memory goes back to its pool when released, and is taken from it again. */
static void test_pooled(void **state)
{
	struct tg_pool p;
	struct buf a, b;
	char *mem;

	(void)state;
	tg_pool_init(&p, 64, 4);
	buf_init_pool(&a, &p);
	buf_init_pool(&b, &p);
	assert_int_equal(a.cap, 64);
	assert_null(a.data);
	assert_int_equal(buf_append(&a, "QUIT\r\n", 6), 0);
	mem = a.data;
	assert_int_equal(p.misses, 1);
	buf_release(&a); /* not empty: kept */
	assert_int_equal(p.cached, 0);
	buf_consume(&a, 6);
	buf_release(&a);
	assert_null(a.data);
	assert_int_equal(p.cached, 1);
	assert_int_equal(buf_append(&b, "250 OK\r\n", 8), 0);
	if (TG_POOL_REUSES) { /* the other buffer takes it */
		assert_ptr_equal(b.data, mem);
		assert_int_equal(p.hits, 1);
	}
	assert_int_equal(buf_append(&b, big_line, sizeof(big_line)), -ENOSPC); /* still bounded */
	buf_free(&b); /* not empty, given back all the same */
	assert_int_equal(p.cached, TG_POOL_REUSES ? 1 : 2);
	buf_free(&a);
	tg_pool_fini(&p);
}

/* Bytes already read from a peer: taken even beyond the capacity, which comes back on release. */
static void test_adopt(void **state)
{
	char big[200], *tail;
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(buf_init(&b, 64), 0);
	assert_int_equal(buf_adopt(&b, big, 10), 0); /* fits: an ordinary append */
	assert_int_equal(b.cap, 64);
	assert_int_equal(buf_adopt(&b, big, 1), -EBUSY); /* only into an empty buffer */
	buf_consume(&b, 10);
	assert_int_equal(buf_adopt(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, sizeof(big));
	assert_memory_equal(buf_head(&b), big, sizeof(big));
	assert_int_equal(buf_space(&b), 0); /* full: no read adds to it */
	assert_int_equal(buf_append(&b, "x", 1), -ENOSPC);
	buf_consume(&b, 150);
	assert_memory_equal(buf_head(&b), big + 150, 50);
	tail = buf_tail(&b); /* compacts: the 50 left move to the front */
	assert_non_null(tail);
	assert_memory_equal(buf_head(&b), big + 150, 50);
	buf_consume(&b, 50);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 64); /* the usual size again */
	assert_int_equal(buf_adopt(&b, big, 65), 0);
	buf_free(&b);
	assert_int_equal(b.cap, 64);
	buf_free(&b);
}

/* An adopted allocation is larger than the pool's objects: it never goes into the pool. */
static void test_adopt_pooled(void **state)
{
	char big[100] = { 'y' };
	struct tg_pool p;
	struct buf b;

	(void)state;
	tg_pool_init(&p, 64, 4);
	buf_init_pool(&b, &p);
	assert_int_equal(buf_append(&b, "x", 1), 0); /* a pool object */
	buf_consume(&b, 1);
	assert_int_equal(buf_adopt(&b, big, sizeof(big)), 0); /* the pool object goes back */
	assert_int_equal(p.cached, 1);
	assert_int_equal(b.cap, sizeof(big));
	buf_consume(&b, sizeof(big));
	buf_release(&b); /* freed, not pooled */
	assert_int_equal(p.cached, 1);
	assert_int_equal(b.cap, 64);
	assert_int_equal(buf_append(&b, "x", 1), 0); /* a pool object again */
	assert_int_equal(b.cap, 64);
	buf_free(&b);
	tg_pool_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_and_release),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_tail_commit),
		cmocka_unit_test(test_appendv_all_or_nothing),
		cmocka_unit_test(test_pooled),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_adopt_pooled),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
