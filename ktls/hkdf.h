/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS 1.3 key schedule pieces ktls/ needs to install RX keys itself (OpenSSL 3.0 only installs
 * TX): HKDF-Expand-Label (RFC 8446 §7.1) through OpenSSL's own "TLS13-KDF", the traffic key and
 * IV of a traffic secret (§7.3), and the next secret after a KeyUpdate (§7.2, "traffic upd").
 */
#ifndef TLSGATE_KTLS_HKDF_H
#define TLSGATE_KTLS_HKDF_H

#include <openssl/evp.h>
#include <stddef.h>

/* Largest traffic secret (SHA-384) and AEAD key (AES-256, ChaCha20); every TLS 1.3 IV is 12. */
#define KTLS_SECRET_MAX 48
#define KTLS_KEY_MAX 32
#define KTLS_IV_LEN 12

/*
 * HKDF-Expand-Label(secret, label, context, out_len) with the "tls13 " prefix.  label is given
 * without the prefix ("key", "iv", "traffic upd").  Returns 0 or -EINVAL / -ENOMEM / -EIO.
 */
int ktls_hkdf_expand_label(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
			   const char *label, const unsigned char *context, size_t context_len,
			   unsigned char *out, size_t out_len);

/* [sender]_write_key and [sender]_write_iv of a traffic secret; iv is KTLS_IV_LEN bytes. */
int ktls_tls13_key_iv(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
		      unsigned char *key, size_t key_len, unsigned char *iv);

/* application_traffic_secret_N+1 from _N, in place (the hash length is secret_len). */
int ktls_tls13_next_secret(const EVP_MD *md, unsigned char *secret, size_t secret_len);

#endif
