// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kept TLS peer and its later DANE and MTA-STS checks: see daemon/tls_peer.h.  The DANE check
 * does what OpenSSL's handshake does with a DANE-configured SSL (ssl_verify_cert_chain: the SSL's
 * SSL_DANE on an X509_STORE_CTX over the context's store, "ssl_server" defaults, the SSL's
 * verification parameters, X509_verify_cert, then the peer name moved back into the SSL), so that
 * ktls_dane_outcome() reads and words the result exactly as after a handshake.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/tls_client.h"
#include "ktls/dane.h"
#include "daemon/tls_peer.h"

/* Room for ktls_dane_outcome's longest words: "verified by DANE-TA(2) 1 1 depth N name " + a
 * name, or "no TLSA record matched (certificate verify: <OpenSSL's reason>)". */
#define TLS_PEER_MEMO_TEXT (POLICY_DANE_NAME_MAX + 96)
/* A session usually carries recipients of one domain, sometimes a few behind the same MX: two
 * remembered answers cover the common cases for ~0.8 KiB, paid only by sessions that ask. */
#define TLS_PEER_MEMO_SLOTS 2

/* One answered DANE question: SHA-256 over everything the answer depends on (memo_key). */
struct tls_peer_memo {
	bool used;
	unsigned char key[32];
	int rc;
	char text[TLS_PEER_MEMO_TEXT];
};

/* Certificates kept after the leaf: a longer chain is cut (its verification then fails). */
#define TLS_PEER_MAX_CERTS 8

/*
 * The leaf stays parsed (every check reads it; parsing one costs ~90 µs with OpenSSL 3.0's
 * decoders); the certificates the peer sent after it are kept as DER -- a parsed certificate
 * costs 3-4 KiB of heap, its DER about a third of that, and an idle relayed session with its
 * TLS in the kernel is ~8 KiB all told -- and parsed only for a question about DANE-TA records
 * that the memo cannot answer (DANE-EE and MTA-STS read the leaf alone).
 */
struct tls_peer {
	X509 *leaf;
	int version;		/* SSL_version(): TLS1_2_VERSION, ... */
	time_t at;		/* the handshake: later verifications use its time */
	bool webpki_roots;	/* false: no MTA-STS trust anchors were configured */
	int webpki_err;		/* X509_V_OK or why the chain is not WebPKI-valid */
	struct tls_peer_memo *memo; /* TLS_PEER_MEMO_SLOTS, allocated by the first question */
	unsigned int memo_next;
	unsigned int ncert;	/* the chain as sent after the leaf */
	uint32_t len[TLS_PEER_MAX_CERTS];
	unsigned char der[];
};

/* The chain for a verification: the leaf, then (with_sent) the certificates the peer sent after
 * it.  The caller frees it; 0 or -ENOMEM. */
static int peer_chain(const struct tls_peer *p, bool with_sent, STACK_OF(X509) **chain)
{
	const unsigned char *d = p->der;

	*chain = sk_X509_new_null();
	if (!*chain || !X509_up_ref(p->leaf))
		goto fail;
	if (!sk_X509_push(*chain, p->leaf)) {
		X509_free(p->leaf);
		goto fail;
	}
	for (unsigned int i = 0; with_sent && i < p->ncert; i++) {
		const unsigned char *q = d;
		X509 *x = d2i_X509(NULL, &q, (long)p->len[i]);

		if (!x || !sk_X509_push(*chain, x)) {
			X509_free(x);
			goto fail;
		}
		d += p->len[i];
	}
	return 0;
fail:
	sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
	return -ENOMEM;
}

/* The peer with the certificates sent after the leaf, each once, as DER. */
static struct tls_peer *peer_new(X509 *leaf, STACK_OF(X509) *sent)
{
	X509 *c[TLS_PEER_MAX_CERTS];
	unsigned int n = 0;
	size_t total = 0;
	struct tls_peer *p;
	unsigned char *d;
	int l;

	for (int i = 0; sent && i < sk_X509_num(sent) && n < TLS_PEER_MAX_CERTS; i++) {
		X509 *x = sk_X509_value(sent, i);

		if (X509_cmp(x, leaf)) /* the client's view of the chain starts with the leaf */
			c[n++] = x;
	}
	for (unsigned int i = 0; i < n; i++) {
		l = i2d_X509(c[i], NULL);
		if (l <= 0)
			return NULL;
		total += (size_t)l;
	}
	p = calloc(1, sizeof(*p) + total);
	if (!p)
		return NULL;
	d = p->der;
	for (unsigned int i = 0; i < n; i++) {
		l = i2d_X509(c[i], &d);
		if (l <= 0) {
			free(p);
			return NULL;
		}
		p->len[i] = (uint32_t)l;
	}
	p->ncert = n;
	if (!X509_up_ref(leaf)) {
		free(p);
		return NULL;
	}
	p->leaf = leaf;
	return p;
}

int tls_peer_keep(SSL *ssl, X509_STORE *webpki, struct tls_peer **out)
{
	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	X509_STORE_CTX *x = NULL;
	struct tls_peer *p;

	*out = NULL;
	if (!leaf)
		return -ENOENT;
	/* Whatever verification leaves in the thread's error queue is ours to drop: a stale entry
	 * would make the next SSL_get_error() of another session on this thread report a failure.
	 */
	ERR_set_mark();
	p = peer_new(leaf, sent);
	if (!p)
		goto fail;
	p->version = SSL_version(ssl);
	p->at = time(NULL);
	p->webpki_err = X509_V_OK;
	if (webpki) {
		/* Once per handshake (tens of µs), not per RCPT.  No name here: MTA-STS names
		 * the MX host, which tls_peer_sts() checks on the leaf. */
		x = X509_STORE_CTX_new();
		if (!x || !X509_STORE_CTX_init(x, webpki, leaf, sent) ||
		    !X509_STORE_CTX_set_default(x, "ssl_server"))
			goto fail;
		X509_STORE_CTX_set_time(x, 0, p->at);
		p->webpki_roots = true;
		if (X509_verify_cert(x) != 1) {
			p->webpki_err = X509_STORE_CTX_get_error(x);
			if (p->webpki_err == X509_V_OK) /* an internal error, not a verdict */
				p->webpki_err = X509_V_ERR_UNSPECIFIED;
		}
	}
	X509_STORE_CTX_free(x);
	ERR_pop_to_mark();
	*out = p;
	return 0;
fail:
	X509_STORE_CTX_free(x);
	ERR_pop_to_mark();
	tls_peer_free(p);
	return -ENOMEM;
}

void tls_peer_free(struct tls_peer *p)
{
	if (!p)
		return;
	X509_free(p->leaf);
	free(p->memo);
	free(p);
}

static int digest_str(EVP_MD_CTX *md, const char *s)
{
	/* With its NUL: "ab"+"c" and "a"+"bc" must differ. */
	return EVP_DigestUpdate(md, s ? s : "", s ? strlen(s) + 1 : 1);
}

/*
 * Everything a DANE answer depends on besides the peer itself: the context (its store and DANE
 * flags), the host's state, names and records, and the next-hop domain.  A digest, not a copy:
 * records can be whole certificates, and a collision would need SHA-256 to break.
 */
static int memo_key(SSL_CTX *ctx, const struct policy_dane_host *h, const char *nexthop,
		    unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ta = false;
	int ok;

	if (!md)
		return -ENOMEM;
	/* The next-hop domain is a reference name for DANE-TA only (DANE-EE checks no names):
	 * without DANE-TA records, recipients of many domains behind one MX share one answer. */
	for (size_t i = 0; i < h->ntlsa && i < POLICY_DANE_MAX_TLSA; i++)
		ta |= h->tlsa[i].usage == POLICY_DANE_TA;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, &ctx, sizeof(ctx)) &&
	     EVP_DigestUpdate(md, &h->state, sizeof(h->state)) && digest_str(md, h->name) &&
	     digest_str(md, h->base) && digest_str(md, ta ? nexthop : NULL) &&
	     EVP_DigestUpdate(md, &h->ntlsa, sizeof(h->ntlsa));
	for (size_t i = 0; ok && i < h->ntlsa && i < POLICY_DANE_MAX_TLSA; i++) {
		const struct policy_dane_tlsa *t = &h->tlsa[i];
		unsigned char head[5] = {t->usage, t->selector, t->mtype,
					 (unsigned char)(t->len >> 8), (unsigned char)t->len};

		ok = EVP_DigestUpdate(md, head, sizeof(head)) &&
		     (!t->len || EVP_DigestUpdate(md, t->data, t->len));
	}
	ok = ok && EVP_DigestFinal_ex(md, key, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

static const struct tls_peer_memo *memo_find(const struct tls_peer *p, const unsigned char *key)
{
	for (unsigned int i = 0; p->memo && i < TLS_PEER_MEMO_SLOTS; i++)
		if (p->memo[i].used && !memcmp(p->memo[i].key, key, sizeof(p->memo[i].key)))
			return &p->memo[i];
	return NULL;
}

/* Best effort: without memory the next question is answered by verifying again. */
static void memo_store(struct tls_peer *p, const unsigned char *key, int rc, const char *text)
{
	struct tls_peer_memo *m;

	if (!p->memo)
		p->memo = calloc(TLS_PEER_MEMO_SLOTS, sizeof(*p->memo));
	if (!p->memo)
		return;
	m = &p->memo[p->memo_next++ % TLS_PEER_MEMO_SLOTS];
	m->used = true;
	memcpy(m->key, key, sizeof(m->key));
	m->rc = rc;
	snprintf(m->text, sizeof(m->text), "%s", text);
}

/* The handshake's verification (ssl_verify_cert_chain) of the kept chain on scratch, an SSL that
 * ktls_dane_ssl_config() prepared; its verify result and peer name are left in scratch. */
static int verify_like_handshake(const struct tls_peer *p, SSL_CTX *ctx, SSL *scratch,
				 bool with_sent)
{
	X509_STORE_CTX *x = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = NULL;
	int rc = -ENOMEM;

	if (!x || peer_chain(p, with_sent, &chain) ||
	    !X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(ctx), p->leaf, chain))
		goto out;
	X509_STORE_CTX_set0_dane(x, SSL_get0_dane(scratch));
	if (!X509_STORE_CTX_set_default(x, "ssl_server") ||
	    !X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(x), SSL_get0_param(scratch)))
		goto out;
	/* At the handshake's time: the answer is the one the handshake would have given, however
	 * long the session has been open. */
	X509_STORE_CTX_set_time(x, 0, p->at);
	/* As the handshake: the error code is the verdict, also after an internal error. */
	X509_verify_cert(x);
	SSL_set_verify_result(scratch, X509_STORE_CTX_get_error(x));
	X509_VERIFY_PARAM_move_peername(SSL_get0_param(scratch), X509_STORE_CTX_get0_param(x));
	rc = 0;
out:
	X509_STORE_CTX_free(x);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

int tls_peer_dane(struct tls_peer *p, SSL_CTX *ctx, const struct policy_dane_host *h,
		  const char *nexthop, char *buf, size_t len)
{
	char text[TLS_PEER_MEMO_TEXT];
	const struct tls_peer_memo *m;
	unsigned char key[32];
	bool keyed, usable;
	SSL *scratch = NULL;
	int rc;

	if (!p) {
		snprintf(buf, len, "no TLSA record matched (no server certificate)");
		return -EPERM;
	}
	keyed = memo_key(ctx, h, nexthop, key) == 0;
	if (keyed && (m = memo_find(p, key))) {
		snprintf(buf, len, "%s", m->text);
		return m->rc;
	}
	/* A scratch SSL for its SSL_DANE and verification parameters: ktls_dane_ssl_config()
	 * decides what OpenSSL is told, here as for the handshake. */
	ERR_set_mark(); /* as in tls_peer_keep */
	scratch = SSL_new(ctx);
	if (!scratch) {
		ERR_pop_to_mark();
		snprintf(buf, len, "cannot check DANE: SSL_new failed");
		return -ENOMEM;
	}
	rc = ktls_dane_ssl_config(scratch, h, nexthop, &usable, text, sizeof(text));
	if (rc == -EIO) {
		snprintf(buf, len, "%s", text);
		goto out; /* not an answer about the peer: not remembered */
	}
	if (!rc && !usable) {
		snprintf(text, sizeof(text),
			 "no usable TLSA record for %s: TLS without authentication", h->name);
		rc = -ENODATA;
	} else if (!rc) {
		/* DANE-EE(3) is decided on the leaf alone (RFC 7672 3.1.1; OpenSSL builds no
		 * chain for it): the sent certificates are parsed only for DANE-TA(2) */
		bool ta = false;

		for (size_t i = 0; i < h->ntlsa && i < POLICY_DANE_MAX_TLSA; i++)
			ta |= h->tlsa[i].usage == POLICY_DANE_TA;
		rc = verify_like_handshake(p, ctx, scratch, ta);
		if (rc) {
			snprintf(buf, len, "cannot check DANE: out of memory");
			goto out;
		}
		rc = ktls_dane_outcome(scratch, text, sizeof(text));
	}
	if (keyed)
		memo_store(p, key, rc, text);
	snprintf(buf, len, "%s", text);
out:
	SSL_free(scratch);
	ERR_pop_to_mark();
	return rc;
}

static void version_name(int v, char *buf, size_t len)
{
	switch (v) {
	case SSL3_VERSION:
		snprintf(buf, len, "SSL 3.0");
		break;
	case TLS1_VERSION:
		snprintf(buf, len, "TLS 1.0");
		break;
	case TLS1_1_VERSION:
		snprintf(buf, len, "TLS 1.1");
		break;
	default:
		snprintf(buf, len, "TLS version 0x%04x", (unsigned int)v);
	}
}

/* The memo key of an MTA-STS name question (distinct from every DANE key: its own prefix). */
static int sts_key(const char *name, unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) && digest_str(md, "mta-sts name") &&
	     digest_str(md, name) && EVP_DigestFinal_ex(md, key, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

int tls_peer_sts(struct tls_peer *p, const char *mx_name, char *why, size_t whylen,
		 enum policy_rpt_result *res)
{
	enum policy_rpt_result dummy;
	char name[POLICY_DANE_NAME_MAX], ver[32], text[TLS_PEER_MEMO_TEXT];
	const struct tls_peer_memo *m;
	unsigned char key[32];
	bool keyed;
	size_t n;
	int rc;

	if (!res)
		res = &dummy;
	if (!p) {
		*res = POLICY_RPT_VALIDATION_FAILURE;
		snprintf(why, whylen, "no server certificate");
		return -EPERM;
	}
	/* RFC 8461 4.2: "... MUST be TLS 1.2 or later". */
	if (p->version < TLS1_2_VERSION) {
		version_name(p->version, ver, sizeof(ver));
		snprintf(why, whylen, "%s below 1.2", ver);
		*res = POLICY_RPT_VALIDATION_FAILURE;
		return -EPERM;
	}
	if (!p->webpki_roots) {
		snprintf(why, whylen,
			 "certificate not trusted: no MTA-STS trust anchors configured");
		*res = POLICY_RPT_CERTIFICATE_NOT_TRUSTED;
		return -EPERM;
	}
	if (p->webpki_err != X509_V_OK) {
		snprintf(why, whylen, "certificate not trusted: %s",
			 X509_verify_cert_error_string(p->webpki_err));
		*res = p->webpki_err == X509_V_ERR_CERT_HAS_EXPIRED
			       ? POLICY_RPT_CERTIFICATE_EXPIRED
			       : POLICY_RPT_CERTIFICATE_NOT_TRUSTED;
		return -EPERM;
	}
	/* from here on the only failure is the name */
	*res = POLICY_RPT_CERTIFICATE_HOST_MISMATCH;
	/* MX names may come with the root's dot ("mx1.example."); certificates never carry it. */
	n = mx_name ? strlen(mx_name) : 0;
	if (n && mx_name[n - 1] == '.')
		n--;
	if (!n || n >= sizeof(name)) {
		snprintf(why, whylen, "certificate name mismatch for %s", mx_name ? mx_name : "");
		return -EPERM;
	}
	memcpy(name, mx_name, n);
	name[n] = '\0';
	keyed = sts_key(name, key) == 0;
	if (keyed && (m = memo_find(p, key))) {
		snprintf(why, whylen, "%s", m->text);
		return m->rc;
	}
	/* OpenSSL's RFC 6125 matching, as a verify-level handshake does it: DNS names in the
	 * subjectAltName (the CN only without them), "*" only as the whole leftmost label. */
	rc = 0;
	text[0] = '\0';
	if (X509_check_host(p->leaf, name, n, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
		snprintf(text, sizeof(text), "certificate name mismatch for %s", name);
		rc = -EPERM;
	}
	if (keyed)
		memo_store(p, key, rc, text);
	snprintf(why, whylen, "%s", text);
	return rc;
}

int tls_peer_store_new(const char *ca_file, X509_STORE **out, char *err, size_t errlen)
{
	X509_STORE *st = X509_STORE_new();
	char e[256];
	FILE *f;
	int ok;

	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "X509_STORE_new failed");
		return -ENOMEM;
	}
	if (ca_file && *ca_file) {
		/* A missing or unreadable file says so, not OpenSSL's "system library" line. */
		f = fopen(ca_file, "r");
		if (!f) {
			int rc = -errno;

			snprintf(err, errlen, "cannot read MTA-STS trust anchors %s: %s", ca_file,
				 strerror(-rc));
			X509_STORE_free(st);
			return rc;
		}
		fclose(f);
		ok = X509_STORE_load_file(st, ca_file);
	} else {
		ok = X509_STORE_set_default_paths(st);
	}
	if (ok != 1) {
		tls_client_error_text(e, sizeof(e));
		snprintf(err, errlen, "cannot load MTA-STS trust anchors %s: %s",
			 ca_file && *ca_file ? ca_file : "(default paths)", e);
		X509_STORE_free(st);
		return -EINVAL;
	}
	*out = st;
	return 0;
}
