/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * steer: tc ingress on the inside interfaces (steer_inside) and, for inbound mail, on the outside
 * interface (steer_outside).  TCP to an SMTP port (tg_config.ports) goes to the socket that owns
 * its tuple when there is one (bpf_skc_lookup_tcp: an accepted relay socket), else to one of the
 * workers' IP_TRANSPARENT listeners in tg_listen, with bpf_sk_assign; the skb gets
 * tg_config.steer_mark so that `ip rule fwmark M lookup T` + `local default dev lo table T`
 * deliver it locally.
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

/*
 * tg_listen (SOCKMAP, value: socket fd on update) holds each worker's steering listeners: worker
 * w's listener of kind k is slot TG_LISTEN_SLOT(k, w).  Only listeners, never relay sockets:
 * sockmap together with kTLS is going away upstream.  Worker 0's slots are the first four, the
 * ones the enforcer reads as "the daemon is alive".
 *
 * Each worker has its own lone listener (no SO_REUSEPORT, its own port): before Linux 6.5
 * bpf_sk_assign refuses a socket in a SO_REUSEPORT group, and a lone socket works on every
 * kernel, so one mechanism serves all.  steer picks one of the tg_config.listen_n[dir] workers
 * by a hash of the flow's addresses and ports (tg_steer_hash, seeded by tg_config.steer_seed):
 * every segment of a flow, a retransmitted SYN too, picks the same listener (an IPv6 flow label
 * changes on retransmission, so skb->hash would not do).  A worker whose slot is empty (its
 * listener closed) is skipped for the next one, so flows of the other workers keep theirs.
 */
#define TG_LISTEN_V4 0		/* outbound: steer_inside */
#define TG_LISTEN_V6 1
#define TG_LISTEN_IN_V4 2	/* inbound: steer_outside (the daemon's inbound listeners) */
#define TG_LISTEN_IN_V6 3
#define TG_LISTEN_KINDS 4
#define TG_LISTEN_WORKERS 64	/* workers beyond this many take no steered connections */
#define TG_LISTEN_SLOTS (TG_LISTEN_KINDS * TG_LISTEN_WORKERS)
#define TG_LISTEN_SLOT(kind, worker) ((worker) * TG_LISTEN_KINDS + (kind))

/* murmur3's 32-bit mixing over the words of a flow: both sides (the steer program and its tests)
 * compute the same value. */
static inline __attribute__((always_inline)) __u32 tg_steer_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

/* The flow's hash: words are the source and destination addresses (1 word each for IPv4, 4 for
 * IPv6, as the bytes lie in the packet) and the ports (sport | dport << 16, network order). */
static inline __attribute__((always_inline)) __u32
tg_steer_hash(__u32 seed, const __u32 *words, unsigned int n)
{
	__u32 h = seed;

	for (unsigned int i = 0; i < n && i < 9; i++)
		h = tg_steer_mix(h, words[i]);
	h ^= n * 4;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

/* tg_exclude: LPM trie of inside source prefixes never steered (key tg_lpm_key, dir 0). */
#define TG_EXCLUDE_MAX 4096

#endif
