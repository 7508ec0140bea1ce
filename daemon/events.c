// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/events.h"
#include "control/server.h"

#include <pthread.h>

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static struct control_server *events_cs;

void events_attach(struct control_server *cs)
{
	pthread_mutex_lock(&events_lock);
	events_cs = cs;
	pthread_mutex_unlock(&events_lock);
}

void events_detach(void)
{
	events_attach(NULL);
}

void events_publish(const struct nlproto_event *ev)
{
	pthread_mutex_lock(&events_lock);
	if (events_cs)
		control_server_publish_event(events_cs, ev); /* never blocks: MSG_DONTWAIT */
	pthread_mutex_unlock(&events_lock);
}
