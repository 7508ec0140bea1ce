/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Driving ktls/ endpoints in tests and the benchmark: handshakes over loopback, a relay loop (the
 * pump, as the daemon runs it: ktls_xfer_splice both ways between two endpoints), and a traffic
 * end that sends a generated stream and hashes what comes back.  Everything is non-blocking with
 * poll() and a deadline, so a broken peer fails a check instead of hanging the tier.
 */
#ifndef TLSGATE_TESTS_KTLS_HARNESS_H
#define TLSGATE_TESTS_KTLS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ktls/endpoint.h"
#include "tests/lib/tls_fixture.h"

/* The three kernel ciphers as OpenSSL names for TLS 1.2 (ECDSA certificate) and TLS 1.3. */
struct kh_suite {
	const char *label;  /* "tls1.3-aes-128-gcm" */
	int version;	    /* TLS1_2_VERSION, TLS1_3_VERSION */
	const char *cipher; /* OpenSSL cipher (1.2) or ciphersuite (1.3) name */
	enum ktls_cipher kcipher;
	const char *gnutls; /* GnuTLS priority string for the same */
};
extern const struct kh_suite kh_suites[6];

/* Contexts for one suite, prepared by ktls_ctx_prepare(); NULL on failure. */
SSL_CTX *kh_ctx(const struct kh_suite *s, bool server);

/* Drive handshakes to completion: both ends here (pair), or ours against a peer elsewhere. */
int kh_handshake_pair(struct ktls_ep *client, struct ktls_ep *server, int timeout_ms);
int kh_handshake(struct ktls_ep *ep, int timeout_ms);

/*
 * A TLS session over a fresh loopback pair, both ends ours: handshake done, not offloaded.
 * 0 or -errno.
 */
int kh_tls_pair(const struct kh_suite *s, struct ktls_ep **client, struct ktls_ep **server);
/* The same from contexts of the caller's (not freed). */
int kh_tls_pair_ctx(SSL_CTX *cctx, SSL_CTX *sctx, struct ktls_ep **client, struct ktls_ep **server);
/*
 * kh_tls_pair_ctx with the client offering sess (NULL: none) and, with defer_rx, its TLS 1.3 RX
 * left in OpenSSL past the handshake (ktls_ep_defer_rx).
 */
int kh_tls_pair_resume(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *sess, bool defer_rx,
		       struct ktls_ep **client, struct ktls_ep **server);

/* Wait for an endpoint's events (or buffered data); 0, or -ETIMEDOUT. */
int kh_wait(struct ktls_ep *ep, uint32_t events, int timeout_ms);

/* Blocking-style helpers over the non-blocking API: len bytes exactly, or -errno. */
ssize_t kh_read_full(struct ktls_ep *ep, void *buf, size_t len, int timeout_ms);
ssize_t kh_write_all(struct ktls_ep *ep, const void *buf, size_t len, int timeout_ms);
/* Read until the stream ends: 0 at a clean end, -errno (with ktls_ep_error) otherwise. */
int kh_read_to_end(struct ktls_ep *ep, size_t *got, int timeout_ms);

/* The relay between two endpoints, both directions, until both have ended. */
struct kh_pump_result {
	uint64_t bytes[2]; /* [0]: a -> b, [1]: b -> a */
	int err[2];	   /* 0, or the -errno that ended the direction */
	char why[2][192];  /* ktls_ep_error() of the failing endpoint */
	bool spliced[2];   /* some bytes went by splice() */
	bool copied[2];	   /* some went through the bounce buffer */
};
int kh_pump(struct ktls_ep *a, struct ktls_ep *b, struct kh_pump_result *r, int timeout_ms);

/*
 * A traffic end on a plain socket: sends `send_len` bytes of the stream of `seed`, then shuts
 * its write side; reads until EOF and hashes what it received (SHA-256).
 */
struct kh_stream {
	int fd;
	uint64_t send_len;
	uint32_t seed;
	bool text;	     /* base64 lines instead of binary (line-oriented peers) */
	uint64_t shut_after; /* do not shut the write side before this much was received */
	int timeout_ms;
	/* results */
	uint64_t sent, received;
	unsigned char recv_sha[32];
	int err;
};
void kh_stream_run(struct kh_stream *s);
/* SHA-256 of the stream kh_stream_run sends for (seed, text, len), and the stream itself. */
void kh_stream_sha(uint32_t seed, bool text, uint64_t len, unsigned char sha[32]);
unsigned char *kh_stream_bytes(uint32_t seed, bool text, size_t len);
void kh_stream_fill(uint64_t *state, unsigned char *buf, size_t len);

/* Monotonic milliseconds. */
int64_t kh_now_ms(void);
/* "deadbeef..." of a SHA-256 (first 8 bytes) for diagnostics. */
const char *kh_hex8(const unsigned char *sha, char *buf);

#endif
