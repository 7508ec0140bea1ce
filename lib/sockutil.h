/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TLSGATE_LIB_SOCKUTIL_H
#define TLSGATE_LIB_SOCKUTIL_H

#include <stdbool.h>

/*
 * A connected TCP pair over 127.0.0.1 (the kernel's tls ULP only attaches to TCP, so socketpair()
 * will not do).  *client is the connect()ing end.  Returns 0 or -errno.
 */
int tg_tcp_loopback_pair(int *client, int *server);

/* O_NONBLOCK on or off; returns 0 or -errno. */
int tg_set_nonblock(int fd, bool on);

#endif
