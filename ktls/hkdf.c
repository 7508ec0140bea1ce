// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 HKDF-Expand-Label with OpenSSL's "TLS13-KDF" in EXPAND_ONLY mode: the same code
 * OpenSSL's own record layer derives its keys with, so the kernel gets exactly what OpenSSL
 * would have used (checked against RFC 8448 in tests/unit/test_ktls_hkdf.c).
 */
#include "ktls/hkdf.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

static const char tls13_prefix[] = "tls13 ";
static const unsigned char no_context[1];

int ktls_hkdf_expand_label(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
			   const char *label, const unsigned char *context, size_t context_len,
			   unsigned char *out, size_t out_len)
{
	OSSL_PARAM params[7], *p = params;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf = NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	int err = -EIO;

	/* RFC 8446 §7.1: the label (with prefix) is at most 255 bytes, the output 2^16-1. */
	if (!md || !secret || !label || !out || out_len == 0 || out_len > 0xffff ||
	    strlen(label) + sizeof(tls13_prefix) - 1 > 255 || (context_len && !context))
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	if (!kdf)
		return -ENOMEM;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx) {
		err = -ENOMEM;
		goto out;
	}
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
						0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)tls13_prefix,
						 sizeof(tls13_prefix) - 1);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label,
						 strlen(label));
	/* An empty context is still a (zero-length) hash value in the HkdfLabel. */
	*p++ = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_DATA, (void *)(context ? context : no_context), context_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		err = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return err;
}

int ktls_tls13_key_iv(const EVP_MD *md, const unsigned char *secret, size_t secret_len,
		      unsigned char *key, size_t key_len, unsigned char *iv)
{
	int err;

	err = ktls_hkdf_expand_label(md, secret, secret_len, "key", NULL, 0, key, key_len);
	if (!err)
		err = ktls_hkdf_expand_label(md, secret, secret_len, "iv", NULL, 0, iv,
					     KTLS_IV_LEN);
	return err;
}

int ktls_tls13_next_secret(const EVP_MD *md, unsigned char *secret, size_t secret_len)
{
	unsigned char next[KTLS_SECRET_MAX];
	int err;

	if (secret_len > sizeof(next) || (int)secret_len != EVP_MD_get_size(md))
		return -EINVAL;
	err = ktls_hkdf_expand_label(md, secret, secret_len, "traffic upd", NULL, 0, next,
				     secret_len);
	if (!err)
		memcpy(secret, next, secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	return err;
}
