// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel installs.  ktls_ep_offload() takes what OpenSSL did during the handshake (TX, and RX for
 * TLS 1.2), installs TLS 1.3 RX itself from the captured traffic secret, and records where each
 * direction went and why.  Also here: the KeyUpdate rekeys (kernels >= 6.14 accept new TLS 1.3
 * keys on a configured socket) and the TX flush accounting ktls_ep_shutdown needs.
 */
#include "ktls/counters.h"
#include "ktls/internal.h"
#include "ktls/select.h"
#include "lib/log.h"

#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

union ktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 g128;
	struct tls12_crypto_info_aes_gcm_256 g256;
	struct tls12_crypto_info_chacha20_poly1305 cc;
};

int ktls_attach_ulp(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

static size_t key_len(enum ktls_cipher c)
{
	return c == KTLS_AES_128_GCM ? 16 : 32;
}

static void put_seq(unsigned char *dst, uint64_t seq)
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		dst[i] = (unsigned char)seq;
}

static uint64_t get_seq(const unsigned char *src)
{
	uint64_t seq = 0;

	for (int i = 0; i < 8; i++)
		seq = seq << 8 | src[i];
	return seq;
}

/*
 * TLS 1.3 keys into the kernel.  iv is the 12-byte static IV of RFC 8446 §5.3; the kernel wants
 * it split for GCM (4-byte salt + 8 bytes it XORs with the sequence) and whole for ChaCha20.
 */
int ktls_install(int fd, bool tx, enum ktls_version v, enum ktls_cipher c, const unsigned char *key,
		 const unsigned char *iv, uint64_t seq)
{
	union ktls_crypto_info ci;
	socklen_t len;
	int err = 0;

	if (v != KTLS_TLS13)
		return -EINVAL;
	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_3_VERSION;
	switch (c) {
	case KTLS_AES_128_GCM:
		ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci.g128.key, key, TLS_CIPHER_AES_GCM_128_KEY_SIZE);
		memcpy(ci.g128.salt, iv, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(ci.g128.iv, iv + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		put_seq(ci.g128.rec_seq, seq);
		len = sizeof(ci.g128);
		break;
	case KTLS_AES_256_GCM:
		ci.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci.g256.key, key, TLS_CIPHER_AES_GCM_256_KEY_SIZE);
		memcpy(ci.g256.salt, iv, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(ci.g256.iv, iv + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		put_seq(ci.g256.rec_seq, seq);
		len = sizeof(ci.g256);
		break;
	case KTLS_CHACHA20_POLY1305:
		ci.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci.cc.key, key, TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE);
		memcpy(ci.cc.iv, iv, TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE);
		put_seq(ci.cc.rec_seq, seq);
		len = sizeof(ci.cc);
		break;
	default:
		return -EINVAL;
	}
	if (setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &ci, len))
		err = -errno;
	OPENSSL_cleanse(&ci, sizeof(ci));
	return err;
}

/* Derive key and IV from a traffic secret and install them starting at record seq. */
static int install_secret(struct ktls_ep *ep, bool tx, const struct ktls_secret *s, uint64_t seq)
{
	unsigned char key[KTLS_KEY_MAX], iv[KTLS_IV_LEN];
	int err;

	err = ktls_tls13_key_iv(ep->md, s->b, s->len, key, key_len(ep->cipher), iv);
	if (!err)
		err = ktls_install(ep->fd, tx, ep->version, ep->cipher, key, iv, seq);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return err;
}

/* RX from ep->rx_secret at record seq (0 right after the handshake). */
static int install_tls13_rx(struct ktls_ep *ep, uint64_t seq)
{
	int err;

	/* OpenSSL attached the ULP when it installed TX; not when TX stayed in userspace. */
	err = ktls_attach_ulp(ep->fd);
	if (!err)
		err = install_secret(ep, false, &ep->rx_secret, seq);
	return err;
}

/* A refused TLS_RX: the direction stays in OpenSSL, with the reason. */
static void rx_install_failed(struct ktls_ep *ep, int err)
{
	/* The kernel wipes the half-set crypto state, so OpenSSL reads on, correctly. */
	ep->rx_mode = KTLS_MODE_USER;
	ep->rx_why = err == -ENOENT || err == -ENOPROTOOPT ? KTLS_WHY_NO_ULP : KTLS_WHY_INSTALL;
	ep->rx_why_err = err;
	ktls_count(KTLS_C_OFFLOAD_FAILED, 1);
	log_debug("ktls rx-install-failed err=%d", err);
}

static unsigned int record_overhead(const struct ktls_ep *ep)
{
	/* header + tag, + the inner type byte (1.3) or the explicit nonce (1.2 GCM) */
	if (ep->version == KTLS_TLS13)
		return 5 + 16 + 1;
	return ep->cipher == KTLS_CHACHA20_POLY1305 ? 5 + 16 : 5 + 16 + 8;
}

/* Bytes TCP has taken from us so far (acknowledged + still queued), and the TX record seq. */
static int tx_counts(int fd, enum ktls_cipher c, uint64_t *tcp, uint64_t *rec)
{
	union ktls_crypto_info ci;
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti), clen;
	const unsigned char *seq;
	int outq, err = 0;

	/* the kernel wants the exact size of the cipher's struct back */
	switch (c) {
	case KTLS_AES_128_GCM:
		clen = sizeof(ci.g128);
		seq = ci.g128.rec_seq;
		break;
	case KTLS_AES_256_GCM:
		clen = sizeof(ci.g256);
		seq = ci.g256.rec_seq;
		break;
	case KTLS_CHACHA20_POLY1305:
		clen = sizeof(ci.cc);
		seq = ci.cc.rec_seq;
		break;
	default:
		return -EINVAL;
	}
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) || ioctl(fd, SIOCOUTQ, &outq) ||
	    getsockopt(fd, SOL_TLS, TLS_TX, &ci, &clen))
		return -errno;
	if (tlen < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		err = -EOPNOTSUPP;
	if (outq < 0)
		outq = 0;
	*tcp = (uint64_t)ti.tcpi_bytes_acked;
	*tcp += (uint64_t)outq;
	*rec = get_seq(seq);
	OPENSSL_cleanse(&ci, sizeof(ci));
	return err;
}

/*
 * kTLS TX keeps a record the TCP send buffer could not take whole in its own list and pushes it
 * later from a work item; shutdown(SHUT_WR) or close() before that loses it (the FIN overtakes
 * it, close frees it).  Usually the close_notify send itself waits (-EAGAIN while TCP is full)
 * and pushes such a record first; this check covers a close_notify sealed while the push is
 * still incomplete.  Nothing in the socket API says whether a record waits, so account: TCP must
 * have taken everything we gave kTLS plus the overhead of every record the kernel has sealed
 * (its TX sequence number counts them).  Measured exact on 6.1 for the three ciphers.
 */
int ktls_tx_flushed(struct ktls_ep *ep)
{
	uint64_t tcp, rec, want;

	if (!ep->tx_acct)
		return 1;
	if (tx_counts(ep->fd, ep->cipher, &tcp, &rec))
		return 1;
	want = ep->tx_tcp0 + ep->tx_plain +
	       (ep->tx_rec_done + rec - ep->tx_rec0) * (uint64_t)ep->rec_overhead;
	if (tcp >= want)
		return 1;
	log_debug("ktls tx-pending bytes=%llu", (unsigned long long)(want - tcp));
	return 0;
}

static void tx_acct_init(struct ktls_ep *ep)
{
	ep->rec_overhead = record_overhead(ep);
	ep->tx_acct = tx_counts(ep->fd, ep->cipher, &ep->tx_tcp0, &ep->tx_rec0) == 0;
	if (!ep->tx_acct)
		log_debug("ktls tx-accounting=off");
}

int ktls_rx_rekey(struct ktls_ep *ep)
{
	int err;

	if (!ep->rekey || !ep->rx_secret.len)
		return -EKEYEXPIRED;
	err = ktls_tls13_next_secret(ep->md, ep->rx_secret.b, ep->rx_secret.len);
	if (!err)
		err = install_secret(ep, false, &ep->rx_secret, 0);
	return err;
}

int ktls_tx_rekey(struct ktls_ep *ep)
{
	uint64_t tcp, rec;
	int err;

	if (!ep->rekey || !ep->tx_secret.len)
		return -EKEYEXPIRED;
	/* the new key starts again at sequence 0: keep the old key's record count */
	if (ep->tx_acct && tx_counts(ep->fd, ep->cipher, &tcp, &rec) == 0)
		ep->tx_rec_done += rec - ep->tx_rec0;
	else
		ep->tx_acct = false;
	ep->tx_rec0 = 0;
	err = ktls_tls13_next_secret(ep->md, ep->tx_secret.b, ep->tx_secret.len);
	if (!err)
		err = install_secret(ep, true, &ep->tx_secret, 0);
	return err;
}

static void session_params(struct ktls_ep *ep, struct ktls_sel_in *in)
{
	const SSL_CIPHER *sc = SSL_get_current_cipher(ep->ssl);
	int v = SSL_version(ep->ssl);

	in->version_ok = v == TLS1_2_VERSION || v == TLS1_3_VERSION;
	ep->version = v == TLS1_3_VERSION ? KTLS_TLS13 : KTLS_TLS12;
	in->version = ep->version;
	switch (sc ? SSL_CIPHER_get_cipher_nid(sc) : NID_undef) {
	case NID_aes_128_gcm:
		ep->cipher = KTLS_AES_128_GCM;
		in->cipher_ok = true;
		break;
	case NID_aes_256_gcm:
		ep->cipher = KTLS_AES_256_GCM;
		in->cipher_ok = true;
		break;
	case NID_chacha20_poly1305:
		ep->cipher = KTLS_CHACHA20_POLY1305;
		in->cipher_ok = true;
		break;
	default:
		in->cipher_ok = false;
		break;
	}
	in->cipher = ep->cipher;
	ep->md = sc ? SSL_CIPHER_get_handshake_digest(sc) : NULL;
}

int ktls_ep_offload(struct ktls_ep *ep, const struct ktls_caps *caps)
{
	struct ktls_sel_in in = {.caps = caps};
	struct ktls_secret probe;
	struct ktls_sel sel;
	int err;

	if (ep->offloaded)
		return 0;
	if (!ep->ssl || !ep->handshake_done)
		return -EINVAL;
	ep->offloaded = true;
	session_params(ep, &in);
	in.enabled = SSL_get_options(ep->ssl) & SSL_OP_ENABLE_KTLS;
	in.openssl_tx = BIO_get_ktls_send(SSL_get_wbio(ep->ssl));
	in.openssl_rx = BIO_get_ktls_recv(SSL_get_rbio(ep->ssl));
	in.ssl_pending = SSL_has_pending(ep->ssl);
	in.read_after_handshake = ep->user_read;
	in.have_rx_secret = ep->version == KTLS_TLS13 && ep->md &&
			    ktls_ssl_secret(ep->ssl, ep->server, &probe) == 0;
	OPENSSL_cleanse(&probe, sizeof(probe));
	ktls_select(&in, &sel);

	ep->tx_mode = sel.tx;
	ep->tx_why = sel.tx_why;
	ep->rx_mode = sel.rx;
	ep->rx_why = sel.rx_why;
	ep->rekey = caps && caps->tls13_rekey && ep->version == KTLS_TLS13;
	if (sel.unusable) {
		ktls_count(KTLS_C_OFFLOAD_FAILED, 1);
		err = ktls_ep_fail(ep, -EPROTO,
				   "OpenSSL moved RX to the kernel while holding bytes read past "
				   "the handshake (read-ahead on?)");
		ep->rx_err = ep->tx_err = err;
		goto out;
	}
	if (sel.install_rx) {
		/* As client we read the server's direction, as server the client's. */
		err = ktls_ssl_secret(ep->ssl, ep->server, &ep->rx_secret);
		if (!err && ep->rx_defer) {
			/* ktls_ep_offload_rx installs it, at the sequence OpenSSL reached */
			ep->rx_mode = KTLS_MODE_USER;
			ep->rx_why = KTLS_WHY_DEFERRED;
			ep->rx_deferred = true;
		} else if (!err) {
			err = install_tls13_rx(ep, 0);
		}
		if (err)
			rx_install_failed(ep, err);
	}
	if (ep->tx_mode == KTLS_MODE_KERNEL)
		tx_acct_init(ep);
	/*
	 * Secrets outlive the install only where a KeyUpdate could be followed: the peer's while
	 * the kernel reads, ours while the kernel writes (to answer update_requested).
	 */
	if (!ep->rx_deferred && (!ep->rekey || ep->rx_mode != KTLS_MODE_KERNEL))
		OPENSSL_cleanse(&ep->rx_secret, sizeof(ep->rx_secret));
	if (ep->rekey && ep->tx_mode == KTLS_MODE_KERNEL &&
	    ktls_ssl_secret(ep->ssl, !ep->server, &ep->tx_secret))
		ep->tx_secret.len = 0;
	err = 0;
out:
	ktls_ssl_secrets_wipe(ep->ssl);
	ktls_ctl_init(&ep->ctl, ep->version, ep->server);
	ktls_count(ep->tx_mode == KTLS_MODE_KERNEL ? KTLS_C_TX_KERNEL : KTLS_C_TX_USER, 1);
	if (!ep->rx_deferred) /* counted where it goes */
		ktls_count(ep->rx_mode == KTLS_MODE_KERNEL ? KTLS_C_RX_KERNEL : KTLS_C_RX_USER, 1);
	return err;
}

void ktls_ep_defer_rx(struct ktls_ep *ep)
{
	ep->rx_defer = true;
}

bool ktls_ep_rx_waiting(const struct ktls_ep *ep)
{
	return ep->rx_deferred;
}

/*
 * Deferred TLS 1.3 RX into the kernel.  OpenSSL has read rx_user_records records under the
 * peer's application traffic key (its NewSessionTickets, the reply the caller waited for): the
 * kernel continues at that sequence.  Only where the sequence is certain: OpenSSL holds no part
 * of a further record (SSL_has_pending), and no KeyUpdate changed the key meanwhile (the
 * sequence restarts under a key we would have to derive; rare enough to stay in userspace,
 * said as keyupdate-before-offload).
 */
int ktls_ep_offload_rx(struct ktls_ep *ep)
{
	int err;

	if (!ep->rx_deferred)
		return 0;
	ep->rx_deferred = false;
	if (ep->rx_err || ep->rx_closed) {
		/* nothing more will be read: leave it where it is */
	} else if (ep->rx_user_ku) {
		ep->rx_why = KTLS_WHY_KEYUPDATE;
	} else if (SSL_has_pending(ep->ssl)) {
		ep->rx_why = KTLS_WHY_BUFFERED;
	} else {
		err = install_tls13_rx(ep, ep->rx_user_records);
		if (err) {
			rx_install_failed(ep, err);
		} else {
			ep->rx_mode = KTLS_MODE_KERNEL;
			ep->rx_why = NULL;
			log_debug("ktls rx-installed seq=%llu",
				  (unsigned long long)ep->rx_user_records);
		}
	}
	if (!ep->rekey || ep->rx_mode != KTLS_MODE_KERNEL)
		OPENSSL_cleanse(&ep->rx_secret, sizeof(ep->rx_secret));
	ktls_count(ep->rx_mode == KTLS_MODE_KERNEL ? KTLS_C_RX_KERNEL : KTLS_C_RX_USER, 1);
	return 0;
}

#ifndef TLS_TX_ZEROCOPY_RO
#define TLS_TX_ZEROCOPY_RO 3
#endif
#ifndef TLS_RX_EXPECT_NO_PAD
#define TLS_RX_EXPECT_NO_PAD 4
#endif

static int set_tls_opt(struct ktls_ep *ep, int opt)
{
	unsigned int one = 1;

	if (setsockopt(ep->fd, SOL_TLS, opt, &one, sizeof(one)))
		return -errno;
	return 0;
}

int ktls_ep_tx_zerocopy_ro(struct ktls_ep *ep)
{
	/* the kernel takes the option on any TLS socket; it acts on device TX only */
	if (ep->tx_mode != KTLS_MODE_KERNEL)
		return -EINVAL;
	return set_tls_opt(ep, TLS_TX_ZEROCOPY_RO);
}

int ktls_ep_rx_expect_no_pad(struct ktls_ep *ep)
{
	if (ep->rx_mode != KTLS_MODE_KERNEL)
		return -EINVAL;
	return set_tls_opt(ep, TLS_RX_EXPECT_NO_PAD);
}
