// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/pkt.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

int pkt_build(const struct pkt_spec *s, void *buf, size_t cap)
{
	unsigned char *p = buf;
	size_t off = 0, l4len;
	uint8_t proto = s->ip_proto ? s->ip_proto : IPPROTO_TCP;
	struct ethhdr *eth;

	l4len = (proto == IPPROTO_TCP ? sizeof(struct tcphdr) : 8) + s->payload_len;
	if (cap < sizeof(*eth) + 4 + sizeof(struct ip6_hdr) + l4len)
		return -1;
	memset(buf, 0, cap);
	eth = (struct ethhdr *)p;
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	off = offsetof(struct ethhdr, h_proto);
	if (s->vlan) {
		uint16_t tpid = htons(ETH_P_8021Q), tci = htons(s->vlan);

		memcpy(p + off, &tpid, 2);
		memcpy(p + off + 2, &tci, 2);
		off += 4;
	}
	if (s->family == AF_INET) {
		uint16_t et = htons(ETH_P_IP);
		struct iphdr ip = { 0 }; /* built aligned, copied: in the frame it is not */

		memcpy(p + off, &et, 2);
		off += 2;
		ip.version = 4;
		ip.ihl = 5;
		ip.ttl = 64;
		ip.protocol = proto;
		ip.tot_len = htons((uint16_t)(sizeof(ip) + l4len));
		if (inet_pton(AF_INET, s->saddr, &ip.saddr) != 1 ||
		    inet_pton(AF_INET, s->daddr, &ip.daddr) != 1)
			return -1;
		memcpy(p + off, &ip, sizeof(ip));
		off += sizeof(ip);
	} else {
		uint16_t et = htons(ETH_P_IPV6);
		struct ip6_hdr ip6 = { 0 };

		memcpy(p + off, &et, 2);
		off += 2;
		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_plen = htons((uint16_t)l4len);
		ip6.ip6_nxt = proto;
		ip6.ip6_hlim = 64;
		if (inet_pton(AF_INET6, s->saddr, &ip6.ip6_src) != 1 ||
		    inet_pton(AF_INET6, s->daddr, &ip6.ip6_dst) != 1)
			return -1;
		memcpy(p + off, &ip6, sizeof(ip6));
		off += sizeof(ip6);
	}
	if (proto == IPPROTO_TCP) {
		struct tcphdr th = { 0 };

		th.source = htons(s->sport);
		th.dest = htons(s->dport);
		th.seq = htonl(s->seq);
		th.ack_seq = htonl(s->ack);
		th.doff = 5;
		th.th_flags = s->tcp_flags;
		th.window = htons(65535);
		memcpy(p + off, &th, sizeof(th));
		off += sizeof(th);
	} else {
		uint16_t ports[4] = { htons(s->sport), htons(s->dport),
				      htons((uint16_t)(8 + s->payload_len)), 0 };

		memcpy(p + off, ports, 8);
		off += 8;
	}
	if (s->payload_len)
		memcpy(p + off, s->payload, s->payload_len);
	return (int)(off + s->payload_len);
}
