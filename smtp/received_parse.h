/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading the Received: headers of a message back: which server handed it to which, and
 * whether that hop was encrypted, with which TLS version and cipher.
 *
 * A Received: field is RFC 5321 section 4.4's "from X by Y via Z with P id I for F; DATE" with
 * comments anywhere, and every MTA puts the TLS facts into its own comments:
 *   Postfix    (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ...)
 *   Exim 4.9x  with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384
 *   Exim older with esmtps (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256)
 *   Microsoft  with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_...) id ...
 *   Gmail      with ESMTPS id ... (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128)
 *              with SMTPS id ... (Google Transport Security)
 *   sendmail   (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)
 *   IronPort   with ESMTP/TLS/ECDHE-RSA-AES256-GCM-SHA384
 * and when there is none, RFC 3848's protocol keyword says whether TLS was used (ESMTPS,
 * ESMTPSA, LMTPS, UTF8SMTPS... = TLS; SMTP, ESMTP, ESMTPA... = not); Exchange Online's
 * "with HTTPS" (a mailbox server's delivery over HTTPS) is TLS too.
 *
 * What the receiver says about the other side's certificate is kept apart: Postfix's "(No
 * client certificate requested)", "(verified OK)", "(not verified)"; sendmail's verify=OK,
 * NOT, NO, FAIL...  An encrypted hop whose certificate nobody checked is still encrypted, but
 * nobody vouched for who was at the other end.
 *
 * Everything stored is printable ASCII (other bytes become '?'), so it is safe to print on a
 * terminal and to put into JSON.
 */
#ifndef TLSGATE_SMTP_RECEIVED_PARSE_H
#define TLSGATE_SMTP_RECEIVED_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* More Received: headers than this are not read (Postfix bounces at 50 hops). */
#define RECEIVED_MAX_HOPS 256

enum received_tls_state {
	RECEIVED_TLS_UNKNOWN = 0,	/* the server did not record it */
	RECEIVED_TLS_YES,
	RECEIVED_TLS_NO,
};

/* Whose wording the header uses (what the TLS facts were read from, or the MTA's name). */
enum received_style {
	RECEIVED_STYLE_GENERIC = 0,
	RECEIVED_STYLE_POSTFIX,
	RECEIVED_STYLE_EXIM,
	RECEIVED_STYLE_MICROSOFT,
	RECEIVED_STYLE_GMAIL,
	RECEIVED_STYLE_SENDMAIL,
	RECEIVED_STYLE_TLSGATE,		/* ours: Postfix's wording, "(tlsgate)" */
};

/* Why a hop did not cross a network between two servers (and so does not count in a verdict). */
enum received_local {
	RECEIVED_LOCAL_NO = 0,		/* a transfer between two hosts */
	RECEIVED_LOCAL_NO_FROM,		/* no "from": a step inside one mail system */
	RECEIVED_LOCAL_LOOPBACK,	/* the client address is 127.0.0.0/8 or ::1 */
	RECEIVED_LOCAL_SAME_HOST,	/* "from X ... by X" */
	RECEIVED_LOCAL_PROTOCOL,	/* "with local", "with mapi", Exim's local-* */
	RECEIVED_LOCAL_INTERNAL,	/* between two of the organisation's own servers
					 * (received_walk: the sender is on the own list) */
};

/* What the receiver recorded about the sending side's certificate. */
enum received_cert {
	RECEIVED_CERT_UNKNOWN = 0,	/* not recorded */
	RECEIVED_CERT_VERIFIED,		/* sendmail verify=OK, Postfix "(verified OK)" */
	RECEIVED_CERT_NOT_CHECKED,	/* verify=NOT/NO/NONE, "No client certificate requested",
					 * "Client did not present a certificate" */
	RECEIVED_CERT_FAILED,		/* verify=FAIL and the other failures, "(not verified)" */
};

/*
 * Whose word a hop is, once the organisation's own servers are known (received_walk):
 * written by one of them (a fact: the organisation's own server recorded it), or below the
 * first hop they received (the sender's servers' claim: it may be forged).
 */
enum received_trust {
	RECEIVED_TRUST_UNKNOWN = 0,	/* no list of own servers: not judged */
	RECEIVED_TRUST_OWN,
	RECEIVED_TRUST_CLAIM,
};

#define RECEIVED_NAME_SIZE 256

struct received_hop {
	char from[RECEIVED_NAME_SIZE];		/* the name after "from" (often the HELO name) */
	char from_rdns[RECEIVED_NAME_SIZE];	/* the name the receiver looked up, "" if none */
	char from_addr[64];			/* the client's IP address, "" if not recorded */
	char by[RECEIVED_NAME_SIZE];		/* the server that wrote this header */
	char protocol[64];			/* the "with" word(s): "ESMTPS", "esmtpsa", "mapi" */
	char id[128];
	char date[96];				/* after the ';', whitespace collapsed */
	char tls_version[32];	/* "TLSv1.3", "TLSv1.2", ..., "TLSv1.0", "SSLv3"; else as written */
	char cipher[128];
	unsigned int bits;	/* symmetric key bits, 0 if not recorded */
	enum received_tls_state tls;
	enum received_style style;
	enum received_local local;
	enum received_cert cert;
	char cert_note[64];	/* the receiver's words for it: "verify=NOT" */
	/* set by received_walk_hop(), not by the parser */
	enum received_trust trust;
	bool first_receipt;	/* the hop where the organisation received the message */
};

/* The Received: headers of one message, newest (topmost) first, as they appear. */
struct received_chain {
	struct received_hop *hop;
	size_t n;
	bool truncated;		/* more than RECEIVED_MAX_HOPS; the oldest were not read */
};

/*
 * Parse one Received: field body (everything after "Received:", folded or not).  Never fails on
 * content: what cannot be recognised stays empty / unknown.
 */
void received_parse_field(const char *value, size_t len, struct received_hop *hop);

/*
 * Parse a message (or just its header section) as RFC 5322: fields, folding, the header
 * section ending at the first empty line; an mbox "From " first line is skipped; a line that
 * is neither a field nor a continuation ends the header section as the start of the body.
 * CRLF and bare LF line ends are both accepted.  Returns 0 or -ENOMEM; free with
 * received_chain_free().
 */
int received_chain_parse(const char *msg, size_t len, struct received_chain *c);
void received_chain_free(struct received_chain *c);

/* The TLS version is older than TLS 1.2 (TLS 1.0, 1.1, SSL). */
bool received_tls_outdated(const struct received_hop *hop);

/* "TLS 1.3" for "TLSv1.3" (plain words), else the version as stored. */
const char *received_tls_words(const struct received_hop *hop, char *buf, size_t len);

const char *received_tls_state_name(enum received_tls_state s);	/* "yes", "no", "unknown" */
const char *received_style_name(enum received_style s);	/* "postfix", "exim", ... */
const char *received_local_name(enum received_local l);	/* NULL for RECEIVED_LOCAL_NO */
/* "verified", "not-checked", "failed"; NULL for RECEIVED_CERT_UNKNOWN */
const char *received_cert_name(enum received_cert c);
/* "own", "claim"; NULL for RECEIVED_TRUST_UNKNOWN */
const char *received_trust_name(enum received_trust t);

/*
 * Who handed the message over, as the receiver saw it: its looked-up name, else the name it
 * gave, else its address ("an unnamed server").  And who received it.
 */
const char *received_sender_name(const struct received_hop *h);
const char *received_receiver_name(const struct received_hop *h);

#endif
