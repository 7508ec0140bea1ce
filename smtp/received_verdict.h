/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One message's Received: chain judged as a whole: whose word each hop is (the walk), how many
 * transfers between servers were encrypted (the verdict), and that verdict in one plain
 * sentence, e.g.
 *   Encrypted on every recorded hop; the last hop used TLS 1.3.
 *   NOT encrypted between old.example and relay.corp.example.
 * which `tlsgatectl explain` prints and the inbound relay writes into the message as
 *   X-Tlsgate-Transport-Security: <the sentence>
 * Both read hops newest first (the order of the headers), so the relay can judge a header
 * section while it streams through, in bounded memory (struct received_scan), and reach the
 * same verdict as explain on the stored message.
 *
 * The sentence starts with one of these, for rules that match it (docs/BANNER.md):
 *   "Encrypted on every recorded hop"   every transfer recorded TLS
 *   "Encrypted on N of M hops"          none recorded plaintext, some did not say
 *   "NOT encrypted between"             at least one transfer recorded plaintext
 *   "No hop recorded"                   transfers, none of which said
 *   "No transfer between mail servers"  nothing to judge
 */
#ifndef TLSGATE_SMTP_RECEIVED_VERDICT_H
#define TLSGATE_SMTP_RECEIVED_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp/received_own.h"
#include "smtp/received_parse.h"

#define RECEIVED_VERDICT_HEADER "X-Tlsgate-Transport-Security"
/* The header as received_verdict_header() writes it always fits. */
#define RECEIVED_VERDICT_HEADER_MAX 1536

/*
 * Whose word each hop is, walking newest first.  The hops an own server wrote are facts; a
 * fact whose sender is an own server too is a transfer inside the organisation
 * (RECEIVED_LOCAL_INTERNAL, not counted in the verdict) and the header below it is again an own
 * server's; the first fact whose sender is not one is where the organisation received the
 * message (first_receipt), and every hop below it is a claim.  Hops above the first one an own
 * server wrote are claims too.  Without a list, nothing is judged unless a hop is passed as
 * written_by_us (the gateway's own Received: line).
 */
struct received_walk {
	const struct received_own *own;
	bool active;   /* trust is judged */
	bool trusted;  /* the next (older) header is an own server's */
	bool received; /* the first receipt is behind */
};

void received_walk_init(struct received_walk *w, const struct received_own *own);
void received_walk_hop(struct received_walk *w, struct received_hop *h, bool written_by_us);
/* The whole chain (hop[0] newest); own may be NULL. */
void received_chain_walk(struct received_chain *c, const struct received_own *own);

struct received_verdict {
	size_t hops;	   /* every Received: line */
	size_t transfers;  /* hops between two servers (not local, not internal) */
	size_t encrypted;  /* ... that recorded TLS */
	size_t plaintext;  /* ... that recorded no TLS */
	size_t unrecorded; /* ... that did not say */
	size_t outdated;   /* encrypted with a version older than TLS 1.2 */
	size_t claims;	   /* transfers the sender's servers claim (below the first receipt) */
	size_t internal;   /* transfers between two own servers */
	/* for the sentence: the newest plaintext transfer, the newest outdated one, the newest
	 * transfer (the last hop) */
	char plain_from[RECEIVED_NAME_SIZE], plain_to[RECEIVED_NAME_SIZE];
	bool plain_claim;
	char old_from[RECEIVED_NAME_SIZE], old_to[RECEIVED_NAME_SIZE], old_tls[32];
	bool have_last;
	enum received_tls_state last;
	char last_tls[32]; /* "TLS 1.3"; "" when it did not record the version */
};

void received_verdict_init(struct received_verdict *v);
/* One hop, newest first (after received_walk_hop()). */
void received_verdict_add(struct received_verdict *v, const struct received_hop *h);
/* The whole chain (walked or not). */
void received_verdict(const struct received_chain *c, struct received_verdict *v);

/* The one-line summary of explain's verdict section. */
const char *received_verdict_summary(const struct received_verdict *v);

/* The plain sentence (see above), NUL-terminated, truncated to len.  Returns its length. */
size_t received_verdict_words(const struct received_verdict *v, char *buf, size_t len);

/*
 * "X-Tlsgate-Transport-Security: <sentence>" folded at white space to lines of at most 78
 * characters, CRLF after each.  Returns the length, or -ENOSPC (RECEIVED_VERDICT_HEADER_MAX
 * always suffices).
 */
int received_verdict_header(const struct received_verdict *v, char *buf, size_t len);

/* The line at p (n bytes available) starts field `name` ("Received" matches "received :"). */
bool received_field_is(const char *p, size_t n, const char *name);
/*
 * The line at p (n bytes available, up to its end or at least 998) starts a field: a name of
 * printable characters but ':', white space, ':' -- as received_chain_parse() reads a header
 * section, where any other line starts the body.
 */
bool received_field_line(const char *p, size_t n);

/*
 * A header section judged as it streams by: the caller says where each field starts and
 * passes its bytes (folded lines included, in any pieces); a Received: field longer than
 * RECEIVED_SCAN_FIELD_MAX is judged on its beginning.  Memory: this struct, whatever the
 * number of fields.
 */
#define RECEIVED_SCAN_FIELD_MAX 4096

struct received_scan {
	struct received_walk walk;
	struct received_verdict v;
	bool in_received;
	size_t len;
	char field[RECEIVED_SCAN_FIELD_MAX];
	struct received_hop hop;
};

void received_scan_init(struct received_scan *sc, const struct received_own *own);
/* Our own Received: header (the whole field, "Received: ..."), the newest hop. */
void received_scan_ours(struct received_scan *sc, const char *field, size_t len);
/* A field starts (the previous one ends); received: it is a Received: field. */
void received_scan_field(struct received_scan *sc, bool received);
void received_scan_bytes(struct received_scan *sc, const char *p, size_t n);
/* The header section is over. */
void received_scan_end(struct received_scan *sc);

#endif
