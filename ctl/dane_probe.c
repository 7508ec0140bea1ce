// SPDX-License-Identifier: GPL-2.0-only
/*
 * `dane check --connect`: see ctl/dane_probe.h.  The socket is non-blocking and every wait is a
 * poll() bounded by the command's deadline, so a silent MX (or one that stops half-way through
 * the handshake) cannot hold the command past --timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/dane_probe.h"
#include "ktls/dane.h"

uint64_t ctl_dane_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *ctl_dane_probe_result_name(enum ctl_dane_probe_result r)
{
	switch (r) {
	case CTL_DANE_PROBE_VERIFIED:
		return "verified";
	case CTL_DANE_PROBE_ENCRYPTED:
		return "encrypted";
	case CTL_DANE_PROBE_FAILED:
		return "failed";
	case CTL_DANE_PROBE_ERROR:
		break;
	}
	return "error";
}

struct conn {
	int fd;
	SSL *ssl;
	uint64_t deadline;
	char in[4096]; /* bytes read and not yet taken as reply lines */
	size_t nin;
	char last[256]; /* the last reply line, for the report */
};

/* Wait for events on the socket until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(struct conn *c, short events)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};

	for (;;) {
		uint64_t now = ctl_dane_now_ms();
		int n;

		if (now >= c->deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)(c->deadline - now));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* OpenSSL's want-read/want-write turned into a bounded wait; 0 to retry, or -errno. */
static int ssl_wait(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static int conn_write(struct conn *c, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w;
		int rc;

		if (c->ssl) {
			int r = SSL_write(c->ssl, s + off, (int)(n - off));

			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			rc = ssl_wait(c, r);
		} else {
			w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			rc = w < 0 && (errno == EAGAIN || errno == EINTR) ? wait_fd(c, POLLOUT)
									  : -EIO;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int conn_fill(struct conn *c)
{
	for (;;) {
		size_t room = sizeof(c->in) - c->nin;
		ssize_t r;
		int rc;

		if (!room)
			return -E2BIG;
		if (c->ssl) {
			int s = SSL_read(c->ssl, c->in + c->nin, (int)room);

			if (s > 0) {
				c->nin += (size_t)s;
				return 0;
			}
			rc = ssl_wait(c, s);
		} else {
			r = read(c->fd, c->in + c->nin, room);
			if (r > 0) {
				c->nin += (size_t)r;
				return 0;
			}
			if (r == 0)
				return -ECONNRESET;
			rc = errno == EAGAIN || errno == EINTR ? wait_fd(c, POLLIN) : -errno;
		}
		if (rc)
			return rc;
	}
}

/* One reply, all its lines: the code, or -errno.  The last line is kept in c->last. */
static int conn_reply(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->nin);
		int rc;

		if (nl) {
			size_t len = (size_t)(nl - c->in) + 1;
			bool last = len >= 4 && c->in[3] != '-';
			int code = atoi(c->in);

			snprintf(c->last, sizeof(c->last), "%.*s", (int)strcspn(c->in, "\r\n"),
				 c->in);
			memmove(c->in, c->in + len, c->nin - len);
			c->nin -= len;
			if (last)
				return code >= 100 && code <= 599 ? code : -EPROTO;
			continue;
		}
		rc = conn_fill(c);
		if (rc)
			return rc;
	}
}

/* Send a command, read its reply: 0 when its class is want's, else the reason in p. */
static int cmd(struct conn *c, const char *s, int want, struct ctl_dane_probe *p)
{
	int code = conn_write(c, s);

	if (!code)
		code = conn_reply(c);
	if (code < 0) {
		snprintf(p->detail, sizeof(p->detail), "%.*s: %s", (int)strcspn(s, "\r"), s,
			 code == -ETIMEDOUT ? "deadline reached" : strerror(-code));
		return code;
	}
	if (code / 100 != want / 100) {
		snprintf(p->detail, sizeof(p->detail), "%.*s refused: %s", (int)strcspn(s, "\r"), s,
			 c->last);
		return -EPROTO;
	}
	return 0;
}

static int conn_open(struct conn *c, const struct sockaddr *sa, socklen_t alen,
		     struct ctl_dane_probe *p)
{
	int err = 0, rc;
	socklen_t el = sizeof(err);

	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		snprintf(p->detail, sizeof(p->detail), "socket: %s", strerror(-rc));
		return rc;
	}
	if (connect(c->fd, sa, alen) && errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	rc = wait_fd(c, POLLOUT);
	if (!rc && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el))
		rc = -errno;
	if (!rc && err)
		rc = -err;
	if (!rc)
		return 0;
fail:
	snprintf(p->detail, sizeof(p->detail), "connect: %s",
		 rc == -ETIMEDOUT ? "deadline reached" : strerror(-rc));
	return rc;
}

/* "(matched CN=mx.example.org at depth 0)": what the verifier found, beside ktls/dane.c's words. */
static void matched_desc(SSL *ssl, char *buf, size_t len)
{
	X509 *mcert = NULL;
	EVP_PKEY *mspki = NULL;
	int depth = SSL_get0_dane_authority(ssl, &mcert, &mspki);
	char subj[256] = "";

	if (depth < 0) {
		buf[0] = '\0';
		return;
	}
	if (mcert)
		X509_NAME_oneline(X509_get_subject_name(mcert), subj, sizeof(subj));
	snprintf(buf, len, " (matched %s at depth %d)", mcert ? subj : "a public key", depth);
}

int ctl_dane_probe(const struct sockaddr *addr, socklen_t alen, const struct policy_dane_host *h,
		   const char *nexthop, const char *helo, uint64_t deadline_ms,
		   struct ctl_dane_probe *p)
{
	struct conn *c = calloc(1, sizeof(*c));
	char ehlo[300], why[256], err[256] = "", matched[320];
	SSL_CTX *ctx = NULL;
	bool usable = false;
	int rc = 0, r;

	memset(p, 0, sizeof(*p));
	p->result = CTL_DANE_PROBE_ERROR;
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->deadline = deadline_ms;
	snprintf(ehlo, sizeof(ehlo), "EHLO %s\r\n", helo);
	if (conn_open(c, addr, alen, p))
		goto out;
	r = conn_reply(c);
	if (r != 220) {
		snprintf(p->detail, sizeof(p->detail), "greeting: %s",
			 r > 0		   ? c->last
			 : r == -ETIMEDOUT ? "deadline reached"
					   : strerror(-r));
		goto quit;
	}
	if (cmd(c, ehlo, 250, p) || cmd(c, "STARTTLS\r\n", 220, p))
		goto quit;
	/* The relay's context settings (daemon/tls_client.c): verification is judged after the
	 * handshake, so a mismatch is reported rather than ending in an alert. */
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || ktls_dane_ctx_enable(ctx)) {
		rc = -ENOMEM;
		snprintf(p->detail, sizeof(p->detail), "cannot make a TLS client context");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	c->ssl = SSL_new(ctx);
	if (!c->ssl) {
		rc = -ENOMEM;
		snprintf(p->detail, sizeof(p->detail), "cannot make a TLS session");
		goto out;
	}
	rc = ktls_dane_ssl_config(c->ssl, h, nexthop, &usable, err, sizeof(err));
	if (rc) {
		snprintf(p->detail, sizeof(p->detail), "DANE set-up: %s", err);
		goto out;
	}
	SSL_set_fd(c->ssl, c->fd);
	while ((r = SSL_connect(c->ssl)) != 1) {
		int w = ssl_wait(c, r);

		if (w) {
			unsigned long e = ERR_peek_last_error();

			snprintf(p->detail, sizeof(p->detail), "TLS handshake failed: %s",
				 w == -ETIMEDOUT ? "deadline reached"
				 : e		 ? ERR_reason_error_string(e)
						 : strerror(-w));
			ERR_clear_error();
			goto out; /* no QUIT: the TLS session is unusable */
		}
	}
	snprintf(p->version, sizeof(p->version), "%s", SSL_get_version(c->ssl));
	snprintf(p->cipher, sizeof(p->cipher), "%s", SSL_get_cipher_name(c->ssl));
	{
		const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);

		snprintf(p->sni, sizeof(p->sni), "%s", sni ? sni : "");
	}
	if (!usable) {
		p->result = CTL_DANE_PROBE_ENCRYPTED;
		snprintf(p->detail, sizeof(p->detail),
			 "encrypted, not authenticated (all TLSA records unusable)");
	} else if (ktls_dane_check(c->ssl, why, sizeof(why))) {
		p->result = CTL_DANE_PROBE_FAILED;
		snprintf(p->detail, sizeof(p->detail), "failed: %s", why);
	} else {
		matched_desc(c->ssl, matched, sizeof(matched));
		p->result = CTL_DANE_PROBE_VERIFIED;
		snprintf(p->detail, sizeof(p->detail), "%s%s", why, matched);
	}
quit:
	/* Never MAIL: whatever the verdict, the session ends here. */
	{
		struct ctl_dane_probe scratch;

		cmd(c, "QUIT\r\n", 221, &scratch);
	}
	if (c->ssl)
		SSL_shutdown(c->ssl);
out:
	if (c->ssl)
		SSL_free(c->ssl);
	SSL_CTX_free(ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc == -ENOMEM ? rc : 0;
}
