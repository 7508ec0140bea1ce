/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TLS reporter (RFC 8460, sending): outcomes (daemon/outcome.h) counted into the UTC day's
 * aggregate per policy domain (report/tlsrpt.h), and at the day's end one report per domain,
 * spooled in STATE_DIR/tlsrpt/ and delivered to the domain's rua URIs -- https: by POST, mailto:
 * as a DKIM-signed multipart/report submitted to the configured host (typically the inside MTA).
 * Fleet mode (tlsrpt_socket) sends each outcome as a libtlsrpt datagram instead and keeps no
 * aggregate: sys4's tlsrpt-collectd/reportd aggregate across the gateways.
 *
 *   tlsrpt.c       the main loop's side: the sink, the day (saved every minute and at exit),
 *                  rollover, the spool writer, `tlsgatectl tlsrpt`, the 5.3.1 exemptions
 *   tlsrpt_send.c  the sender thread: the spool, the _smtp._tls lookup, HTTPS POST, SMTP
 *   tlsrpt_fleet.c the datagram
 *
 * Nothing here ever blocks the main loop or a worker: deliveries run on their own thread (a
 * report is a few kilobytes a day per domain; blocking I/O with deadlines on a thread of its
 * own is simpler than a second state machine on the loop, and the DNS walk, TXT parsing and
 * TLS setup are the ones the MTA-STS fetcher uses).
 *
 * RFC 8460 5.3.1: a report is delivered even when the report domain's own MTA-STS or DANE
 * policy fails.  The report mail goes out through the inside MTA and, steered, comes back
 * through this gateway; the session would refuse it there.  So each submission gets a one-time
 * token in its envelope sender (SENDER_LOCAL+TOKEN@SENDER_DOMAIN) registered here with the one
 * recipient it is for; tlsrpt_exempt() answers the session's question "is this RCPT our own
 * report?" -- yes only for that token and that recipient, until it expires.  Knowing the sender
 * address gains an attacker nothing: a token is 128 random bits, never logged, and opens only the
 * rua address it was made for.
 */
#ifndef TLSGATE_DAEMON_TLSRPT_H
#define TLSGATE_DAEMON_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/loop.h"
#include "report/outcome.h"

struct tlsrpt;
struct sts_fetch;

struct tlsrpt_opts {
	const char *dir;		/* STATE_DIR/tlsrpt (created) */
	const char *org;		/* organization-name */
	const char *contact;		/* contact-info */
	const char *submitter;		/* our name (hostname) */
	const char *sender;		/* report From: and envelope base, "tlsrpt@example.org" */
	const char *submission;		/* "host:port" of the MTA that takes report mail */
	const char *dkim_key;		/* PEM RSA key; NULL: mailto: reports are not sent */
	const char *dkim_selector;
	const char *dkim_domain;	/* NULL: the sender's domain */
	const char *nameserver;		/* "a.b.c.d[:port]"; NULL: resolv.conf's first */
	const char *ca_file;		/* WebPKI roots for https: rua */
	const char *fleet_socket;	/* tlsrpt-collectd's socket: fleet mode */
	unsigned int timeout_s;		/* one delivery; 0: 30 */
	unsigned int retry_min_s;	/* first retry; doubles to 4 h; 0: 300 */
	unsigned int give_up_s;		/* after this a report is dropped; 0: 24 h */
	uint16_t https_port;		/* tests: the port of https: URIs without one; 0: 443 */
	size_t max_domains;		/* the day's bound; 0: 100000 */
	struct sts_fetch *sts;		/* for MTA-STS policy strings; may be NULL */
	/* The wall clock (unix seconds); NULL: time().  Tests move it across midnight. */
	int64_t (*now)(void *arg);
	void *now_arg;
};

/* On the main thread. */
int tlsrpt_new(struct loop *l, const struct tlsrpt_opts *o, struct tlsrpt **out);
/* Saves the day; stops the sender (a delivery under way is abandoned and retried next time). */
void tlsrpt_free(struct tlsrpt *t);
/* outcome_sink_fn */
void tlsrpt_sink(const struct report_outcome *o, void *ctx);
/* Check the clock now (tests; a timer does it every 10 s): rollover when the day changed. */
void tlsrpt_tick(struct tlsrpt *t);
/* `tlsgatectl tlsrpt flush`: the day so far into reports now, and every spooled report due now. */
int tlsrpt_flush(struct tlsrpt *t);

struct tlsrpt_status {
	bool fleet;
	int64_t day_start;		/* the aggregate's start */
	uint64_t domains, sessions, failures;	/* in the aggregate */
	uint64_t spooled;		/* reports waiting */
	uint64_t delivered, given_up, failed_attempts;	/* since start */
	uint64_t datagrams, datagram_errors;	/* fleet */
	char last_error[256];
};
void tlsrpt_status_get(struct tlsrpt *t, struct tlsrpt_status *st);

/* Any thread: is (mail_from, rcpt) one of our own report submissions (5.3.1)? */
bool tlsrpt_exempt(struct tlsrpt *t, const char *mail_from, const char *rcpt);

#endif
