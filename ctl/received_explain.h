/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `tlsgatectl explain`'s output: a message's Received: chain told hop by hop, oldest first (the
 * order the message travelled), in words for a reader who does not know SMTP, and a verdict;
 * or the same as JSON.  Hops inside one system (no sending host, loopback, "from X by X",
 * local protocols) are listed but do not count in the verdict: they crossed no network.
 * The chain may have been walked (received_chain_walk()) with the organisation's own servers:
 * then each hop says whose word it is.  The verdict itself is smtp/received_verdict.h's, the
 * one the inbound relay writes into messages.
 */
#ifndef TLSGATE_CTL_RECEIVED_EXPLAIN_H
#define TLSGATE_CTL_RECEIVED_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "smtp/received_parse.h"
#include "smtp/received_verdict.h"

/* Plain-language text.  Returns 0 or -EIO when out reports a write error. */
int received_explain_text(FILE *out, const struct received_chain *c);

/* JSON (lib/jsonw).  Returns 0, -ENOMEM or -EIO. */
int received_explain_json(FILE *out, const struct received_chain *c, bool pretty);

/*
 * The chain as a picture: one self-contained HTML page (inline SVG and CSS, no script, no
 * external resource), the servers as boxes, each hop an arrow with a closed or open lock and
 * why (received_html.c).  Every hop's element carries data-hop and data-encrypted with the
 * values of the JSON's hops[].hop and hops[].encrypted.  Returns 0 or -EIO.
 */
int received_explain_html(FILE *out, const struct received_chain *c);

#endif
