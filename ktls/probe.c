// SPDX-License-Identifier: GPL-2.0-only
/*
 * Start-up probe of the kernel's TLS offload.  The tls ULP can only be attached to an established
 * TCP socket, so each attempt uses a fresh loopback connection: after TLS_TX/TLS_RX are set a
 * socket cannot be re-keyed, and a failed setsockopt may leave the ULP half-configured.
 */
#include "ktls/ktls.h"
#include "lib/sockutil.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const cipher_names[KTLS_NCIPHERS] = {
	[KTLS_AES_128_GCM] = "aes-128-gcm",
	[KTLS_AES_256_GCM] = "aes-256-gcm",
	[KTLS_CHACHA20_POLY1305] = "chacha20-poly1305",
};

const char *ktls_cipher_name(enum ktls_cipher c)
{
	if ((unsigned)c >= KTLS_NCIPHERS)
		return "?";
	return cipher_names[c];
}

static int attach_ulp(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	return 0;
}

/* Zero keys are fine: the kernel only allocates the AEAD and checks the parameters. */
static int set_crypto(int fd, int dir, enum ktls_version v, enum ktls_cipher c)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
		struct tls12_crypto_info_chacha20_poly1305 cc;
	} ci;
	socklen_t len;

	memset(&ci, 0, sizeof(ci));
	ci.g128.info.version = v == KTLS_TLS13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	switch (c) {
	case KTLS_AES_128_GCM:
		ci.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		len = sizeof(ci.g128);
		break;
	case KTLS_AES_256_GCM:
		ci.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		len = sizeof(ci.g256);
		break;
	case KTLS_CHACHA20_POLY1305:
		ci.cc.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		len = sizeof(ci.cc);
		break;
	default:
		return -EINVAL;
	}
	if (setsockopt(fd, SOL_TLS, dir, &ci, len))
		return -errno;
	return 0;
}

static int probe_one(enum ktls_version v, enum ktls_cipher c, bool *tx, bool *rx, bool *rekey)
{
	int a, b, err;

	err = tg_tcp_loopback_pair(&a, &b);
	if (err)
		return err;
	err = attach_ulp(a);
	if (!err) {
		*tx = set_crypto(a, TLS_TX, v, c) == 0;
		*rx = set_crypto(a, TLS_RX, v, c) == 0;
		/* Before 6.14 a second TLS_TX is -EBUSY; after, it is a TLS 1.3 rekey. */
		if (rekey && *tx)
			*rekey = set_crypto(a, TLS_TX, v, c) == 0;
	}
	close(a);
	close(b);
	return err;
}

int ktls_probe(struct ktls_caps *caps)
{
	int err;

	memset(caps, 0, sizeof(*caps));
	for (int v = 0; v < KTLS_NVERSIONS; v++) {
		for (int c = 0; c < KTLS_NCIPHERS; c++) {
			bool *rekey = v == KTLS_TLS13 && c == KTLS_AES_128_GCM
					      ? &caps->tls13_rekey
					      : NULL;

			err = probe_one((enum ktls_version)v, (enum ktls_cipher)c, &caps->tx[v][c],
					&caps->rx[v][c], rekey);
			if (err == -ENOENT || err == -EOPNOTSUPP || err == -ENOPROTOOPT) {
				/* no ULP: nothing else can work */
				caps->ulp_err = err;
				return 0;
			}
			if (err)
				return err;
			caps->ulp = true;
		}
	}
	return 0;
}

const char *ktls_caps_unavailable_reason(const struct ktls_caps *caps)
{
	if (caps->ulp)
		return NULL;
	if (caps->ulp_err == -ENOENT)
		return "kernel has no tls ULP";
	return "tls ULP cannot be attached";
}

int ktls_caps_format(const struct ktls_caps *caps, char *buf, size_t len)
{
	const char *why = ktls_caps_unavailable_reason(caps);
	bool any_tx = false, any_rx = false;
	size_t off = 0;
	int n;

	if (why)
		return snprintf(buf, len, "unavailable (%s)", why);
	for (int v = 0; v < KTLS_NVERSIONS; v++)
		for (int c = 0; c < KTLS_NCIPHERS; c++) {
			any_tx |= caps->tx[v][c];
			any_rx |= caps->rx[v][c];
		}
	n = snprintf(buf, len, "%s%s%s", any_tx ? "tx" : "", any_tx && any_rx ? "," : "",
		     any_rx ? "rx" : "");
	if (n < 0)
		return n;
	if (!any_tx && !any_rx)
		n = snprintf(buf, len, "unavailable (no cipher accepted)");
	off = (size_t)n;
	for (int c = 0; c < KTLS_NCIPHERS; c++) {
		bool ok = false;

		/* Listed when TX and RX both work for some version; status shows the matrix. */
		for (int v = 0; v < KTLS_NVERSIONS; v++)
			ok |= caps->tx[v][c] && caps->rx[v][c];
		if (!ok)
			continue;
		n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, " %s",
			     cipher_names[c]);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	if (caps->tls13_rekey) {
		n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, " keyupdate");
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}
