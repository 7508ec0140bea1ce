// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fast SMTP sink for the relay benchmarks (bench/bench_relay.sh, bench/bench_inbound.sh; not a
 * test): accepts every message and stores nothing, so that whatever relay sits in front of it is
 * what gets measured.  One epoll loop per thread (SO_REUSEPORT listeners), non-blocking sockets,
 * OpenSSL for STARTTLS.  Idle connections are held forever (no timeouts): the idle-session
 * memory benchmark parks thousands of them here.
 *
 *   helper_sink --listen ADDR:PORT [--cert F --key F [--tls tls1.2|tls1.3] [--cipher C]]
 *               [--threads N] [--ready FILE]
 *
 * Commands: EHLO/HELO, MAIL, RCPT, DATA (the body up to CRLF.CRLF is counted and dropped), BDAT,
 * RSET, NOOP, QUIT, STARTTLS (offered when --cert is given; TLS >= 1.2, --tls pins one version,
 * --cipher the TLS 1.2 cipher list or the TLS 1.3 suite).  Plaintext pipelined after STARTTLS is
 * discarded, as a real server must.
 * --ready FILE is created once every listener is bound.  SIGUSR1 prints the counters as one JSON
 * line on stdout; SIGTERM/SIGINT print them and exit 0.  The counters include the process's
 * own CPU time, so a benchmark can show the sink was not the bottleneck, and the TLS handshakes
 * it completed (tls_sessions) with how many of them resumed a session (tls_resumed: the server
 * keeps OpenSSL's defaults, a session cache and TLS 1.3 tickets, so a client that offers a
 * session gets it resumed).
 */
#include "lib/jsonw.h"
#include "tests/lib/tls_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF (256 * 1024) /* per-thread read buffer: connections own no input buffer */
#define LINE_MAX_LEN 8192 /* a command line longer than this ends the session */
#define OUT_MAX (1 << 20) /* pending replies beyond this: the client is not reading */
#define MAX_THREADS 16
#define MAX_SUITES 4
#define WANT_FDS 262144

static const char END_MARK[] = "\r\n.\r\n";

enum cstate {
	C_CMD,
	C_BODY,	    /* DATA body, looking for CRLF.CRLF */
	C_BDAT,	    /* bdat_left bytes of chunk still to come */
	C_TLS_WAIT, /* "220 Ready to start TLS" going out, then the handshake */
	C_HANDSHAKE,
	C_QUIT, /* 221 going out, then close */
};

struct conn {
	int fd;
	SSL *ssl;
	enum cstate st;
	uint32_t events;  /* current epoll interest */
	unsigned int dot; /* bytes of END_MARK matched at the end of the last chunk */
	uint64_t bdat_left;
	bool bdat_last;
	uint64_t msg_bytes;
	char *pend; /* an incomplete command line kept between reads */
	size_t pend_len;
	char *out; /* replies not yet written */
	size_t out_len, out_off, out_cap;
};

struct suite_count {
	const char *version, *cipher; /* OpenSSL's static strings */
	uint64_t n;
};

/* Updated by the worker with relaxed atomics; read by the main thread at a signal. */
struct counters {
	uint64_t accepted, open, max_open, tls_sessions, tls_resumed, tls_failures, messages;
	uint64_t body_bytes, errors;
};

struct worker {
	pthread_t th;
	int lfd, epfd;
	char *buf;
	struct counters c;
	pthread_mutex_t lock; /* suites */
	struct suite_count suites[MAX_SUITES];
};

static SSL_CTX *ctx;
static struct worker workers[MAX_THREADS];
static unsigned int nthreads = 1;
static char listener_tag; /* epoll data.ptr of a listener */

#define CADD(w, f, v) __atomic_add_fetch(&(w)->c.f, (v), __ATOMIC_RELAXED)
#define CGET(w, f) __atomic_load_n(&(w)->c.f, __ATOMIC_RELAXED)

static int out_add(struct conn *c, const char *s, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 512;
		char *p;

		while (cap < c->out_len + n)
			cap *= 2;
		if (cap > OUT_MAX)
			return -ENOBUFS;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return 0;
}

static int say(struct conn *c, const char *s)
{
	return out_add(c, s, strlen(s));
}

/* >0 bytes, 0 end of stream, -EAGAIN (*want_write: OpenSSL waits to write), other -errno. */
static ssize_t c_read(struct conn *c, char *p, size_t n, bool *want_write)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

		if (r > 0)
			return r;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			return -EAGAIN;
		case SSL_ERROR_WANT_WRITE:
			*want_write = true;
			return -EAGAIN;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		default:
			ERR_clear_error();
			return -EPROTO;
		}
	}
	ssize_t r = read(c->fd, p, n);

	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return r;
}

/* Write what is pending: 0 when all is out, -EAGAIN when the socket is full, else -errno. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		size_t n = c->out_len - c->out_off;
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, c->out + c->out_off, (int)n);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return -EAGAIN;
				ERR_clear_error();
				return -EPROTO;
			}
			w = r;
		} else {
			w = write(c->fd, c->out + c->out_off, n);
			if (w < 0)
				return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static bool is_cmd(const char *line, size_t len, const char *verb)
{
	size_t v = strlen(verb);

	return len >= v && !strncasecmp(line, verb, v) && (len == v || line[v] == ' ');
}

static int do_line(struct conn *c, const char *line, size_t len)
{
	if (is_cmd(line, len, "EHLO")) {
		return say(c, ctx && !c->ssl ? "250-sink.example.net\r\n250-PIPELINING\r\n"
					       "250-SIZE 0\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
					       "250-STARTTLS\r\n250 SMTPUTF8\r\n"
					     : "250-sink.example.net\r\n250-PIPELINING\r\n"
					       "250-SIZE 0\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
					       "250 SMTPUTF8\r\n");
	}
	if (is_cmd(line, len, "HELO"))
		return say(c, "250 sink.example.net\r\n");
	if (is_cmd(line, len, "MAIL")) {
		c->msg_bytes = 0;
		return say(c, "250 2.1.0 Ok\r\n");
	}
	if (is_cmd(line, len, "RCPT"))
		return say(c, "250 2.1.5 Ok\r\n");
	if (is_cmd(line, len, "DATA")) {
		c->st = C_BODY;
		c->dot = 2; /* the command's own CRLF starts a possible end mark */
		return say(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	}
	if (is_cmd(line, len, "BDAT")) {
		char arg[64], *end;
		size_t n = len - 4 < sizeof(arg) ? len - 4 : sizeof(arg) - 1;

		memcpy(arg, line + 4, n);
		arg[n] = '\0';
		errno = 0;
		c->bdat_left = strtoull(arg, &end, 10);
		if (errno || end == arg)
			return say(c, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
		while (*end == ' ')
			end++;
		c->bdat_last = !strncasecmp(end, "LAST", 4);
		c->st = C_BDAT;
		return 0;
	}
	if (is_cmd(line, len, "RSET") || is_cmd(line, len, "NOOP"))
		return say(c, "250 2.0.0 Ok\r\n");
	if (is_cmd(line, len, "QUIT")) {
		c->st = C_QUIT;
		return say(c, "221 2.0.0 Bye\r\n");
	}
	if (is_cmd(line, len, "STARTTLS") && ctx && !c->ssl) {
		c->st = C_TLS_WAIT;
		return say(c, "220 2.0.0 Ready to start TLS\r\n");
	}
	return say(c, "502 5.5.2 Error: command not recognized\r\n");
}

static unsigned int dot_step(unsigned int m, char ch)
{
	/* KMP over "\r\n.\r\n": every proper border of its prefixes is "" or "\r". */
	if (ch == END_MARK[m])
		return m + 1;
	return ch == '\r' ? 1 : 0;
}

/* Scan a body chunk: bytes up to and including the end mark, or n (and *end false). */
static size_t body_scan(struct conn *c, const char *p, size_t n, bool *end)
{
	size_t i = 0;
	const char *hit;

	*end = false;
	while (i < n && c->dot) {
		c->dot = dot_step(c->dot, p[i++]);
		if (c->dot == 5) {
			*end = true;
			return i;
		}
	}
	if (i == n)
		return n;
	/* No partial mark pending at i: any mark starts at i or later. */
	hit = memmem(p + i, n - i, END_MARK, 5);
	if (hit) {
		*end = true;
		return (size_t)(hit - p) + 5;
	}
	for (i = n - i > 4 ? n - 4 : i; i < n; i++)
		c->dot = dot_step(c->dot, p[i]);
	return n;
}

/* Consume input; returns how many bytes were used (the rest is an incomplete line), or -errno. */
static ssize_t process(struct worker *w, struct conn *c, const char *p, size_t n)
{
	size_t used = 0;
	char reply[96];
	int rc;

	while (used < n) {
		const char *q = p + used;
		size_t left = n - used;

		switch (c->st) {
		case C_CMD: {
			const char *nl = memchr(q, '\n', left);
			size_t len;

			if (!nl)
				return left > LINE_MAX_LEN ? -E2BIG : (ssize_t)used;
			len = (size_t)(nl - q);
			used += len + 1;
			if (len && q[len - 1] == '\r')
				len--;
			rc = do_line(c, q, len);
			if (rc)
				return rc;
			break;
		}
		case C_BODY: {
			bool end;
			size_t k = body_scan(c, q, left, &end);

			used += k;
			c->msg_bytes += k;
			if (end) {
				c->st = C_CMD;
				CADD(w, messages, 1);
				CADD(w, body_bytes, c->msg_bytes - 3);
				rc = say(c, "250 2.0.0 Ok: queued\r\n");
				if (rc)
					return rc;
			}
			break;
		}
		case C_BDAT: {
			size_t k = left < c->bdat_left ? left : (size_t)c->bdat_left;

			used += k;
			c->bdat_left -= k;
			c->msg_bytes += k;
			if (c->bdat_left)
				break;
			c->st = C_CMD;
			if (c->bdat_last) {
				CADD(w, messages, 1);
				CADD(w, body_bytes, c->msg_bytes);
				rc = say(c, "250 2.0.0 Ok: queued\r\n");
			} else {
				snprintf(reply, sizeof(reply), "250 2.0.0 Ok: %llu octets\r\n",
					 (unsigned long long)c->msg_bytes);
				rc = say(c, reply);
			}
			if (rc)
				return rc;
			break;
		}
		case C_TLS_WAIT:
		case C_QUIT:
			/* Nothing pipelined after STARTTLS or QUIT is ever executed. */
			return (ssize_t)n;
		case C_HANDSHAKE:
			return -EPROTO;
		}
	}
	return (ssize_t)used;
}

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* a close_notify, no waiting for the peer's */
		SSL_free(c->ssl);
	}
	close(c->fd); /* leaves the epoll set with it */
	free(c->pend);
	free(c->out);
	free(c);
	CADD(w, open, (uint64_t)-1);
}

static void note_suite(struct worker *w, SSL *ssl)
{
	const char *v = SSL_get_version(ssl), *ci = SSL_get_cipher_name(ssl);

	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < MAX_SUITES; i++) {
		struct suite_count *s = &w->suites[i];

		if (!s->version) {
			s->version = v;
			s->cipher = ci;
		}
		if (!strcmp(s->version, v) && !strcmp(s->cipher, ci)) {
			s->n++;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

/* 0: handshake done; -EAGAIN: waiting (c->events set); else failed. */
static int handshake(struct worker *w, struct conn *c, uint32_t *want)
{
	int r;

	if (!c->ssl) {
		c->ssl = SSL_new(ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
			return -ENOMEM;
		SSL_set_accept_state(c->ssl);
	}
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		CADD(w, tls_sessions, 1);
		if (SSL_session_reused(c->ssl))
			CADD(w, tls_resumed, 1);
		note_suite(w, c->ssl);
		c->st = C_CMD;
		return 0;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = EPOLLOUT;
		return -EAGAIN;
	default:
		ERR_clear_error();
		CADD(w, tls_failures, 1);
		return -EPROTO;
	}
}

/* Read, answer, flush until the connection waits for something; *want is that something. */
static int conn_run(struct worker *w, struct conn *c, uint32_t *want)
{
	for (;;) {
		bool drained = false, want_write = false, eof = false;
		size_t len;
		ssize_t used;
		int rc = flush_out(c);

		if (rc == -EAGAIN) {
			*want = EPOLLOUT;
			return 0;
		}
		if (rc)
			return rc;
		if (c->st == C_QUIT)
			return -ECONNRESET; /* said goodbye */
		if (c->st == C_TLS_WAIT || c->st == C_HANDSHAKE) {
			c->st = C_HANDSHAKE;
			free(c->pend); /* plaintext sent before the handshake is never used */
			c->pend = NULL;
			c->pend_len = 0;
			rc = handshake(w, c, want);
			if (rc == -EAGAIN)
				return 0;
			if (rc)
				return rc;
		}
		len = c->pend_len;
		if (len)
			memcpy(w->buf, c->pend, len);
		while (len < RBUF) {
			ssize_t r = c_read(c, w->buf + len, RBUF - len, &want_write);

			if (r == -EAGAIN) {
				drained = true;
				break;
			}
			if (r < 0)
				return (int)r;
			if (r == 0) {
				eof = true;
				break;
			}
			len += (size_t)r;
			/* a short read drained a plain socket; OpenSSL is read until it says so */
			if (!c->ssl && len < RBUF)
				drained = true;
			if (drained)
				break;
		}
		used = process(w, c, w->buf, len);
		if (used == -E2BIG && !say(c, "500 5.5.2 Error: line too long\r\n"))
			flush_out(c); /* best effort: the session ends either way */
		if (used < 0)
			return (int)used;
		c->pend_len = len - (size_t)used;
		if (c->pend_len) {
			char *p = realloc(c->pend, c->pend_len);

			if (!p)
				return -ENOMEM;
			c->pend = p;
			memcpy(c->pend, w->buf + used, c->pend_len);
		}
		if (eof)
			return -ECONNRESET;
		if (drained && !c->out_len && c->st != C_TLS_WAIT && c->st != C_QUIT) {
			*want = want_write ? EPOLLOUT : EPOLLIN;
			return 0;
		}
	}
}

static void conn_event(struct worker *w, struct conn *c)
{
	uint32_t want = EPOLLIN;
	int rc = conn_run(w, c, &want);

	if (rc) {
		if (rc != -ECONNRESET)
			CADD(w, errors, 1);
		conn_close(w, c);
		return;
	}
	if (want != c->events) {
		struct epoll_event ev = {.events = want, .data.ptr = c};

		c->events = want;
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
			CADD(w, errors, 1);
			conn_close(w, c);
		}
	}
}

static void on_accept(struct worker *w)
{
	for (;;) {
		int one = 1, fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c;
		uint64_t open;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				CADD(w, errors, 1);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			CADD(w, errors, 1);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			CADD(w, errors, 1);
			continue;
		}
		CADD(w, accepted, 1);
		open = CADD(w, open, 1);
		if (open > CGET(w, max_open))
			__atomic_store_n(&w->c.max_open, open, __ATOMIC_RELAXED);
		if (say(c, "220 sink.example.net ESMTP helper_sink\r\n")) {
			conn_close(w, c);
			continue;
		}
		conn_event(w, c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];

	for (;;) {
		int n = epoll_wait(w->epfd, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("helper_sink: epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listener_tag)
				on_accept(w);
			else
				conn_event(w, evs[i].data.ptr);
		}
	}
	return NULL;
}

static int listen_on(const char *spec)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res = NULL;
	char host[128];
	const char *port = strrchr(spec, ':');
	int fd, one = 1;

	if (!port || (size_t)(port - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(port - spec));
	host[port - spec] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (getaddrinfo(host, port + 1, &hints, &res) || !res)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4096)) {
		perror("helper_sink: listen");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *make_ctx(const char *cert, const char *key, const char *ver, const char *cipher)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c)
		return NULL;
	if (tls_fixture_pin(c, ver, cipher))
		goto fail;
	/* Reads fetch as much as the socket has: fewer syscalls; conn_run drains OpenSSL. */
	SSL_CTX_set_read_ahead(c, 1);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "helper_sink: cannot load %s / %s\n", cert, key);
		goto fail;
	}
	return c;
fail:
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(c);
	return NULL;
}

static void print_counters(void)
{
	struct counters t = {0};
	struct suite_count all[MAX_SUITES * MAX_THREADS];
	unsigned int nall = 0;
	struct rusage ru;
	struct jsonw *j;

	memset(all, 0, sizeof(all));
	for (unsigned int i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		t.accepted += CGET(w, accepted);
		t.open += CGET(w, open);
		t.max_open += CGET(w, max_open);
		t.tls_sessions += CGET(w, tls_sessions);
		t.tls_resumed += CGET(w, tls_resumed);
		t.tls_failures += CGET(w, tls_failures);
		t.messages += CGET(w, messages);
		t.body_bytes += CGET(w, body_bytes);
		t.errors += CGET(w, errors);
		pthread_mutex_lock(&w->lock);
		for (int k = 0; k < MAX_SUITES && w->suites[k].version; k++) {
			unsigned int m;

			for (m = 0; m < nall; m++)
				if (!strcmp(all[m].version, w->suites[k].version) &&
				    !strcmp(all[m].cipher, w->suites[k].cipher))
					break;
			if (m == nall)
				all[nall++] = w->suites[k];
			else
				all[m].n += w->suites[k].n;
		}
		pthread_mutex_unlock(&w->lock);
	}
	getrusage(RUSAGE_SELF, &ru);
	j = jsonw_new(stdout);
	jsonw_start_object(j);
	jsonw_u64_field(j, "accepted", t.accepted);
	jsonw_u64_field(j, "open", t.open);
	jsonw_u64_field(j, "max_open", t.max_open); /* sum of per-thread peaks */
	jsonw_u64_field(j, "tls_sessions", t.tls_sessions); /* completed handshakes */
	jsonw_u64_field(j, "tls_resumed", t.tls_resumed);   /* ... of which resumed a session */
	jsonw_u64_field(j, "tls_failures", t.tls_failures);
	jsonw_u64_field(j, "messages", t.messages);
	jsonw_u64_field(j, "body_bytes", t.body_bytes);
	jsonw_u64_field(j, "errors", t.errors);
	jsonw_u64_field(j, "cpu_ms",
			(uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
				(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	jsonw_name(j, "tls");
	jsonw_start_object(j);
	for (unsigned int m = 0; m < nall; m++) {
		char name[128];

		snprintf(name, sizeof(name), "%s %s", all[m].version, all[m].cipher);
		jsonw_u64_field(j, name, all[m].n);
	}
	jsonw_end_object(j);
	jsonw_end_object(j);
	jsonw_destroy(&j);
	fflush(stdout);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max < WANT_FDS) {
		struct rlimit want = {WANT_FDS, WANT_FDS};

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: helper_sink --listen ADDR:PORT [--cert F --key F [--tls tls1.2|tls1.3]"
		" [--cipher C]] [--threads N] [--ready FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},	  {"tls", required_argument, NULL, 't'},
		{"cipher", required_argument, NULL, 'C'}, {"threads", required_argument, NULL, 'n'},
		{"ready", required_argument, NULL, 'r'},  {NULL, 0, NULL, 0},
	};
	const char *listen_spec = NULL, *cert = NULL, *key = NULL, *ver = NULL, *cipher = NULL;
	const char *ready = NULL;
	sigset_t set;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 't':
			ver = optarg;
			break;
		case 'C':
			cipher = optarg;
			break;
		case 'n':
			nthreads = (unsigned int)atoi(optarg);
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			usage();
		}
	}
	if (!listen_spec || !!cert != !!key || !nthreads || nthreads > MAX_THREADS)
		usage();
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (cert && !(ctx = make_ctx(cert, key, ver, cipher)))
		return 1;
	/* Blocked before the workers exist: only the main thread takes them (sigwait). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned int i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};

		pthread_mutex_init(&w->lock, NULL);
		w->buf = malloc(RBUF);
		w->lfd = listen_on(listen_spec);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!w->buf || w->lfd < 0 || w->epfd < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &ev)) {
			fprintf(stderr, "helper_sink: cannot set up thread %u on %s\n", i,
				listen_spec);
			return 1;
		}
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i])) {
			fprintf(stderr, "helper_sink: pthread_create failed\n");
			return 1;
		}
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			perror(ready);
			return 1;
		}
		close(fd);
	}
	for (;;) {
		int sig;

		if (sigwait(&set, &sig))
			continue;
		print_counters();
		if (sig != SIGUSR1)
			break;
	}
	/* The workers are blocked in epoll_wait; the process ends with them. */
	return 0;
}
