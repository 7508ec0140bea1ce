/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One worker's event loop: epoll (level-triggered) plus a binary heap of deadlines.  Everything a
 * worker owns registers a struct loop_ev; the callback gets the ready events.
 */
#ifndef TLSGATE_DAEMON_LOOP_H
#define TLSGATE_DAEMON_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

struct loop_ev {
	void (*fn)(struct loop_ev *ev, uint32_t events);
	int fd;
	uint32_t interest;	/* what epoll currently watches for fd */
	bool registered;
};

struct loop_timer {
	void (*fn)(struct loop_timer *t);
	uint64_t when_ms;	/* CLOCK_MONOTONIC milliseconds */
	size_t idx;		/* position in the heap, SIZE_MAX when not armed */
};

int loop_new(struct loop **out);
void loop_free(struct loop *l);

/* Set what epoll watches for ev->fd (0 = nothing, but stays registered).  0 or -errno. */
int loop_watch(struct loop *l, struct loop_ev *ev, uint32_t events);
/* Stop watching (before closing ev->fd). */
void loop_unwatch(struct loop *l, struct loop_ev *ev);

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop_timer *t));
/* Arm (or re-arm) t to fire after ms milliseconds. */
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t ms);
void loop_timer_disarm(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->idx != (size_t)-1;
}

uint64_t loop_now_ms(void);

/* Wait for events (at most max_wait_ms, -1 = until something happens), dispatch them and the
 * expired timers.  Returns the number dispatched, or -errno (-EINTR is not an error). */
int loop_run_once(struct loop *l, int max_wait_ms);

#endif
