/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pktcount: the first BPF program, a per-CPU packet/byte counter by IP protocol on tc.  It proves
 * the BPF tool chain (clang, CO-RE vmlinux.h, bpftool skeleton, libbpf load, test run, pinned
 * per-CPU map) end to end.  Shared by pktcount.bpf.c and user space: one layout, never copied.
 */
#ifndef TLSGATE_BPF_PKTCOUNT_H
#define TLSGATE_BPF_PKTCOUNT_H

#ifndef __VMLINUX_H__ /* user space; the BPF side has the types from vmlinux.h */
#include <linux/types.h>
#endif

enum pktcount_slot {
	PKTCOUNT_OTHER = 0,	/* not IPv4/IPv6 */
	PKTCOUNT_TCP,
	PKTCOUNT_UDP,
	PKTCOUNT_ICMP,		/* ICMP and ICMPv6 */
	PKTCOUNT_IP_OTHER,	/* IP, another protocol */
	PKTCOUNT_MALFORMED,	/* too short for the headers it claims */
	PKTCOUNT_NSLOTS,
};

struct pktcount_val {
	__u64 packets;
	__u64 bytes;
};

#endif
