/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF side only: packet parsing shared by steer and enforce.  Ethernet with up to two VLAN tags
 * (tags the driver left in the frame; accelerated tags are not in the data at all), IPv4 or IPv6
 * (with up to four hop-by-hop, routing, fragment or destination options headers), TCP.  Headers
 * are read by direct packet access; when they are not all in the linear area the skb is pulled
 * once (never the case for TCP-built skbs).
 *
 * What is certainly not TCP (ARP, UDP, ICMP, ...) is TG_PARSE_OTHER.  What might be TCP but
 * cannot be read is TG_PARSE_BAD: a third VLAN tag, more extension headers, AH or ESP, lengths
 * that do not add up, an IPv4 total length of 0 outside BIG TCP GSO, a TCP header cut short.
 * The enforcer must not pass those toward a TLS-required peer (the receiver may well read them).
 */
#ifndef TLSGATE_BPF_PARSE_BPF_H
#define TLSGATE_BPF_PARSE_BPF_H

#include "bpf/common.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TG_TH_FIN 0x01
#define TG_TH_SYN 0x02
#define TG_TH_RST 0x04
#define TG_TH_ACK 0x10
#define TG_TH_URG 0x20
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define NEXTHDR_ESP 50
#define NEXTHDR_AUTH 51
#define TG_HDR_PULL 136 /* 14 + 2 VLAN tags + IPv6 with 4 small extension headers + TCP */

enum tg_parse_result {
	TG_PARSE_TCP = 0,	/* pkt filled */
	TG_PARSE_OTHER,		/* not TCP over IP: not ours */
	TG_PARSE_FRAGMENT,	/* an IP fragment; pkt->sport/dport valid only if first_frag and
				 * !frag_short; addresses valid */
	TG_PARSE_BAD,		/* IP that cannot be read (above); addresses valid if family */
};

struct tg_pkt {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;	/* network byte order */
	__u16 dport;
	__u32 seq;	/* host byte order */
	__u32 off;	/* payload offset from skb->data */
	__u32 len;	/* payload length */
	__u16 l3off;	/* IP header offset from skb->data */
	__u16 l4off;	/* TCP header offset */
	__u8 family;	/* TG_FAM_* */
	__u8 flags;	/* TCP flags byte */
	__u8 first_frag;
	__u8 frag_short; /* a first fragment without the whole TCP header (RFC 1858) */
};

static __always_inline int tg_parse_l4(struct __sk_buff *skb, struct tg_pkt *p, __u32 l4off,
					__u32 l3end, int frag)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct tcphdr *th = data + l4off;
	__u16 *ports = data + l4off;
	__u32 doff;

	if (frag && !p->first_frag)
		return TG_PARSE_FRAGMENT;
	if (frag) {
		/* The ports are the first 4 bytes; a first fragment that does not hold the whole
		 * TCP header is never legitimate (RFC 1858) and is dropped whatever its ports. */
		p->frag_short = 1;
		p->sport = 0;
		p->dport = 0;
		if (l4off + 4 <= l3end && (void *)(ports + 2) <= end) {
			p->sport = ports[0];
			p->dport = ports[1];
		}
		if (l4off + sizeof(*th) <= l3end && (void *)(th + 1) <= end &&
		    l4off + (__u32)th->doff * 4 <= l3end && th->doff >= 5)
			p->frag_short = 0;
		return TG_PARSE_FRAGMENT;
	}
	if ((void *)(th + 1) > end)
		return TG_PARSE_BAD;
	p->sport = th->source;
	p->dport = th->dest;
	p->seq = bpf_ntohl(th->seq);
	p->flags = ((__u8 *)th)[13];
	p->l4off = (__u16)l4off;
	doff = (__u32)th->doff * 4;
	if (doff < sizeof(*th) || l4off + doff > l3end)
		return TG_PARSE_BAD;
	p->off = l4off + doff;
	p->len = l3end - p->off;
	return TG_PARSE_TCP;
}

/* IP's length field of 0: BIG TCP's GSO packets (the length is the skb's); otherwise broken. */
static __always_inline int tg_l3end_zero(struct __sk_buff *skb, __u32 *l3end)
{
	if (skb->gso_segs <= 1)
		return -1;
	*l3end = skb->len;
	return 0;
}

static __always_inline int tg_parse_ip6(struct __sk_buff *skb, struct tg_pkt *p, __u32 off)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + off;
	__u32 l3end;
	__u8 nh;
	int frag = 0;

	if ((void *)(ip6 + 1) > end)
		return TG_PARSE_BAD;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	p->family = TG_FAM_V6;
	p->l3off = (__u16)off;
	l3end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (!ip6->payload_len && tg_l3end_zero(skb, &l3end))
		return TG_PARSE_BAD;
	nh = ip6->nexthdr;
	off += sizeof(*ip6);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u8 *eh = data + off;

		if (nh == IPPROTO_TCP)
			break;
		if (nh == NEXTHDR_AUTH || nh == NEXTHDR_ESP)
			return TG_PARSE_BAD;
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST &&
		    nh != NEXTHDR_FRAGMENT)
			return TG_PARSE_OTHER;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		eh = data + off;
		if ((void *)(eh + 8) > end)
			return TG_PARSE_BAD;
		if (nh == NEXTHDR_FRAGMENT) {
			/* frag_off: offset << 3 | M flag; offset 0 means the TCP header is here */
			__u16 fo = bpf_ntohs(*(__u16 *)(eh + 2));

			frag = 1;
			p->first_frag = (fo & 0xFFF8) == 0;
			nh = eh[0];
			off += 8;
		} else {
			nh = eh[0];
			off += ((__u32)eh[1] + 1) * 8;
		}
	}
	if (nh != IPPROTO_TCP)
		/* more extension headers than we walk, or one of those we do not */
		return (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST ||
			nh == NEXTHDR_FRAGMENT || nh == NEXTHDR_AUTH || nh == NEXTHDR_ESP)
			       ? TG_PARSE_BAD
			       : TG_PARSE_OTHER;
	if (l3end > skb->len || off > l3end)
		return TG_PARSE_BAD;
	return tg_parse_l4(skb, p, off, l3end, frag);
}

static __always_inline int tg_parse_ip4(struct __sk_buff *skb, struct tg_pkt *p, __u32 off)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + off;
	__u32 l3end, ihl;
	__u16 fo;
	int frag;

	if ((void *)(ip + 1) > end)
		return TG_PARSE_BAD;
	__builtin_memset(p->src, 0, sizeof(p->src));
	__builtin_memset(p->dst, 0, sizeof(p->dst));
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	p->family = TG_FAM_V4;
	if (ip->protocol == NEXTHDR_AUTH || ip->protocol == NEXTHDR_ESP)
		return TG_PARSE_BAD;
	if (ip->protocol != IPPROTO_TCP)
		return TG_PARSE_OTHER;
	p->l3off = (__u16)off;
	ihl = (__u32)ip->ihl * 4;
	l3end = off + bpf_ntohs(ip->tot_len);
	if (!ip->tot_len && tg_l3end_zero(skb, &l3end))
		return TG_PARSE_BAD;
	fo = bpf_ntohs(ip->frag_off);
	frag = (fo & (IP_MF | IP_OFFSET)) != 0;
	p->first_frag = (fo & IP_OFFSET) == 0;
	if (ihl < sizeof(*ip) || l3end > skb->len || off + ihl > l3end)
		return TG_PARSE_BAD;
	return tg_parse_l4(skb, p, off + ihl, l3end, frag);
}

static __always_inline int tg_parse_once(struct __sk_buff *skb, struct tg_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return TG_PARSE_OTHER;
	p->family = 0;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__u16 *vlan;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = data + off;
		if ((void *)(vlan + 2) > end)
			return TG_PARSE_BAD;
		proto = vlan[1];	/* TCI, then the encapsulated type */
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return TG_PARSE_BAD;	/* a third tag: what it carries is unknown */
	if (proto == bpf_htons(ETH_P_IP))
		return tg_parse_ip4(skb, p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return tg_parse_ip6(skb, p, off);
	return TG_PARSE_OTHER;
}

/* Parse; when the headers are not in the linear area, pull them in once and parse again. */
static __always_inline int tg_parse(struct __sk_buff *skb, struct tg_pkt *p)
{
	__u32 want = skb->len < TG_HDR_PULL ? skb->len : TG_HDR_PULL;
	int r;

	p->first_frag = 1;
	p->frag_short = 0;
	r = tg_parse_once(skb, p);
	if ((r != TG_PARSE_OTHER && r != TG_PARSE_BAD) || skb->data_end - skb->data >= want)
		return r;
	if (bpf_skb_pull_data(skb, want))
		return r;
	return tg_parse_once(skb, p);
}

static __always_inline int tg_port_in(const __u64 *bits, __u16 port_be)
{
	__u16 port = bpf_ntohs(port_be);

	return (bits[(port >> 6) & (TG_PORT_WORDS - 1)] >> (port & 63)) & 1;
}

/* SMTP with STARTTLS, policed by the enforcer */
static __always_inline int tg_port_is_smtp(const struct tg_config *cfg, __u16 port_be)
{
	return tg_port_in(cfg->ports, port_be);
}

/* implicit TLS (submissions, 465): TLS records from the first byte */
static __always_inline int tg_port_is_tls(const struct tg_config *cfg, __u16 port_be)
{
	return tg_port_in(cfg->tls_ports, port_be);
}

/* steered to the daemon */
static __always_inline int tg_port_is_steered(const struct tg_config *cfg, __u16 port_be)
{
	return tg_port_in(cfg->steer_ports, port_be);
}

static __always_inline void tg_lpm_key_set(struct tg_lpm_key *k, __u8 dir, __u8 family,
					   const __u8 *addr)
{
	k->dir = dir;
	k->family = family;
	k->pad[0] = 0;
	k->pad[1] = 0;
	__builtin_memcpy(k->addr, addr, 16);
	k->prefixlen = TG_LPM_KIND_BITS + (family == TG_FAM_V4 ? 32 : 128);
}

#endif
