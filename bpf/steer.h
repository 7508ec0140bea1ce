/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * steer: tc ingress on the inside interfaces (steer_inside) and, for inbound mail, on the outside
 * interface (steer_outside).  TCP to an SMTP port (tg_config.ports) goes to the socket that owns
 * its tuple when there is one (bpf_skc_lookup_tcp: an accepted relay socket), else to the daemon's
 * IP_TRANSPARENT listener from tg_listen, with bpf_sk_assign; the skb gets tg_config.steer_mark
 * so that `ip rule fwmark M lookup T` + `local default dev lo table T` deliver it locally.
 * Never steered: the daemon's own sockets' skbs (tg_relay, a relay mark), sources in tg_exclude,
 * and everything while tg_listen is empty (the daemon is down: the enforcer alone decides).
 *
 * Maps (besides those in common.h): tg_listen and tg_exclude, below.  The enforcer reads
 * tg_listen too: a listener present there is its "daemon alive" signal.  A listening socket
 * leaves a SOCKMAP by itself when it is closed, so a dead daemon is noticed without a heartbeat.
 */
#ifndef TLSGATE_BPF_STEER_H
#define TLSGATE_BPF_STEER_H

#include "bpf/common.h"

/* Slots of tg_listen (SOCKMAP, value: socket fd on update).  Only listeners, never relay sockets:
 * sockmap together with kTLS is going away upstream. */
#define TG_LISTEN_V4 0		/* outbound: steer_inside */
#define TG_LISTEN_V6 1
#define TG_LISTEN_IN_V4 2	/* inbound: steer_outside (the daemon's inbound listeners) */
#define TG_LISTEN_IN_V6 3
#define TG_LISTEN_SLOTS 4

/* tg_exclude: LPM trie of inside source prefixes never steered (key tg_lpm_key, dir 0). */
#define TG_EXCLUDE_MAX 4096

#endif
