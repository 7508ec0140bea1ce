/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A DKIM signer (RFC 6376) for the TLS reports the gateway mails (report/tlsrpt.h, RFC 8460
 * 5.3): rsa-sha256, relaxed/relaxed canonicalization.  Signs a whole message given as text
 * (CRLF line ends, a header section, an empty line, the body) and returns the DKIM-Signature
 * header to put above it.  No sockets.
 *
 * Why our own signer rather than the inside MTA's: the report is made by the gateway, and the
 * gateway is the only component sure to see it (the inside MTA may have no signer, or sign only
 * mail from its own users); RFC 8460 5.3 asks receivers to check the signature, so an unsigned
 * report may be dropped.  The key is configured (tlsrpt_dkim_key), so an organisation can
 * reuse the selector its MTA already publishes.
 */
#ifndef TLSGATE_REPORT_DKIM_H
#define TLSGATE_REPORT_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct dkim_opts {
	EVP_PKEY *key;		/* RSA private key */
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	const char *headers;	/* h=, colon-separated, lower case: the header fields signed */
	int64_t time;		/* t= (unix seconds); 0: none */
};

/* Load a PEM private key (RSA, at least 1024 bits). 0 or -errno; why says what. */
int dkim_key_load(const char *file, EVP_PKEY **key, char *why, size_t whylen);

/*
 * The "DKIM-Signature: ...\r\n" header (folded, malloc'd) for msg.  0, -EINVAL (no header/body
 * separator), -ENOMEM, -EIO (signing failed).
 */
int dkim_sign(const struct dkim_opts *o, const char *msg, size_t len, char **hdr);

/* The canonical forms (exposed for tests). malloc'd. */
int dkim_canon_body_relaxed(const char *body, size_t len, char **out, size_t *outlen);
/* One header field (name: value, possibly folded, without its final CRLF) -> "name:value" */
int dkim_canon_header_relaxed(const char *field, size_t len, char **out, size_t *outlen);

#endif
