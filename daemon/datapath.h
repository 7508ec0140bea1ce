/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's use of bpf/: open (steering on the inside interfaces, enforcement on the outside
 * ones), hand it the listeners, push every policy snapshot into the kernel's LPM map, and log the
 * enforcer's drop events.  Off unless interfaces are configured.
 */
#ifndef TLSGATE_DAEMON_DATAPATH_H
#define TLSGATE_DAEMON_DATAPATH_H

#include <stddef.h>

struct gateway;
struct policy;
struct policy_destaddr_addr;
struct tg_bpf;
struct config;

/* 0 (or nothing configured), or -errno with the reason logged. */
int datapath_open(struct gateway *g, struct tg_bpf **out);
/* The workers' steering listeners go into the steering map: out[w] = { v4, v6 } of worker w for
 * steer_inside, in[w] for steer_outside when steer_inbound is on; -1 for none. */
int datapath_listeners(struct gateway *g, struct tg_bpf *h, const int (*out)[2],
		       const int (*in)[2], unsigned int nworkers);
/* Push a policy's address rules and resolved addresses (both directions), and the ndest
 * addresses the destinations' own policies require TLS toward (rule POLICY_ID_DEST_POLICY,
 * where no outbound table prefix covers them; seen: how many were looked at, for the log).
 * A table in monitor mode (c->outbound_policy_mode, inbound_policy_mode) has every entry
 * flagged monitor: counted, never reset. */
int datapath_policy(struct tg_bpf *h, const struct policy *p, const struct config *c,
		    const struct policy_destaddr_addr *dest, size_t ndest, size_t seen);
/* Drain and log drop events (and publish them for `tlsgatectl monitor`). */
void datapath_events(struct tg_bpf *h);
/*
 * One of the relay's outbound sockets, before connect(): registered in tg_relay so that the
 * enforcer lets it pass and steering leaves it alone, and given SO_MARK = relay_mark when one is
 * configured.  Failures are logged with `ids` (the session), not fatal: such a connection is
 * then enforced like any other host's.  Runs on the workers, unprivileged.
 */
void datapath_relay_socket(const struct gateway *g, int fd, const char *ids);
/* After set-up, before the privilege drop: close the BPF fds the running daemon does not need. */
void datapath_keep_runtime(struct tg_bpf *h);
/* `tlsgated --detach`: remove filters, routes and pins left by a previous run. */
int datapath_detach(const char *pin_dir);

#endif
