// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inbound trace header: the Received: line tlsgated prepends to a message from an external
 * sender, byte for byte as Postfix's smtpd writes it (smtp/received.c formats it), with the TLS
 * facts of the down leg captured at its handshake (the SSL is freed once the kernel has both
 * directions).  And the verdict header, X-Tlsgate-Transport-Security:, the message's whole
 * Received: chain judged in plain words (smtp/received_verdict.h): session_body.c feeds the
 * header section through the scan as it streams, this file starts and ends it.
 */
#include "daemon/session_int.h"
#include "daemon/gateway.h"
#include "lib/log.h"
#include "smtp/received.h"
#include "smtp/received_verdict.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * The key-exchange clause Postfix >= 3.4 writes: "key-exchange X25519 server-signature ECDSA
 * (prime256v1) server-digest SHA256".  Names as Postfix takes them from OpenSSL.
 */
static void tls_kex_sig(SSL *ssl, struct session *s)
{
	struct received_tls *t = &s->down_tls;
	EVP_PKEY *key = SSL_get_privatekey(ssl);
	int nid = NID_undef, group = (int)SSL_get_negotiated_group(ssl);

	/* OBJ_nid2sn() names are static: they outlive the SSL */
	if (group == NID_X25519 || group == NID_X448) {
		t->kex_name = OBJ_nid2sn(group);
	} else if (group != NID_undef) {
		t->kex_name = "ECDHE";
		t->kex_curve = OBJ_nid2sn(group);
	}
	if (key) {
		switch (EVP_PKEY_get_base_id(key)) {
		case EVP_PKEY_RSA:
			t->sig_name = "RSA";
			if (SSL_get_signature_type_nid(ssl, &nid) && nid == EVP_PKEY_RSA_PSS)
				t->sig_name = "RSA-PSS";
			t->sig_bits = EVP_PKEY_get_bits(key);
			break;
		case EVP_PKEY_EC: {
			size_t clen = 0;

			t->sig_name = "ECDSA";
			if (EVP_PKEY_get_utf8_string_param(key, "group", s->down_tls_curve,
							   sizeof(s->down_tls_curve), &clen))
				t->sig_curve = s->down_tls_curve;
			break;
		}
		default:
			break;
		}
	}
	if (SSL_get_signature_nid(ssl, &nid) && nid != NID_undef) {
		/* "SHA256" as Postfix prints it (upper case short name) */
		snprintf(s->down_tls_digest, sizeof(s->down_tls_digest), "%s", OBJ_nid2sn(nid));
		for (char *p = s->down_tls_digest; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		t->sig_digest = s->down_tls_digest;
	}
}

void session_trace_tls_capture(struct session *s, SSL *ssl)
{
	/* SSL_get_version() and cipher names are OpenSSL's static strings */
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	struct received_tls *t = &s->down_tls;

	memset(t, 0, sizeof(*t));
	t->version = SSL_get_version(ssl);
	t->cipher = c ? SSL_CIPHER_get_name(c) : NULL;
	t->bits = c ? SSL_CIPHER_get_bits(c, &t->alg_bits) : 0;
	/* Postfix writes the key-exchange clause for TLS 1.3 sessions only */
	if (SSL_version(ssl) == TLS1_3_VERSION)
		tls_kex_sig(ssl, s);
}

int session_trace_header(struct session *s, char *buf, size_t len)
{
	struct gateway *g = s->host->gw;
	const char *rcpts[1] = { s->first_rcpt };
	struct received_info ri = {
		.helo = s->helo[0] ? s->helo : NULL,
		.rdns = NULL,
		.addr = s->client_ip,
		.family = s->client.ss_family,
		.esmtp = s->esmtp,
		.by_host = g->cfg.hostname,
		.queue_id = s->queue_id[0] ? s->queue_id : NULL,
		/* only the first is kept: received_format() names it when it is the only one */
		.rcpts = rcpts,
		.nrcpt = s->nrcpt_ok,
		.when = time(NULL),
	};
	int n, m;

	if (s->down.tls)
		ri.tls = &s->down_tls;
	n = received_format(&ri, buf, len);
	if (n < 0) {
		log_warn("session=%s cannot format the Received header: %s", s->ids, strerror(-n));
		return n;
	}
	if (g->cfg.inbound_x_tlsgate_header) {
		m = received_tls_summary(&ri, buf + n, len - (size_t)n);
		if (m > 0)
			n += m;
	}
	return n;
}

bool session_trace_edits(const struct session *s)
{
	const struct config *c = &s->host->gw->cfg;

	return s->role == ROLE_INBOUND && (c->inbound_x_tlsgate_header || c->inbound_security_header);
}

int session_trace_scan_begin(struct session *s, const char *hdr, size_t n)
{
	const struct config *c = &s->host->gw->cfg;

	session_trace_scan_end(s);
	if (s->role != ROLE_INBOUND || !c->inbound_security_header)
		return 0;
	/* one message's worth (~6 KiB), only while its header section streams by */
	s->scan = malloc(sizeof(*s->scan));
	if (!s->scan)
		return -ENOMEM;
	received_scan_init(s->scan, &c->own_servers);
	received_scan_ours(s->scan, hdr, n);
	return 0;
}

int session_trace_verdict(struct session *s, char *buf, size_t len)
{
	int n;

	if (!s->scan)
		return 0;
	received_scan_end(s->scan);
	n = received_verdict_header(&s->scan->v, buf, len);
	if (n < 0)
		log_warn("session=%s cannot format the %s header: %s", s->ids,
			 RECEIVED_VERDICT_HEADER, strerror(-n));
	return n;
}

void session_trace_scan_end(struct session *s)
{
	free(s->scan);
	s->scan = NULL;
}
