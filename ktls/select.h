/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which backend each direction of a TLS session gets after the handshake, and why not the
 * kernel.  A pure decision (no sockets), so that every branch is unit-tested; the endpoint feeds
 * it what OpenSSL did and what the kernel offers, then carries it out.
 */
#ifndef TLSGATE_KTLS_SELECT_H
#define TLSGATE_KTLS_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ktls/endpoint.h"
#include "ktls/ktls.h"

/* Reasons a direction stays in userspace, as they appear in ktls_ep_state(). */
#define KTLS_WHY_HANDSHAKE "handshake"		     /* not offloaded yet */
#define KTLS_WHY_DISABLED "ktls-disabled"	     /* SSL_OP_ENABLE_KTLS off on this SSL */
#define KTLS_WHY_NO_ULP "no-tls-ulp"		     /* the kernel has no tls ULP */
#define KTLS_WHY_VERSION "tls-version"		     /* neither TLS 1.2 nor 1.3 */
#define KTLS_WHY_CIPHER "cipher-unsupported"	     /* not AES-GCM or ChaCha20-Poly1305 */
#define KTLS_WHY_KERNEL_CIPHER "kernel-lacks-cipher" /* the probe saw the kernel refuse it */
#define KTLS_WHY_DECLINED "openssl-declined"	     /* OpenSSL did not install it itself */
#define KTLS_WHY_BUFFERED "openssl-buffered"	     /* OpenSSL read bytes past the switch */
#define KTLS_WHY_READ_FIRST "read-before-offload"    /* record sequence no longer known */
#define KTLS_WHY_NO_SECRET "no-traffic-secret"	     /* keylog callback saw no secret */
#define KTLS_WHY_INSTALL "install-failed"	     /* setsockopt(TLS_RX) refused the keys */
#define KTLS_WHY_DEFERRED "deferred"		     /* 1.3 RX waits for ktls_ep_offload_rx */
#define KTLS_WHY_KEYUPDATE "keyupdate-before-offload" /* the peer rekeyed while RX waited */

struct ktls_sel_in {
	bool enabled;		      /* SSL_OP_ENABLE_KTLS */
	const struct ktls_caps *caps; /* NULL: not probed, try */
	bool version_ok;	      /* TLS 1.2 or 1.3 */
	enum ktls_version version;
	bool cipher_ok; /* one of enum ktls_cipher */
	enum ktls_cipher cipher;
	bool openssl_tx, openssl_rx; /* installed by OpenSSL during the handshake */
	bool ssl_pending;	     /* SSL_has_pending(): bytes read past the handshake */
	bool read_after_handshake;   /* SSL_read ran before the offload */
	bool have_rx_secret;	     /* TLS 1.3: the peer's traffic secret was captured */
};

struct ktls_sel {
	enum ktls_mode tx, rx;
	const char *tx_why, *rx_why; /* NULL for kernel */
	bool install_rx;	     /* TLS 1.3 RX: ours to install */
	bool unusable;		     /* kernel RX on, OpenSSL holds bytes past it */
};

void ktls_select(const struct ktls_sel_in *in, struct ktls_sel *out);

/* "kernel", "user(why)" or "user(why:ERRNO)" into buf; returns buf. */
const char *ktls_mode_format(enum ktls_mode m, const char *why, int err, char *buf, size_t len);

#endif
