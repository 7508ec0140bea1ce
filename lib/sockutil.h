/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TLSGATE_LIB_SOCKUTIL_H
#define TLSGATE_LIB_SOCKUTIL_H

#include <stdbool.h>
#include <sys/socket.h>

/*
 * A connected TCP pair over 127.0.0.1 (the kernel's tls ULP only attaches to TCP, so socketpair()
 * will not do).  *client is the connect()ing end.  Returns 0 or -errno.
 */
int tg_tcp_loopback_pair(int *client, int *server);

/* O_NONBLOCK on or off; returns 0 or -errno. */
int tg_set_nonblock(int fd, bool on);

/* TCP_NODELAY: whole replies and commands go out at once (no Nagle delay on pipelined turns). */
void tg_set_nodelay(int fd);

/*
 * A non-blocking TCP listener on sa with SO_REUSEADDR (and SO_REUSEPORT when `reuseport`: one
 * per worker), dual-stack for a v6 wildcard, and IP(V6)_TRANSPARENT when `transparent` (it takes
 * steered connections).  Returns the fd or -errno.
 */
int tg_listen_socket(const struct sockaddr *sa, socklen_t len, bool transparent, bool reuseport);

/*
 * An address as logs and the CLI show it: "203.0.113.25" into ip, and "203.0.113.25:25" or
 * "[2001:db8::25]:25" into full (may be NULL).  A v4-mapped v6 address is shown as v4.
 */
void tg_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *full,
		  size_t fulllen);

#endif
