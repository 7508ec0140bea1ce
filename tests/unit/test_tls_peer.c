// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/tls_peer.c: the up leg's peer kept after a real handshake (socketpair, the fixture's
 * server with certificates from a test PKI), its SSL freed, then checked as at RCPT time.
 *
 * DANE: a differential against the handshake itself.  Every case configures the relay's client
 * SSL with ktls_dane_ssl_config() for the host, handshakes, reads ktls_dane_check(), keeps the peer,
 * frees the SSL, and asks tls_peer_dane() the same question: both answers (code and words) must
 * be the same, and each case also has its own expected answer, so a check that is wrong in the
 * same way on both sides still fails.  Cases: DANE-EE(3) by key and certificate, digests and full
 * data, mismatches, no name checks; DANE-TA(2) with the base, MX and next-hop names, wildcards,
 * a trust anchor the server did not send; records OpenSSL does not take.  Then the memo.
 *
 * MTA-STS: trusted chain and name, untrusted roots (with and without the root sent), no trust
 * anchors configured, name mismatch, wildcards, TLS 1.1, an anonymous peer.  And the trust store
 * loader.  A benchmark line (ns per warm call) is printed for information only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/tls_client.h"
#include "ktls/dane.h"
#include "daemon/tls_peer.h"
#include "tests/lib/tls_fixture.h"

struct pki_cert {
	EVP_PKEY *key;
	X509 *cert;
};

/* root signs the MX certificates; other_root is a stranger with its own MX certificate. */
static struct pki_cert root, other_root, mx1, mx1_other, wild, wild_tld, partial, nh;
static X509_STORE *store_root, *store_other;
static SSL_CTX *relay_ctx; /* tls_client_ctx_new's, as the daemon has it */

static void issue(struct pki_cert *c, const char *cn, const char *const *dns, bool ca,
		  const struct pki_cert *by)
{
	assert_int_equal(tls_fixture_issue(cn, dns, ca, by ? by->cert : NULL, by ? by->key : NULL,
					   &c->key, &c->cert),
			 0);
}

static X509_STORE *store_of(X509 *anchor)
{
	X509_STORE *st = X509_STORE_new();

	assert_non_null(st);
	assert_int_equal(X509_STORE_add_cert(st, anchor), 1);
	return st;
}

static int setup(void **state)
{
	static const char *const n_mx1[] = {"mx1.example", NULL};
	static const char *const n_wild[] = {"*.mail.example", NULL};
	static const char *const n_tld[] = {"*.example", NULL};
	static const char *const n_partial[] = {"m*.mail.example", NULL};
	static const char *const n_nh[] = {"example.org", NULL};
	struct config cfg;
	char err[256];

	(void)state;
	issue(&root, "Test Root", NULL, true, NULL);
	issue(&other_root, "Other Root", NULL, true, NULL);
	issue(&mx1, "mx1.example", n_mx1, false, &root);
	issue(&mx1_other, "mx1.example", n_mx1, false, &other_root);
	issue(&wild, "wildcard", n_wild, false, &root);
	issue(&wild_tld, "wildcard tld", n_tld, false, &root);
	issue(&partial, "partial", n_partial, false, &root);
	issue(&nh, "next hop", n_nh, false, &root);
	store_root = store_of(root.cert);
	store_other = store_of(other_root.cert);
	/* The relay's own client context: DANE enabled, SSL_VERIFY_NONE, no trust anchors (a
	 * DANE verdict must not depend on them). */
	config_defaults(&cfg);
	free(cfg.tls_ca_file);
	cfg.tls_ca_file = NULL;
	relay_ctx = tls_client_ctx_new(&cfg, err, sizeof(err));
	config_free(&cfg);
	return relay_ctx ? 0 : -1;
}

static int teardown(void **state)
{
	struct pki_cert *all[] = {&root, &other_root, &mx1,	&mx1_other,
				  &wild, &wild_tld,   &partial, &nh};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		EVP_PKEY_free(all[i]->key);
		X509_free(all[i]->cert);
	}
	X509_STORE_free(store_root);
	X509_STORE_free(store_other);
	SSL_CTX_free(relay_ctx);
	return 0;
}

/* One handshake with the fixture's server, the peer kept, the client SSL freed. */
struct run {
	int version;			     /* default TLS 1.3 */
	const char *cipher;		     /* both sides (the fixture's client context then) */
	const struct pki_cert *server;	     /* NULL: the fixture's self-signed certificate */
	X509 *chain;			     /* sent after the server's certificate */
	const struct policy_dane_host *dane; /* configure the client SSL for DANE */
	const char *nexthop;
	X509_STORE *webpki;
	/* results */
	int keep_rc;
	struct tls_peer *peer;
	bool usable;
	int check_rc; /* ktls_dane_check's, 1 when it was not run */
	char check[256];
};

static void run_handshake(struct run *r)
{
	struct tls_fixture_opts so = {
		.version = r->version ? r->version : TLS1_3_VERSION,
		.cipher = r->cipher,
		.key = r->server ? r->server->key : NULL,
		.cert = r->server ? r->server->cert : NULL,
		.chain = r->chain,
	};
	SSL_CTX *sctx = tls_fixture_server_ctx(&so), *cctx = NULL;
	char err[256];
	SSL *c, *s;
	int sv[2];

	assert_non_null(sctx);
	if (r->cipher) {
		/* TLS 1.1 and anonymous ciphers: the relay's context refuses them itself. */
		cctx = tls_fixture_client_ctx(&so);
		assert_non_null(cctx);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = SSL_new(cctx ? cctx : relay_ctx);
	s = SSL_new(sctx);
	assert_non_null(c);
	assert_non_null(s);
	r->usable = false;
	if (r->dane)
		assert_int_equal(
			ktls_dane_ssl_config(c, r->dane, r->nexthop, &r->usable, err, sizeof(err)),
			0);
	assert_int_equal(tls_fixture_handshake(c, s, sv[0], sv[1]), 0);
	r->check_rc = r->usable ? ktls_dane_check(c, r->check, sizeof(r->check)) : 1;
	r->keep_rc = tls_peer_keep(c, r->webpki, &r->peer);
	/* What later checks use must not depend on the SSL any more. */
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	close(sv[0]);
	close(sv[1]);
	/* Nothing may be left in the thread's error queue (SSL_get_error would read it). */
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- DANE ---------------------------------------------------------------------------------- */

enum rdata {
	LEAF_SPKI256,
	LEAF_SPKI512,
	LEAF_CERT256,
	LEAF_CERT_FULL,
	ROOT_SPKI256,
	ROOT_CERT256,
	WRONG256,
	SHORT_DIGEST, /* 20 bytes for SHA-256: OpenSSL does not take it */
	GARBAGE_CERT, /* 3 0 0 that is no certificate: not taken either */
};

struct rec {
	uint8_t usage, selector, mtype;
	enum rdata data;
};

struct dane_case {
	const char *what;
	const struct pki_cert *server;
	bool send_root;
	const char *name, *base, *nexthop;
	struct rec rec[3];
	size_t nrec;
	int rc;
	const char *text; /* expected words (NULL: not compared beyond the differential) */
};

static size_t rdata_of(enum rdata d, const struct pki_cert *leaf, unsigned char *out)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = 0;
	X509 *c = d == ROOT_SPKI256 || d == ROOT_CERT256 ? root.cert : leaf->cert;

	switch (d) {
	case WRONG256:
		memset(out, 0x5a, 32);
		return 32;
	case SHORT_DIGEST:
		memset(out, 0x11, 20);
		return 20;
	case GARBAGE_CERT:
		memset(out, 0x30, 64);
		return 64;
	case LEAF_SPKI256:
	case LEAF_SPKI512:
	case ROOT_SPKI256:
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
		break;
	default:
		n = i2d_X509(c, &der);
	}
	assert_true(n > 0);
	if (d == LEAF_CERT_FULL) {
		assert_true(n <= 2048);
		memcpy(out, der, (size_t)n);
		mdlen = (unsigned int)n;
	} else {
		assert_int_equal(EVP_Digest(der, (size_t)n, out, &mdlen,
					    d == LEAF_SPKI512 ? EVP_sha512() : EVP_sha256(), NULL),
				 1);
	}
	OPENSSL_free(der);
	return mdlen;
}

static void host_of(const struct dane_case *k, struct policy_dane_host *h,
		    unsigned char data[][2048])
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", k->name);
	snprintf(h->base, sizeof(h->base), "%s", k->base ? k->base : k->name);
	h->state = POLICY_DANE_USABLE;
	for (size_t i = 0; i < k->nrec; i++) {
		struct policy_dane_tlsa *t = &h->tlsa[h->ntlsa++];

		t->usage = k->rec[i].usage;
		t->selector = k->rec[i].selector;
		t->mtype = k->rec[i].mtype;
		t->len = (uint16_t)rdata_of(k->rec[i].data, k->server, data[i]);
		t->data = data[i];
	}
}

/* One case per entry reads better than one field per line. */
/* clang-format off */
#define R(u, s, m, d) { u, s, m, d }

static const struct dane_case dane_cases[] = {
	{ "EE 3 1 1 match", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 1, 1, LEAF_SPKI256) }, 1, 0, "verified by DANE-EE(3) 1 1" },
	{ "EE 3 1 1 mismatch", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 1, 1, WRONG256) }, 1, -EPERM,
	  "no TLSA record matched (certificate verify: no matching DANE TLSA records)" },
	{ "EE 3 0 1 match", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 0, 1, LEAF_CERT256) }, 1, 0, "verified by DANE-EE(3) 0 1" },
	{ "EE 3 1 2 match", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 1, 2, LEAF_SPKI512) }, 1, 0, "verified by DANE-EE(3) 1 2" },
	{ "EE 3 0 0 match", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 0, 0, LEAF_CERT_FULL) }, 1, 0, "verified by DANE-EE(3) 0 0" },
	{ "EE key digest under the certificate selector", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 0, 1, LEAF_SPKI256) }, 1, -EPERM, NULL },
	{ "EE rollover: old record first", &mx1, false, "mx1.example", NULL, NULL,
	  { R(3, 1, 1, WRONG256), R(3, 1, 1, LEAF_SPKI256) }, 2, 0, "verified by DANE-EE(3) 1 1" },
	{ "EE without name check (RFC 7672 3.1.1)", &mx1, false, "other.example", NULL, NULL,
	  { R(3, 1, 1, LEAF_SPKI256) }, 1, 0, "verified by DANE-EE(3) 1 1" },
	{ "EE from an untrusted root, no anchors needed", &mx1_other, false, "mx1.example", NULL,
	  NULL, { R(3, 1, 1, LEAF_SPKI256) }, 1, 0, "verified by DANE-EE(3) 1 1" },
	{ "TA 2 1 1, MX name in SAN", &mx1, true, "mx1.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, 0, "verified by DANE-TA(2) 1 1 depth 1 name mx1.example" },
	{ "TA 2 0 1, MX name in SAN", &mx1, true, "mx1.example", NULL, NULL,
	  { R(2, 0, 1, ROOT_CERT256) }, 1, 0, "verified by DANE-TA(2) 0 1 depth 1 name mx1.example" },
	{ "TA 2 1 1, name not in SAN", &mx1, true, "other.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM,
	  "no TLSA record matched (certificate verify: hostname mismatch)" },
	{ "TA, base domain in SAN (MX name was a CNAME)", &mx1, true, "alias.example", "mx1.example",
	  NULL, { R(2, 1, 1, ROOT_SPKI256) }, 1, 0,
	  "verified by DANE-TA(2) 1 1 depth 1 name mx1.example" },
	{ "TA, MX name in SAN, base differs", &mx1, true, "mx1.example", "mx1.cdn.example", NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, 0, "verified by DANE-TA(2) 1 1 depth 1 name mx1.example" },
	{ "TA, next-hop domain in SAN", &nh, true, "mx9.example", NULL, "example.org",
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, 0, "verified by DANE-TA(2) 1 1 depth 1 name example.org" },
	{ "TA, next-hop domain in SAN, none given", &nh, true, "mx9.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM, NULL },
	{ "TA, another root", &mx1_other, true, "mx1.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM, NULL },
	{ "TA digest, trust anchor not sent", &mx1, false, "mx1.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM, NULL },
	{ "TA, wildcard leftmost label", &wild, true, "mx.mail.example", NULL, NULL,
	  /* OpenSSL names the certificate's name that matched */
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, 0,
	  "verified by DANE-TA(2) 1 1 depth 1 name *.mail.example" },
	{ "TA, wildcard spans two labels", &wild, true, "a.b.mail.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM, NULL },
	{ "TA, partial wildcard (RFC 7672 3.2.3)", &partial, true, "mx.mail.example", NULL, NULL,
	  { R(2, 1, 1, ROOT_SPKI256) }, 1, -EPERM, NULL },
	{ "records OpenSSL does not take", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 1, 1, SHORT_DIGEST), R(3, 0, 0, GARBAGE_CERT) }, 2, -ENODATA,
	  "no usable TLSA record for mx1.example: TLS without authentication" },
	{ "one record not taken, one matching", &mx1, true, "mx1.example", NULL, NULL,
	  { R(3, 1, 1, SHORT_DIGEST), R(3, 1, 1, LEAF_SPKI256) }, 2, 0,
	  "verified by DANE-EE(3) 1 1" },
};
/* clang-format on */

/* Each case over TLS 1.3 and 1.2: handshake verdict == post-hoc verdict == expected. */
static void test_dane_differential(void **state)
{
	static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
	static unsigned char data[3][2048];

	(void)state;
	for (size_t v = 0; v < 2; v++) {
		for (size_t i = 0; i < sizeof(dane_cases) / sizeof(dane_cases[0]); i++) {
			const struct dane_case *k = &dane_cases[i];
			struct policy_dane_host h;
			struct run r = {
				.version = versions[v],
				.server = k->server,
				.chain = k->send_root ? root.cert : NULL,
				.dane = &h,
				.nexthop = k->nexthop,
			};
			char text[256];
			int rc;

			host_of(k, &h, data);
			run_handshake(&r);
			assert_int_equal(r.keep_rc, 0);
			rc = tls_peer_dane(r.peer, relay_ctx, &h, k->nexthop, text, sizeof(text));
			print_message("# %s %s: handshake %d \"%s\", kept %d \"%s\"\n",
				      versions[v] == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2",
				      k->what, r.check_rc,
				      r.usable ? r.check : "(no usable record)", rc, text);
			if (!r.usable) {
				assert_int_equal(rc, -ENODATA);
			} else {
				assert_int_equal(rc, r.check_rc);
				assert_string_equal(text, r.check);
			}
			assert_int_equal(rc, k->rc);
			if (k->text)
				assert_string_equal(text, k->text);
			assert_int_equal(ERR_peek_error(), 0);
			tls_peer_free(r.peer);
		}
	}
}

static void ee_host(struct policy_dane_host *h, const char *name, const unsigned char *d,
		    size_t len)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->base, sizeof(h->base), "%s", name);
	h->state = POLICY_DANE_USABLE;
	h->ntlsa = 1;
	h->tlsa[0] = (struct policy_dane_tlsa){.usage = 3,
					       .selector = 1,
					       .mtype = 1,
					       .len = (uint16_t)len,
					       .data = (unsigned char *)(uintptr_t)d};
}

/* Hosts DANE does not authenticate: no verdict from records, and no certificate at all. */
static void test_dane_states(void **state)
{
	struct run r = {.server = &mx1};
	struct policy_dane_host h;
	unsigned char d[32];
	char text[256];

	(void)state;
	run_handshake(&r);
	assert_int_equal(r.keep_rc, 0);
	rdata_of(LEAF_SPKI256, &mx1, d);
	ee_host(&h, "mx1.example", d, 32);
	h.state = POLICY_DANE_UNUSABLE_ALL;
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &h, NULL, text, sizeof(text)), -ENODATA);
	h.state = POLICY_DANE_NONE;
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &h, NULL, text, sizeof(text)), -EINVAL);
	assert_string_equal(text, "no DANE for mx1.example: none");
	h.state = POLICY_DANE_FAILED;
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &h, NULL, text, sizeof(text)), -EINVAL);
	/* The state is part of the question: USABLE after the above is verified, not remembered. */
	h.state = POLICY_DANE_USABLE;
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &h, NULL, text, sizeof(text)), 0);
	assert_int_equal(tls_peer_dane(NULL, relay_ctx, &h, NULL, text, sizeof(text)), -EPERM);
	assert_string_equal(text, "no TLSA record matched (no server certificate)");
	tls_peer_free(r.peer);
}

/* Records OpenSSL refuses leave nothing in the thread's error queue: the SSL waits for the MX's
 * 220 to STARTTLS, and meanwhile another session's SSL_get_error() on this thread would read a
 * stale entry as its own fatal error. */
static void test_dane_config_error_queue(void **state)
{
	static const unsigned char short_digest[20];
	struct policy_dane_host h;
	char err[256];
	bool usable = true;
	SSL *ssl = SSL_new(relay_ctx);

	(void)state;
	assert_non_null(ssl);
	ee_host(&h, "mx1.example", short_digest, sizeof(short_digest));
	assert_int_equal(ktls_dane_ssl_config(ssl, &h, NULL, &usable, err, sizeof(err)), 0);
	assert_false(usable);
	assert_int_equal(ERR_peek_error(), 0);
	SSL_free(ssl);
}

/* The memo answers the same question again, and never a different one. */
static void test_dane_memo(void **state)
{
	struct run r = {.server = &mx1, .chain = root.cert};
	struct policy_dane_host good, bad, other_name, nexthop;
	unsigned char d[32], w[32];
	char text[256];

	(void)state;
	run_handshake(&r);
	assert_int_equal(r.keep_rc, 0);
	rdata_of(LEAF_SPKI256, &mx1, d);
	memset(w, 0x5a, sizeof(w));
	ee_host(&good, "mx1.example", d, 32);
	ee_host(&bad, "mx1.example", w, 32);
	ee_host(&other_name, "mx2.example", d, 32);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &good, NULL, text, sizeof(text)),
				 0);
		assert_string_equal(text, "verified by DANE-EE(3) 1 1");
		/* Same name, one byte of the record different: another question. */
		assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &bad, NULL, text, sizeof(text)),
				 -EPERM);
		assert_int_equal(
			tls_peer_dane(r.peer, relay_ctx, &other_name, NULL, text, sizeof(text)), 0);
	}
	/* The same records, asked as DANE-TA for a name the certificate lacks, then with a
	 * next hop that changes the answer: the next hop is part of the question. */
	ee_host(&nexthop, "mx9.example", d, 32);
	rdata_of(ROOT_SPKI256, &mx1, d);
	nexthop.tlsa[0].usage = 2;
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &nexthop, NULL, text, sizeof(text)),
			 -EPERM);
	assert_int_equal(
		tls_peer_dane(r.peer, relay_ctx, &nexthop, "mx1.example", text, sizeof(text)), 0);
	assert_string_equal(text, "verified by DANE-TA(2) 1 1 depth 1 name mx1.example");
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &nexthop, NULL, text, sizeof(text)),
			 -EPERM);
	/* A short buffer gets the words cut, the verdict whole (and from the memo). */
	assert_int_equal(tls_peer_dane(r.peer, relay_ctx, &nexthop, "mx1.example", text, 9), 0);
	assert_string_equal(text, "verified");
	tls_peer_free(r.peer);
}

/* ---- MTA-STS ------------------------------------------------------------------------------- */

static int sts(const struct pki_cert *server, X509 *chain, X509_STORE *webpki, const char *mx,
	       char *why, size_t len)
{
	struct run r = {.server = server, .chain = chain, .webpki = webpki};
	int rc;

	run_handshake(&r);
	assert_int_equal(r.keep_rc, 0);
	rc = tls_peer_sts(r.peer, mx, why, len, NULL);
	tls_peer_free(r.peer);
	return rc;
}

static void test_sts_trust(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(sts(&mx1, root.cert, store_root, "mx1.example", why, sizeof(why)), 0);
	assert_int_equal(sts(&mx1, NULL, store_root, "mx1.example", why, sizeof(why)), 0);
	assert_int_equal(sts(&mx1, NULL, store_root, "MX1.Example.", why, sizeof(why)), 0);
	/* The root is not a trust anchor of this store. */
	assert_int_equal(sts(&mx1, NULL, store_other, "mx1.example", why, sizeof(why)), -EPERM);
	assert_string_equal(why, "certificate not trusted: unable to get local issuer certificate");
	assert_int_equal(sts(&mx1, root.cert, store_other, "mx1.example", why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "certificate not trusted: self-signed certificate in certificate "
				 "chain");
	assert_int_equal(
		sts(&mx1_other, other_root.cert, store_root, "mx1.example", why, sizeof(why)),
		-EPERM);
	/* A self-signed server certificate. */
	assert_int_equal(sts(NULL, NULL, store_root, "tlsgate-test.example", why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "certificate not trusted: self-signed certificate");
	/* No trust anchors configured: nothing is WebPKI-valid. */
	assert_int_equal(sts(&mx1, root.cert, NULL, "mx1.example", why, sizeof(why)), -EPERM);
	assert_string_equal(why, "certificate not trusted: no MTA-STS trust anchors configured");
}

static void test_sts_names(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(sts(&mx1, NULL, store_root, "mx2.example", why, sizeof(why)), -EPERM);
	assert_string_equal(why, "certificate name mismatch for mx2.example");
	assert_int_equal(sts(&mx1, NULL, store_root, "", why, sizeof(why)), -EPERM);
	assert_int_equal(sts(&mx1, NULL, store_root, NULL, why, sizeof(why)), -EPERM);
	/* A wildcard covers exactly the leftmost label. */
	assert_int_equal(sts(&wild, NULL, store_root, "mx.mail.example", why, sizeof(why)), 0);
	assert_int_equal(sts(&wild, NULL, store_root, "a.b.mail.example", why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "certificate name mismatch for a.b.mail.example");
	assert_int_equal(sts(&wild, NULL, store_root, "mail.example", why, sizeof(why)), -EPERM);
	/* OpenSSL (and so Postfix) takes no wildcard with a single label after it: "*.example"
	 * matches nothing, not even mx.example. */
	assert_int_equal(sts(&wild_tld, NULL, store_root, "mx.example", why, sizeof(why)), -EPERM);
	assert_int_equal(sts(&wild_tld, NULL, store_root, "a.b.example", why, sizeof(why)), -EPERM);
	/* No partial wildcards ("m*"). */
	assert_int_equal(sts(&partial, NULL, store_root, "mx.mail.example", why, sizeof(why)),
			 -EPERM);
}

static void test_sts_version(void **state)
{
	struct run r = {.version = TLS1_1_VERSION,
			.cipher = "DEFAULT:@SECLEVEL=0",
			.server = &mx1,
			.webpki = store_root};
	struct run r12 = {.version = TLS1_2_VERSION, .server = &mx1, .webpki = store_root};
	char why[256];

	(void)state;
	run_handshake(&r);
	assert_int_equal(r.keep_rc, 0);
	assert_int_equal(tls_peer_sts(r.peer, "mx1.example", why, sizeof(why), NULL), -EPERM);
	assert_string_equal(why, "TLS 1.1 below 1.2");
	tls_peer_free(r.peer);
	run_handshake(&r12);
	assert_int_equal(r12.keep_rc, 0);
	assert_int_equal(tls_peer_sts(r12.peer, "mx1.example", why, sizeof(why), NULL), 0);
	tls_peer_free(r12.peer);
}

static void test_anonymous(void **state)
{
	struct run r = {
		.version = TLS1_2_VERSION, .cipher = "aNULL:@SECLEVEL=0", .webpki = store_root};
	unsigned char d[32] = {0};
	struct policy_dane_host h;
	char why[256];

	(void)state;
	run_handshake(&r);
	assert_int_equal(r.keep_rc, -ENOENT);
	assert_null(r.peer);
	assert_int_equal(tls_peer_sts(NULL, "mx1.example", why, sizeof(why), NULL), -EPERM);
	assert_string_equal(why, "no server certificate");
	ee_host(&h, "mx1.example", d, 32);
	assert_int_equal(tls_peer_dane(NULL, relay_ctx, &h, NULL, why, sizeof(why)), -EPERM);
}

static void test_store_new(void **state)
{
	char dir[] = "/tmp/tls_peer.XXXXXX", path[64], err[512];
	X509_STORE *st = (X509_STORE *)1;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/roots.pem", dir);
	assert_int_equal(tls_peer_store_new(path, &st, err, sizeof(err)), -ENOENT);
	assert_null(st);
	assert_non_null(strstr(err, "roots.pem"));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs("not a certificate\n", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tls_peer_store_new(path, &st, err, sizeof(err)), -EINVAL);
	assert_int_equal(ERR_peek_error(), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, root.cert), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tls_peer_store_new(path, &st, err, sizeof(err)), 0);
	/* The loaded store trusts what the root signed. */
	assert_int_equal(sts(&mx1, NULL, st, "mx1.example", err, sizeof(err)), 0);
	X509_STORE_free(st);
	assert_int_equal(tls_peer_store_new(NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(sts(&mx1, NULL, st, "mx1.example", err, sizeof(err)), -EPERM);
	X509_STORE_free(st);
	assert_int_equal(tls_peer_store_new("", &st, err, sizeof(err)), 0);
	X509_STORE_free(st);
	unlink(path);
	rmdir(dir);
}

/* ---- cost (informational) ------------------------------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void test_bench(void **state)
{
	struct run r = {.server = &mx1, .chain = root.cert, .webpki = store_root};
	struct policy_dane_host h[3];
	unsigned char d[32], w1[32], w2[32];
	const int warm = 20000, cold = 500;
	static const char *const nexthops[] = {"n1.example", "n2.example", "n3.example"};
	double t0, sts_ns, dane_ns, cold_ns, ta_ns;
	char text[256];
	int rc = 0;

	(void)state;
	run_handshake(&r);
	assert_int_equal(r.keep_rc, 0);
	rdata_of(LEAF_SPKI256, &mx1, d);
	memset(w1, 1, sizeof(w1));
	memset(w2, 2, sizeof(w2));
	ee_host(&h[0], "mx1.example", d, 32);
	ee_host(&h[1], "mx1.example", w1, 32);
	ee_host(&h[2], "mx1.example", w2, 32);
	t0 = now_ns();
	for (int i = 0; i < warm; i++)
		rc |= tls_peer_sts(r.peer, "mx1.example", text, sizeof(text), NULL);
	sts_ns = (now_ns() - t0) / warm;
	assert_int_equal(rc, 0);
	t0 = now_ns();
	for (int i = 0; i < warm; i++)
		rc |= tls_peer_dane(r.peer, relay_ctx, &h[0], NULL, text, sizeof(text));
	dane_ns = (now_ns() - t0) / warm;
	assert_int_equal(rc, 0);
	/* Three questions in turn through two memo slots: every one verifies again. */
	t0 = now_ns();
	for (int i = 0; i < cold; i++)
		tls_peer_dane(r.peer, relay_ctx, &h[i % 3], NULL, text, sizeof(text));
	cold_ns = (now_ns() - t0) / cold;
	/* DANE-TA: the chain's signatures are checked too; three next hops, three questions. */
	rdata_of(ROOT_SPKI256, &mx1, d);
	h[0].tlsa[0].usage = 2;
	t0 = now_ns();
	for (int i = 0; i < cold; i++)
		rc |= tls_peer_dane(r.peer, relay_ctx, &h[0], nexthops[i % 3], text, sizeof(text));
	ta_ns = (now_ns() - t0) / cold;
	assert_int_equal(rc, 0);
	print_message("# bench: tls_peer_sts %.0f ns/call; tls_peer_dane warm (memo) %.0f ns/call, "
		      "cold (scratch SSL + verification) DANE-EE %.0f ns/call, DANE-TA %.0f "
		      "ns/call\n",
		      sts_ns, dane_ns, cold_ns, ta_ns);
	tls_peer_free(r.peer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_differential),
		cmocka_unit_test(test_dane_states),
		cmocka_unit_test(test_dane_config_error_queue),
		cmocka_unit_test(test_dane_memo),
		cmocka_unit_test(test_sts_trust),
		cmocka_unit_test(test_sts_names),
		cmocka_unit_test(test_sts_version),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_store_new),
		cmocka_unit_test(test_bench),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
