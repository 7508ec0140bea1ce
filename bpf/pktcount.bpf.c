// SPDX-License-Identifier: GPL-2.0-only
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/pktcount.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TC_ACT_OK 0
#define IPPROTO_ICMPV6 58 /* a #define in linux/in6.h, so not in vmlinux.h */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTCOUNT_NSLOTS);
	__type(key, __u32);
	__type(value, struct pktcount_val);
} pktcount SEC(".maps");

static __always_inline __u32 classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return PKTCOUNT_MALFORMED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return PKTCOUNT_MALFORMED;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return PKTCOUNT_MALFORMED;
		proto = ip6->nexthdr;
	} else {
		return PKTCOUNT_OTHER;
	}
	switch (proto) {
	case IPPROTO_TCP:
		return PKTCOUNT_TCP;
	case IPPROTO_UDP:
		return PKTCOUNT_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return PKTCOUNT_ICMP;
	default:
		return PKTCOUNT_IP_OTHER;
	}
}

SEC("tc")
int pktcount_tc(struct __sk_buff *skb)
{
	__u32 slot = classify(skb);
	struct pktcount_val *v = bpf_map_lookup_elem(&pktcount, &slot);

	if (v) {
		v->packets++;
		v->bytes += skb->len;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
