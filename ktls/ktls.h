/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ktls/: move an established TLS session's record layer into the kernel.
 * This header holds what every part of ktls/ and its users share: the ciphers the kernel can
 * take and the start-up probe of what the running kernel offers.
 */
#ifndef TLSGATE_KTLS_KTLS_H
#define TLSGATE_KTLS_KTLS_H

#include <stdbool.h>
#include <stddef.h>

enum ktls_cipher {
	KTLS_AES_128_GCM,
	KTLS_AES_256_GCM,
	KTLS_CHACHA20_POLY1305,
	KTLS_NCIPHERS,
};

enum ktls_version {
	KTLS_TLS12,
	KTLS_TLS13,
	KTLS_NVERSIONS,
};

/* What the running kernel can do, found once at start-up by ktls_probe(). */
struct ktls_caps {
	bool ulp;		/* the "tls" TCP ULP can be attached */
	int ulp_err;		/* -errno of the attach when !ulp */
	bool tx[KTLS_NVERSIONS][KTLS_NCIPHERS];
	bool rx[KTLS_NVERSIONS][KTLS_NCIPHERS];
	/*
	 * The kernel takes new TLS 1.3 keys on a configured socket (Linux >= 6.14), so a peer's
	 * KeyUpdate can be followed; older kernels end such a session.
	 */
	bool tls13_rekey;
};

/*
 * Probe on throw-away loopback TCP connections: attach the tls ULP, then install TX and RX with
 * zero keys for each version and cipher, and TLS 1.3 TX a second time (a rekey).  Returns 0
 * when the probe ran (caps says what works, including "nothing"), -errno when it could not run
 * at all (no loopback, no sockets).
 */
int ktls_probe(struct ktls_caps *caps);

/* "aes-128-gcm", "aes-256-gcm", "chacha20-poly1305" */
const char *ktls_cipher_name(enum ktls_cipher c);

/* Why kTLS cannot be used at all, or NULL when the ULP is there: "kernel has no tls ULP" ... */
const char *ktls_caps_unavailable_reason(const struct ktls_caps *caps);

/*
 * One-line summary for the start-up log and `tlsgatectl status`:
 *   "tx,rx aes-128-gcm aes-256-gcm chacha20-poly1305"   or
 *   "tx,rx aes-128-gcm aes-256-gcm chacha20-poly1305 keyupdate"   (>= 6.14)   or
 *   "unavailable (kernel has no tls ULP)"
 * Returns the snprintf-style length.
 */
int ktls_caps_format(const struct ktls_caps *caps, char *buf, size_t len);

#endif
