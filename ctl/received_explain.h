/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `tlsgatectl explain`'s output: a message's Received: chain told hop by hop, oldest first (the
 * order the message travelled), in words for a reader who does not know SMTP, and a verdict;
 * or the same as JSON.  Hops inside one system (no sending host, loopback, "from X by X",
 * local protocols) are listed but do not count in the verdict: they crossed no network.
 */
#ifndef TLSGATE_CTL_RECEIVED_EXPLAIN_H
#define TLSGATE_CTL_RECEIVED_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "smtp/received_parse.h"

struct received_verdict {
	size_t transfers;	/* hops between two servers */
	size_t encrypted;	/* ... that recorded TLS */
	size_t plaintext;	/* ... that recorded no TLS */
	size_t unrecorded;	/* ... that did not say */
	size_t outdated;	/* encrypted with a version older than TLS 1.2 */
};

void received_verdict(const struct received_chain *c, struct received_verdict *v);

/* The one-sentence summary ("Every hop that recorded its security was encrypted."). */
const char *received_verdict_summary(const struct received_verdict *v);

/* Plain-language text.  Returns 0 or -EIO when out reports a write error. */
int received_explain_text(FILE *out, const struct received_chain *c);

/* JSON (lib/jsonw).  Returns 0, -ENOMEM or -EIO. */
int received_explain_json(FILE *out, const struct received_chain *c, bool pretty);

#endif
