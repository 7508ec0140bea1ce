// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/tls_client.h"
#include "ktls/dane.h"
#include "ktls/endpoint.h"
#include "report/outcome.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

SSL_CTX *tls_client_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
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
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Verification is judged after the handshake against the policy, as Postfix does: the
	 * handshake itself never aborts on an untrusted certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* DANE (ktls/dane.c) needs the context's digest tables; SSLs that do not enable DANE
	 * themselves are not affected. */
	if (ktls_dane_ctx_enable(ctx)) {
		snprintf(err, errlen, "cannot enable DANE on the client TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS); /* idle sessions keep no record buffers */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (ktls_ctx_prepare(ctx, false)) {
		snprintf(err, errlen, "cannot prepare the client TLS context for kTLS");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
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
	char list[1024];
	SSL *ssl = SSL_new(ctx);
	int rc = -EINVAL;

	if (!ssl) {
		snprintf(err, errlen, "SSL_new failed");
		return -ENOMEM;
	}
	if (r && r->min_version)
		SSL_set_min_proto_version(ssl, r->min_version);
	if (r && r->max_version)
		SSL_set_max_proto_version(ssl, r->max_version);
	if (cipher_list(r, p->level, list, sizeof(list)) || SSL_set_cipher_list(ssl, list) != 1) {
		snprintf(err, errlen, "bad cipher settings ciphers=%s exclude=%s",
			 r && r->ciphers ? r->ciphers : "medium", r && r->exclude ? r->exclude : "");
		goto fail;
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
