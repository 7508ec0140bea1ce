// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/events.h"

#include <pthread.h>
#include <stddef.h>

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static events_sink_fn events_sink;
static void *events_ctx;

void events_attach(events_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&events_lock);
	events_sink = fn;
	events_ctx = ctx;
	pthread_mutex_unlock(&events_lock);
}

void events_detach(void)
{
	events_attach(NULL, NULL);
}

void events_publish(const struct event *ev)
{
	pthread_mutex_lock(&events_lock);
	if (events_sink)
		events_sink(ev, events_ctx);
	pthread_mutex_unlock(&events_lock);
}
