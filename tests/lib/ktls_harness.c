// SPDX-License-Identifier: GPL-2.0-only
#include "tests/lib/ktls_harness.h"
#include "lib/sockutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GNUTLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:"
#define GNUTLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:"

const struct kh_suite kh_suites[6] = {
	{"tls1.2-aes-128-gcm", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", KTLS_AES_128_GCM,
	 GNUTLS12 "+AES-128-GCM"},
	{"tls1.2-aes-256-gcm", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", KTLS_AES_256_GCM,
	 GNUTLS12 "+AES-256-GCM"},
	{"tls1.2-chacha20-poly1305", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305",
	 KTLS_CHACHA20_POLY1305, GNUTLS12 "+CHACHA20-POLY1305"},
	{"tls1.3-aes-128-gcm", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", KTLS_AES_128_GCM,
	 GNUTLS13 "+AES-128-GCM"},
	{"tls1.3-aes-256-gcm", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", KTLS_AES_256_GCM,
	 GNUTLS13 "+AES-256-GCM"},
	{"tls1.3-chacha20-poly1305", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256",
	 KTLS_CHACHA20_POLY1305, GNUTLS13 "+CHACHA20-POLY1305"},
};

int64_t kh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *kh_hex8(const unsigned char *sha, char *buf)
{
	for (int i = 0; i < 8; i++)
		sprintf(buf + 2 * i, "%02x", sha[i]);
	return buf;
}

SSL_CTX *kh_ctx(const struct kh_suite *s, bool server)
{
	struct tls_fixture_opts o = {.version = s->version, .cipher = s->cipher, .ktls = true};
	SSL_CTX *ctx = server ? tls_fixture_server_ctx(&o) : tls_fixture_client_ctx(&o);

	if (ctx && ktls_ctx_prepare(ctx, server)) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int remaining(int64_t deadline)
{
	int64_t left = deadline - kh_now_ms();

	return left > 0 ? (int)left : 0;
}

static short pollev(uint32_t ev)
{
	short p = 0;

	if (ev & EPOLLIN)
		p |= POLLIN;
	if (ev & EPOLLOUT)
		p |= POLLOUT;
	return p;
}

int kh_wait(struct ktls_ep *ep, uint32_t events, int timeout_ms)
{
	struct pollfd pfd = {.fd = ktls_ep_fd(ep), .events = pollev(events)};
	int n;

	if (ktls_ep_rx_buffered(ep) && (events & EPOLLIN))
		return 0;
	if (!pfd.events)
		pfd.events = POLLIN;
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int kh_handshake_pair(struct ktls_ep *client, struct ktls_ep *server, int timeout_ms)
{
	struct ktls_ep *ep[2] = {client, server};
	int64_t deadline = kh_now_ms() + timeout_ms;
	bool done[2] = {false, false};

	while (!done[0] || !done[1]) {
		struct pollfd pfd[2];
		int n = 0, err;

		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			err = ktls_ep_handshake(ep[i]);
			if (!err) {
				done[i] = true;
				continue;
			}
			if (err != -EAGAIN)
				return err;
			pfd[n].fd = ktls_ep_fd(ep[i]);
			pfd[n].events = pollev(ktls_ep_events(ep[i]));
			n++;
		}
		if (!n)
			break;
		if (poll(pfd, (nfds_t)n, remaining(deadline)) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int kh_handshake(struct ktls_ep *ep, int timeout_ms)
{
	int64_t deadline = kh_now_ms() + timeout_ms;
	int err;

	while ((err = ktls_ep_handshake(ep)) == -EAGAIN)
		if (kh_wait(ep, ktls_ep_events(ep), remaining(deadline)))
			return -ETIMEDOUT;
	return err;
}

int kh_tls_pair_ctx(SSL_CTX *cctx, SSL_CTX *sctx, struct ktls_ep **client, struct ktls_ep **server)
{
	return kh_tls_pair_resume(cctx, sctx, NULL, false, client, server);
}

int kh_tls_pair_resume(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *sess, bool defer_rx,
		       struct ktls_ep **client, struct ktls_ep **server)
{
	struct ktls_ep *c = NULL, *sv = NULL;
	SSL *cssl = NULL, *sssl = NULL;
	int cfd = -1, sfd = -1, err;

	err = tg_tcp_loopback_pair(&cfd, &sfd);
	if (err)
		return err;
	err = -ENOMEM;
	c = ktls_ep_new(cfd);
	sv = ktls_ep_new(sfd);
	if (!c || !sv) {
		if (!c)
			close(cfd);
		if (!sv)
			close(sfd);
		goto fail;
	}
	cssl = SSL_new(cctx);
	sssl = SSL_new(sctx);
	if (!cssl || !sssl || (sess && SSL_set_session(cssl, sess) != 1))
		goto fail;
	if (ktls_ep_start_tls(c, cssl, false))
		goto fail;
	cssl = NULL;
	if (ktls_ep_start_tls(sv, sssl, true))
		goto fail;
	sssl = NULL;
	if (defer_rx)
		ktls_ep_defer_rx(c);
	err = kh_handshake_pair(c, sv, 20000);
	if (err)
		goto fail;
	*client = c;
	*server = sv;
	return 0;
fail:
	SSL_free(cssl);
	SSL_free(sssl);
	ktls_ep_free(c);
	ktls_ep_free(sv);
	return err;
}

int kh_tls_pair(const struct kh_suite *s, struct ktls_ep **client, struct ktls_ep **server)
{
	SSL_CTX *cctx = kh_ctx(s, false), *sctx = kh_ctx(s, true);
	int err = -ENOMEM;

	/* each SSL holds a reference on its context */
	if (cctx && sctx)
		err = kh_tls_pair_ctx(cctx, sctx, client, server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return err;
}

ssize_t kh_read_full(struct ktls_ep *ep, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = kh_now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = ktls_ep_read(ep, (char *)buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ENODATA;
		if (n != -EAGAIN)
			return n;
		if (kh_wait(ep, ktls_ep_events(ep), remaining(deadline)))
			return -ETIMEDOUT;
	}
	return (ssize_t)off;
}

ssize_t kh_write_all(struct ktls_ep *ep, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = kh_now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = ktls_ep_write(ep, (const char *)buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return n ? n : -EIO;
		if (kh_wait(ep, ktls_ep_events(ep), remaining(deadline)))
			return -ETIMEDOUT;
	}
	return (ssize_t)off;
}

int kh_read_to_end(struct ktls_ep *ep, size_t *got, int timeout_ms)
{
	int64_t deadline = kh_now_ms() + timeout_ms;
	char buf[16384];

	*got = 0;
	for (;;) {
		ssize_t n = ktls_ep_read(ep, buf, sizeof(buf));

		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (n != -EAGAIN)
			return (int)n;
		if (kh_wait(ep, ktls_ep_events(ep), remaining(deadline)))
			return -ETIMEDOUT;
	}
}

/* ---- the pump ---------------------------------------------------------------------------- */

struct dir {
	struct ktls_ep *from, *to;
	struct ktls_xfer *x;
	bool ended; /* from ended (or failed): shutting to down */
	bool done;
	uint32_t from_ev, to_ev;
};

/* Run one direction until it would block; false when it is finished. */
static void dir_step(struct dir *d, int i, struct kh_pump_result *r)
{
	int budget = 64; /* then let the other direction run */

	d->from_ev = d->to_ev = 0;
	while (!d->ended && budget--) {
		ssize_t n = ktls_xfer_splice(d->x, d->from, d->to, 1 << 20);

		if (n > 0) {
			r->bytes[i] += (uint64_t)n;
			if (!strcmp(ktls_xfer_backend(d->x), "splice"))
				r->spliced[i] = true;
			else
				r->copied[i] = true;
			continue;
		}
		if (n == -EAGAIN) {
			ktls_xfer_events(d->x, &d->from_ev, &d->to_ev);
			return;
		}
		if (n < 0 && !r->err[i]) {
			r->err[i] = (int)n;
			snprintf(r->why[i], sizeof(r->why[i]), "%s%s",
				 ktls_ep_error(d->from)[0] ? ktls_ep_error(d->from) : "",
				 ktls_ep_error(d->from)[0] ? "" : ktls_ep_error(d->to));
		}
		d->ended = true;
	}
	if (!d->ended)
		return;
	{
		int err = ktls_ep_shutdown(d->to);

		if (err == -EAGAIN) {
			d->to_ev = ktls_ep_events(d->to);
			return;
		}
		if (err && !r->err[i]) {
			r->err[i] = err;
			snprintf(r->why[i], sizeof(r->why[i]), "shutdown: %s",
				 ktls_ep_error(d->to));
		}
		d->done = true;
	}
}

int kh_pump(struct ktls_ep *a, struct ktls_ep *b, struct kh_pump_result *r, int timeout_ms)
{
	struct dir d[2] = {{.from = a, .to = b}, {.from = b, .to = a}};
	int64_t deadline = kh_now_ms() + timeout_ms;
	int err = 0;

	memset(r, 0, sizeof(*r));
	d[0].x = ktls_xfer_new(NULL);
	d[1].x = ktls_xfer_new(NULL);
	if (!d[0].x || !d[1].x) {
		err = -ENOMEM;
		goto out;
	}
	while (!d[0].done || !d[1].done) {
		struct pollfd pfd[2] = {{.fd = ktls_ep_fd(a)}, {.fd = ktls_ep_fd(b)}};
		int wait = remaining(deadline);

		if (!wait) {
			err = -ETIMEDOUT;
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			if (d[i].done)
				continue;
			dir_step(&d[i], i, r);
			if (d[i].done)
				continue;
			/* from is d[i].from: fd index i; to: index 1 - i */
			pfd[i].events |= pollev(d[i].from_ev);
			pfd[1 - i].events |= pollev(d[i].to_ev);
			if (!d[i].from_ev && !d[i].to_ev)
				wait = 0; /* budget used up, or buffered: run again */
			if ((d[i].from_ev & EPOLLIN) && ktls_ep_rx_buffered(d[i].from))
				wait = 0;
		}
		if (d[0].done && d[1].done)
			break;
		if (poll(pfd, 2, wait) < 0 && errno != EINTR) {
			err = -errno;
			goto out;
		}
	}
out:
	ktls_xfer_free(d[0].x);
	ktls_xfer_free(d[1].x);
	return err;
}

/* ---- traffic ends ------------------------------------------------------------------------ */

void kh_stream_fill(uint64_t *state, unsigned char *buf, size_t len)
{
	uint64_t x = *state;

	/* xorshift64 */
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
	*state = x;
}

/*
 * The stream: 64 KiB chunks of one pseudo-random block (from the seed), each chunk stamped with
 * its index in its first 8 bytes, so that a lost, duplicated or reordered chunk changes the
 * hash.  Cheap to send (the VM's emulated CPU hashes at ~15 MB/s: only the receiver hashes,
 * the expected hash is computed once per stream).
 */
#define CHUNK (64 * 1024)

/* Text streams (for line-oriented peers): base64 letters, a newline after every 76. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void stream_init(uint32_t seed, bool text, unsigned char *block)
{
	uint64_t st = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 17 | seed);

	kh_stream_fill(&st, block, CHUNK);
	if (text)
		for (size_t i = 0; i < CHUNK; i++)
			block[i] = i % 77 == 76 ? '\n' : (unsigned char)b64[block[i] & 63];
}

static size_t stream_chunk(unsigned char *block, uint32_t seed, bool text, uint64_t index,
			   uint64_t left)
{
	uint64_t stamp = index * 0x100000001b3ull ^ seed;

	if (text)
		for (int i = 0; i < 8; i++, stamp >>= 6)
			block[i] = (unsigned char)b64[stamp & 63];
	else
		memcpy(block, &stamp, sizeof(stamp));
	return left < CHUNK ? (size_t)left : CHUNK;
}

void kh_stream_sha(uint32_t seed, bool text, uint64_t len, unsigned char sha[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *block = malloc(CHUNK);
	uint64_t i = 0;

	stream_init(seed, text, block);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (uint64_t off = 0; off < len; off += CHUNK)
		EVP_DigestUpdate(md, block, stream_chunk(block, seed, text, i++, len - off));
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	free(block);
}

void kh_stream_run(struct kh_stream *s)
{
	EVP_MD_CTX *rmd = EVP_MD_CTX_new();
	unsigned char *out = malloc(CHUNK), *in = malloc(CHUNK);
	int64_t deadline = kh_now_ms() + s->timeout_ms;
	size_t out_off = 0, out_len = 0;
	bool shut = false, eof = false;
	uint64_t index = 0;

	s->sent = s->received = 0;
	s->err = 0;
	stream_init(s->seed, s->text, out);
	EVP_DigestInit_ex(rmd, EVP_sha256(), NULL);
	tg_set_nonblock(s->fd, true);
	while (!eof || !shut) {
		struct pollfd pfd = {.fd = s->fd};
		ssize_t n;

		if (!shut && !out_len && s->sent < s->send_len) {
			out_len =
				stream_chunk(out, s->seed, s->text, index++, s->send_len - s->sent);
			out_off = 0;
		}
		if (out_len) {
			n = send(s->fd, out + out_off, out_len, MSG_NOSIGNAL);
			if (n > 0) {
				out_off += (size_t)n;
				out_len -= (size_t)n;
				s->sent += (uint64_t)n;
			} else if (errno != EAGAIN) {
				s->err = -errno;
				break;
			}
		}
		if (!shut && !out_len && s->sent >= s->send_len && s->received >= s->shut_after) {
			shutdown(s->fd, SHUT_WR);
			shut = true;
		}
		if (!eof) {
			n = recv(s->fd, in, CHUNK, 0);
			if (n > 0) {
				EVP_DigestUpdate(rmd, in, (size_t)n);
				s->received += (uint64_t)n;
				continue;
			}
			if (n == 0) {
				eof = true;
				continue;
			}
			if (errno != EAGAIN) {
				s->err = -errno;
				break;
			}
			pfd.events |= POLLIN;
		}
		if (out_len)
			pfd.events |= POLLOUT;
		if (!pfd.events)
			continue;
		if (poll(&pfd, 1, remaining(deadline)) <= 0) {
			s->err = -ETIMEDOUT;
			break;
		}
	}
	EVP_DigestFinal_ex(rmd, s->recv_sha, NULL);
	EVP_MD_CTX_free(rmd);
	free(out);
	free(in);
}

unsigned char *kh_stream_bytes(uint32_t seed, bool text, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1), *block = malloc(CHUNK);
	uint64_t i = 0;

	if (!buf || !block) {
		free(buf);
		free(block);
		return NULL;
	}
	stream_init(seed, text, block);
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = stream_chunk(block, seed, text, i++, len - off);

		memcpy(buf + off, block, n);
	}
	free(block);
	return buf;
}
