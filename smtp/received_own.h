/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The organisation's own mail servers (`own_mail_servers` in tlsgate.conf, `explain --own`):
 * host names ("mx1.example.org"), domains with a leading dot (".corp.example.org": every name
 * under it) and address prefixes ("192.0.2.0/24", "2001:db8::1").  A Received: line one of
 * them wrote is a fact; the ones below the first hop they received are what the sender's
 * servers claim (received_verdict.h walks a chain with it).
 *
 * What is matched: the name in "by" (what an own server wrote about itself), and for the
 * sending side the address and the looked-up (reverse DNS) name the receiver recorded, never
 * the HELO name: any sender can claim to be "mail.example.org".  Servers without a reverse DNS
 * name are matched by address only.
 */
#ifndef TLSGATE_SMTP_RECEIVED_OWN_H
#define TLSGATE_SMTP_RECEIVED_OWN_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp/received_parse.h"

#define RECEIVED_OWN_MAX 64
#define RECEIVED_OWN_NAME 128

struct received_own_entry {
	bool is_prefix; /* an address prefix, else a name */
	int family;	/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len;
	char name[RECEIVED_OWN_NAME]; /* lower case; ".example.org" for a domain */
};

struct received_own {
	unsigned int n;
	struct received_own_entry e[RECEIVED_OWN_MAX];
};

/* Add one item.  0, -EINVAL (not a name, address or prefix), -ENOSPC (list full). */
int received_own_add(struct received_own *o, const char *item);
/* A list separated by commas and white space (o is emptied first).  0 or the first error. */
int received_own_parse(struct received_own *o, const char *list);

bool received_own_name(const struct received_own *o, const char *name);
bool received_own_addr(const struct received_own *o, const char *addr);

/* The hop was written by an own server ("by"); its sender is one (address or looked-up name). */
bool received_own_writer(const struct received_own *o, const struct received_hop *h);
bool received_own_sender(const struct received_own *o, const struct received_hop *h);

#endif
