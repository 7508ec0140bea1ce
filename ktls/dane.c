// SPDX-License-Identifier: GPL-2.0-only
/*
 * DANE on the client SSL: see ktls/dane.h.  OpenSSL does the matching (SSL_dane_tlsa_add,
 * then its verifier); this file only chooses what RFC 7672 asks of it and reports the outcome.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ktls/dane.h"

int ktls_dane_ctx_enable(SSL_CTX *ctx)
{
	if (SSL_CTX_dane_enable(ctx) <= 0)
		return -EIO;
	/* RFC 7672 3.1.1: a DANE-EE(3) match authenticates the key itself; names do not matter.
	 * OpenSSL checks names for DANE-EE by default. */
	SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	return 0;
}

int ktls_dane_ssl_config(SSL *ssl, const struct policy_dane_host *h, const char *nexthop,
			bool *usable, char *err, size_t errlen)
{
	size_t added = 0;

	*usable = false;
	if (h->state != POLICY_DANE_USABLE && h->state != POLICY_DANE_UNUSABLE_ALL) {
		snprintf(err, errlen, "no DANE for %s: %s", h->name,
			 policy_dane_state_name(h->state));
		return -EINVAL;
	}
	/* RFC 7672 8.1: SNI is the TLSA base domain, also without usable records. */
	if (SSL_set_tlsext_host_name(ssl, h->base) != 1) {
		snprintf(err, errlen, "cannot set SNI '%s'", h->base);
		return -EINVAL;
	}
	if (h->state == POLICY_DANE_UNUSABLE_ALL)
		return 0;
	/* DANE-TA(2) name checks (RFC 7672 3.2.2): the base domain first; the next-hop domain (a
	 * secure MX RRset named this host for it; Postfix accepts it too); the MX host name when a
	 * CNAME made it differ from the base (it came from the same secure MX RRset; Postfix 3.7
	 * does not accept it, see tests/e2e/test_dane_resolve.sh). */
	if (SSL_dane_enable(ssl, h->base) <= 0) {
		snprintf(err, errlen, "SSL_dane_enable(%s) failed", h->base);
		return -EIO;
	}
	if (strcmp(h->base, h->name) && SSL_add1_host(ssl, h->name) != 1) {
		snprintf(err, errlen, "cannot add reference name '%s'", h->name);
		return -EINVAL;
	}
	if (nexthop && *nexthop && strcasecmp(nexthop, h->base) && strcasecmp(nexthop, h->name) &&
	    SSL_add1_host(ssl, nexthop) != 1) {
		snprintf(err, errlen, "cannot add reference name '%s'", nexthop);
		return -EINVAL;
	}
	/* RFC 7672 3.2.3: a wildcard only as the whole left-most label. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* A record OpenSSL does not take leaves an error in the thread's queue; left there, the
	 * next SSL_get_error() of any session on this thread would read it as a fatal error. */
	ERR_set_mark();
	for (size_t i = 0; i < h->ntlsa; i++) {
		const struct policy_dane_tlsa *t = &h->tlsa[i];
		int r = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len);

		if (r < 0) {
			ERR_pop_to_mark();
			snprintf(err, errlen, "SSL_dane_tlsa_add failed");
			return -EIO;
		}
		added += r > 0;
	}
	ERR_pop_to_mark();
	/* None taken (a digest OpenSSL lacks): the caller treats the host as UNUSABLE_ALL. */
	*usable = added > 0;
	return 0;
}

int ktls_dane_check(SSL *ssl, char *buf, size_t len)
{
	if (!SSL_get0_peer_certificate(ssl)) {
		snprintf(buf, len, "no TLSA record matched (no server certificate)");
		return -EPERM;
	}
	return ktls_dane_outcome(ssl, buf, len);
}

int ktls_dane_outcome(SSL *ssl, char *buf, size_t len)
{
	long vr = SSL_get_verify_result(ssl);
	uint8_t usage = 0, sel = 0, mtype = 0;
	const unsigned char *data = NULL;
	size_t dlen = 0;
	EVP_PKEY *mspki = NULL;
	X509 *mcert = NULL;
	int depth;

	depth = SSL_get0_dane_authority(ssl, &mcert, &mspki);
	if (vr != X509_V_OK || depth < 0 ||
	    SSL_get0_dane_tlsa(ssl, &usage, &sel, &mtype, &data, &dlen) < 0) {
		snprintf(buf, len, "no TLSA record matched (certificate verify: %s)",
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "no DANE authority");
		return -EPERM;
	}
	if (usage == POLICY_DANE_TA) {
		const char *peer = SSL_get0_peername(ssl);

		snprintf(buf, len, "verified by DANE-TA(2) %u %u depth %d name %s", sel, mtype,
			 depth, peer ? peer : "?");
	} else {
		snprintf(buf, len, "verified by DANE-EE(%u) %u %u", usage, sel, mtype);
	}
	return 0;
}
