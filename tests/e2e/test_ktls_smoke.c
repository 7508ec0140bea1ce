// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proof that the kernel does the TLS crypto: a TLS 1.2 and a TLS 1.3 session over loopback with
 * OpenSSL's own kTLS (SSL_OP_ENABLE_KTLS), payload both ways, and /proc/net/tls_stat deltas.
 * OpenSSL 3.0 offloads TLS 1.2 TX+RX and TLS 1.3 TX only (1.3 RX is ktls/'s job).
 *
 * On a kernel without the tls ULP (the build host) the sessions still run, in userspace, and the
 * kernel checks are skipped with the reason; under tests/vm/run (TLSGATE_REQUIRE_KTLS=1) a missing
 * ULP is a failure.
 */
#include "ktls/ktls.h"
#include "ktls/stat.h"
#include "lib/sockutil.h"
#include "tests/lib/tap.h"
#include "tests/lib/tls_fixture.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAYLOAD (1u << 20)

struct writer {
	SSL *ssl;
	const unsigned char *buf;
	size_t len;
	int ok;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->len) {
		int n = SSL_write(w->ssl, w->buf + off, (int)(w->len - off));
		if (n <= 0)
			return NULL;
		off += (size_t)n;
	}
	w->ok = 1;
	return NULL;
}

static int read_all(SSL *ssl, unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		int n = SSL_read(ssl, buf + off, (int)(len - off));
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Send len bytes from a to b on a thread while reading them on this one; compare. */
static int transfer(SSL *from, SSL *to, unsigned int seed)
{
	unsigned char *src = malloc(PAYLOAD), *dst = malloc(PAYLOAD);
	struct writer w = { .ssl = from, .buf = src, .len = PAYLOAD };
	pthread_t th;
	int rc = -1;

	if (!src || !dst)
		goto out;
	tls_fixture_fill(src, PAYLOAD, seed);
	if (pthread_create(&th, NULL, write_all, &w))
		goto out;
	rc = read_all(to, dst, PAYLOAD);
	pthread_join(th, NULL);
	if (rc || !w.ok || memcmp(src, dst, PAYLOAD))
		rc = -1;
out:
	free(src);
	free(dst);
	return rc;
}

static void run_version(const char *label, int version, const char *cipher,
			const struct ktls_caps *caps)
{
	struct tls_fixture_opts o = { .version = version, .cipher = cipher, .ktls = true };
	const char *why = ktls_caps_unavailable_reason(caps);
	struct ktls_stat before, after;
	SSL_CTX *sctx = tls_fixture_server_ctx(&o), *cctx = tls_fixture_client_ctx(&o);
	SSL *c = NULL, *s = NULL;
	int cfd = -1, sfd = -1;
	int have_stat;
	bool kernel_rx = version == TLS1_2_VERSION;

	if (!sctx || !cctx || tg_tcp_loopback_pair(&cfd, &sfd))
		tap_bail("%s: test setup failed", label);
	have_stat = ktls_stat_read(&before) == 0;
	c = SSL_new(cctx);
	s = SSL_new(sctx);
	if (!tap_ok(tls_fixture_handshake(c, s, cfd, sfd) == 0, "%s handshake (%s)", label,
		    cipher))
		goto out;
	tap_diag("%s: negotiated %s %s; OpenSSL kTLS client tx=%d rx=%d server tx=%d rx=%d",
		 label, SSL_get_version(c), SSL_get_cipher(c), BIO_get_ktls_send(SSL_get_wbio(c)),
		 BIO_get_ktls_recv(SSL_get_rbio(c)), BIO_get_ktls_send(SSL_get_wbio(s)),
		 BIO_get_ktls_recv(SSL_get_rbio(s)));
	tap_ok(transfer(c, s, 1) == 0, "%s: 1 MiB client->server intact", label);
	tap_ok(transfer(s, c, 2) == 0, "%s: 1 MiB server->client intact", label);

	if (why) {
		/* No kTLS: OpenSSL must have stayed in userspace, not half-offloaded. */
		tap_ok(!BIO_get_ktls_send(SSL_get_wbio(c)) && !BIO_get_ktls_recv(SSL_get_rbio(c)),
		       "%s: no kTLS claimed without the ULP", label);
		if (tap_require_ktls())
			tap_ok(false, "%s: kTLS unavailable: %s", label, why);
		else
			tap_skip(why, "%s: kernel did the crypto (kTLS unavailable: %s)", label,
				 why);
		goto out;
	}
	if (!tap_ok(have_stat && ktls_stat_read(&after) == 0, "%s: /proc/net/tls_stat readable",
		    label))
		goto out;
	tap_diag("%s: TlsTxSw %llu->%llu TlsRxSw %llu->%llu TlsDecryptError %llu->%llu", label,
		 (unsigned long long)before.tx_sw, (unsigned long long)after.tx_sw,
		 (unsigned long long)before.rx_sw, (unsigned long long)after.rx_sw,
		 (unsigned long long)before.decrypt_error,
		 (unsigned long long)after.decrypt_error);
	tap_ok(BIO_get_ktls_send(SSL_get_wbio(c)) && BIO_get_ktls_send(SSL_get_wbio(s)),
	       "%s: OpenSSL put TX in the kernel on both ends", label);
	tap_ok(after.tx_sw - before.tx_sw == 2, "%s: TlsTxSw rose by 2 (client and server TX)",
	       label);
	if (kernel_rx)
		tap_ok(after.rx_sw - before.rx_sw == 2,
		       "%s: TlsRxSw rose by 2 (client and server RX)", label);
	tap_ok(after.decrypt_error == before.decrypt_error, "%s: no TlsDecryptError", label);
out:
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
}

int main(void)
{
	struct ktls_caps caps;
	char line[256];

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	ktls_caps_format(&caps, line, sizeof(line));
	tap_diag("ktls: %s", line);
	run_version("TLS 1.2", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", &caps);
	run_version("TLS 1.3", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", &caps);
	return tap_done();
}
