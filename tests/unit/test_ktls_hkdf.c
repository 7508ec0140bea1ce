// SPDX-License-Identifier: GPL-2.0-only
/*
 * ktls/hkdf.c against RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256): the
 * application traffic secrets from the master secret, their keys and IVs; the same key/IV then
 * decrypt the RFC's own application-data records, with the nonce built as the kernel builds it
 * (salt = iv[0..3], then iv[4..11] XOR sequence).  "traffic upd" has no RFC vector: it is
 * checked against OpenSSL itself, which logs the updated secret after a KeyUpdate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktls/endpoint.h"
#include "ktls/hkdf.h"
#include "tests/lib/ktls_harness.h"

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		unsigned int v;

		while (*s == ' ')
			s++;
		if (!*s || sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return n;
}

#define HEX(name, str)           \
	unsigned char name[512]; \
	size_t name##_len = unhex(str, name, sizeof(name))

/* RFC 8448 §3 */
#define MASTER                                                                                    \
	"18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79 84 d5 a4 1d a8 d0 " \
	"40 29 19"
#define AP_HASH                                                                                   \
	"96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff " \
	"83 df 13"
#define C_AP                                                                                      \
	"9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 " \
	"75 04 a5"
#define S_AP                                                                                      \
	"a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb " \
	"63 16 43"
#define EXP                                                                                       \
	"fe 22 f8 81 17 6e da 18 eb 8f 44 52 9e 67 92 c5 0c 9a 3f 89 45 2f 68 d8 ae 31 1b 43 09 " \
	"d3 cf 50"
#define C_AP_KEY "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51"
#define C_AP_IV "5b 78 92 3d ee 08 57 90 33 e5 23 d9"
#define S_AP_KEY "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56"
#define S_AP_IV "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"
#define S_HS                                                                                      \
	"b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 " \
	"91 ad 38"
#define S_HS_KEY "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"
#define S_HS_IV "5d 31 3e b2 67 12 76 ee 13 00 0b 30"
#define C_HS                                                                                      \
	"b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 " \
	"a5 5a 21"
#define C_HS_KEY "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01"
#define C_HS_IV "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"
/* {client} send application_data record (seq 0), {server} send application_data (seq 1) */
#define C_APP_REC                                                                              \
	"17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa " \
	"66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 " \
	"97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4"
#define S_APP_REC                                                                              \
	"17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f " \
	"82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 " \
	"1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d"

static void check_label(const char *secret_hex, const char *label, const char *ctx_hex,
			const char *want_hex)
{
	HEX(secret, secret_hex);
	HEX(ctx, ctx_hex ? ctx_hex : "");
	HEX(want, want_hex);
	unsigned char out[64];

	assert_int_equal(ktls_hkdf_expand_label(EVP_sha256(), secret, secret_len, label,
						ctx_hex ? ctx : NULL, ctx_len, out, want_len),
			 0);
	assert_memory_equal(out, want, want_len);
}

static void test_derive_secret(void **state)
{
	(void)state;
	/* Derive-Secret(master, label, transcript) = HKDF-Expand-Label(.., Hash.length) */
	check_label(MASTER, "c ap traffic", AP_HASH, C_AP);
	check_label(MASTER, "s ap traffic", AP_HASH, S_AP);
	check_label(MASTER, "exp master", AP_HASH, EXP);
}

static void check_key_iv(const char *secret_hex, const char *key_hex, const char *iv_hex)
{
	HEX(secret, secret_hex);
	HEX(key, key_hex);
	HEX(iv, iv_hex);
	unsigned char k[KTLS_KEY_MAX], v[KTLS_IV_LEN];

	assert_int_equal(iv_len, KTLS_IV_LEN);
	assert_int_equal(ktls_tls13_key_iv(EVP_sha256(), secret, secret_len, k, key_len, v), 0);
	assert_memory_equal(k, key, key_len);
	assert_memory_equal(v, iv, KTLS_IV_LEN);
}

static void test_traffic_key_iv(void **state)
{
	(void)state;
	check_key_iv(C_AP, C_AP_KEY, C_AP_IV);
	check_key_iv(S_AP, S_AP_KEY, S_AP_IV);
	check_key_iv(S_HS, S_HS_KEY, S_HS_IV);
	check_key_iv(C_HS, C_HS_KEY, C_HS_IV);
}

/* Open a TLS 1.3 AES-128-GCM record with the kernel's nonce layout; returns inner plaintext. */
static int open_record(const unsigned char *key, const unsigned char *iv, uint64_t seq,
		       const unsigned char *rec, size_t rec_len, unsigned char *out)
{
	unsigned char nonce[12];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t ct_len = rec_len - 5 - 16;
	int n, fin, ok;

	/* kernel: salt = iv[0..3], then the 8-byte iv XOR the sequence number */
	memcpy(nonce, iv, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = iv[4 + i] ^ (unsigned char)(seq >> (8 * (7 - i)));
	ok = EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce) &&
	     EVP_DecryptUpdate(c, NULL, &n, rec, 5) &&
	     EVP_DecryptUpdate(c, out, &n, rec + 5, (int)ct_len) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(rec + 5 + ct_len)) &&
	     EVP_DecryptFinal_ex(c, out + n, &fin);
	EVP_CIPHER_CTX_free(c);
	return ok ? (int)ct_len : -1;
}

static void test_decrypt_rfc8448_records(void **state)
{
	HEX(c_ap, C_AP);
	HEX(s_ap, S_AP);
	HEX(crec, C_APP_REC);
	HEX(srec, S_APP_REC);
	unsigned char key[16], iv[12], pt[128], want[50];

	(void)state;
	for (int i = 0; i < 50; i++)
		want[i] = (unsigned char)i;
	assert_int_equal(ktls_tls13_key_iv(EVP_sha256(), c_ap, c_ap_len, key, 16, iv), 0);
	assert_int_equal(open_record(key, iv, 0, crec, crec_len, pt), 51);
	assert_memory_equal(pt, want, 50);
	assert_int_equal(pt[50], 23); /* inner content type: application_data */
	/* the server's record follows its NewSessionTicket: sequence 1 */
	assert_int_equal(ktls_tls13_key_iv(EVP_sha256(), s_ap, s_ap_len, key, 16, iv), 0);
	assert_int_equal(open_record(key, iv, 1, srec, srec_len, pt), 51);
	assert_memory_equal(pt, want, 50);
	assert_int_equal(open_record(key, iv, 0, srec, srec_len, pt), -1); /* wrong seq fails */
}

static void test_bad_arguments(void **state)
{
	unsigned char s[48] = {0}, out[32];
	char label[300];

	(void)state;
	memset(label, 'a', sizeof(label) - 1);
	label[sizeof(label) - 1] = 0;
	assert_int_equal(ktls_hkdf_expand_label(NULL, s, 32, "key", NULL, 0, out, 16), -EINVAL);
	assert_int_equal(ktls_hkdf_expand_label(EVP_sha256(), s, 32, "key", NULL, 0, out, 0),
			 -EINVAL);
	assert_int_equal(ktls_hkdf_expand_label(EVP_sha256(), s, 32, label, NULL, 0, out, 16),
			 -EINVAL);
	assert_int_equal(ktls_hkdf_expand_label(EVP_sha256(), s, 32, "key", NULL, 4, out, 16),
			 -EINVAL);
	/* the secret of a SHA-256 suite is 32 bytes */
	assert_int_equal(ktls_tls13_next_secret(EVP_sha256(), s, 48), -EINVAL);
}

/* ---- "traffic upd" against OpenSSL ------------------------------------------------------- */

static struct {
	unsigned char s0[48], sn[48];
	size_t s0_len, sn_len;
} logged;

static void keylog(const SSL *ssl, const char *line)
{
	const char *hex = strrchr(line, ' ');

	(void)ssl;
	if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
		logged.s0_len = unhex(hex + 1, logged.s0, sizeof(logged.s0));
	else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_N ", 24))
		logged.sn_len = unhex(hex + 1, logged.sn, sizeof(logged.sn));
}

static void next_secret_matches_openssl(const struct kh_suite *suite, const EVP_MD *md)
{
	struct tls_fixture_opts o = {.version = suite->version, .cipher = suite->cipher};
	SSL_CTX *cctx = kh_ctx(suite, false), *sctx = tls_fixture_server_ctx(&o);
	struct ktls_ep *c = NULL, *s = NULL;
	unsigned char buf[8];

	memset(&logged, 0, sizeof(logged));
	assert_non_null(cctx);
	assert_non_null(sctx);
	/* set before ktls_ctx_prepare: ktls/ must chain to it (and we see OpenSSL's lines) */
	SSL_CTX_set_keylog_callback(sctx, keylog);
	assert_int_equal(ktls_ctx_prepare(sctx, true), 0);
	assert_int_equal(kh_tls_pair_ctx(cctx, sctx, &c, &s), 0);
	assert_int_equal(logged.s0_len, (size_t)EVP_MD_get_size(md));
	/* server updates its sending keys: OpenSSL logs SERVER_TRAFFIC_SECRET_N */
	assert_int_equal(SSL_key_update(ktls_ep_ssl(s), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
	assert_int_equal(kh_write_all(s, "ping", 4, 5000), 4);
	assert_int_equal(kh_read_full(c, buf, 4, 5000), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(logged.sn_len, logged.s0_len);
	assert_int_equal(ktls_tls13_next_secret(md, logged.s0, logged.s0_len), 0);
	assert_memory_equal(logged.s0, logged.sn, logged.sn_len);
	/* and once more: _N+1 from _N */
	memcpy(logged.s0, logged.sn, logged.sn_len);
	assert_int_equal(SSL_key_update(ktls_ep_ssl(s), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
	assert_int_equal(kh_write_all(s, "pong", 4, 5000), 4);
	assert_int_equal(kh_read_full(c, buf, 4, 5000), 4);
	assert_int_equal(ktls_tls13_next_secret(md, logged.s0, logged.s0_len), 0);
	assert_memory_equal(logged.s0, logged.sn, logged.sn_len);
	ktls_ep_free(c);
	ktls_ep_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_next_secret_sha256(void **state)
{
	(void)state;
	next_secret_matches_openssl(&kh_suites[3], EVP_sha256()); /* AES-128-GCM */
	next_secret_matches_openssl(&kh_suites[5], EVP_sha256()); /* ChaCha20 */
}

static void test_next_secret_sha384(void **state)
{
	(void)state;
	next_secret_matches_openssl(&kh_suites[4], EVP_sha384()); /* AES-256-GCM */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_secret),
		cmocka_unit_test(test_traffic_key_iv),
		cmocka_unit_test(test_decrypt_rfc8448_records),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_next_secret_sha256),
		cmocka_unit_test(test_next_secret_sha384),
	};

	return cmocka_run_group_tests_name("ktls_hkdf", tests, NULL, NULL);
}
