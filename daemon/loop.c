// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop {
	int epfd;
	struct loop_timer **heap;
	size_t nheap, capheap;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;

		free(l);
		return err;
	}
	*out = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->heap);
	free(l);
}

int loop_watch(struct loop *l, struct loop_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	if (ev->registered && ev->interest == events)
		return 0;
	if (epoll_ctl(l->epfd, ev->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ev->fd, &e))
		return -errno;
	ev->registered = true;
	ev->interest = events;
	return 0;
}

void loop_unwatch(struct loop *l, struct loop_ev *ev)
{
	if (!ev->registered)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	ev->registered = false;
	ev->interest = 0;
}

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop_timer *t))
{
	t->fn = fn;
	t->when_ms = 0;
	t->idx = (size_t)-1;
}

static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->idx = a;
	l->heap[b]->idx = b;
}

static void sift_up(struct loop *l, size_t i)
{
	while (i && l->heap[(i - 1) / 2]->when_ms > l->heap[i]->when_ms) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t s = i, c1 = 2 * i + 1, c2 = 2 * i + 2;

		if (c1 < l->nheap && l->heap[c1]->when_ms < l->heap[s]->when_ms)
			s = c1;
		if (c2 < l->nheap && l->heap[c2]->when_ms < l->heap[s]->when_ms)
			s = c2;
		if (s == i)
			return;
		heap_swap(l, i, s);
		i = s;
	}
}

void loop_timer_disarm(struct loop *l, struct loop_timer *t)
{
	size_t i = t->idx;

	if (i == (size_t)-1)
		return;
	t->idx = (size_t)-1;
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	l->heap[i]->idx = i;
	sift_up(l, i);
	sift_down(l, l->heap[i]->idx);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_disarm(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		struct loop_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->when_ms = loop_now_ms() + ms;
	t->idx = l->nheap;
	l->heap[l->nheap++] = t;
	sift_up(l, t->idx);
	return 0;
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int timeout = max_wait_ms, n, done = 0;
	uint64_t now;

	if (l->nheap) {
		now = loop_now_ms();
		uint64_t first = l->heap[0]->when_ms;
		int until = first <= now ? 0 : (int)(first - now > 3600000 ? 3600000 : first - now);

		if (timeout < 0 || until < timeout)
			timeout = until;
	}
	n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct loop_ev *ev = evs[i].data.ptr;

		ev->fn(ev, evs[i].events);
		done++;
	}
	now = loop_now_ms();
	while (l->nheap && l->heap[0]->when_ms <= now) {
		struct loop_timer *t = l->heap[0];

		loop_timer_disarm(l, t);
		t->fn(t);
		done++;
	}
	return done;
}
