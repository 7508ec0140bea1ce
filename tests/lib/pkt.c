// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/pkt.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

/* RFC 1071 ones' complement sum, continued from sum. */
static uint32_t sum16(uint32_t sum, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The sum of the TCP pseudo-header and segment (checksum field included). */
static uint16_t tcp_sum(int family, const unsigned char *l3, const unsigned char *l4, size_t l4len)
{
	uint32_t sum = 0;

	if (family == AF_INET)
		sum = sum16(sum, l3 + 12, 8);
	else
		sum = sum16(sum, l3 + 8, 32);
	sum += IPPROTO_TCP;
	sum += (uint32_t)l4len;
	return fold(sum16(sum, l4, l4len));
}

int pkt_build(const struct pkt_spec *s, void *buf, size_t cap)
{
	static unsigned char l4[65536];
	unsigned char *p = buf;
	uint8_t proto = s->ip_proto ? s->ip_proto : IPPROTO_TCP;
	size_t off, l4len, from = 0, to, l3, hlen, nvlan = s->vlan ? (s->vlans ? s->vlans : 1) : 0;
	uint16_t et;

	l4len = (proto == IPPROTO_TCP ? sizeof(struct tcphdr) : 8) + s->payload_len;
	if (l4len > sizeof(l4) || s->ext_len > 1024)
		return -1;
	/* the whole L4 part first: its checksum covers all of it, fragments or not */
	memset(l4, 0, l4len);
	if (proto == IPPROTO_TCP) {
		struct tcphdr th = { 0 };

		th.source = htons(s->sport);
		th.dest = htons(s->dport);
		th.seq = htonl(s->seq);
		th.ack_seq = htonl(s->ack);
		th.doff = 5;
		th.th_flags = s->tcp_flags;
		th.window = htons(65535);
		th.urg_ptr = htons(s->urg);
		memcpy(l4, &th, sizeof(th));
	} else {
		uint16_t ports[4] = { htons(s->sport), htons(s->dport),
				      htons((uint16_t)(8 + s->payload_len)), 0 };

		memcpy(l4, ports, 8);
	}
	if (s->payload_len)
		memcpy(l4 + l4len - s->payload_len, s->payload, s->payload_len);
	to = l4len;
	if (s->frag == 1)
		to = s->frag_at < l4len ? s->frag_at : l4len;
	else if (s->frag == 2)
		from = s->frag_at < l4len ? s->frag_at : l4len;
	hlen = s->family == AF_INET ? sizeof(struct iphdr)
				    : sizeof(struct ip6_hdr) + (s->frag ? 8 : 0) + s->ext_len;
	if (cap < sizeof(struct ethhdr) + 4 * nvlan + hlen + (to - from))
		return -1;
	memset(buf, 0, cap);
	memcpy(p, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(p + ETH_ALEN, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	off = offsetof(struct ethhdr, h_proto);
	for (size_t i = 0; i < nvlan; i++) {
		uint16_t tpid = htons(ETH_P_8021Q), tci = htons(s->vlan);

		memcpy(p + off, &tpid, 2);
		memcpy(p + off + 2, &tci, 2);
		off += 4;
	}
	et = htons(s->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	memcpy(p + off, &et, 2);
	off += 2;
	l3 = off;
	if (s->family == AF_INET) {
		struct iphdr ip = { 0 }; /* built aligned, copied: in the frame it is not */

		ip.version = 4;
		ip.ihl = 5;
		ip.ttl = 64;
		ip.id = htons(0x1234);
		ip.protocol = proto;
		ip.tot_len = s->tot_len_zero ? 0 : htons((uint16_t)(sizeof(ip) + to - from));
		if (s->frag)
			ip.frag_off = htons((uint16_t)((s->frag == 1 ? 0x2000 : 0) | from / 8));
		if (inet_pton(AF_INET, s->saddr, &ip.saddr) != 1 ||
		    inet_pton(AF_INET, s->daddr, &ip.daddr) != 1)
			return -1;
		memcpy(p + off, &ip, sizeof(ip));
		off += sizeof(ip);
	} else {
		struct ip6_hdr ip6 = { 0 };
		uint8_t nxt = s->ext_len ? s->ext_first : proto;

		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_plen = htons((uint16_t)(hlen - sizeof(ip6) + to - from));
		ip6.ip6_nxt = s->frag ? 44 : nxt;
		ip6.ip6_hlim = 64;
		if (inet_pton(AF_INET6, s->saddr, &ip6.ip6_src) != 1 ||
		    inet_pton(AF_INET6, s->daddr, &ip6.ip6_dst) != 1)
			return -1;
		memcpy(p + off, &ip6, sizeof(ip6));
		off += sizeof(ip6);
		if (s->frag) {
			uint16_t fo = htons((uint16_t)(from | (s->frag == 1 ? 1 : 0)));
			uint32_t id = htonl(0x1234);

			p[off] = nxt;
			memcpy(p + off + 2, &fo, 2);
			memcpy(p + off + 4, &id, 4);
			off += 8;
		}
		memcpy(p + off, s->ext, s->ext_len);
		off += s->ext_len;
	}
	if (proto == IPPROTO_TCP) {
		unsigned char ph[40 + 8];
		uint16_t c;

		if (s->family == AF_INET) {
			uint32_t sum = 0;

			memcpy(ph, p + l3 + 12, 8);
			sum = sum16(0, ph, 8) + IPPROTO_TCP + (uint32_t)l4len;
			c = htons((uint16_t)~fold(sum16(sum, l4, l4len)));
			memcpy(l4 + 16, &c, 2);
			c = htons((uint16_t)~fold(sum16(0, p + l3, sizeof(struct iphdr))));
			memcpy(p + l3 + 10, &c, 2);
		} else {
			uint32_t sum = sum16(0, p + l3 + 8, 32) + IPPROTO_TCP + (uint32_t)l4len;

			c = htons((uint16_t)~fold(sum16(sum, l4, l4len)));
			memcpy(l4 + 16, &c, 2);
		}
	}
	memcpy(p + off, l4 + from, to - from);
	return (int)(off + to - from);
}

int pkt_read_tcp(const void *frame, size_t len, struct pkt_tcp *out)
{
	const unsigned char *p = frame;
	size_t off = 12, l3, l4, l4len, hl;
	uint16_t et;
	int family;

	memset(out, 0, sizeof(*out));
	if (len < 14)
		return -1;
	et = (uint16_t)(p[off] << 8 | p[off + 1]);
	if (et == ETH_P_8021Q) {
		off += 4;
		et = (uint16_t)(p[off] << 8 | p[off + 1]);
	}
	l3 = off + 2;
	if (et == ETH_P_IP && len >= l3 + 20 && p[l3 + 9] == IPPROTO_TCP) {
		size_t tot = (size_t)(p[l3 + 2] << 8 | p[l3 + 3]);

		family = AF_INET;
		l4 = l3 + (size_t)(p[l3] & 0xf) * 4;
		out->ip_len_ok = l3 + tot == len;
		if (tot < l4 - l3 || l3 + tot > len)
			return -1;
		l4len = tot - (l4 - l3);
		out->csum_ok = fold(sum16(0, p + l3, l4 - l3)) == 0xffff;
	} else if (et == ETH_P_IPV6 && len >= l3 + 40 && p[l3 + 6] == IPPROTO_TCP) {
		size_t plen = (size_t)(p[l3 + 4] << 8 | p[l3 + 5]);

		family = AF_INET6;
		l4 = l3 + 40;
		out->ip_len_ok = l4 + plen == len;
		if (l4 + plen > len)
			return -1;
		l4len = plen;
		out->csum_ok = 1;
	} else {
		return -1;
	}
	if (l4len < 20)
		return -1;
	hl = (size_t)(p[l4 + 12] >> 4) * 4;
	if (hl < 20 || hl > l4len)
		return -1;
	out->seq = (uint32_t)p[l4 + 4] << 24 | (uint32_t)p[l4 + 5] << 16 | (uint32_t)p[l4 + 6] << 8 |
		   p[l4 + 7];
	out->ack = (uint32_t)p[l4 + 8] << 24 | (uint32_t)p[l4 + 9] << 16 | (uint32_t)p[l4 + 10] << 8 |
		   p[l4 + 11];
	out->flags = p[l4 + 13];
	out->payload_len = l4len - hl;
	out->csum_ok = out->csum_ok && tcp_sum(family, p + l3, p + l4, l4len) == 0xffff;
	return 0;
}
