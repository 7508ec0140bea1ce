/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Crafting packets for BPF_PROG_TEST_RUN fixtures: Ethernet (optionally 802.1Q) + IPv4/IPv6 + TCP
 * with a payload and correct checksums (a program that rewrites a segment must keep them
 * correct), and reading back what a program made of one.
 */
#ifndef TLSGATE_TESTS_PKT_H
#define TLSGATE_TESTS_PKT_H

#include <stddef.h>
#include <stdint.h>

struct pkt_spec {
	int family;		/* AF_INET or AF_INET6 */
	const char *saddr;	/* textual address */
	const char *daddr;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t tcp_flags;	/* TH_SYN, TH_ACK|TH_PUSH, ... */
	uint8_t ip_proto;	/* 0 = TCP */
	uint16_t vlan;		/* 0 = untagged */
	const void *payload;
	size_t payload_len;
	/* Attack shapes (all 0 for a plain segment): */
	uint8_t vlans;		/* 802.1Q tags in all when vlan is set (0 counts as 1) */
	uint8_t frag;		/* 1: the first IP fragment, the L4 part cut after frag_at
				 * bytes (IP_MF); 2: the later one, from byte frag_at on */
	size_t frag_at;		/* a multiple of 8 */
	const void *ext;	/* IPv6: extension headers (after a fragment header), each with its
				 * own next-header byte; the last one's must be 6 */
	size_t ext_len;
	uint8_t ext_first;	/* the next-header value that leads into ext */
	uint8_t tot_len_zero;	/* IPv4: total length 0 (as BIG TCP writes it) */
	uint16_t urg;		/* TCP urgent pointer (TH_URG goes in tcp_flags) */
};

/* Build into buf (cap bytes); returns the frame length or -1. */
int pkt_build(const struct pkt_spec *s, void *buf, size_t cap);

struct pkt_tcp {
	uint32_t seq, ack;
	uint8_t flags;
	size_t payload_len;	/* by the IP length */
	int ip_len_ok;		/* the IP length ends where the frame ends */
	int csum_ok;		/* IPv4 header checksum (v4) and TCP checksum verify */
};

/* Read the TCP segment of a frame (as pkt_build makes them): 0, or -1 if it is not one. */
int pkt_read_tcp(const void *frame, size_t len, struct pkt_tcp *out);

#endif
