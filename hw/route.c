// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which interface a connected socket's packets leave by: the kernel's own route lookup
 * (RTM_GETROUTE, as `ip route get DST from SRC mark M oif DEV` asks it), not the interface that
 * holds the local address: with a source address on one interface and the route toward the
 * destination on another (a loopback or dummy service address, policy routing), the egress NIC
 * is the route's.  No privilege needed.
 */
#include "hw/hw.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef RTA_IP_PROTO
#define RTA_IP_PROTO 27
#define RTA_SPORT 28
#define RTA_DPORT 29
#endif

struct route_req {
	struct nlmsghdr nlh;
	struct rtmsg rtm;
	char attrs[256];
};

static void put_attr(struct route_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nlh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nlh.nlmsg_len = NLMSG_ALIGN(r->nlh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int hw_route_parse(const struct nlmsghdr *nlh, int *ifindex)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	size_t off = NLMSG_LENGTH(sizeof(*rtm));

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < off)
		return -EBADMSG;
	off = NLMSG_ALIGN(off);
	while (off + sizeof(struct rtattr) <= nlh->nlmsg_len) {
		const struct rtattr *a = (const struct rtattr *)((const char *)nlh + off);

		if (a->rta_len < sizeof(*a) || off + a->rta_len > nlh->nlmsg_len)
			return -EBADMSG;
		if (a->rta_type == RTA_OIF && a->rta_len >= RTA_LENGTH(sizeof(int))) {
			memcpy(ifindex, RTA_DATA(a), sizeof(int));
			return 0;
		}
		off += RTA_ALIGN(a->rta_len);
	}
	return -ENOENT;
}

int hw_route_egress(int fd, int *ifindex)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p), ol;
	struct route_req req;
	union {
		struct nlmsghdr nlh;
		char b[4096];
	} rsp;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	uint32_t mark = 0; /* the uid: the kernel takes the caller's */
	int oif = 0, type = 0, nl = -1, err;
	size_t alen;
	const void *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
	ssize_t n;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) || getpeername(fd, (struct sockaddr *)&p, &pl))
		return -errno;
	if (l.ss_family != p.ss_family)
		return -EAFNOSUPPORT;
	if (l.ss_family == AF_INET) {
		src = &((struct sockaddr_in *)&l)->sin_addr;
		dst = &((struct sockaddr_in *)&p)->sin_addr;
		sport = ((struct sockaddr_in *)&l)->sin_port;
		dport = ((struct sockaddr_in *)&p)->sin_port;
		alen = 4;
	} else if (l.ss_family == AF_INET6) {
		src = &((struct sockaddr_in6 *)&l)->sin6_addr;
		dst = &((struct sockaddr_in6 *)&p)->sin6_addr;
		sport = ((struct sockaddr_in6 *)&l)->sin6_port;
		dport = ((struct sockaddr_in6 *)&p)->sin6_port;
		alen = 16;
	} else {
		return -EAFNOSUPPORT;
	}
	/* what the socket's own lookups used: its mark and its bound device (both readable
	 * without privilege) */
	ol = sizeof(mark);
	if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &ol))
		mark = 0;
	ol = sizeof(oif);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &oif, &ol))
		oif = 0;
	ol = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol))
		return -errno;
	proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nlh.nlmsg_type = RTM_GETROUTE;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = 1;
	req.rtm.rtm_family = (unsigned char)l.ss_family;
	req.rtm.rtm_dst_len = (unsigned char)(alen * 8);
	req.rtm.rtm_src_len = (unsigned char)(alen * 8);
	put_attr(&req, RTA_DST, dst, alen);
	put_attr(&req, RTA_SRC, src, alen);
	if (mark)
		put_attr(&req, RTA_MARK, &mark, sizeof(mark));
	if (oif)
		put_attr(&req, RTA_OIF, &oif, sizeof(oif));
	put_attr(&req, RTA_IP_PROTO, &proto, sizeof(proto));
	put_attr(&req, RTA_SPORT, &sport, sizeof(sport));
	put_attr(&req, RTA_DPORT, &dport, sizeof(dport));

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0)
		return -errno;
	/* the kernel answers at once; a bound wait keeps a worker from ever hanging here */
	if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    send(nl, &req, req.nlh.nlmsg_len, 0) != (ssize_t)req.nlh.nlmsg_len) {
		err = -errno;
		goto out;
	}
	n = recv(nl, &rsp, sizeof(rsp), 0);
	if (n < 0) {
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto out;
	}
	err = -EBADMSG;
	if (!NLMSG_OK(&rsp.nlh, (unsigned int)n))
		goto out;
	if (rsp.nlh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&rsp.nlh);

		if (rsp.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)))
			err = e->error ? e->error : -ENOENT;
		goto out;
	}
	err = hw_route_parse(&rsp.nlh, ifindex);
out:
	close(nl);
	return err;
}
