/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Events for `tlsgatectl monitor`: session starts/TLS/ends, policy decisions, enforcer drops.
 * Workers and the main thread publish through here; the control server's socket is shared, so
 * publishing is serialised.  Without a control server (tests, --check-config) events go nowhere.
 */
#ifndef TLSGATE_DAEMON_EVENTS_H
#define TLSGATE_DAEMON_EVENTS_H

#include "control/nlproto.h"

struct control_server;

void events_attach(struct control_server *cs);
void events_detach(void);
void events_publish(const struct nlproto_event *ev);

#endif
