/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Events for `tlsgatectl monitor`: session starts/TLS/ends and enforcer drops, as the daemon's own
 * structs.  Workers and the main thread publish through here; whoever attached a sink (the
 * control plane, control_ops.c, which turns them into wire format) gets them, one at a time.
 * Without a sink (tests, --check-config) events go nowhere.
 */
#ifndef TLSGATE_DAEMON_EVENTS_H
#define TLSGATE_DAEMON_EVENTS_H

#include <stdint.h>

struct session_view;

enum event_type {
	EVENT_SESSION_START = 1,	/* accepted / connected */
	EVENT_SESSION_TLS,		/* handshake done, kTLS state known */
	EVENT_SESSION_END,		/* detail: why */
	EVENT_DROP,			/* the enforcer dropped: src, dst, rule, detail */
};

struct event {
	enum event_type type;
	const struct session_view *session;	/* session events */
	uint32_t rule_id;			/* 0 = none (session events: the view's rule) */
	const char *level;			/* policy_level_name() */
	const char *subject;
	const char *detail;
	const char *src, *dst;			/* drops: the flow's addresses */
};

typedef void (*events_sink_fn)(const struct event *ev, void *ctx);

/* The sink runs on the publishing thread, serialised with other publishers; it must not block. */
void events_attach(events_sink_fn fn, void *ctx);
void events_detach(void);
void events_publish(const struct event *ev);

#endif
