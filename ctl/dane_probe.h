/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `tlsgatectl dane check --connect`: one SMTP session to one address of an MX host, STARTTLS with
 * the SSL ktls/dane.c configures from the host's verdict (the relay's own code), the verdict on
 * the handshake, then QUIT.  It never sends MAIL: the check must not be able to deliver anything.
 */
#ifndef TLSGATE_CTL_DANE_PROBE_H
#define TLSGATE_CTL_DANE_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy/dane.h"

enum ctl_dane_probe_result {
	CTL_DANE_PROBE_VERIFIED,  /* a usable TLSA record matched */
	CTL_DANE_PROBE_ENCRYPTED, /* all records unusable: TLS without authentication */
	CTL_DANE_PROBE_FAILED,	  /* no record matched: the relay would not send MAIL */
	CTL_DANE_PROBE_ERROR,	  /* no TLS session (connect, STARTTLS refused, handshake,
				   * deadline): the relay would defer as well */
};

struct ctl_dane_probe {
	enum ctl_dane_probe_result result;
	char detail[512]; /* "verified by DANE-EE(3) 1 1 (matched ...)", or why not */
	char version[16]; /* "TLSv1.3", empty without TLS */
	char cipher[64];
	char sni[POLICY_DANE_NAME_MAX]; /* the name we sent (the TLSA base domain) */
};

const char *ctl_dane_probe_result_name(enum ctl_dane_probe_result r);

/*
 * STARTTLS to addr (port set) for host, nexthop as for ktls_dane_ssl_config(); helo is our EHLO
 * name.  Gives up at deadline_ms (CLOCK_MONOTONIC, ms).  The outcome in *p; 0, or -errno when
 * the probe itself could not run (no memory, no SSL_CTX).
 */
int ctl_dane_probe(const struct sockaddr *addr, socklen_t alen, const struct policy_dane_host *host,
		   const char *nexthop, const char *helo, uint64_t deadline_ms,
		   struct ctl_dane_probe *p);

/* Monotonic clock in ms (the deadlines above). */
uint64_t ctl_dane_now_ms(void);

#endif
