/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy as the kernel takes it: one address prefix per entry with the rule and level that
 * apply there.  policy/ exports a snapshot in this form (policy_lpm_entries) and the loader puts
 * it into the LPM trie as it is; bpf/ knows nothing else of the policy.
 */
#ifndef TLSGATE_BPF_POLICY_ENTRY_H
#define TLSGATE_BPF_POLICY_ENTRY_H

#include <stdint.h>

struct tg_bpf_policy_entry {
	uint8_t dir;		/* TG_DIR_*: outbound keyed by server address; inbound by client */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order; IPv4 in addr[0..3] */
	uint8_t prefix_len;
	uint32_t rule_id;	/* the rule's id (tlsgatectl policy show) */
	uint8_t level;		/* TG_LEVEL_*: none < may < encrypt < the stricter levels */
	uint16_t port;		/* 0: any SMTP port; else this TCP port only ([host]:port rules).
				 * A port entry follows the any-port entry of the same prefix. */
	uint8_t flags;		/* TG_POL_F_* (bpf/common.h): the rule's mode=monitor */
};

#endif
