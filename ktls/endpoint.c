// SPDX-License-Identifier: GPL-2.0-only
/*
 * The endpoint calls of ktls/endpoint.h: life cycle, state, and each I/O call sent to the backend
 * its direction has (plain and kernel: kio.c; user: sslio.c).
 */
#include "ktls/internal.h"
#include "ktls/select.h"
#include "lib/log.h"
#include "lib/sockutil.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Waiting for kTLS to push a record TCP could not take is short (the kernel's work item runs as
 * soon as TCP has room, which is also when the socket polls writable); a caller spinning longer
 * than this means our accounting is off, and the FIN goes anyway.
 */
#define FLUSH_SPINS_MAX 100000

struct ktls_ep *ktls_ep_new(int fd)
{
	struct ktls_ep *ep;

	if (fd < 0 || tg_set_nonblock(fd, true))
		return NULL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ep->fd = fd;
	ep->tx_mode = ep->rx_mode = KTLS_MODE_PLAIN;
	return ep;
}

void ktls_ep_free(struct ktls_ep *ep)
{
	if (!ep)
		return;
	/* close_notify went out through the kernel, which OpenSSL does not know: without the
	 * flag SSL_free takes the session for a broken one and makes it unresumable */
	if (ep->ssl && ep->notify_sent)
		SSL_set_shutdown(ep->ssl, SSL_get_shutdown(ep->ssl) | SSL_SENT_SHUTDOWN);
	SSL_free(ep->ssl);
	if (ep->md_ref)
		EVP_MD_free((EVP_MD *)ep->md);
	OPENSSL_cleanse(&ep->rx_secret, sizeof(ep->rx_secret));
	OPENSSL_cleanse(&ep->tx_secret, sizeof(ep->tx_secret));
	if (ep->scratch)
		OPENSSL_cleanse(ep->scratch, KTLS_SCRATCH_LEN);
	free(ep->scratch);
	if (ep->fd >= 0)
		close(ep->fd);
	free(ep);
}

int ktls_ep_fd(const struct ktls_ep *ep)
{
	return ep->fd;
}

int ktls_ep_start_tls(struct ktls_ep *ep, SSL *ssl, bool server)
{
	if (!ssl)
		return -EINVAL;
	if (ep->tls)
		return -EALREADY;
	if (SSL_set_fd(ssl, ep->fd) != 1)
		return -ENOMEM;
	/* Nothing may be read past the handshake: the kernel must see those records. */
	SSL_set_read_ahead(ssl, 0);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	ep->ssl = ssl;
	ep->tls = true;
	ep->server = server;
	ep->tx_mode = ep->rx_mode = KTLS_MODE_USER;
	ep->tx_why = ep->rx_why = KTLS_WHY_HANDSHAKE;
	ep->rx_closed = false;
	ktls_sslio_attach(ep);
	return 0;
}

int ktls_ep_handshake(struct ktls_ep *ep)
{
	int err;

	if (!ep->tls)
		return -EINVAL;
	if (ep->handshake_done)
		return 0;
	err = ktls_sslio_handshake(ep);
	if (!err)
		ep->handshake_done = true;
	return err;
}

enum ktls_mode ktls_ep_tx_mode(const struct ktls_ep *ep)
{
	return ep->tx_mode;
}

enum ktls_mode ktls_ep_rx_mode(const struct ktls_ep *ep)
{
	return ep->rx_mode;
}

SSL *ktls_ep_ssl(const struct ktls_ep *ep)
{
	return ep->ssl;
}

bool ktls_ep_release_ssl(struct ktls_ep *ep)
{
	if (!ep->ssl || !ep->offloaded || ep->tx_mode != KTLS_MODE_KERNEL ||
	    ep->rx_mode != KTLS_MODE_KERNEL)
		return false;
	/* KeyUpdate keeps deriving with the suite's hash: hold it past the SSL (and its CTX). */
	if (ep->md && EVP_MD_up_ref((EVP_MD *)ep->md))
		ep->md_ref = true;
	else
		ep->md = NULL;
	/* The connection lives on in the kernel: its TLS session is not a broken one, which
	 * SSL_free would otherwise mark unresumable (a cached session offered again later). */
	SSL_set_shutdown(ep->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(ep->ssl);
	ep->ssl = NULL;
	return true;
}

const char *ktls_ep_state(const struct ktls_ep *ep, char *buf, size_t len)
{
	char tx[64], rx[64];

	if (!ep->tls) {
		snprintf(buf, len, "plain");
		return buf;
	}
	snprintf(buf, len, "tx=%s rx=%s",
		 ep->tx_device ? "nic"
			       : ktls_mode_format(ep->tx_mode, ep->tx_why, ep->tx_why_err, tx,
						  sizeof(tx)),
		 ep->rx_device ? "nic"
			       : ktls_mode_format(ep->rx_mode, ep->rx_why, ep->rx_why_err, rx,
						  sizeof(rx)));
	return buf;
}

void ktls_ep_note_device(struct ktls_ep *ep, bool tx, bool rx)
{
	ep->tx_device = tx && ep->tx_mode == KTLS_MODE_KERNEL;
	ep->rx_device = rx && ep->rx_mode == KTLS_MODE_KERNEL;
}

const char *ktls_ep_error(const struct ktls_ep *ep)
{
	return ep->err;
}

static ssize_t do_read(struct ktls_ep *ep, void *buf, size_t len, bool peek)
{
	if (!buf || !len)
		return -EINVAL;
	if (ep->tls && !ep->handshake_done)
		return ktls_ep_fail(ep, -EINVAL, "read before the TLS handshake completed");
	if (ep->rx_mode == KTLS_MODE_USER)
		return ktls_sslio_read(ep, buf, len, peek);
	return ktls_kio_read(ep, buf, len, peek);
}

ssize_t ktls_ep_read(struct ktls_ep *ep, void *buf, size_t len)
{
	return do_read(ep, buf, len, false);
}

ssize_t ktls_ep_peek(struct ktls_ep *ep, void *buf, size_t len)
{
	return do_read(ep, buf, len, true);
}

ssize_t ktls_ep_write(struct ktls_ep *ep, const void *buf, size_t len)
{
	if (!len)
		return 0;
	if (ep->tls && !ep->handshake_done)
		return ktls_ep_fail(ep, -EINVAL, "write before the TLS handshake completed");
	if (ep->notify_sent || ep->wr_shut)
		return ktls_ep_fail(ep, -EPIPE, "write after shutdown");
	if (ep->tx_mode == KTLS_MODE_USER)
		return ktls_sslio_write(ep, buf, len);
	return ktls_kio_write(ep, buf, len);
}

bool ktls_ep_rx_buffered(const struct ktls_ep *ep)
{
	if (ep->rx_err || ep->rx_closed)
		return true;
	return ep->rx_mode == KTLS_MODE_USER && ep->handshake_done && SSL_pending(ep->ssl) > 0;
}

uint32_t ktls_ep_events(const struct ktls_ep *ep)
{
	return ep->rd_events | ep->wr_events;
}

/* close_notify through the kernel, once kTLS has pushed every record before it to TCP. */
static int kernel_close_notify(struct ktls_ep *ep)
{
	static const uint8_t notify[2] = {KTLS_ALERT_WARNING, KTLS_ALERT_CLOSE_NOTIFY};
	int err;

	if (!ep->notify_sent) {
		err = ktls_kio_tx_ready(ep);
		if (!err)
			err = ktls_kio_send_ctl(ep, KTLS_RT_ALERT, notify, sizeof(notify));
		if (err)
			return err;
		ep->notify_sent = true;
	}
	if (ktls_tx_flushed(ep) || ++ep->flush_spins > FLUSH_SPINS_MAX)
		return 0;
	ep->wr_events = EPOLLOUT;
	return -EAGAIN;
}

int ktls_ep_shutdown(struct ktls_ep *ep)
{
	int err = 0;

	if (ep->wr_shut)
		return 0;
	if (ep->tls && ep->handshake_done && !ep->tx_err) {
		if (ep->tx_mode == KTLS_MODE_KERNEL) {
			err = kernel_close_notify(ep);
		} else if (!ep->notify_sent) {
			err = ktls_sslio_shutdown(ep);
			if (!err)
				ep->notify_sent = true;
		}
		if (err == -EAGAIN)
			return err;
	}
	ep->wr_shut = true;
	ep->wr_events = 0;
	if (shutdown(ep->fd, SHUT_WR) && errno != ENOTCONN && !err)
		err = ktls_ep_fail(ep, -errno, "shutdown: %s", strerror(errno));
	return err ? err : ep->tx_err;
}
