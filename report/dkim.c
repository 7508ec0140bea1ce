// SPDX-License-Identifier: GPL-2.0-only
/* DKIM signing, rsa-sha256 relaxed/relaxed: see report/dkim.h. */
#include "report/dkim.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

int dkim_key_load(const char *file, EVP_PKEY **key, char *why, size_t whylen)
{
	FILE *f = fopen(file, "r");
	EVP_PKEY *k;

	*key = NULL;
	if (!f) {
		int err = errno;

		snprintf(why, whylen, "%s: %s", file, strerror(err));
		return -err;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		snprintf(why, whylen, "%s: not a PEM private key", file);
		ERR_clear_error();
		return -EINVAL;
	}
	if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_bits(k) < 1024) {
		snprintf(why, whylen, "%s: rsa-sha256 needs an RSA key of 1024 bits or more", file);
		EVP_PKEY_free(k);
		return -EINVAL;
	}
	*key = k;
	return 0;
}

/* RFC 6376 3.4.4: WSP runs to one SP, none at line ends, no empty lines at the end. */
int dkim_canon_body_relaxed(const char *body, size_t len, char **out, size_t *outlen)
{
	char *o = malloc(2 * len + 3);	/* a bare LF becomes CRLF */
	size_t n = 0, keep = 0;	/* keep: length up to the last non-empty line's CRLF */

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		size_t e = i, le;
		bool sp = false, any = false;

		while (e < len && body[e] != '\n')
			e++;
		le = e;
		if (le > i && body[le - 1] == '\r')
			le--;
		for (size_t k = i; k < le; k++) {
			if (wsp(body[k])) {
				sp = true;
				continue;
			}
			if (sp)
				o[n++] = ' '; /* leading WSP too becomes one SP */
			sp = false;
			any = true;
			o[n++] = body[k];
		}
		o[n++] = '\r';
		o[n++] = '\n';
		if (any)
			keep = n;
		i = e < len ? e + 1 : e;
	}
	*out = o;
	*outlen = keep; /* an empty body is empty (RFC 6376 erratum 3082) */
	return 0;
}

/* RFC 6376 3.4.2 */
int dkim_canon_header_relaxed(const char *field, size_t len, char **out, size_t *outlen)
{
	const char *colon = memchr(field, ':', len);
	char *o;
	size_t n = 0, nl;
	bool sp = false, any = false;

	if (!colon)
		return -EINVAL;
	o = malloc(len + 2);
	if (!o)
		return -ENOMEM;
	nl = (size_t)(colon - field);
	while (nl && wsp(field[nl - 1]))
		nl--;
	for (size_t i = 0; i < nl; i++)
		o[n++] = (char)tolower((unsigned char)field[i]);
	o[n++] = ':';
	for (size_t i = (size_t)(colon - field) + 1; i < len; i++) {
		char c = field[i];

		if (c == '\r' || c == '\n' || wsp(c)) {
			sp = true; /* unfolding, and WSP runs */
			continue;
		}
		if (sp && any)
			o[n++] = ' ';
		sp = false;
		any = true;
		o[n++] = c;
	}
	*out = o;
	*outlen = n;
	return 0;
}

static char *b64(const unsigned char *in, size_t len)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *o = malloc(cap);

	if (o)
		EVP_EncodeBlock((unsigned char *)o, in, (int)len);
	return o;
}

/* The last instance of header name in hdrs (RFC 6376 5.4.2: signed from the bottom up; we sign
 * each name once).  *field, *flen without the final CRLF; false when absent. */
static bool find_header(const char *hdrs, size_t hlen, const char *name, const char **field,
			size_t *flen)
{
	size_t nlen = strlen(name);
	bool found = false;

	for (size_t i = 0; i < hlen;) {
		size_t e = i;

		/* a field runs until a line that does not start with WSP */
		for (;;) {
			while (e < hlen && hdrs[e] != '\n')
				e++;
			if (e + 1 < hlen && wsp(hdrs[e + 1])) {
				e++;
				continue;
			}
			break;
		}
		if (e - i > nlen && !strncasecmp(hdrs + i, name, nlen)) {
			size_t k = i + nlen;

			while (k < e && wsp(hdrs[k]))
				k++;
			if (k < e && hdrs[k] == ':') {
				*field = hdrs + i;
				*flen = e - i;
				if (*flen && hdrs[i + *flen - 1] == '\r')
					(*flen)--;
				found = true;
			}
		}
		i = e + 1;
	}
	return found;
}

int dkim_sign(const struct dkim_opts *o, const char *msg, size_t len, char **hdr)
{
	unsigned char bh[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int bhlen = 0;
	const char *sep = NULL, *body;
	size_t hlen, clen, siglen = 0;
	char *cbody = NULL, *bhb = NULL, *sigb = NULL, *dkim = NULL, *c = NULL, *hv = NULL;
	EVP_MD_CTX *md = NULL;
	FILE *f = NULL;
	size_t dlen = 0;
	int rc = -ENOMEM;

	*hdr = NULL;
	for (size_t i = 0; i + 3 < len && !sep; i++)
		if (!memcmp(msg + i, "\r\n\r\n", 4))
			sep = msg + i;
	if (!sep)
		return -EINVAL;
	hlen = (size_t)(sep - msg) + 2;	/* with the last field's CRLF */
	body = sep + 4;
	/* bh= */
	if (dkim_canon_body_relaxed(body, len - (size_t)(body - msg), &cbody, &clen))
		goto out;
	if (!EVP_Digest(cbody, clen, bh, &bhlen, EVP_sha256(), NULL)) {
		rc = -EIO;
		goto out;
	}
	bhb = b64(bh, bhlen);
	if (!bhb)
		goto out;
	/* the signature header with an empty b= (RFC 6376 3.7) */
	f = open_memstream(&dkim, &dlen);
	if (!f)
		goto out;
	fprintf(f, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=%s;", o->domain,
		o->selector);
	if (o->time)
		fprintf(f, " t=%" PRId64 ";", o->time);
	fprintf(f, "\r\n\th=%s;\r\n\tbh=%s;\r\n\tb=", o->headers, bhb);
	if (fclose(f)) {
		f = NULL;
		goto out;
	}
	f = NULL;
	/* the hash: the signed fields, relaxed, then the DKIM-Signature field without CRLF */
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, o->key) != 1) {
		rc = -EIO;
		goto out;
	}
	for (const char *h = o->headers; *h;) {
		size_t n = strcspn(h, ":"), flen;
		const char *field;
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), h);
		h += n;
		if (*h)
			h++;
		/* a name in h= without a field signs its absence: nothing hashed (5.4) */
		if (!find_header(msg, hlen, name, &field, &flen))
			continue;
		if (dkim_canon_header_relaxed(field, flen, &c, &clen))
			goto out;
		if (EVP_DigestSignUpdate(md, c, clen) != 1 || EVP_DigestSignUpdate(md, "\r\n", 2) != 1) {
			rc = -EIO;
			goto out;
		}
		free(c);
		c = NULL;
	}
	if (dkim_canon_header_relaxed(dkim, dlen, &c, &clen) ||
	    EVP_DigestSignUpdate(md, c, clen) != 1 ||
	    EVP_DigestSignFinal(md, NULL, &siglen) != 1) {
		rc = -EIO;
		goto out;
	}
	sig = malloc(siglen);
	if (!sig)
		goto out;
	if (EVP_DigestSignFinal(md, sig, &siglen) != 1) {
		rc = -EIO;
		goto out;
	}
	sigb = b64(sig, siglen);
	if (!sigb)
		goto out;
	/* b= folded at 72 columns so that no line of the header is over-long */
	f = open_memstream(&hv, &dlen);
	if (!f)
		goto out;
	fputs(dkim, f);
	for (size_t i = 0, n = strlen(sigb); i < n; i += 72)
		fprintf(f, "%s%.72s", i ? "\r\n\t " : "", sigb + i);
	fputs("\r\n", f);
	if (fclose(f)) {
		f = NULL;
		goto out;
	}
	f = NULL;
	*hdr = hv;
	hv = NULL;
	rc = 0;
out:
	if (rc == -EIO)
		ERR_clear_error();
	if (f)
		fclose(f);
	EVP_MD_CTX_free(md);
	free(cbody);
	free(bhb);
	free(sigb);
	free(sig);
	free(dkim);
	free(c);
	free(hv);
	return rc;
}
