/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Layouts shared by every tlsgate BPF program (steer, enforce) and the user side (loader, metrics,
 * tlsgatectl): the configuration map, the LPM keys of the policy and exclusion maps, the names of
 * the pinned objects.  One layout, included by both sides, never copied.
 *
 * Constants that mirror policy/policy.h (levels, directions) are checked against it at compile
 * time in bpf/loader.c: the BPF side cannot include the user headers.
 */
#ifndef TLSGATE_BPF_COMMON_H
#define TLSGATE_BPF_COMMON_H

#ifndef __VMLINUX_H__ /* user space; the BPF side has the types from vmlinux.h */
#include <linux/types.h>
#endif

#define TG_PIN_DIR_DEFAULT "/sys/fs/bpf/tlsgate"

/* Mirrors of enum policy_level / enum policy_dir (policy/addrmap.c checks them). */
#define TG_LEVEL_NONE 0
#define TG_LEVEL_MAY 1
#define TG_LEVEL_ENCRYPT 2
#define TG_DIR_OUTBOUND 0
#define TG_DIR_INBOUND 1

/* Address families in keys and events (not AF_*: the BPF side has no libc headers). */
#define TG_FAM_V4 4
#define TG_FAM_V6 6

/* What a `may` destination gets while the daemon is down (its listener is not in tg_listen). */
enum tg_may_down {
	TG_MAY_DOWN_PASS = 0,	/* plaintext allowed, as when the daemon would have tried TLS */
	TG_MAY_DOWN_ENFORCE,	/* treated like encrypt: TLS or nothing */
};

#define TG_PORT_WORDS 1024 /* 65536 bits */

/* tg_config[0]: written by the loader, read by both programs on every packet. */
struct tg_config {
	__u32 relay_mark;	/* an SO_MARK also meaning "the relay" (0: none; tg_relay is the rule) */
	__u32 relay_mask;	/* bits of skb->mark compared with relay_mark */
	__u32 steer_mark;	/* put on steered skbs: `ip rule fwmark` -> local route table */
	__u32 route_table;	/* the table of that local route (remembered for detach) */
	__u32 default_rule[2];	/* by TG_DIR_*: the rule when no prefix matches */
	__u8 default_level[2];	/* its level (outbound: the built-in `may`; inbound: `none`) */
	__u8 may_down;		/* enum tg_may_down */
	__u8 pad;
	/* bitmaps of TCP ports: */
	__u64 ports[TG_PORT_WORDS];	/* SMTP with STARTTLS, policed (steer_ports, enforce_ports
					 * and the ports of [host]:port rules; default 25) */
	__u64 steer_ports[TG_PORT_WORDS];	/* steered to the daemon (steer_ports) */
	__u64 tls_ports[TG_PORT_WORDS];	/* implicit TLS (465): records from the first byte */
	/* steering over the workers' listeners (bpf/steer.h) */
	__u32 steer_seed;	/* random at each load: flows cannot be aimed at one worker */
	__u32 listen_n[2];	/* by TG_DIR_*: workers with slots in tg_listen (0: none) */
};

/*
 * Key of the policy LPM tries and of the exclusion trie.  prefixlen counts the 32 bits of
 * dir/family/pad too, so a lookup never crosses direction or family: prefixlen = 32 + bits.
 * IPv4 addresses use addr[0..3].
 */
struct tg_lpm_key {
	__u32 prefixlen;
	__u8 dir;	/* TG_DIR_*; 0 in the exclusion map */
	__u8 family;	/* TG_FAM_* */
	__u8 pad[2];
	__u8 addr[16];
};

#define TG_LPM_KIND_BITS 32

/* Policy value flags (struct tg_policy_val.flags, tg_policy_port.flags). */
#define TG_POL_F_MONITOR 0x01	/* mode=monitor: count what would be reset, let it pass */

/* A [host]:port rule's level on its port, next to the any-port level of the same address. */
struct tg_policy_port {
	__u16 port;	/* host byte order; 0: an unused slot */
	__u8 level;
	__u8 flags;	/* TG_POL_F_* */
	__u32 rule_id;
};

#define TG_POLICY_PORTS 4	/* ports with their own rule per address */

struct tg_policy_val {
	__u32 rule_id;	/* struct policy_rule.id: on any SMTP port */
	__u8 level;	/* enum policy_level */
	__u8 flags;	/* TG_POL_F_* */
	__u8 pad[2];
	struct tg_policy_port port[TG_POLICY_PORTS];
};

/* tg_relay's value for a socket of the relay (sk storage, keyed by the daemon's socket fd). */
#define TG_RELAY_SOCKET 0x7472u

#define TG_POLICY_MAX 262144	/* prefixes per policy generation */
#define TG_FLOWS_MAX 65536
#define TG_RULES_MAX 16384	/* per-rule counter slots */
#define TG_EVENTS_BYTES (256 * 1024)

/* tc priorities on one hook: steer first, so a steered packet never meets the enforcer. */
#define TG_PRIO_STEER 1
#define TG_PRIO_ENFORCE 2

/* Names of the pinned objects under the pin directory (maps are pinned by their own names). */
#define TG_PIN_PROG_ENF_EGRESS "enforce_egress"
#define TG_PIN_PROG_ENF_INGRESS "enforce_ingress"
#define TG_PIN_PROG_STEER_IN "steer_inside"
#define TG_PIN_PROG_STEER_OUT "steer_outside"

#endif
