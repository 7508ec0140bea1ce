// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer: transparent interception of SMTP connections for tlsgated (see bpf/steer.h).
 * Returns TC_ACT_OK for a packet it assigned to a local socket (which ends the hook's filter
 * chain: the enforcer never sees steered packets) and TC_ACT_UNSPEC for everything else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer.h"
#include "bpf/parse.bpf.h"
#include "bpf/maps.bpf.h"

#define BPF_F_CURRENT_NETNS (-1L) /* an enum only in newer vmlinux.h */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TG_EXCLUDE_MAX);
	__uint(key_size, sizeof(struct tg_lpm_key));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_exclude SEC(".maps");

static __always_inline int excluded(const struct tg_pkt *p)
{
	struct tg_lpm_key k;

	tg_lpm_key_set(&k, 0, p->family, p->src);
	return bpf_map_lookup_elem(&tg_exclude, &k) != NULL;
}

/*
 * The slot of the first of n workers, from worker `first` on and wrapping around, whose slot of
 * this kind holds a socket; -1 when none does.  A global function: the verifier checks it once,
 * on its own (inlined, its loop would be walked again on every path through the parser, which
 * Linux 6.1's verifier does not finish within its million instructions).  It cannot hand a
 * referenced socket back, so the caller looks the slot up again: a socket that left in between
 * is a listener that closed a moment later, and the flow is not steered.
 */
__attribute__((noinline)) int tg_steer_slot(__u32 kind, __u32 n, __u32 first)
{
	struct bpf_sock *sk;

	if (!n || n > TG_LISTEN_WORKERS || first >= n || kind >= TG_LISTEN_KINDS)
		return -1;
	for (__u32 i = 0; i < TG_LISTEN_WORKERS; i++) {
		__u32 w = first + i, slot;

		if (i >= n)
			break;
		if (w >= n)
			w -= n;
		slot = TG_LISTEN_SLOT(kind, w);
		sk = bpf_map_lookup_elem(&tg_listen, &slot);
		if (sk) {
			bpf_sk_release(sk);
			return (int)slot;
		}
	}
	return -1;
}

/*
 * One of the workers' listeners for this flow (referenced), or NULL: by the flow's hash among
 * listen_n[dir] workers; an empty slot (a listener that closed) passes the flow to the next
 * worker, so only that worker's flows move.  A socket there that is not listening is not ours.
 */
static __always_inline struct bpf_sock *pick_listener(const struct tg_config *cfg,
						      const struct tg_pkt *p, __u8 dir)
{
	__u32 words[9], ports = (__u32)p->sport | (__u32)p->dport << 16, n, kind, first, slot;
	struct bpf_sock *sk;
	int s;

	n = cfg->listen_n[dir & 1];
	if (!n || n > TG_LISTEN_WORKERS)
		return NULL;
	/* each branch hashes a constant number of words: unrolled, no variable stack offsets */
	if (p->family == TG_FAM_V4) {
		__builtin_memcpy(&words[0], p->src, 4);
		__builtin_memcpy(&words[1], p->dst, 4);
		words[2] = ports;
		first = tg_steer_hash(cfg->steer_seed, words, 3) % n;
		kind = dir == TG_DIR_INBOUND ? TG_LISTEN_IN_V4 : TG_LISTEN_V4;
	} else {
		__builtin_memcpy(&words[0], p->src, 16);
		__builtin_memcpy(&words[4], p->dst, 16);
		words[8] = ports;
		first = tg_steer_hash(cfg->steer_seed, words, 9) % n;
		kind = dir == TG_DIR_INBOUND ? TG_LISTEN_IN_V6 : TG_LISTEN_V6;
	}
	s = tg_steer_slot(kind, n, first);
	if (s < 0)
		return NULL;
	slot = (__u32)s;
	sk = bpf_map_lookup_elem(&tg_listen, &slot);
	if (sk && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

/*
 * The socket for this packet, referenced: its own connection's, else one of the daemon's
 * listeners for this direction (outbound and inbound sessions are different roles on different
 * listeners), else a TIME_WAIT socket a steered connection left on this tuple.
 *
 * That last one matters once the daemon is gone (stopped, crashed, or all its listeners closed):
 * the daemon closed the steered connection first, so the gateway holds a TIME_WAIT socket whose
 * local address is the original destination's, for 60 s, while the client, which closed second,
 * may pick the same source port again.  Left to the stack (TC_ACT_UNSPEC), its SYN is matched to
 * the TIME_WAIT socket by TCP early demux (skb->sk set), routed to be forwarded, and ip_forward()
 * drops any packet that carries a socket: the client is blackholed until the TIME_WAIT ends.
 * Handed to the TIME_WAIT socket instead (local delivery by the steer mark), the kernel's own
 * TIME_WAIT handling finds no listener and answers with an ACK; the client, in SYN-SENT, answers
 * that with a reset, which reaches the TIME_WAIT socket as a later segment and ends it; the SYN's
 * retransmission finds no socket and is forwarded: the enforcer decides, as for any flow.
 */
static __always_inline struct bpf_sock *pick_socket(struct __sk_buff *skb,
						    const struct tg_config *cfg,
						    const struct tg_pkt *p, __u8 dir,
						    bool *listener)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk, *lsk;
	__u32 tlen;

	*listener = false;
	if (p->family == TG_FAM_V4) {
		__builtin_memcpy(&t.ipv4.saddr, p->src, 4);
		__builtin_memcpy(&t.ipv4.daddr, p->dst, 4);
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		tlen = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->src, 16);
		__builtin_memcpy(t.ipv6.daddr, p->dst, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		tlen = sizeof(t.ipv6);
	}
	/* An established (or half-open) socket for the tuple wins: a steered connection's later
	 * segments.  A listener found this way is somebody else's port-25 socket: not ours. */
	sk = bpf_skc_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (sk && sk->state == BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	/* A new SYN on a tuple still in TIME_WAIT must reach our listener: the kernel's own
	 * TIME_WAIT handling would look for a listener on the original destination and find
	 * none. */
	if (sk &&
	    !(sk->state == BPF_TCP_TIME_WAIT && (p->flags & (TG_TH_SYN | TG_TH_ACK)) == TG_TH_SYN))
		return sk;
	lsk = pick_listener(cfg, p, dir);
	if (!lsk)
		return sk; /* the TIME_WAIT socket (see above), or NULL */
	if (sk)
		bpf_sk_release(sk);
	*listener = true;
	return lsk;
}

static __always_inline int steer(struct __sk_buff *skb, __u8 dir)
{
	struct tg_config *cfg = tg_cfg();
	struct bpf_sock *sk;
	struct tg_pkt p;
	bool listener;
	long err;

	if (!cfg || tg_parse(skb, &p) != TG_PARSE_TCP || !tg_port_is_steered(cfg, p.dport))
		return TC_ACT_UNSPEC;
	if (tg_is_relay(skb, cfg))
		return TC_ACT_UNSPEC; /* the daemon's own connection */
	if (excluded(&p))
		return TC_ACT_UNSPEC;
	sk = pick_socket(skb, cfg, &p, dir, &listener);
	if (!sk)
		return TC_ACT_UNSPEC; /* the daemon is down: forwarded, the enforcer decides */
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		tg_count_global(TG_CTR_STEER_ERRORS, 1);
		return TC_ACT_UNSPEC;
	}
	skb->mark = cfg->steer_mark;
	/* a SYN handed to a TIME_WAIT socket (pick_socket) is not a steered flow */
	if (listener && (p.flags & (TG_TH_SYN | TG_TH_ACK)) == TG_TH_SYN)
		tg_count(tg_policy_lookup(cfg, dir, p.family, dir == TG_DIR_INBOUND ? p.src : p.dst,
					  bpf_ntohs(p.dport))
				 .rule_id,
			 TG_CTR_FLOWS_STEERED, 1);
	return TC_ACT_OK;
}

SEC("tc")
int steer_inside(struct __sk_buff *skb)
{
	return steer(skb, TG_DIR_OUTBOUND);
}

SEC("tc")
int steer_outside(struct __sk_buff *skb)
{
	return steer(skb, TG_DIR_INBOUND);
}

char LICENSE[] SEC("license") = "GPL";
