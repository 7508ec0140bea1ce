/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF side only: the maps steer and enforce share, and the counter helpers.  Each program's
 * object declares them (this header) and libbpf pins them by name under the pin directory; the
 * second object to load, and a restarted daemon, reuse the pinned maps (LIBBPF_PIN_BY_NAME), so
 * both programs see one configuration, one policy and one set of counters, and counters survive
 * restarts.
 */
#ifndef TLSGATE_BPF_MAPS_BPF_H
#define TLSGATE_BPF_MAPS_BPF_H

#include "bpf/common.h"
#include "bpf/metrics.h"
#include "bpf/steer.h"
#include "bpf/parse.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_config SEC(".maps");

/*
 * The policy: one slot holding the current LPM trie.  A policy change builds a new trie and
 * swaps the slot: programs see the old policy or the new one, never a mix.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);
		__uint(map_flags, BPF_F_NO_PREALLOC);
		__uint(max_entries, TG_POLICY_MAX);
		__uint(key_size, sizeof(struct tg_lpm_key)); /* by size: BTF has only a FWD */
		__uint(value_size, sizeof(struct tg_policy_val));
	});
} tg_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, TG_LISTEN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_listen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TG_RULES_MAX);
	__type(key, __u32);
	__type(value, struct tg_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_rule_stats SEC(".maps");

/*
 * The relay's own sockets: the daemon stores TG_RELAY_SOCKET here for each socket it connects
 * (bpf_map_update_elem keyed by its own fd: no capability needed, and a process can only ever
 * mark sockets it holds).  The storage lives and dies with the socket.  Replaces SO_MARK, which
 * needs CAP_NET_RAW/CAP_NET_ADMIN the unprivileged workers do not have.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_relay SEC(".maps");

static const struct tg_counters tg_zero_counters;

static __always_inline struct tg_config *tg_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_config, &zero);
}

/*
 * The slot of a counter, bounded by a mask the verifier sees on every copy of the register
 * (6.1 does not carry a comparison over to a spilled copy).  The barrier keeps the compiler from
 * dropping the mask where it can prove it is a no-op.
 */
static __always_inline __u32 tg_ctr_slot(__u32 idx)
{
	asm volatile("" : "+r"(idx));
	return idx & (TG_CTR_SLOTS - 1);
}

static __always_inline void tg_count_global(__u32 idx, __u64 n)
{
	__u32 zero = 0;
	struct tg_counters *g = bpf_map_lookup_elem(&tg_stats, &zero);

	if (g)
		g->v[tg_ctr_slot(idx)] += n;
}

/* Global and per rule.  A rule's slot is created on its first use. */
static __always_inline void tg_count(__u32 rule_id, __u32 idx, __u64 n)
{
	struct tg_counters *r;

	if (idx >= TG_CTR_N)
		return;
	tg_count_global(idx, n);
	r = bpf_map_lookup_elem(&tg_rule_stats, &rule_id);
	if (!r) {
		bpf_map_update_elem(&tg_rule_stats, &rule_id, &tg_zero_counters, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&tg_rule_stats, &rule_id);
		if (!r)
			return;
	}
	r->v[tg_ctr_slot(idx)] += n;
}

/*
 * A packet of the daemon's own connection: its socket is registered in tg_relay, or (older
 * daemons, admins' own tools) it carries the configured relay mark.  Only locally sent packets
 * have a socket (skb->sk); forwarded and received ones never match the storage.
 */
static __always_inline bool tg_is_relay(struct __sk_buff *skb, const struct tg_config *cfg)
{
	struct bpf_sock *sk;
	__u32 *v;

	if (cfg->relay_mark && (skb->mark & cfg->relay_mask) == cfg->relay_mark)
		return true;
	sk = skb->sk;
	if (!sk)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return false;
	v = bpf_sk_storage_get(&tg_relay, sk, 0, 0);
	return v && *v == TG_RELAY_SOCKET;
}

/*
 * The rule for a peer address on a TCP port (host byte order): a [host]:port rule's own level
 * on its port, else the address's any-port level.  Port 0 means "not known" (a frame that
 * cannot be read that far): the strictest of them all, so nothing passes for want of a port.
 */
static __always_inline struct tg_policy_val tg_policy_lookup(const struct tg_config *cfg, __u8 dir,
							     __u8 family, const __u8 *addr,
							     __u16 port)
{
	struct tg_policy_val res = { .rule_id = cfg->default_rule[dir & 1],
				     .level = cfg->default_level[dir & 1] };
	struct tg_policy_val *v;
	struct tg_lpm_key k;
	__u32 zero = 0;
	void *trie;

	trie = bpf_map_lookup_elem(&tg_policy, &zero);
	if (!trie)
		return res;
	tg_lpm_key_set(&k, dir, family, addr);
	v = bpf_map_lookup_elem(trie, &k);
	if (!v)
		return res;
	res.rule_id = v->rule_id;
	res.level = v->level;
	res.flags = v->flags;
	for (int i = 0; i < TG_POLICY_PORTS; i++) {
		if (!v->port[i].port)
			break;
		if (port ? v->port[i].port == port : v->port[i].level > res.level) {
			res.rule_id = v->port[i].rule_id;
			res.level = v->port[i].level;
			res.flags = v->port[i].flags;
		}
	}
	return res;
}

#endif
