/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-client-address limits, after Postfix's anvil: how many sessions one client address has
 * open, and how many connections it made in the last minute.  Shared by all workers (one lock;
 * a few dozen nanoseconds per accepted connection).  A client is an IPv4 address or an IPv6 /64
 * (one host, one subnet to an attacker).  Used for inbound listeners: every session from an
 * external sender holds a connection to the inside MTA, which charges them all to the gateway.
 */
#ifndef TLSGATE_DAEMON_ANVIL_H
#define TLSGATE_DAEMON_ANVIL_H

#include <stdint.h>
#include <sys/socket.h>

struct anvil;

enum anvil_verdict {
	ANVIL_OK,		/* admitted and counted: anvil_disconnect() when it ends */
	ANVIL_TOO_MANY,		/* count_limit sessions from that client are open */
	ANVIL_TOO_FAST,		/* rate_limit connections from it in the last minute */
};

/* Limits of 0 mean none.  0 or -ENOMEM. */
int anvil_new(unsigned int count_limit, unsigned int rate_limit, struct anvil **out);
void anvil_free(struct anvil *a);

/* A connection from addr at now_ms (monotonic).  Refused connections count toward the rate. */
enum anvil_verdict anvil_connect(struct anvil *a, const struct sockaddr_storage *addr,
				 uint64_t now_ms);
/* A session admitted by anvil_connect() ended. */
void anvil_disconnect(struct anvil *a, const struct sockaddr_storage *addr);

#endif
