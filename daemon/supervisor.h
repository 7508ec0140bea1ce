/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The main thread of tlsgated: workers started and stopped, signals, the control socket, the
 * kernel half (BPF) and the policy's life (load, resolve, push to the kernel, reload, edits from
 * tlsgatectl).  Workers never wait for it; it never touches a session directly.
 */
#ifndef TLSGATE_DAEMON_SUPERVISOR_H
#define TLSGATE_DAEMON_SUPERVISOR_H

#include "daemon/gateway.h"
#include "daemon/loop.h"

struct worker;
struct control_server;
struct tg_bpf;
struct policy_resolver;
struct posture_sink;

struct supervisor {
	struct gateway *g;
	struct worker **workers;
	unsigned int nworkers;
	struct loop *loop;
	struct loop_ev sig_ev, ctl_ev, bpf_ev;
	struct loop_timer resolve_timer;
	struct control_server *ctl;
	struct tg_bpf *bpf;
	struct policy_resolver *resolver;
	struct posture_sink *posture;	/* daemon/posture_sink.h; NULL: not recorded */
	uint64_t sessions_total_base;
	bool stop;
	bool stopped;		/* SIGTERM seen: draining */
};

int supervisor_run(struct gateway *g);

/* supervisor_policy.c */

/* The resolver for policy names (resolve = yes); its timer keeps addresses fresh. */
int supervisor_open_resolver(struct supervisor *sv);
/* Resolve the running snapshot p's names again and push its addresses into the kernel. */
void supervisor_refresh_policy(struct supervisor *sv, struct policy *p);
/*
 * Make p the running policy: resolve its names (cached names are not asked again), swap it in,
 * and push its addresses into the kernel.  Takes the caller's reference.
 */
void supervisor_apply_policy(struct supervisor *sv, struct policy *p);
/* The destination-policy addresses may have changed (daemon/destkern.h's callback): push them
 * into the kernel if they did. */
void supervisor_dest_changed(void *arg);
/* One log_warn per warning of the tables p was loaded from (Postfix entries handled per entry). */
void supervisor_policy_log_warnings(const struct policy *p);
/* Re-read the policy files; all or nothing.  0 or -errno with msg. */
int supervisor_reload(struct supervisor *sv, char *msg, size_t msglen);

/* control_ops.c */
struct control_ops;
struct event;
extern const struct control_ops supervisor_control_ops;
/* The events sink (daemon/events.h): ctx is the control server. */
void supervisor_event_sink(const struct event *ev, void *ctx);

#endif
