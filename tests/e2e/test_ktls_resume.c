// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session resumption with kernel RX (ktls_ep_defer_rx / ktls_ep_offload_rx): a client endpoint
 * against a server that sends tickets (OpenSSL's default: one for TLS 1.2 in the handshake, two
 * NewSessionTickets after a TLS 1.3 handshake), for each kernel suite:
 *   - without deferral, TLS 1.3 RX goes to the kernel at once and OpenSSL never sees a ticket:
 *     the session is not resumable (why the deferral exists);
 *   - with deferral, the first reply is read through OpenSSL (it takes the tickets), then RX
 *     moves to the kernel at the record sequence OpenSSL reached: the session is resumable,
 *     data both ways after the move arrives intact (a wrong sequence is a decrypt error);
 *   - a second connection offered that session resumes (SSL_session_reused) and runs in the
 *     kernel both ways just the same.
 * Where the kernel has kTLS (vm tier): tx=kernel rx=kernel on the client, /proc/net/tls_stat
 * TlsTxSw and TlsRxSw up by 2 per connection (client and server), no TlsDecryptError.
 * And a server that sends a KeyUpdate before its first reply (TLS 1.3): the record sequence
 * restarted under a key the endpoint did not derive, so RX stays in OpenSSL, said as
 * keyupdate-before-offload, and the session goes on intact both ways (installing at the count
 * would have put the old key in the kernel: a decrypt error on the next record).
 * In the VM (TLSGATE_IN_VM; a handshake takes seconds under TCG) each version and each kernel
 * cipher once: TLS 1.2 AES-128-GCM, TLS 1.3 AES-256-GCM and ChaCha20-Poly1305, the KeyUpdate
 * case with the last; on the host every suite.
 */
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "ktls/stat.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY "250 mx.example.net hello\r\n"

/* Alternating writes both ways, each read back whole and compared. */
static bool exchange(struct ktls_ep *a, struct ktls_ep *b)
{
	unsigned char *out = kh_stream_bytes(7, false, 12000), in[12000];
	bool ok = out != NULL;

	for (int i = 0; ok && i < 6; i++) {
		struct ktls_ep *from = i % 2 ? a : b, *to = i % 2 ? b : a;
		size_t n = 1000 + (size_t)i * 1500;

		ok = kh_write_all(from, out, n, 10000) == (ssize_t)n &&
		     kh_read_full(to, in, n, 10000) == (ssize_t)n && !memcmp(in, out, n);
	}
	free(out);
	return ok;
}

/* TLS 1.3: the server (in userspace, so that OpenSSL can rekey its TX) sends a KeyUpdate first. */
static void keyupdate_first(const struct kh_suite *s, const struct ktls_caps *caps)
{
	SSL_CTX *cctx = kh_ctx(s, false), *sctx = kh_ctx(s, true);
	struct ktls_ep *c = NULL, *sv = NULL;
	char state[128], buf[sizeof(REPLY)];
	int err;

	if (!cctx || !sctx)
		tap_bail("%s: contexts", s->label);
	SSL_CTX_clear_options(sctx, SSL_OP_ENABLE_KTLS);
	err = kh_tls_pair_resume(cctx, sctx, NULL, true, &c, &sv);
	tap_ok(!err, "%s keyupdate: handshake (%d)", s->label, err);
	if (err)
		goto out;
	ktls_ep_offload(c, caps);
	ktls_ep_offload(sv, caps);
	tap_ok(SSL_key_update(ktls_ep_ssl(sv), SSL_KEY_UPDATE_NOT_REQUESTED) == 1,
	       "%s keyupdate: the server schedules a KeyUpdate", s->label);
	err = kh_write_all(sv, REPLY, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) &&
	      kh_read_full(c, buf, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) ? 0 : -EIO;
	tap_ok(!err && !memcmp(buf, REPLY, strlen(REPLY)),
	       "%s keyupdate: first reply read through OpenSSL, after the KeyUpdate", s->label);
	ktls_ep_offload_rx(c);
	ktls_ep_state(c, state, sizeof(state));
	tap_ok(strstr(state, "rx=user(keyupdate-before-offload)") || strstr(state, "rx=user(no-tls-ulp)"),
	       "%s keyupdate: RX stays in OpenSSL, with the reason (%s)", s->label, state);
	tap_ok(exchange(c, sv), "%s keyupdate: data both ways afterwards, intact (%s / %s)",
	       s->label, ktls_ep_error(c), ktls_ep_error(sv));
out:
	ktls_ep_free(c);
	ktls_ep_free(sv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void run(const struct kh_suite *s, const struct ktls_caps *caps, bool kernel)
{
	SSL_CTX *cctx = kh_ctx(s, false), *sctx = kh_ctx(s, true);
	bool tls13 = s->version == TLS1_3_VERSION;
	struct ktls_ep *c = NULL, *sv = NULL;
	SSL_SESSION *sess = NULL;
	struct ktls_stat st0, st1;
	char state[128], buf[sizeof(REPLY)];
	int err;

	if (!cctx || !sctx)
		tap_bail("%s: contexts", s->label);
	/* a server that sends tickets, as MXs do (ktls_ctx_prepare turns them off for ours) */
	SSL_CTX_set_num_tickets(sctx, 2);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);

	/* 1. RX to the kernel right after the handshake (the old way) */
	err = kh_tls_pair_resume(cctx, sctx, NULL, false, &c, &sv);
	tap_ok(!err, "%s: handshake without deferral (%d)", s->label, err);
	if (err)
		goto out;
	ktls_ep_offload(c, caps);
	ktls_ep_offload(sv, caps);
	err = kh_write_all(sv, REPLY, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) &&
	      kh_read_full(c, buf, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) ? 0 : -EIO;
	tap_ok(!err && !memcmp(buf, REPLY, strlen(REPLY)), "%s: reply read without deferral",
	       s->label);
	if (tls13 && kernel) {
		sess = SSL_get1_session(ktls_ep_ssl(c));
		tap_ok(sess && !SSL_SESSION_is_resumable(sess),
		       "%s: without deferral the kernel took the tickets: nothing to resume", s->label);
		SSL_SESSION_free(sess);
		sess = NULL;
	}
	ktls_ep_free(c);
	ktls_ep_free(sv);
	c = sv = NULL;

	/* 2. and 3.: a full handshake, then one that resumes its session */
	for (int round = 0; round < 2; round++) {
		const char *what = round ? "resumed" : "full";

		if (ktls_stat_read(&st0))
			memset(&st0, 0, sizeof(st0));
		err = kh_tls_pair_resume(cctx, sctx, sess, true, &c, &sv);
		tap_ok(!err, "%s %s: handshake (%d %s)", s->label, what, err,
		       c ? ktls_ep_error(c) : "");
		if (err)
			goto out;
		tap_ok(SSL_session_reused(ktls_ep_ssl(c)) == round, "%s %s: session_reused=%d",
		       s->label, what, SSL_session_reused(ktls_ep_ssl(c)));
		ktls_ep_offload(c, caps);
		ktls_ep_offload(sv, caps);
		if (tls13 && kernel)
			tap_ok(strstr(ktls_ep_state(c, state, sizeof(state)), "rx=user(deferred)"),
			       "%s %s: RX deferred after the handshake (%s)", s->label, what, state);
		err = kh_write_all(sv, REPLY, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) &&
		      kh_read_full(c, buf, strlen(REPLY), 10000) == (ssize_t)strlen(REPLY) ? 0 : -EIO;
		tap_ok(!err && !memcmp(buf, REPLY, strlen(REPLY)),
		       "%s %s: first reply read through OpenSSL", s->label, what);
		ktls_ep_offload_rx(c);
		ktls_ep_state(c, state, sizeof(state));
		if (kernel)
			tap_ok(!strcmp(state, "tx=kernel rx=kernel"), "%s %s: client %s", s->label,
			       what, state);
		else
			tap_ok(strstr(state, "rx=user(") != NULL, "%s %s: client %s (no kTLS here)",
			       s->label, what, state);
		tap_ok(exchange(c, sv), "%s %s: data both ways after the move, intact (%s / %s)",
		       s->label, what, ktls_ep_error(c), ktls_ep_error(sv));
		SSL_SESSION_free(sess);
		sess = SSL_get1_session(ktls_ep_ssl(c));
		tap_ok(sess && SSL_SESSION_is_resumable(sess), "%s %s: the session is resumable",
		       s->label, what);
		/* a clean end, as the daemon's (an SSL freed mid-session spoils its session) */
		err = ktls_ep_shutdown(c);
		tap_ok(!err, "%s %s: shutdown (%d %s)", s->label, what, err, ktls_ep_error(c));
		if (kernel && !ktls_stat_read(&st1)) {
			tap_ok(st1.tx_sw - st0.tx_sw == 2 && st1.rx_sw - st0.rx_sw == 2,
			       "%s %s: TlsTxSw +%llu TlsRxSw +%llu (want 2 each: both ends)", s->label,
			       what, (unsigned long long)(st1.tx_sw - st0.tx_sw),
			       (unsigned long long)(st1.rx_sw - st0.rx_sw));
			tap_ok(st1.decrypt_error == st0.decrypt_error, "%s %s: no TlsDecryptError",
			       s->label, what);
		}
		ktls_ep_free(c);
		ktls_ep_free(sv);
		c = sv = NULL;
	}
out:
	ktls_ep_free(c);
	ktls_ep_free(sv);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* The suites this run covers (see the top). */
static bool wanted(const struct kh_suite *s)
{
	return !getenv("TLSGATE_IN_VM") || !strcmp(s->label, "tls1.2-aes-128-gcm") ||
	       !strcmp(s->label, "tls1.3-aes-256-gcm") ||
	       !strcmp(s->label, "tls1.3-chacha20-poly1305");
}

int main(void)
{
	struct ktls_caps caps;
	bool kernel;

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	kernel = !ktls_caps_unavailable_reason(&caps);
	if (!kernel && tap_require_ktls())
		tap_ok(false, "kTLS unavailable: %s", ktls_caps_unavailable_reason(&caps));
	if (!kernel)
		tap_diag("no kTLS here (%s): sessions run in userspace, kernel checks skipped",
			 ktls_caps_unavailable_reason(&caps));
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++)
		if (wanted(&kh_suites[i]))
			run(&kh_suites[i], &caps, kernel);
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++)
		if (kh_suites[i].version == TLS1_3_VERSION &&
		    (!getenv("TLSGATE_IN_VM") || !strcmp(kh_suites[i].label, "tls1.3-chacha20-poly1305")))
			keyupdate_first(&kh_suites[i], &caps);
	return tap_done();
}
