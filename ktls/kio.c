// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket I/O when the kernel does the record layer (and for plain sockets, which read and write
 * the same way).  Reads always pass a control buffer: with kTLS RX a non-data record reaches
 * userspace only with its TLS_GET_RECORD_TYPE cmsg (without one, recvmsg fails with EIO), and
 * the kernel never mixes record types in one read, so each recvmsg is either data or control.
 */
#include "ktls/counters.h"
#include "ktls/internal.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int ktls_kio_rx_errno(struct ktls_ep *ep, int err)
{
	switch (ep->rx_mode == KTLS_MODE_KERNEL ? err : 0) {
	case -EBADMSG:
		ktls_count(KTLS_C_DECRYPT_ERRORS, 1);
		err = ktls_ep_fail(ep, -EBADMSG,
				   "TLS record from peer failed authentication "
				   "(bad_record_mac)");
		break;
	case -EINVAL:
	case -EMSGSIZE:
		/* the kernel's record parser met a bad header (version, length) */
		ktls_count(KTLS_C_PROTOCOL_ERRORS, 1);
		err = ktls_ep_fail(ep, -EPROTO, "malformed TLS record from peer (%s)",
				   err == -EMSGSIZE ? "record too long" : "bad record header");
		break;
	case -EKEYEXPIRED:
		ktls_count(KTLS_C_KEYUPDATE_UNSUPPORTED, 1);
		err = ktls_ep_fail(ep, err, "kernel RX waits for keys after a KeyUpdate");
		break;
	default:
		err = ktls_ep_fail(ep, err, "receive failed: %s", strerror(-err));
		break;
	}
	ep->rx_err = err;
	return err;
}

ssize_t ktls_kio_rx_eof(struct ktls_ep *ep)
{
	int inq = 0;

	if (ep->rx_closed || ep->rx_mode == KTLS_MODE_PLAIN) {
		ep->rx_closed = true;
		return 0;
	}
	ktls_count(KTLS_C_TRUNCATIONS, 1);
	/*
	 * The kernel's record parser leaves a partial record in TCP's queue until it is whole,
	 * so bytes still there at the FIN are a record cut short.
	 */
	if (ioctl(ep->fd, FIONREAD, &inq) == 0 && inq > 0)
		ep->rx_err = ktls_ep_fail(ep, -ECONNABORTED,
					  "peer closed the connection in the middle of a TLS "
					  "record (%d bytes of it received)",
					  inq);
	else
		ep->rx_err = ktls_ep_fail(ep, -ECONNABORTED,
					  "peer closed the connection without close_notify "
					  "(truncation)");
	return ep->rx_err;
}

int ktls_kio_send_ctl(struct ktls_ep *ep, uint8_t type, const void *buf, size_t len)
{
	char cbuf[KTLS_CMSG_SPACE];
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	ktls_cmsg_set_record_type(&msg, cbuf, sizeof(cbuf), type);
	do
		n = sendmsg(ep->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		ep->wr_events = EPOLLOUT;
		return -EAGAIN;
	}
	if (n < 0)
		return -errno;
	ep->tx_plain += (size_t)n;
	/* a control record is sealed whole or not at all */
	return (size_t)n == len ? 0 : -EIO;
}

/* Tell the peer why we end the stream; best effort, the session is over anyway. */
static void send_fatal_alert(struct ktls_ep *ep, uint8_t desc)
{
	uint8_t alert[2] = {KTLS_ALERT_FATAL, desc};

	/* after a fatal alert nothing more is sent, not even close_notify */
	if (ep->tx_mode == KTLS_MODE_KERNEL && !ep->tx_err && !ep->notify_sent &&
	    ktls_kio_send_ctl(ep, KTLS_RT_ALERT, alert, sizeof(alert)) == 0)
		ep->notify_sent = true;
}

/* Our KeyUpdate(update_not_requested), then new TX keys: RFC 8446 §4.6.3. */
static int send_keyupdate(struct ktls_ep *ep)
{
	static const uint8_t ku[5] = {KTLS_HS_KEY_UPDATE, 0, 0, 1, 0};
	int err;

	err = ktls_kio_send_ctl(ep, KTLS_RT_HANDSHAKE, ku, sizeof(ku));
	if (err)
		return err;
	ep->ku_reply = false;
	err = ktls_tx_rekey(ep);
	if (err) {
		/* the peer now expects our new keys: nothing more may be sent */
		ep->tx_err = ktls_ep_fail(ep, -EKEYEXPIRED,
					  "cannot install new TX keys after our KeyUpdate: %s",
					  strerror(-err));
		return ep->tx_err;
	}
	return 0;
}

int ktls_kio_tx_ready(struct ktls_ep *ep)
{
	if (ep->tx_err)
		return ep->tx_err;
	if (ep->ku_reply)
		return send_keyupdate(ep);
	return 0;
}

void ktls_kio_account_tx(struct ktls_ep *ep, size_t n)
{
	if (ep->tx_mode == KTLS_MODE_KERNEL)
		ep->tx_plain += n;
}

ssize_t ktls_kio_write(struct ktls_ep *ep, const void *buf, size_t len)
{
	ssize_t n;
	int err;

	err = ktls_kio_tx_ready(ep);
	if (err)
		return err;
	do
		n = send(ep->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ep->wr_events = EPOLLOUT;
			return -EAGAIN;
		}
		return ktls_ep_fail(ep, -errno, "send failed: %s", strerror(errno));
	}
	ep->wr_events = 0;
	ktls_kio_account_tx(ep, (size_t)n);
	return n;
}

static int keyupdate(struct ktls_ep *ep, bool requested)
{
	int err;

	if (!ep->rekey) {
		ktls_count(KTLS_C_KEYUPDATE_UNSUPPORTED, 1);
		return ktls_ep_fail(ep, -EKEYEXPIRED,
				    "peer sent a TLS 1.3 KeyUpdate; this kernel cannot take new RX "
				    "keys (Linux >= 6.14 can): session ended");
	}
	err = ktls_rx_rekey(ep);
	if (err) {
		ktls_count(KTLS_C_KEYUPDATE_UNSUPPORTED, 1);
		return ktls_ep_fail(ep, -EKEYEXPIRED,
				    "peer sent a TLS 1.3 KeyUpdate; new RX keys refused: %s",
				    strerror(-err));
	}
	ktls_count(KTLS_C_KEYUPDATE_FOLLOWED, 1);
	if (requested) {
		if (ep->tx_mode == KTLS_MODE_KERNEL) {
			ep->ku_reply = true;
			err = ktls_kio_tx_ready(ep);
			/* -EAGAIN: sent before our next data (ktls_kio_tx_ready) */
			if (err && err != -EAGAIN)
				return err;
		} else if (SSL_key_update(ep->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
			return ktls_ep_fail(ep, -EKEYEXPIRED, "OpenSSL refused to update TX keys");
		}
	}
	return 0;
}

/* One non-data record's content: 0 to read on, 1 at close_notify, or -errno. */
static int control(struct ktls_ep *ep, uint8_t type, const uint8_t *p, size_t n)
{
	struct ktls_ctl_event ev;

	ktls_count(KTLS_C_CTL_RECORDS, 1);
	ktls_ctl_feed(&ep->ctl, type, p, n, &ev);
	ktls_count(KTLS_C_NST_CONSUMED, ev.tickets);
	ktls_count(KTLS_C_ALERTS_RECEIVED, ev.alerts);
	ktls_count(KTLS_C_CLOSE_NOTIFY_RECEIVED, ev.close_notify);
	switch (ev.what) {
	case KTLS_CTL_CONTINUE:
		return 0;
	case KTLS_CTL_CLOSE:
		ep->rx_closed = true;
		return 1;
	case KTLS_CTL_KEYUPDATE:
		ep->rx_err = keyupdate(ep, ev.requested);
		return ep->rx_err;
	case KTLS_CTL_ERROR:
	default:
		if (ev.err == -EPROTO) {
			ktls_count(KTLS_C_PROTOCOL_ERRORS, 1);
			send_fatal_alert(ep, KTLS_ALERT_UNEXPECTED_MESSAGE);
		}
		ep->rx_err = ktls_ep_fail(ep, ev.err, "%s", ev.why);
		return ep->rx_err;
	}
}

/* One recvmsg: bytes, *type, and whether the kernel said the type (EOF comes without). */
static ssize_t recv_record(struct ktls_ep *ep, void *buf, size_t len, int flags, uint8_t *type,
			   bool *typed)
{
	char cbuf[KTLS_CMSG_SPACE];
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	int err;

	do {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		msg.msg_flags = 0;
		n = recvmsg(ep->fd, &msg, flags | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	err = ktls_cmsg_record_type(&msg, type);
	*typed = err == 0;
	if (err == -ENOMSG)
		*type = KTLS_RT_APPLICATION_DATA; /* plain socket, or data without the cmsg */
	else if (err)
		return err;
	return n;
}

ssize_t ktls_kio_read(struct ktls_ep *ep, void *buf, size_t len, bool peek)
{
	uint8_t type;
	ssize_t n;
	int r;

	if (ep->rx_err)
		return ep->rx_err;
	if (ep->rx_closed)
		return 0;
	if (ep->rx_mode == KTLS_MODE_PLAIN) {
		do
			n = recv(ep->fd, buf, len, MSG_DONTWAIT | (peek ? MSG_PEEK : 0));
		while (n < 0 && errno == EINTR);
		if (n > 0)
			return n;
		if (n == 0)
			return ktls_kio_rx_eof(ep);
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ep->rd_events = EPOLLIN;
			return -EAGAIN;
		}
		return ktls_kio_rx_errno(ep, -errno);
	}
	for (;;) {
		const uint8_t *ctl = buf;
		bool typed;

		n = recv_record(ep, buf, len, peek ? MSG_PEEK : 0, &type, &typed);
		if (n == -EAGAIN || n == -EWOULDBLOCK) {
			ep->rd_events = EPOLLIN;
			return -EAGAIN;
		}
		if (n < 0)
			return ktls_kio_rx_errno(ep, (int)n);
		if (type == KTLS_RT_APPLICATION_DATA && n) {
			ep->rd_events = 0;
			return n;
		}
		if (type == KTLS_RT_APPLICATION_DATA && !typed)
			return ktls_kio_rx_eof(ep);
		/*
		 * A control record, or an empty data record (TLS 1.3 allows them; the kernel
		 * returns 0 with its type): when peeking, take it for real, then peek again.
		 */
		if (peek) {
			if (!ep->scratch && !(ep->scratch = malloc(KTLS_SCRATCH_LEN)))
				return ktls_ep_fail(ep, -ENOMEM, "out of memory");
			n = recv_record(ep, ep->scratch, KTLS_SCRATCH_LEN, 0, &type, &typed);
			if (n < 0)
				return ktls_kio_rx_errno(ep, (int)n);
			if (type == KTLS_RT_APPLICATION_DATA && n) {
				ep->rx_err = ktls_ep_fail(ep, -EIO,
							  "record changed between peek and read");
				return ep->rx_err;
			}
			ctl = ep->scratch;
		}
		if (type == KTLS_RT_APPLICATION_DATA)
			continue; /* empty */
		r = control(ep, type, ctl, (size_t)n);
		if (!peek)
			memset(buf, 0, (size_t)n); /* not the caller's data */
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
	}
}
