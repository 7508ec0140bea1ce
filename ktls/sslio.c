// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace backend: OpenSSL does the record layer (no tls ULP, a cipher the kernel lacks, a
 * direction OpenSSL could not hand over).  OpenSSL's errors become the endpoint's -errno with a
 * reason a log reader understands; the error queue is per thread and cleared around every call so
 * one session's failure never shows up as another's.
 */
#include "ktls/counters.h"
#include "ktls/internal.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/*
 * OpenSSL's message callback: the only way to see a KeyUpdate it handles itself, and to count
 * the records it reads after the handshake (one header each: without read-ahead OpenSSL reads
 * one record at a time), which is the sequence number deferred TLS 1.3 RX starts the kernel at.
 */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct ktls_ep *ep = arg;
	const uint8_t *p = buf;

	(void)version, (void)ssl;
	if (write_p)
		return;
	if (content_type == SSL3_RT_HEADER && ep->handshake_done) {
		ep->rx_user_records++;
		return;
	}
	if (content_type != SSL3_RT_HANDSHAKE || len < 5 || p[0] != KTLS_HS_KEY_UPDATE)
		return;
	ep->ku_user_seen = true;
	ep->ku_user_requested |= p[4] == 1;
	if (ep->handshake_done)
		ep->rx_user_ku = true;
}

/*
 * The thread's error queue, emptied around every OpenSSL call.  OpenSSL 3.0's ERR_clear_error()
 * frees every slot of the queue whether or not it holds an error (some 32 free() calls a time,
 * twice per record moved); the queue is almost always empty, and looking costs one lookup.
 */
static void err_clear(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

void ktls_sslio_attach(struct ktls_ep *ep)
{
	SSL_set_msg_callback(ep->ssl, msg_cb);
	SSL_set_msg_callback_arg(ep->ssl, ep);
}

/* Bytes of a record OpenSSL had started to read when the peer closed. */
static bool partial_record(struct ktls_ep *ep)
{
	int inq = 0;

	return SSL_has_pending(ep->ssl) || (ioctl(ep->fd, FIONREAD, &inq) == 0 && inq > 0);
}

/* OpenSSL's answer rc (<= 0) to op on this endpoint, as -errno. */
static int ssl_fail(struct ktls_ep *ep, int rc, int sys, const char *op, uint32_t *events)
{
	int e = SSL_get_error(ep->ssl, rc);
	unsigned long code;
	int reason;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*events = EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*events = EPOLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (sys && sys != EAGAIN)
				return ktls_ep_fail(ep, -sys, "%s: %s", op, strerror(sys));
			/* OpenSSL 3.0 without SSL_OP_IGNORE_UNEXPECTED_EOF reports EOF as
			 * SSL_ERROR_SSL, older ones as a SYSCALL with errno 0 */
			ktls_count(KTLS_C_TRUNCATIONS, 1);
			return ktls_ep_fail(ep, -ECONNABORTED,
					    "%s: peer closed the connection without close_notify",
					    op);
		}
		break;
	default:
		break;
	}
	code = ERR_peek_last_error();
	reason = ERR_GET_REASON(code);
	if (ERR_GET_LIB(code) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		uint8_t desc = (uint8_t)(reason - SSL_AD_REASON_OFFSET);

		ktls_count(KTLS_C_ALERTS_RECEIVED, 1);
		return ktls_ep_fail(ep, -ECONNRESET, "%s: fatal alert %s from peer", op,
				    ktls_alert_name(desc));
	}
	if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
		switch (reason) {
		case SSL_R_UNEXPECTED_EOF_WHILE_READING:
			ktls_count(KTLS_C_TRUNCATIONS, 1);
			if (partial_record(ep))
				return ktls_ep_fail(ep, -ECONNABORTED,
						    "%s: peer closed the connection in the middle "
						    "of a TLS record",
						    op);
			return ktls_ep_fail(ep, -ECONNABORTED,
					    "%s: peer closed the connection without close_notify "
					    "(truncation)",
					    op);
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_PACKET_LENGTH_TOO_LONG:
		case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
		case SSL_R_DATA_LENGTH_TOO_LONG:
		case SSL_R_RECORD_LENGTH_MISMATCH:
		case SSL_R_LENGTH_TOO_SHORT:
		case SSL_R_UNKNOWN_PROTOCOL:
		case SSL_R_UNEXPECTED_RECORD:
			ktls_count(KTLS_C_PROTOCOL_ERRORS, 1);
			return ktls_ep_fail(ep, -EPROTO, "%s: malformed TLS record from peer (%s)",
					    op, ERR_reason_error_string(code));
		case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
		case SSL_R_DECRYPTION_FAILED:
			ktls_count(KTLS_C_DECRYPT_ERRORS, 1);
			return ktls_ep_fail(ep, -EBADMSG,
					    "%s: TLS record from peer failed authentication "
					    "(bad_record_mac)",
					    op);
		default:
			break;
		}
	}
	ktls_count(KTLS_C_PROTOCOL_ERRORS, 1);
	return ktls_ep_fail(ep, -EPROTO, "%s: %s", op,
			    code ? ERR_reason_error_string(code) : "TLS protocol error");
}

int ktls_sslio_handshake(struct ktls_ep *ep)
{
	int rc, err, sys;
	uint32_t ev = 0;

	err_clear();
	errno = 0;
	rc = SSL_do_handshake(ep->ssl);
	sys = errno;
	ep->rd_events = ep->wr_events = 0;
	if (rc == 1)
		return 0;
	err = ssl_fail(ep, rc, sys, "handshake", &ev);
	if (ev == EPOLLOUT)
		ep->wr_events = ev;
	else
		ep->rd_events = ev;
	if (err == 0) /* close_notify in the middle of a handshake */
		err = ktls_ep_fail(ep, -ECONNABORTED, "handshake: peer closed the session");
	if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED)
		err = ktls_ep_fail(ep, err, "handshake: certificate verify failed: %s",
				   X509_verify_cert_error_string(SSL_get_verify_result(ep->ssl)));
	err_clear();
	return err;
}

/* What OpenSSL's message callback saw during a read. */
static void keyupdate_seen(struct ktls_ep *ep)
{
	bool requested = ep->ku_user_requested;

	ep->ku_user_seen = ep->ku_user_requested = false;
	if (!requested || ep->tx_mode != KTLS_MODE_KERNEL) {
		/* OpenSSL follows it: RX keys now, its own KeyUpdate with its next write */
		ktls_count(KTLS_C_KEYUPDATE_FOLLOWED, 1);
		return;
	}
	/*
	 * The peer wants our TX keys updated, but the kernel writes for us: OpenSSL 3.0 would
	 * update its own keys and not the kernel's.  Answer through the kernel (>= 6.14) or end.
	 */
	if (ep->rekey && ep->tx_secret.len) {
		ktls_count(KTLS_C_KEYUPDATE_FOLLOWED, 1);
		ep->ku_reply = true;
		return;
	}
	ktls_count(KTLS_C_KEYUPDATE_UNSUPPORTED, 1);
	ep->tx_err = ktls_ep_fail(ep, -EKEYEXPIRED,
				  "peer requested a TLS 1.3 KeyUpdate; this kernel cannot take new "
				  "TX keys (Linux >= 6.14 can): session ended");
	ep->rx_err = ep->tx_err;
}

ssize_t ktls_sslio_read(struct ktls_ep *ep, void *buf, size_t len, bool peek)
{
	size_t n = 0;
	int rc, err, sys;

	if (ep->rx_err)
		return ep->rx_err;
	if (ep->rx_closed)
		return 0;
	err_clear();
	errno = 0;
	rc = peek ? SSL_peek_ex(ep->ssl, buf, len, &n) : SSL_read_ex(ep->ssl, buf, len, &n);
	sys = errno;
	if (!ep->offloaded)
		ep->user_read = true;
	if (ep->ku_user_seen)
		keyupdate_seen(ep);
	if (rc == 1) {
		ep->rd_events = 0;
		if (!peek)
			ktls_count(KTLS_C_USER_CRYPTO_BYTES, n);
		return (ssize_t)n;
	}
	err = ssl_fail(ep, rc, sys, "read", &ep->rd_events);
	err_clear();
	if (err == 0) {
		ktls_count(KTLS_C_CLOSE_NOTIFY_RECEIVED, 1);
		ep->rx_closed = true;
	} else if (err != -EAGAIN) {
		ep->rx_err = err;
	}
	return err;
}

ssize_t ktls_sslio_write(struct ktls_ep *ep, const void *buf, size_t len)
{
	size_t n = 0;
	int rc, err, sys;

	if (ep->tx_err)
		return ep->tx_err;
	err_clear();
	errno = 0;
	rc = SSL_write_ex(ep->ssl, buf, len, &n);
	sys = errno;
	if (rc == 1) {
		ep->wr_events = 0;
		ktls_count(KTLS_C_USER_CRYPTO_BYTES, n);
		return (ssize_t)n;
	}
	err = ssl_fail(ep, rc, sys, "write", &ep->wr_events);
	err_clear();
	if (err == 0)
		err = ktls_ep_fail(ep, -EPIPE, "write: session already closed");
	if (err != -EAGAIN)
		ep->tx_err = err;
	return err;
}

int ktls_sslio_shutdown(struct ktls_ep *ep)
{
	int rc, err, sys;

	err_clear();
	errno = 0;
	rc = SSL_shutdown(ep->ssl);
	sys = errno;
	/* 0: our close_notify is out, the peer's not yet in; we do not wait for it. */
	if (rc >= 0)
		return 0;
	err = ssl_fail(ep, rc, sys, "shutdown", &ep->wr_events);
	err_clear();
	return err;
}
