// SPDX-License-Identifier: GPL-2.0-only
/*
 * What one kTLS socket really runs on, from the tls ULP itself: SOCK_DIAG_BY_FAMILY for the
 * socket's exact 4-tuple, asking for INET_DIAG_INFO (the kernel adds the ULP's nest,
 * INET_DIAG_ULP_INFO, with the TCP info: tcp_diag_get_aux), whose INET_ULP_INFO_TLS nest has
 * TLS_INFO_TXCONF / TLS_INFO_RXCONF (TLS_CONF_SW, TLS_CONF_HW, TLS_CONF_HW_RECORD),
 * TLS_INFO_ZC_RO_TX and TLS_INFO_RX_NO_PAD (net/tls/tls_main.c, tls_get_info).  This is the only
 * place a "the NIC does it" comes from: feature bits say what a device could do, not what the
 * kernel chose for this socket (it falls back to software when the device refuses a context).
 * The kernel sends the ULP nest only to a requester with CAP_NET_ADMIN; without, the answer
 * comes without it and says so (ulp_info false).
 */
#include "hw/hw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

const char *hw_tls_conf_name(enum hw_tls_conf c)
{
	static const char *const names[] = {
		[HW_CONF_NONE] = "none",	  [HW_CONF_BASE] = "base",
		[HW_CONF_SW] = "sw",		  [HW_CONF_HW] = "hw",
		[HW_CONF_HW_RECORD] = "hw-record", [HW_CONF_UNKNOWN] = "unknown",
	};

	return (unsigned int)c <= HW_CONF_UNKNOWN ? names[c] : "unknown";
}

static enum hw_tls_conf conf_of(const struct nlattr *a)
{
	if (!a || nla_len(a) < 2)
		return HW_CONF_NONE;
	switch (nla_get_u16((struct nlattr *)a)) {
	case TLS_CONF_BASE:
		return HW_CONF_BASE;
	case TLS_CONF_SW:
		return HW_CONF_SW;
	case TLS_CONF_HW:
		return HW_CONF_HW;
	case TLS_CONF_HW_RECORD:
		return HW_CONF_HW_RECORD;
	default:
		return HW_CONF_UNKNOWN;
	}
}

/* Attribute numbers this build's uapi may lack (added in 5.19 and 6.0). */
#define HW_TLS_INFO_ZC_RO_TX 5
#define HW_TLS_INFO_RX_NO_PAD 6
#define HW_TLS_INFO_MAX 6

static int parse_tls(const struct nlattr *tls, struct hw_tls_diag *out)
{
	struct nlattr *tb[HW_TLS_INFO_MAX + 1];

	if (nla_parse_nested(tb, HW_TLS_INFO_MAX, (struct nlattr *)tls, NULL) < 0)
		return -EBADMSG;
	if (tb[TLS_INFO_VERSION] && nla_len(tb[TLS_INFO_VERSION]) >= 2)
		out->version = nla_get_u16(tb[TLS_INFO_VERSION]);
	if (tb[TLS_INFO_CIPHER] && nla_len(tb[TLS_INFO_CIPHER]) >= 2)
		out->cipher = nla_get_u16(tb[TLS_INFO_CIPHER]);
	out->tx = conf_of(tb[TLS_INFO_TXCONF]);
	out->rx = conf_of(tb[TLS_INFO_RXCONF]);
	out->zc_ro_tx = tb[HW_TLS_INFO_ZC_RO_TX] != NULL;
	out->rx_no_pad = tb[HW_TLS_INFO_RX_NO_PAD] != NULL;
	return 0;
}

int hw_diag_parse(const struct nlmsghdr *nlh, struct hw_tls_diag *out)
{
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct nlattr *ulp[INET_ULP_INFO_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct inet_diag_msg))
		return -EBADMSG;
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(struct inet_diag_msg), tb, INET_DIAG_MAX,
			NULL) < 0)
		return -EBADMSG;
	out->found = true;
	out->uid = ((const struct inet_diag_msg *)nlmsg_data(nlh))->idiag_uid;
	if (!tb[INET_DIAG_ULP_INFO])
		return 0;
	out->ulp_info = true;
	if (nla_parse_nested(ulp, INET_ULP_INFO_MAX, tb[INET_DIAG_ULP_INFO], NULL) < 0)
		return -EBADMSG;
	if (!ulp[INET_ULP_INFO_NAME])
		return 0;
	out->tls = !strncmp(nla_data(ulp[INET_ULP_INFO_NAME]), "tls",
			    (size_t)nla_len(ulp[INET_ULP_INFO_NAME])) &&
		   nla_len(ulp[INET_ULP_INFO_NAME]) >= 3;
	if (out->tls && ulp[INET_ULP_INFO_TLS])
		return parse_tls(ulp[INET_ULP_INFO_TLS], out);
	return 0;
}

const char *hw_diag_format(const struct hw_tls_diag *d, char *buf, size_t len)
{
	if (!d->found)
		snprintf(buf, len, "unknown (socket not found)");
	else if (!d->ulp_info)
		snprintf(buf, len, "unknown (no ulp info: needs CAP_NET_ADMIN)");
	else if (!d->tls)
		snprintf(buf, len, "no tls ulp");
	else
		snprintf(buf, len, "tx=%s rx=%s%s%s", hw_tls_conf_name(d->tx),
			 hw_tls_conf_name(d->rx), d->zc_ro_tx ? " zc_ro_tx" : "",
			 d->rx_no_pad ? " rx_no_pad" : "");
	return buf;
}

int hw_diag_open(void)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		return -errno;
	/* the kernel answers at once; a bound wait keeps a worker from ever hanging here */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The socket's own and peer's addresses and its cookie. */
int hw_diag_id_of(int fd, struct hw_diag_id *id)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p), cl = sizeof(id->cookie);

	memset(id, 0, sizeof(*id));
	if (getsockname(fd, (struct sockaddr *)&l, &ll) || getpeername(fd, (struct sockaddr *)&p, &pl))
		return -errno;
	if (l.ss_family != p.ss_family)
		return -EAFNOSUPPORT;
	id->family = (uint8_t)l.ss_family;
	if (l.ss_family == AF_INET) {
		const struct sockaddr_in *a = (void *)&l, *b = (void *)&p;

		id->sport = a->sin_port;
		id->dport = b->sin_port;
		memcpy(id->src, &a->sin_addr, 4);
		memcpy(id->dst, &b->sin_addr, 4);
	} else if (l.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (void *)&l, *b = (void *)&p;

		id->sport = a->sin6_port;
		id->dport = b->sin6_port;
		memcpy(id->src, &a->sin6_addr, 16);
		memcpy(id->dst, &b->sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &id->cookie, &cl))
		return -errno;
	return 0;
}

int hw_diag_query(int nlfd, const struct hw_diag_id *id, struct hw_tls_diag *out)
{
	static uint32_t next_seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	union {
		struct nlmsghdr nlh;
		char b[8192];
	} rsp;
	uint32_t seq = __atomic_add_fetch(&next_seq, 1, __ATOMIC_RELAXED);
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (id->family != AF_INET && id->family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(&req, 0, sizeof(req));
	req.r.sdiag_family = id->family;
	req.r.id.idiag_sport = id->sport;
	req.r.id.idiag_dport = id->dport;
	memcpy(req.r.id.idiag_src, id->src, id->family == AF_INET ? 4 : 16);
	memcpy(req.r.id.idiag_dst, id->dst, id->family == AF_INET ? 4 : 16);
	/* an exact cookie: the kernel answers for this socket only (sock_diag_check_cookie) */
	req.r.id.idiag_cookie[0] = (uint32_t)id->cookie;
	req.r.id.idiag_cookie[1] = (uint32_t)(id->cookie >> 32);
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	/* the ULP nest comes with the TCP info (an INET_DIAG_* above 8 cannot be asked for) */
	req.r.idiag_ext = 1u << (INET_DIAG_INFO - 1);
	if (send(nlfd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -errno;
	for (;;) {
		struct nlmsghdr *nlh;
		int len;

		n = recv(nlfd, &rsp, sizeof(rsp), 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)n;
		for (nlh = &rsp.nlh; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq)
				continue; /* a late answer to an earlier, timed-out question */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = nlmsg_data(nlh);

				if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
					return -EBADMSG;
				return e->error ? (int)e->error : -ENOENT;
			}
			return hw_diag_parse(nlh, out);
		}
	}
}

int hw_diag_socket(int nlfd, int fd, struct hw_tls_diag *out)
{
	struct hw_diag_id id;
	int err;

	memset(out, 0, sizeof(*out));
	err = hw_diag_id_of(fd, &id);
	return err ? err : hw_diag_query(nlfd, &id, out);
}
