// SPDX-License-Identifier: GPL-2.0-only
/* lib/pool.c: per-thread free lists of fixed-size objects, bounded, poisoned under ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/pool.h"

#if TG_POOL_POISONS
/* libasan's (sanitizer/allocator_interface.h, which GCC does not install) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define OBJ 4096
#define CAP 8

/* Bytes the heap has handed out and not had back (ASan's allocator replaces glibc's). */
static size_t heap_in_use(void)
{
#if TG_POOL_POISONS
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static void test_reuse(void **state)
{
	struct tg_pool p;
	char *a, *b;

	(void)state;
	tg_pool_init(&p, OBJ, CAP);
	a = tg_pool_get(&p);
	assert_non_null(a);
	assert_int_equal(p.misses, 1);
	memset(a, 'x', OBJ);
	tg_pool_put(&p, a);
	assert_int_equal(p.cached, 1);
	b = tg_pool_get(&p);
	if (TG_POOL_REUSES) { /* the same memory, no malloc */
		assert_ptr_equal(a, b);
		assert_int_equal(p.hits, 1);
		assert_int_equal(p.misses, 1);
		assert_int_equal(p.cached, 0);
	} else { /* ASan: a stays kept (poisoned), b is new */
		assert_ptr_not_equal(a, b);
		assert_int_equal(p.hits, 0);
		assert_int_equal(p.misses, 2);
		assert_int_equal(p.cached, 1);
	}
	tg_pool_put(&p, b);
	b = tg_pool_zget(&p); /* zeroed, the link included */
	if (TG_POOL_REUSES)
		assert_ptr_equal(a, b);
	for (size_t i = 0; i < OBJ; i++)
		assert_int_equal(b[i], 0);
	tg_pool_put(&p, b);
	tg_pool_put(&p, NULL); /* like free(NULL) */
	assert_int_equal(p.cached, TG_POOL_REUSES ? 1 : 3);
	tg_pool_fini(&p);
	assert_int_equal(p.cached, 0);
}

static void test_tiny_objects_hold_the_link(void **state)
{
	struct tg_pool p;
	void *o[3];

	(void)state;
	tg_pool_init(&p, 1, CAP);
	assert_true(p.size >= sizeof(void *));
	for (int i = 0; i < 3; i++)
		assert_non_null(o[i] = tg_pool_get(&p));
	for (int i = 0; i < 3; i++)
		tg_pool_put(&p, o[i]);
	assert_int_equal(p.cached, 3);
	/* LIFO: the last given back is the first taken (under ASan none is taken again) */
	for (int i = 2; TG_POOL_REUSES && i >= 0; i--)
		assert_ptr_equal(tg_pool_get(&p), o[i]);
	for (int i = 0; TG_POOL_REUSES && i < 3; i++)
		tg_pool_put(&p, o[i]);
	tg_pool_fini(&p);
}

static void test_cap_and_memory_back(void **state)
{
	struct tg_pool p;
	void *o[3 * CAP];
	size_t before, taken, kept, trimmed;

	(void)state;
	tg_pool_init(&p, OBJ, CAP);
	before = heap_in_use();
	for (size_t i = 0; i < 3 * CAP; i++)
		assert_non_null(o[i] = tg_pool_get(&p));
	taken = heap_in_use();
	assert_true(taken - before >= 3 * CAP * OBJ);
	for (size_t i = 0; i < 3 * CAP; i++) {
		tg_pool_put(&p, o[i]);
		assert_true(p.cached <= CAP);
	}
	/* CAP kept, the 2 * CAP beyond them freed at once */
	assert_int_equal(p.cached, CAP);
	kept = heap_in_use();
	assert_true(taken - kept >= 2 * CAP * OBJ);
	assert_true(kept - before >= CAP * OBJ);
	/* a busy worker takes them again without malloc */
	for (size_t i = 0; TG_POOL_REUSES && i < CAP; i++)
		assert_non_null(o[i] = tg_pool_get(&p));
	if (TG_POOL_REUSES) {
		assert_int_equal(p.hits, CAP);
		assert_int_equal(p.misses, 3 * CAP);
		assert_int_equal(heap_in_use(), kept);
	}
	for (size_t i = 0; TG_POOL_REUSES && i < CAP; i++)
		tg_pool_put(&p, o[i]);
	assert_int_equal(p.cached, CAP);
	/* an idle one gives them back: all but `keep`, then all */
	assert_int_equal(tg_pool_trim(&p, 2), CAP - 2);
	assert_int_equal(p.cached, 2);
	assert_int_equal(tg_pool_trim(&p, 0), 2);
	trimmed = heap_in_use();
	assert_true(kept - trimmed >= CAP * OBJ);
	assert_true((long)trimmed - (long)before < OBJ);
	/* a cap of 0 is malloc and free */
	tg_pool_init(&p, OBJ, 0);
	o[0] = tg_pool_get(&p);
	tg_pool_put(&p, o[0]);
	assert_int_equal(p.cached, 0);
	assert_true((long)heap_in_use() - (long)before < OBJ);
}

/*
 * A write to an object after it was given back, and after the next taker got its object: under
 * ASan the kept object is poisoned and not handed out again, so the write is reported and the
 * process dies, as for a use after free().  Run in a child; `after_put` false is the control (the
 * same write while the object is taken must pass).
 */
static int child_write(bool after_put, char *report, size_t len)
{
	int pfd[2], st;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct tg_pool p;
		volatile char *o;

		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		tg_pool_init(&p, OBJ, CAP);
		o = tg_pool_get(&p);
		if (after_put)
			tg_pool_put(&p, (void *)o);
		if (!tg_pool_get(&p))
			_exit(2);
		o[OBJ / 2] = 'x';
		_exit(0);
	}
	close(pfd[1]);
	while (got + 1 < len && (n = read(pfd[0], report + got, len - got - 1)) > 0)
		got += (size_t)n;
	report[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_asan_catches_use_after_put(void **state)
{
#if TG_POOL_POISONS
	char report[8192];
	int st;

	(void)state;
	st = child_write(false, report, sizeof(report));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = child_write(true, report, sizeof(report));
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(report, "use-after-poison"));
#else
	(void)state;
	(void)child_write;
	skip(); /* only the SANITIZE=1 build (tests/check unit-san) poisons */
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_tiny_objects_hold_the_link),
		cmocka_unit_test(test_cap_and_memory_back),
		cmocka_unit_test(test_asan_catches_use_after_put),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
