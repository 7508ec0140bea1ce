// SPDX-License-Identifier: GPL-2.0-only
#include "lib/sockutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

int tg_tcp_loopback_pair(int *client, int *server)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	int lfd, cfd = -1, afd, err;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen))
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)))
		goto fail;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		goto fail;
	close(lfd);
	*client = cfd;
	*server = afd;
	return 0;
fail:
	err = -errno;
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return err;
}

int tg_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl))
		return -errno;
	return 0;
}

/*
 * We write whole buffers at once; what is left is a reply or command we must not hold back for
 * the peer's delayed ACK (Nagle would add 40 ms to every pipelined round trip).
 */
void tg_set_nodelay(int fd)
{
	int one = 1;

	/* Best effort: without it replies are only slower. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tg_listen_socket(const struct sockaddr *sa, socklen_t len, bool transparent, bool reuseport)
{
	int fd, one = 1, zero = 0, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))))
		goto fail;
	/* "*:25" is a v6 socket that takes v4 too */
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		goto fail;
	/* Steered connections (bpf_sk_assign) carry a foreign destination address: the listener
	 * must be allowed to take them. */
	if (transparent &&
	    setsockopt(fd, sa->sa_family == AF_INET6 ? SOL_IPV6 : SOL_IP,
		       sa->sa_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
		       sizeof(one)))
		goto fail;
	if (bind(fd, sa, len) || listen(fd, 1024))
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

void tg_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *full,
		  size_t fulllen)
{
	uint16_t port = 0;

	ip[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen);
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)iplen);
		port = ntohs(sin6->sin6_port);
	}
	if (full)
		snprintf(full, fulllen, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}
