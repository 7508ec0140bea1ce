/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace headers the inbound relay prepends to every message (DATA and BDAT): a Received:
 * header byte for byte in the format of Postfix's smtpd, so that the tools that already read
 * Postfix headers (and `tlsgatectl explain`) read ours; an optional one-line X-Tlsgate-TLS:
 * summary; and the queue id that names the message in both headers and in the logs.
 *
 *   Received: from HELO (RDNS [ADDR])
 *   <TAB>(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
 *   <TAB> key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)
 *   <TAB>(No client certificate requested)
 *   <TAB>by BY_HOST (tlsgate) with ESMTPS id QUEUEID
 *   <TAB>for <RCPT>; Sun, 29 Nov 2026 01:24:48 +0000 (UTC)
 *
 * Plaintext: no "(using ...)" and no certificate line, "with ESMTP".  Several recipients (or
 * none): "by ... id QUEUEID;" then "<TAB>DATE" on its own line, no "for".  The key-exchange line
 * is written only when the caller fills the optional key-exchange/signature fields: Postfix
 * (>= 3.4) writes it for TLS 1.3 sessions only, so fill them only then to read the same.
 * Lines end in CRLF.
 */
#ifndef TLSGATE_SMTP_RECEIVED_H
#define TLSGATE_SMTP_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The name in "by HOST (tlsgate)", where Postfix writes its mail_name "Postfix". */
#define RECEIVED_MAIL_NAME "tlsgate"

/*
 * Every line is at most 998 octets plus CRLF and there are at most 7 lines, so a buffer of this
 * size always holds a header that received_format() accepts.
 */
#define RECEIVED_HEADER_MAX 8192

/* The longest line (without CRLF) the formatter writes: RFC 5322 section 2.1.1. */
#define RECEIVED_LINE_MAX 998

/* Enough for any queue id received_queue_id() writes, with its NUL. */
#define RECEIVED_QUEUE_ID_SIZE 32

/* What the TLS session negotiated; every "optional" field may be NULL / 0. */
struct received_tls {
	const char *version;		/* SSL_get_version(): "TLSv1.3" */
	const char *cipher;		/* SSL_CIPHER_get_name(): "TLS_AES_256_GCM_SHA384" */
	int bits;			/* SSL_CIPHER_get_bits(c, &alg_bits) */
	int alg_bits;
	const char *kex_name;		/* optional: "X25519", "ECDHE", "DHE" */
	const char *kex_curve;		/* optional: "P-256" -> "key-exchange ECDHE (P-256)" */
	int kex_bits;			/* optional: finite-field group size, used without a curve */
	const char *sig_name;		/* optional: our signature "RSA-PSS", "ECDSA" */
	const char *sig_curve;		/* optional: "P-256" */
	int sig_bits;			/* optional: RSA key size, used without a curve */
	const char *sig_digest;		/* optional: "SHA256" */
	/*
	 * The certificate clause without its parentheses; NULL means "No client certificate
	 * requested".  Postfix's other wordings: "Client did not present a certificate",
	 * "Client CN \"x\", Issuer \"y\" (verified OK)" / "(not verified)".
	 */
	const char *client_cert;
};

struct received_info {
	const char *helo;		/* HELO/EHLO argument; NULL: none given (rdns is written) */
	const char *rdns;		/* verified reverse-DNS name; NULL or "": "unknown" */
	const char *addr;		/* client address in numeric form, without brackets */
	int family;			/* AF_INET or AF_INET6 (IPv4-mapped IPv6 is written as IPv4) */
	bool esmtp;			/* the client said EHLO: ESMTP/ESMTPS, else SMTP */
	const struct received_tls *tls;	/* NULL: plaintext session */
	const char *by_host;		/* the gateway's host name */
	const char *queue_id;		/* NULL: no " id QUEUEID" */
	const char *const *rcpts;	/* RCPT TO addresses without <>, as the client sent them */
	size_t nrcpt;			/* "for <rcpt>" only when exactly one */
	time_t when;			/* arrival; written in local time as Postfix does */
};

/*
 * Write the complete Received: header (all lines, CRLF after each) and a NUL into buf.
 * Returns its length without the NUL, -EINVAL for a missing or malformed field (by_host, addr,
 * family, a TLS session without version or cipher), -EMSGSIZE if a line would be longer than
 * RECEIVED_LINE_MAX, -ENOSPC if buf is too small.  What the client chose cannot add lines or
 * unbalance the header's comments: HELO, names and TLS words keep only host-name characters
 * (letters, digits and "-._:[]"; stricter than Postfix, which writes HELO verbatim), the
 * recipient and the certificate text only printable ASCII; anything else is written as '?'.
 */
int received_format(const struct received_info *ri, char *buf, size_t len);

/*
 * The one-line summary header, e.g.
 *   X-Tlsgate-TLS: tls=yes version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256
 *   client=[192.0.2.10] id=QUEUEID      (one line; "tls=no client=[...] id=..." in plaintext)
 * Same returns as received_format().
 */
int received_tls_summary(const struct received_info *ri, char *buf, size_t len);

/*
 * Postfix's date format (mail_date()): "Sun, 29 Nov 2026 01:24:48 +0000 (UTC)", day of month
 * space-padded ("Mon,  1 Sep 2025 ..."), local time zone.  Returns the length or -ENOSPC.
 */
int received_date(time_t when, char *buf, size_t len);

/*
 * A queue id in Postfix's long format (enable_long_queue_ids): seconds in base 52 (at least six
 * digits), microseconds in base 52 (exactly four), 'z', then a base-51 number that makes it
 * unique (Postfix uses the queue file's inode; we use the process id and a per-process counter).
 * The alphabet is digits and consonants, so ids never spell words.  Thread-safe.
 * Returns the length or -ENOSPC (RECEIVED_QUEUE_ID_SIZE always suffices).
 */
int received_queue_id(char *buf, size_t len);

/* The same from explicit parts (tests, and anyone who wants a deterministic id). */
int received_queue_id_encode(uint64_t sec, uint32_t usec, uint64_t uniq, char *buf, size_t len);

#endif
