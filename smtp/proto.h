/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SMTP syntax the relay needs (RFC 5321, 3207, 2920, 3030): command verbs and arguments, paths,
 * BDAT sizes, multi-line replies, EHLO keyword lists.  Pure functions over byte ranges; no I/O.
 *
 * smtp/ is SMTP text and nothing else (no sockets, no policy):
 *   proto.c           this header: commands, paths, replies, end-of-data scan, EHLO keywords
 *   received.c        the Received: header tlsgated writes (Postfix's wording), queue ids
 *   received_parse.c  reading one Received: header back; received_chain.c a message's hops
 *   received_own.c    the organisation's own mail servers (own_mail_servers)
 *   received_verdict.c  the chain judged as a whole: facts and claims, the plain sentence,
 *                     X-Tlsgate-Transport-Security:, the streaming scan of a header section
 */
#ifndef TLSGATE_SMTP_PROTO_H
#define TLSGATE_SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest command line we accept, CRLF included (RFC 5321 says 512; extensions need more). */
#define SMTP_LINE_MAX 2048
/* Longest reply (all lines of one multi-line reply) we relay. */
#define SMTP_REPLY_MAX 16384

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_EHLO,
	SMTP_HELO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BDAT,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_VRFY,
	SMTP_EXPN,
	SMTP_HELP,
	SMTP_ETRN,
	SMTP_XCLIENT,
	SMTP_XFORWARD,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *args;	/* after the verb and its separating space; not NUL-terminated */
	size_t args_len;
};

/*
 * Parse one command line (without its line end).  Returns 0, or -EINVAL for a line that is not a
 * command at all (empty, NUL bytes, a verb that is not letters).  Unknown verbs parse as
 * SMTP_UNKNOWN (they are relayed; the far side answers them).
 */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
const char *smtp_verb_name(enum smtp_verb v);

/*
 * MAIL FROM:<path> [params] / RCPT TO:<path> [params].  prefix is "FROM:" or "TO:" (matched
 * case-insensitively; a space after the colon is tolerated as Postfix does).  The address (without
 * brackets; "" for the null sender <>) is copied NUL-terminated to addr.  Returns 0, -EINVAL on
 * bad syntax, -ENAMETOOLONG when addr is too small.
 */
int smtp_path_parse(const char *args, size_t len, const char *prefix, char *addr, size_t addrlen);

/* The domain of an address, lower-cased without a trailing dot, into out; -EINVAL if none. */
int smtp_addr_domain(const char *addr, char *out, size_t outlen);

/*
 * An envelope address (what smtp_path_parse() found) as a next hop reads it: Postfix with
 * strict_rfc821_envelopes=no tokenises it as RFC 822 text, so comments "(...)" and whitespace
 * outside quoted strings are not part of it, and an RFC 821 source route "@a,@b:" is dropped.
 * out gets what is left ("local@domain", quotes and escapes kept).  -EINVAL when it cannot be
 * read that way (unbalanced quotes or comments, brackets, control characters, an empty local
 * part or domain label, a domain with characters no host name has), -ENAMETOOLONG.
 */
int smtp_addr_canon(const char *raw, char *out, size_t outlen);

/*
 * Every domain a next hop might route a canonical address to, lower-cased, trailing dots
 * dropped: the domain after the last '@' outside quotes, and — because MTAs still honour the
 * percent hack (user%domain@relay) and bang paths (domain!user@relay), and a quoted or escaped
 * '@' is one more reading — every component of the local part split at '%', '!' and '@' when
 * it has any of them.  Address literals come as written ("[192.0.2.1]", "[ipv6:2001:db8::1]").
 * fn is called for each; a non-zero return stops the walk and is returned.  0 when fn never
 * objected (also for an address without a domain: "postmaster").
 */
int smtp_addr_route_domains(const char *addr, int (*fn)(const char *domain, void *ctx), void *ctx);

/* BDAT chunk-size [LAST]; -EINVAL on bad syntax. */
int smtp_bdat_parse(const char *args, size_t len, uint64_t *size, bool *last);

/*
 * Find one complete reply at the start of buf: "ddd-text" lines ending with a "ddd text" (or
 * "ddd") line, all with the same code.  Returns 1 with *code and *reply_len (line ends included),
 * 0 when more bytes are needed, -EPROTO when the bytes cannot be a reply, -EMSGSIZE when the reply
 * would exceed SMTP_REPLY_MAX.
 */
int smtp_reply_scan(const char *buf, size_t len, int *code, size_t *reply_len);

/* Does an EHLO reply list keyword kw (the first word of a line after the first)? */
bool smtp_ehlo_has(const char *reply, size_t len, const char *kw);

/*
 * Rewrite an EHLO reply: drop the keywords in drop[] (NULL-terminated), add the lines in add[]
 * (NULL-terminated; added when their keyword is not among the lines kept, so a keyword both
 * dropped and added comes out once), keep everything else in order, and
 * fix the continuation marks so the last line has a space.  Line ends come out as CRLF.  Returns
 * the output length, or -ENOSPC.
 */
int smtp_ehlo_rewrite(const char *reply, size_t len, const char *const *drop,
		      const char *const *add, char *out, size_t outlen);

/*
 * End-of-data detection for DATA bodies ("\r\n.\r\n"), incremental over any chunking.  The state
 * starts at the beginning of a line (the body follows the 354 reply).  Bare LF is treated as a
 * line end (as Postfix's smtpd_forbid_bare_newline=normalize does): the relay rewrites it to CRLF
 * so that the next hop can never see a line ending this relay did not see (SMTP smuggling).
 */
struct smtp_dot {
	uint8_t state;		/* position in the terminator match */
};

enum smtp_dot_result {
	SMTP_DOT_MORE = 0,	/* all n bytes are body; the end is not among them */
	SMTP_DOT_END,		/* the terminator ends at *used */
	SMTP_DOT_BARE_LF,	/* a bare LF at offset *used: bytes before it are clean */
};

void smtp_dot_init(struct smtp_dot *d);
/*
 * Scan p[0..n).  SMTP_DOT_MORE: *used = n.  SMTP_DOT_END: *used = bytes up to and including the
 * terminator's final LF.  SMTP_DOT_BARE_LF: *used = offset of the bare LF (the caller emits
 * p[0..*used), then "\r\n" in place of the LF, then calls smtp_dot_bare_lf() and continues after
 * it).
 */
enum smtp_dot_result smtp_dot_scan(struct smtp_dot *d, const char *p, size_t n, size_t *used);
/* Account for a bare LF the caller replaced by CRLF; returns true if that ended the data. */
bool smtp_dot_bare_lf(struct smtp_dot *d);

#endif
