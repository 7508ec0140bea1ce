// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/tls_client.h"
#include "daemon/tls_resume.h"
#include "ktls/dane.h"
#include "ktls/endpoint.h"
#include "report/outcome.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Postfix's cipher grades (tls_*_cipherlist defaults). */
static const struct {
	const char *grade;
	const char *list;
} grades[] = {
	{ "high", "aNULL:-aNULL:HIGH:@STRENGTH" },
	{ "medium", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH" },
	{ "low", "aNULL:-aNULL:ALL:!EXPORT:+RC4:@STRENGTH" },
	{ "export", "aNULL:-aNULL:ALL:+RC4:@STRENGTH" },
	{ "null", "aNULL:-aNULL:eNULL:!aNULL:@STRENGTH" },
};

void tls_client_error_text(char *buf, size_t len)
{
	unsigned long e;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
	}
}

/*
 * What every client context gets, the daemon's own and the per-settings ones alike (so a
 * session's SSL behaves the same whichever it was made from).
 */
static int ctx_setup(SSL_CTX *ctx, char *err, size_t errlen)
{
	/* Verification is judged after the handshake against the policy, as Postfix does: the
	 * handshake itself never aborts on an untrusted certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* DANE (ktls/dane.c) needs the context's digest tables; SSLs that do not enable DANE
	 * themselves are not affected. */
	if (ktls_dane_ctx_enable(ctx)) {
		snprintf(err, errlen, "cannot enable DANE on the client TLS context");
		return -EIO;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS); /* idle sessions keep no record buffers */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* Sessions to resume are kept by tls_resume.c, under keys only we can build; OpenSSL's
	 * own client cache (one list per context, no notion of policy) stays empty. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	if (ktls_ctx_prepare(ctx, false)) {
		snprintf(err, errlen, "cannot prepare the client TLS context for kTLS");
		return -ENOMEM;
	}
	return 0;
}

/*
 * Contexts per (protocol bounds, cipher list): OpenSSL 3.0's SSL_set_cipher_list parses the
 * string and walks the provider's ciphers on every call, so each distinct setting of the policy
 * gets its own SSL_CTX, made on first use, and a session's SSL_new inherits it.  Keyed by exactly
 * what tls_client_ssl_new would have set on the SSL, never by rule: two rules with the same
 * settings share one, different settings never do.  They hang off the daemon's context (ex_data)
 * and go with it.  Bounded: past CTX_CACHE_MAX settings (many reloads with ever new exclude=
 * lists) a session is configured on the SSL as before, with the same result.
 */
#define CTX_CACHE_MAX 32

struct ctx_entry {
	int min_version, max_version;	/* the SSL's bounds: the rule's, else the context's */
	char *list;			/* SSL_CTX_set_cipher_list's string */
	SSL_CTX *ctx;
};

struct ctx_cache {
	pthread_mutex_t lock;		/* workers look up concurrently */
	size_t n;
	struct ctx_entry e[CTX_CACHE_MAX];
	/* Sessions to resume (NULL: outbound_tls_session_cache = no).  On the daemon's context,
	 * so a new trust store (a new context) never sees a session verified under the old. */
	struct tls_resume *resume;
};

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_idx = -1;

static void cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct ctx_cache *c = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		SSL_CTX_free(c->e[i].ctx);
		free(c->e[i].list);
	}
	tls_resume_free(c->resume);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void cache_index(void)
{
	cache_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, cache_free);
}

SSL_CTX *tls_client_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct ctx_cache *c = NULL;
	char e[256];

	if (!ctx) {
		tls_client_error_text(e, sizeof(e));
		snprintf(err, errlen, "SSL_CTX_new: %s", e);
		return NULL;
	}
	if ((cfg->tls_ca_file || cfg->tls_ca_path) &&
	    SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, cfg->tls_ca_path) != 1) {
		tls_client_error_text(e, sizeof(e));
		snprintf(err, errlen, "cannot load trust anchors (tls_ca_file=%s tls_ca_path=%s): %s",
			 cfg->tls_ca_file ? cfg->tls_ca_file : "", cfg->tls_ca_path ? cfg->tls_ca_path : "",
			 e);
		goto fail;
	}
	if (ctx_setup(ctx, err, errlen))
		goto fail;
	pthread_once(&cache_once, cache_index);
	c = calloc(1, sizeof(*c));
	if (cache_idx < 0 || !c || pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		snprintf(err, errlen, "cannot allocate the client TLS context cache");
		goto fail;
	}
	if (!SSL_CTX_set_ex_data(ctx, cache_idx, c)) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		snprintf(err, errlen, "cannot allocate the client TLS context cache");
		goto fail;
	}
	if (cfg->outbound_tls_session_cache && cfg->outbound_tls_session_cache_size) {
		c->resume = tls_resume_new(cfg->outbound_tls_session_cache_size,
					   cfg->outbound_tls_session_cache_timeout
						   ? cfg->outbound_tls_session_cache_timeout
						   : 1);
		if (!c->resume) {
			snprintf(err, errlen, "cannot allocate the TLS session cache (%u sessions)",
				 cfg->outbound_tls_session_cache_size);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * A context for these settings, derived from base: its trust store (shared, not loaded again),
 * ctx_setup, then base's options and modes as they are now (tlsgated clears SSL_OP_ENABLE_KTLS
 * on base for ktls = no before any session), then the bounds and the cipher list.
 */
static SSL_CTX *ctx_derive(SSL_CTX *base, int min_version, int max_version, const char *list)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	uint64_t opts = SSL_CTX_get_options(base);
	char err[128];

	if (!ctx)
		return NULL;
	SSL_CTX_set1_cert_store(ctx, SSL_CTX_get_cert_store(base));
	if (ctx_setup(ctx, err, sizeof(err)))
		goto fail;
	SSL_CTX_clear_options(ctx, SSL_CTX_get_options(ctx) & ~opts);
	SSL_CTX_set_options(ctx, opts);
	SSL_CTX_set_mode(ctx, SSL_CTX_get_mode(base));
	if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max_version) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, list) != 1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The context to make a session's SSL from: *out is the cached one for these settings (made now
 * if new), or base itself with *out NULL when the cache is full.  -EINVAL: OpenSSL refused the
 * settings (the cipher list matches nothing); -ENOMEM.
 */
static int ctx_for(SSL_CTX *base, int min_version, int max_version, const char *list,
		   SSL_CTX **out)
{
	struct ctx_cache *c = cache_idx >= 0 ? SSL_CTX_get_ex_data(base, cache_idx) : NULL;
	int rc = 0;

	*out = NULL;
	if (!c)
		return 0;
	if (!min_version)
		min_version = (int)SSL_CTX_get_min_proto_version(base);
	if (!max_version)
		max_version = (int)SSL_CTX_get_max_proto_version(base);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		const struct ctx_entry *e = &c->e[i];

		if (e->min_version == min_version && e->max_version == max_version &&
		    !strcmp(e->list, list)) {
			*out = e->ctx;
			goto out;
		}
	}
	if (c->n < CTX_CACHE_MAX) {
		struct ctx_entry *e = &c->e[c->n];

		/* Refused settings are not cached: the same session would be refused anyway, and
		 * what OpenSSL says about them goes to tls_client_ssl_new's error. */
		e->ctx = ctx_derive(base, min_version, max_version, list);
		if (!e->ctx) {
			rc = -EINVAL;
			goto out;
		}
		e->list = strdup(list);
		if (!e->list) {
			SSL_CTX_free(e->ctx);
			rc = -ENOMEM;
			goto out;
		}
		e->min_version = min_version;
		e->max_version = max_version;
		c->n++;
		*out = e->ctx;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int cipher_list(const struct policy_rule *r, enum policy_level level, char *out,
		       size_t len)
{
	const char *grade = r && r->ciphers ? r->ciphers : "medium";
	const char *list = NULL;
	size_t off;

	(void)level;
	for (size_t i = 0; i < sizeof(grades) / sizeof(grades[0]); i++)
		if (!strcasecmp(grade, grades[i].grade))
			list = grades[i].list;
	if (!list)
		return -EINVAL;
	off = (size_t)snprintf(out, len, "%s", list);
	if (r && r->exclude) {
		char ex[512], *save = NULL, *tok;

		snprintf(ex, sizeof(ex), "%s", r->exclude);
		for (tok = strtok_r(ex, ":, \t", &save); tok; tok = strtok_r(NULL, ":, \t", &save))
			if (off < len)
				off += (size_t)snprintf(out + off, len - off, ":!%s", tok);
	}
	return off < len ? 0 : -ENOSPC;
}

/* The names a verify/secure certificate must match, expanded from match= (Postfix syntax). */
static int add_names(SSL *ssl, const struct tls_client_params *p, char *err, size_t errlen)
{
	static const char *const verify_default[] = { "hostname" };
	static const char *const secure_default[] = { "nexthop", "dot-nexthop" };
	const char *const *m;
	size_t n, added = 0;

	if (p->rule && p->rule->nmatch) {
		m = (const char *const *)p->rule->match;
		n = p->rule->nmatch;
	} else if (p->level == POLICY_SECURE) {
		m = secure_default;
		n = 2;
	} else {
		m = verify_default;
		n = 1;
	}
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (size_t i = 0; i < n; i++) {
		char name[300];

		if (!strcasecmp(m[i], "hostname")) {
			if (!p->mx_host || !*p->mx_host)
				continue;
			snprintf(name, sizeof(name), "%s", p->mx_host);
		} else if (!strcasecmp(m[i], "nexthop")) {
			if (!p->nexthop || !*p->nexthop)
				continue;
			snprintf(name, sizeof(name), "%s", p->nexthop);
		} else if (!strcasecmp(m[i], "dot-nexthop")) {
			if (!p->nexthop || !*p->nexthop)
				continue;
			/* a leading dot: OpenSSL matches any name below it */
			snprintf(name, sizeof(name), ".%s", p->nexthop);
		} else {
			snprintf(name, sizeof(name), "%s", m[i]);
		}
		if (SSL_add1_host(ssl, name) != 1) {
			snprintf(err, errlen, "cannot set name to verify '%s'", name);
			return -EINVAL;
		}
		added++;
	}
	if (!added) {
		snprintf(err, errlen, "no name to verify the certificate against (level %s needs the "
				      "MX host name or next-hop domain)", policy_level_name(p->level));
		return -EINVAL;
	}
	return 0;
}

int tls_client_ssl_new(SSL_CTX *ctx, const struct tls_client_params *p, SSL **out, char *err,
		       size_t errlen)
{
	const struct policy_rule *r = p->rule;
	const char *sni = r && r->servername ? r->servername
			  : p->mx_host		   ? p->mx_host
						   : p->sni_hint;
	int min_v = r ? r->min_version : 0, max_v = r ? r->max_version : 0;
	SSL_CTX *derived = NULL;
	char list[1024];
	SSL *ssl = NULL;
	int rc = -EINVAL;

	if (cipher_list(r, p->level, list, sizeof(list)))
		goto bad_ciphers;
	rc = ctx_for(ctx, min_v, max_v, list, &derived);
	if (rc == -EINVAL) {
		ERR_clear_error(); /* not left for the next SSL_get_error of this thread */
		goto bad_ciphers;
	}
	if (rc) {
		snprintf(err, errlen, "cannot make a TLS context for ciphers=%s exclude=%s",
			 r && r->ciphers ? r->ciphers : "medium", r && r->exclude ? r->exclude : "");
		return rc;
	}
	rc = -EINVAL;
	ssl = SSL_new(derived ? derived : ctx);
	if (!ssl) {
		snprintf(err, errlen, "SSL_new failed");
		return -ENOMEM;
	}
	if (!derived) {
		/* the cache is full: the same settings on the SSL itself */
		if (min_v)
			SSL_set_min_proto_version(ssl, min_v);
		if (max_v)
			SSL_set_max_proto_version(ssl, max_v);
		if (SSL_set_cipher_list(ssl, list) != 1) {
			ERR_clear_error();
			goto bad_ciphers;
		}
	}
	/* servername=hostname means the MX name, as in Postfix */
	if (r && r->servername && !strcasecmp(r->servername, "hostname"))
		sni = p->mx_host;
	if (sni && *sni && SSL_set_tlsext_host_name(ssl, sni) != 1) {
		snprintf(err, errlen, "cannot set SNI '%s'", sni);
		goto fail;
	}
	if (p->level == POLICY_VERIFY || p->level == POLICY_SECURE) {
		rc = add_names(ssl, p, err, errlen);
		if (rc)
			goto fail;
	}
	*out = ssl;
	return 0;
bad_ciphers:
	snprintf(err, errlen, "bad cipher settings ciphers=%s exclude=%s",
		 r && r->ciphers ? r->ciphers : "medium", r && r->exclude ? r->exclude : "");
fail:
	SSL_free(ssl);
	return rc;
}

/* Hex digest "AB:CD:..." of the DER of cert or of its public key. */
static int fingerprint(X509 *cert, bool pubkey, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	int derlen, ok;

	if (pubkey)
		derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	else
		derlen = i2d_X509(cert, &der);
	if (derlen <= 0)
		return -EINVAL;
	ok = EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || len < mdlen * 3)
		return -EINVAL;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + i * 3, len - i * 3, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	return 0;
}

static bool fp_equal(const char *a, const char *b)
{
	/* Case- and separator-insensitive: "ab:cd" == "ABCD" */
	for (;;) {
		while (*a == ':')
			a++;
		while (*b == ':')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if ((*a | 0x20) != (*b | 0x20))
			return false;
		a++;
		b++;
	}
}

int tls_client_check(SSL *ssl, const struct tls_client_params *p, enum tls_trust *trust,
		     char *why, size_t whylen)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	char fp_cert[128], fp_key[128];

	why[0] = '\0';
	if (!cert) {
		*trust = TLS_ANONYMOUS;
	} else if (vr == X509_V_OK) {
		*trust = p->level == POLICY_VERIFY || p->level == POLICY_SECURE ? TLS_VERIFIED
										  : TLS_TRUSTED;
	} else if (vr == X509_V_ERR_HOSTNAME_MISMATCH) {
		*trust = TLS_TRUSTED;
	} else {
		*trust = TLS_UNTRUSTED;
	}

	switch (p->level) {
	case POLICY_FINGERPRINT:
		if (!cert || fingerprint(cert, false, fp_cert, sizeof(fp_cert)) ||
		    fingerprint(cert, true, fp_key, sizeof(fp_key))) {
			snprintf(why, whylen, "no server certificate to check the fingerprint of");
			return -EPERM;
		}
		for (size_t i = 0; p->rule && i < p->rule->nmatch; i++) {
			if (fp_equal(p->rule->match[i], fp_cert) ||
			    fp_equal(p->rule->match[i], fp_key)) {
				*trust = TLS_VERIFIED;
				return 0;
			}
		}
		snprintf(why, whylen, "certificate fingerprint %s (public key %s) not in match=",
			 fp_cert, fp_key);
		return -EPERM;
	case POLICY_DANE:
	case POLICY_DANE_ONLY:
	case POLICY_DEFER:
		/* Never reached (a defer rule refuses the session first): fail closed. */
		snprintf(why, whylen, "policy level %s cannot be honoured",
			 policy_level_name(p->level));
		return -EPERM;
	case POLICY_VERIFY:
	case POLICY_SECURE:
		if (*trust == TLS_VERIFIED)
			return 0;
		snprintf(why, whylen, "server certificate not verified: %s",
			 cert ? X509_verify_cert_error_string(vr) : "no certificate");
		return -EPERM;
	default:
		return 0;
	}
}

int tls_client_cert_status(SSL *ssl, const char *mx_host)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	if (!cert)
		return REPORT_CERT_NONE;
	switch (SSL_get_verify_result(ssl)) {
	case X509_V_OK:
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		/* the names of a verify/secure rule were checked (the chain was fine) */
		return REPORT_CERT_NAME_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return REPORT_CERT_EXPIRED;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return REPORT_CERT_SELF_SIGNED;
	default:
		return REPORT_CERT_UNTRUSTED;
	}
	if (!mx_host || !*mx_host)
		return REPORT_CERT_NO_NAME;
	/* as a verify rule's default match=hostname checks it (tls_client_ssl_new) */
	return X509_check_host(cert, mx_host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1
		       ? REPORT_CERT_VERIFIED
		       : REPORT_CERT_NAME_MISMATCH;
}

const char *tls_client_trust_name(enum tls_trust t)
{
	switch (t) {
	case TLS_ANONYMOUS:
		return "Anonymous";
	case TLS_UNTRUSTED:
		return "Untrusted";
	case TLS_TRUSTED:
		return "Trusted";
	case TLS_VERIFIED:
		return "Verified";
	}
	return "?";
}

void tls_client_summary(const SSL *ssl, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg_bits = 0, bits = c ? SSL_CIPHER_get_bits(c, &alg_bits) : 0;

	snprintf(buf, len, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
		 c ? SSL_CIPHER_get_name(c) : "?", bits, alg_bits);
}

/*
 * Session resumption.  A session is offered again only to a handshake that everything which
 * decided the first one would decide the same way: the key holds the destination (MX name,
 * address, port), the SNI, the level, the names a certificate must match (as OpenSSL was told
 * them, after match= expansion), the pinned fingerprints, the protocol bounds and the cipher
 * settings.  The trust store is the context's (a cache per daemon context).  What the SSL
 * remembers of its key, until the session is kept or refused, hangs off it in ex_data.
 */
struct resume_note {
	struct tls_resume *cache;
	time_t origin;		/* of the offered session: its first, full handshake */
	bool offered;		/* a cached session was set on the SSL */
	bool refused;		/* the verdict refused the peer: never keep this session */
	char key[];
};

static pthread_once_t note_once = PTHREAD_ONCE_INIT;
static int note_idx = -1;

static void note_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void note_index(void)
{
	note_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, note_free);
}

static int key_add(char *out, size_t len, size_t *off, const char *tag, const char *v)
{
	/* "|tag:LENGTH=value": with its length, no value (a name from DNS, say) can pass for
	 * further fields */
	int n = snprintf(out + *off, len - *off, "|%s:%zu=%s", tag, v ? strlen(v) : 0, v ? v : "");

	if (n < 0 || (size_t)n >= len - *off)
		return -ENOSPC;
	*off += (size_t)n;
	return 0;
}

int tls_client_resume_key(SSL *ssl, const struct tls_client_params *p, const char *dest,
			  char *out, size_t len)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	const struct policy_rule *r = p->rule;
	const char *h;
	char num[64];
	size_t off = 0;
	int rc;

	if (!len)
		return -ENOSPC;
	out[0] = '\0';
	snprintf(num, sizeof(num), "%ld-%ld", SSL_get_min_proto_version(ssl),
		 SSL_get_max_proto_version(ssl));
	rc = key_add(out, len, &off, "dest", dest);
	rc = rc ?: key_add(out, len, &off, "level", policy_level_name(p->level));
	rc = rc ?: key_add(out, len, &off, "sni", SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	rc = rc ?: key_add(out, len, &off, "proto", num);
	rc = rc ?: key_add(out, len, &off, "ciphers", r && r->ciphers ? r->ciphers : "medium");
	rc = rc ?: key_add(out, len, &off, "exclude", r ? r->exclude : NULL);
	for (int i = 0; !rc && (h = X509_VERIFY_PARAM_get0_host(vp, i)); i++)
		rc = key_add(out, len, &off, "name", h);
	if (p->level == POLICY_FINGERPRINT)
		for (size_t i = 0; !rc && r && i < r->nmatch; i++)
			rc = key_add(out, len, &off, "fp", r->match[i]);
	return rc;
}

int tls_client_resume_offer(SSL_CTX *ctx, SSL *ssl, const struct tls_client_params *p,
			    const char *dest)
{
	struct ctx_cache *c = cache_idx >= 0 ? SSL_CTX_get_ex_data(ctx, cache_idx) : NULL;
	struct resume_note *n;
	SSL_SESSION *sess;
	char key[2048];

	if (!c || !c->resume)
		return -ENOENT;
	pthread_once(&note_once, note_index);
	if (note_idx < 0 || tls_client_resume_key(ssl, p, dest, key, sizeof(key)))
		return -ENOENT; /* a key too long for the buffer: this one is not resumed */
	n = malloc(sizeof(*n) + strlen(key) + 1);
	if (!n)
		return -ENOMEM;
	n->cache = c->resume;
	n->offered = n->refused = false;
	memcpy(n->key, key, strlen(key) + 1);
	if (!SSL_set_ex_data(ssl, note_idx, n)) {
		free(n);
		return -ENOMEM;
	}
	sess = tls_resume_get(c->resume, key, time(NULL), &n->origin);
	if (!sess)
		return 0;
	n->offered = SSL_set_session(ssl, sess) == 1;
	SSL_SESSION_free(sess);
	return n->offered;
}

static struct resume_note *note_of(SSL *ssl)
{
	return note_idx >= 0 ? SSL_get_ex_data(ssl, note_idx) : NULL;
}

bool tls_client_resume_keep(SSL *ssl)
{
	struct resume_note *n = note_of(ssl);
	time_t now = time(NULL);
	SSL_SESSION *sess;
	bool kept = false;

	if (!n || n->refused)
		return false;
	sess = SSL_get1_session(ssl);
	/* TLS 1.3 right after the handshake: no ticket yet (the caller comes back).  A resumed
	 * session's verification is its origin's: the new tickets do not renew it. */
	if (sess && SSL_SESSION_is_resumable(sess))
		kept = tls_resume_put(n->cache, n->key, sess, now,
				      n->offered && SSL_session_reused(ssl) ? n->origin : now) == 0;
	SSL_SESSION_free(sess);
	return kept;
}

void tls_client_resume_forget(SSL *ssl)
{
	struct resume_note *n = note_of(ssl);

	if (!n)
		return;
	n->refused = true;
	tls_resume_del(n->cache, n->key);
}

const char *tls_client_resume_word(SSL *ssl)
{
	struct resume_note *n = note_of(ssl);

	if (SSL_session_reused(ssl))
		return "resumed";
	return n && n->offered ? "new(cached-declined)" : "new";
}
