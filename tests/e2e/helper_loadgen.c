// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMTP load generator for the relay benchmarks (bench/bench_relay.sh, bench/bench_inbound.sh; not
 * a test).  C threads with blocking I/O share N sessions; each session is greeting, EHLO
 * (optionally STARTTLS, the handshake and EHLO again), M messages of S bytes, QUIT.  MAIL, RCPT
 * and DATA go in one write when the server offers PIPELINING.  The latency of a message is from
 * writing MAIL to reading the final reply after the end of data.
 *
 *   helper_loadgen --connect ADDR:PORT [--source ADDR] [--connections N] [--concurrency C]
 *                  [--messages M] [--size S[k|m]] [--starttls [--tls tls1.2|tls1.3]
 *                  [--cipher C] [--resume]] [--no-pipelining] [--timeout SECONDS]
 *                  [--rcpts R [--rcpt-domain D]]
 *   helper_loadgen --connect ADDR:PORT --hold N [--concurrency C] [--starttls ...]
 *
 * Prints one JSON line: {"messages", "errors", "sessions", "size", "seconds", "msgs_per_s",
 * "mb_per_s" (10^6 bytes of message per second), "p50_ms", "p99_ms", "max_ms", "setup_p50_ms",
 * "setup_p99_ms", "rcpts", "tls_resumed", "cpu_ms"} (setup: connect to the answer to EHLO, the
 * relay's own TLS set-up included; tls_resumed: the sessions whose STARTTLS handshake resumed a
 * TLS session; cpu_ms: this process's user + system time from the first connection on, the
 * message already made: the client's share of the machine).
 * --resume (with --starttls): each thread keeps the TLS session of its last connection, taken
 * after the answer to the EHLO inside TLS (TLS 1.3 tickets come after the handshake: by then
 * OpenSSL has read them), and offers it on its next connection, as a sending MTA with a session
 * cache does (bench/bench_relay.sh: the sink's rate with resumption); after the answer to QUIT
 * it sends close_notify (OpenSSL offers no session again whose connection ended without one).
 * errors counts the messages that did not get a 2xx after their data (a session that fails
 * counts all the messages it still had); the exit status is 1 when errors is not 0.
 * --hold N opens N sessions (greeting and EHLO, after STARTTLS when asked), prints "held K" (K
 * sessions that got there) and keeps them open until SIGTERM: for memory per idle session.
 * S counts the message bytes before the ".\r\n" end mark: headers, then 78-column lines.
 * --rcpts R gives every message R recipients, rcpt1@D .. rcptR@D (D: example.net; with one
 * recipient it is sink@example.net), all of which must get a 2xx (bench/bench_dest.sh: the
 * per-recipient policy check).
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/tls_fixture.h"

#define MAX_THREADS 1024

struct lg {
	struct sockaddr_storage dst, src;
	socklen_t dst_len, src_len;
	unsigned long conns, conc, msgs, hold;
	size_t size;
	unsigned long rcpts;
	bool starttls, pipelining, resume;
	int timeout_s;
	SSL_CTX *ctx;
	char *msg; /* the message with its end mark */
	size_t msg_len;
	char *env; /* MAIL, the RCPTs and DATA, one pipelined write */
	size_t env_len;
	unsigned long next; /* the next session to run (atomic) */
};

struct sess {
	int fd;
	SSL *ssl;
	bool pipelining; /* the server offered it */
	size_t off, len;
	char buf[2048];
};

struct lat {
	double *v;
	size_t n, cap;
};

struct thr {
	pthread_t th;
	struct lg *lg;
	struct lat msg, setup; /* ms per message; ms per session from connect to EHLO */
	uint64_t errors, resumed;
	SSL_SESSION *tls_sess; /* --resume: the session to offer on this thread's next connection */
	struct sess **held;
	size_t nheld;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int s_write(struct sess *s, const char *p, size_t n)
{
	while (n) {
		ssize_t w;

		if (s->ssl) {
			int r = SSL_write(s->ssl, p, n > (1u << 30) ? (1 << 30) : (int)n);

			if (r <= 0)
				return -1;
			w = r;
		} else {
			w = write(s->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int s_fill(struct sess *s)
{
	ssize_t r;

	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len);
		s->off = 0;
	}
	if (s->len == sizeof(s->buf))
		return -1;
	do {
		r = s->ssl ? SSL_read(s->ssl, s->buf + s->len, (int)(sizeof(s->buf) - s->len))
			   : read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
	} while (!s->ssl && r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	s->len += (size_t)r;
	return 0;
}

/* One reply (all its lines); returns its code, or -1.  Notes PIPELINING in an EHLO reply. */
static int s_reply(struct sess *s)
{
	for (;;) {
		char *line = s->buf + s->off, *nl = memchr(line, '\n', s->len);
		size_t n;
		bool last;

		if (!nl) {
			if (s_fill(s))
				return -1;
			continue;
		}
		n = (size_t)(nl - line) + 1;
		if (n < 4 || line[0] < '2' || line[0] > '5')
			return -1;
		last = line[3] != '-';
		if (n >= 14 && !strncasecmp(line + 4, "PIPELINING", 10))
			s->pipelining = true;
		s->off += n;
		s->len -= n;
		if (last)
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	}
}

static int cmd(struct sess *s, const char *line, int want_class)
{
	int code;

	if (s_write(s, line, strlen(line)))
		return -1;
	code = s_reply(s);
	return code / 100 == want_class ? 0 : -1;
}

static void s_free(struct sess *s)
{
	if (!s)
		return;
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

/*
 * Connected, greeted, EHLO answered (inside TLS with --starttls).  With --resume, t's saved
 * session is offered and replaced by this connection's once the EHLO inside TLS is answered.
 */
static struct sess *s_open(struct lg *lg, struct thr *t)
{
	struct timeval tv = {.tv_sec = lg->timeout_s};
	struct sess *s = calloc(1, sizeof(*s));
	int one = 1;

	if (!s)
		return NULL;
	s->fd = socket(lg->dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lg->src_len) {
		/* the port is chosen at connect(), per destination: no early exhaustion */
		setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(s->fd, (struct sockaddr *)&lg->src, lg->src_len))
			goto fail;
	}
	if (connect(s->fd, (struct sockaddr *)&lg->dst, lg->dst_len))
		goto fail;
	if (s_reply(s) != 220 || cmd(s, "EHLO loadgen.example.org\r\n", 2))
		goto fail;
	if (!lg->starttls)
		return s;
	if (cmd(s, "STARTTLS\r\n", 2) || s->len) /* nothing may follow the 220 in plaintext */
		goto fail;
	s->ssl = SSL_new(lg->ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
		goto fail;
	if (lg->resume && t->tls_sess && SSL_set_session(s->ssl, t->tls_sess) != 1)
		goto fail;
	if (SSL_connect(s->ssl) != 1)
		goto fail;
	s->pipelining = false; /* forget what was said before TLS (RFC 3207 4.2) */
	if (cmd(s, "EHLO loadgen.example.org\r\n", 2))
		goto fail;
	if (SSL_session_reused(s->ssl))
		t->resumed++;
	if (lg->resume) {
		/* the newest ticket: the EHLO reply came after it, so OpenSSL has read it */
		SSL_SESSION *ns = SSL_get1_session(s->ssl);

		if (ns && SSL_SESSION_is_resumable(ns)) {
			SSL_SESSION_free(t->tls_sess);
			t->tls_sess = ns;
		} else {
			SSL_SESSION_free(ns);
		}
	}
	return s;
fail:
	ERR_clear_error();
	s_free(s);
	return NULL;
}

static int lat_add(struct lat *l, double ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		double *p = realloc(l->v, cap * sizeof(*p));

		if (!p)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = ms;
	return 0;
}

static int one_message(struct thr *t, struct sess *s)
{
	const struct lg *lg = t->lg;
	double t0 = now_ms();

	if (s->pipelining && lg->pipelining) {
		if (s_write(s, lg->env, lg->env_len) || s_reply(s) / 100 != 2)
			return -1;
		for (unsigned long r = 0; r < lg->rcpts; r++)
			if (s_reply(s) / 100 != 2)
				return -1;
		if (s_reply(s) != 354)
			return -1;
	} else {
		/* the same lines, one at a time */
		char *p = lg->env, *end = lg->env + lg->env_len;

		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p)), line[320];
			size_t n = (size_t)(nl - p) + 1;

			memcpy(line, p, n);
			line[n] = '\0';
			if (cmd(s, line, nl + 1 == end ? 3 : 2))
				return -1;
			p = nl + 1;
		}
	}
	if (s_write(s, lg->msg, lg->msg_len) || s_reply(s) / 100 != 2)
		return -1;
	return lat_add(&t->msg, now_ms() - t0);
}

/* MAIL FROM, the recipients, DATA. */
static int make_envelope(struct lg *lg, const char *domain)
{
	size_t cap = 64 + lg->rcpts * (40 + strlen(domain)), n;

	lg->env = malloc(cap);
	if (!lg->env)
		return -1;
	n = (size_t)snprintf(lg->env, cap, "MAIL FROM:<bench@example.org>\r\n");
	if (lg->rcpts == 1 && !strcmp(domain, "example.net"))
		n += (size_t)snprintf(lg->env + n, cap - n, "RCPT TO:<sink@example.net>\r\n");
	else
		for (unsigned long r = 1; r <= lg->rcpts; r++)
			n += (size_t)snprintf(lg->env + n, cap - n, "RCPT TO:<rcpt%lu@%s>\r\n", r,
					      domain);
	n += (size_t)snprintf(lg->env + n, cap - n, "DATA\r\n");
	lg->env_len = n;
	return 0;
}

static void *run_thread(void *arg)
{
	struct thr *t = arg;
	struct lg *lg = t->lg;

	while (__atomic_fetch_add(&lg->next, 1, __ATOMIC_RELAXED) < lg->conns) {
		double t0 = now_ms();
		struct sess *s = s_open(lg, t);
		unsigned long m = 0;

		if (s && lat_add(&t->setup, now_ms() - t0)) {
			s_free(s);
			s = NULL;
		}
		if (s) {
			for (; m < lg->msgs; m++)
				if (one_message(t, s))
					break;
			/*
			 * The messages are in: the QUIT's outcome is no error either way.  With
			 * --resume the connection ends with close_notify, as an MTA's does: OpenSSL
			 * takes a session whose SSL is freed without one out of resumption.
			 */
			if (m == lg->msgs && !cmd(s, "QUIT\r\n", 2) && lg->resume)
				SSL_shutdown(s->ssl);
		}
		t->errors += lg->msgs - m;
		s_free(s);
	}
	return NULL;
}

static void *hold_thread(void *arg)
{
	struct thr *t = arg;
	struct lg *lg = t->lg;

	while (__atomic_fetch_add(&lg->next, 1, __ATOMIC_RELAXED) < lg->hold) {
		struct sess *s = s_open(lg, t);

		if (!s) {
			t->errors++;
			continue;
		}
		if (t->nheld % 256 == 0) {
			struct sess **p = realloc(t->held, (t->nheld + 256) * sizeof(*p));

			if (!p) {
				s_free(s);
				t->errors++;
				continue;
			}
			t->held = p;
		}
		t->held[t->nheld++] = s;
	}
	return NULL;
}

/* Headers, then lines of 78 characters (never starting with a dot), exactly size bytes. */
static int make_message(struct lg *lg)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char hdr[256];
	size_t h, rem, pos, line = 0;
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "From: bench@example.org\r\nTo: sink@example.net\r\n"
		     "Subject: tlsgate relay benchmark, %zu bytes\r\n"
		     "Message-Id: <bench.%ld@example.org>\r\n\r\n",
		     lg->size, (long)getpid());
	h = (size_t)n;
	if (lg->size < h + 3) {
		fprintf(stderr, "helper_loadgen: --size must be at least %zu\n", h + 3);
		return -1;
	}
	lg->msg_len = lg->size + 3;
	lg->msg = malloc(lg->msg_len);
	if (!lg->msg)
		return -1;
	memcpy(lg->msg, hdr, h);
	pos = h;
	for (rem = lg->size - h; rem; line++) {
		/* the last line takes what is left: 1 to 80 characters plus CRLF */
		size_t len = rem >= 80 + 3 ? 78 : rem - 2;

		for (size_t i = 0; i < len; i++)
			lg->msg[pos + i] = alpha[(i + line * 7) % 64];
		lg->msg[pos + len] = '\r';
		lg->msg[pos + len + 1] = '\n';
		pos += len + 2;
		rem -= len + 2;
	}
	memcpy(lg->msg + pos, ".\r\n", 3);
	return 0;
}

static int parse_addr(const char *spec, bool with_port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char host[128];
	const char *port = NULL;
	size_t hl = strlen(spec);

	if (with_port) {
		port = strrchr(spec, ':');
		if (!port)
			return -1;
		hl = (size_t)(port - spec);
		port++;
	}
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return (size_t)v;
}

static SSL_CTX *client_ctx(const char *ver, const char *cipher)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (!c)
		return NULL;
	if (tls_fixture_pin(c, ver, cipher))
		goto fail;
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL); /* a benchmark peer, not a trust decision */
	SSL_CTX_set_mode(c, SSL_MODE_AUTO_RETRY);
	return c;
fail:
	SSL_CTX_free(c);
	return NULL;
}

static void raise_nofile(unsigned long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;
	/* With CAP_SYS_RESOURCE the hard limit may rise too; else up to the hard limit. */
	if (rl.rlim_max < need && !setrlimit(RLIMIT_NOFILE, &(struct rlimit){need, need}))
		return;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int lat_merge(struct lat *into, struct lat *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (lat_add(into, from->v[i]))
			return -1;
	free(from->v);
	memset(from, 0, sizeof(*from));
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v, permille in 1..1000. */
static double percentile(const double *v, size_t n, size_t permille)
{
	size_t i;

	if (!n)
		return 0;
	i = (n * permille + 999) / 1000;
	return v[i ? i - 1 : 0];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: helper_loadgen --connect ADDR:PORT [--source ADDR] [--connections N]\n"
		"         [--concurrency C] [--messages M] [--size S[k|m]] [--starttls [--tls "
		"tls1.2|tls1.3] [--cipher C] [--resume]]\n"
		"         [--no-pipelining] [--timeout SECONDS] [--hold N]\n"
		"         [--rcpts R [--rcpt-domain D]]\n");
	exit(2);
}

static int hold(struct lg *lg, struct thr *t, unsigned long nt)
{
	unsigned long held = 0, errors = 0;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned long i = 0; i < nt; i++) {
		t[i].lg = lg;
		if (pthread_create(&t[i].th, NULL, hold_thread, &t[i]))
			return 1;
	}
	for (unsigned long i = 0; i < nt; i++) {
		pthread_join(t[i].th, NULL);
		held += t[i].nheld;
		errors += t[i].errors;
	}
	if (errors)
		fprintf(stderr, "helper_loadgen: %lu sessions could not be opened\n", errors);
	printf("held %lu\n", held);
	fflush(stdout);
	sigwait(&set, &sig);
	for (unsigned long i = 0; i < nt; i++) {
		for (size_t k = 0; k < t[i].nheld; k++)
			s_free(t[i].held[k]);
		free(t[i].held);
		SSL_SESSION_free(t[i].tls_sess);
	}
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"connect", required_argument, NULL, 'c'},
		{"source", required_argument, NULL, 's'},
		{"connections", required_argument, NULL, 'n'},
		{"concurrency", required_argument, NULL, 'C'},
		{"messages", required_argument, NULL, 'm'},
		{"size", required_argument, NULL, 'S'},
		{"starttls", no_argument, NULL, 'T'},
		{"tls", required_argument, NULL, 'v'},
		{"cipher", required_argument, NULL, 'x'},
		{"resume", no_argument, NULL, 'r'},
		{"no-pipelining", no_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"hold", required_argument, NULL, 'H'},
		{"rcpts", required_argument, NULL, 'R'},
		{"rcpt-domain", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	struct lg lg = {.conns = 1,
			.conc = 1,
			.msgs = 1,
			.size = 10240,
			.rcpts = 1,
			.pipelining = true,
			.timeout_s = 120};
	const char *ver = NULL, *cipher = NULL, *rcpt_domain = "example.net";
	unsigned long nt, errors = 0, resumed = 0;
	struct lat msg = {0}, setup = {0};
	struct thr *t;
	double t0, secs, cpu_ms = -1;
	struct rusage ru, ru0;
	int o, rc = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (parse_addr(optarg, true, &lg.dst, &lg.dst_len))
				usage();
			break;
		case 's':
			if (parse_addr(optarg, false, &lg.src, &lg.src_len))
				usage();
			break;
		case 'n':
			lg.conns = strtoul(optarg, NULL, 10);
			break;
		case 'C':
			lg.conc = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			lg.msgs = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			lg.size = parse_size(optarg);
			break;
		case 'T':
			lg.starttls = true;
			break;
		case 'v':
			ver = optarg;
			break;
		case 'x':
			cipher = optarg;
			break;
		case 'P':
			lg.pipelining = false;
			break;
		case 'r':
			lg.resume = true;
			break;
		case 'R':
			lg.rcpts = strtoul(optarg, NULL, 10);
			break;
		case 'D':
			rcpt_domain = optarg;
			break;
		case 't':
			lg.timeout_s = atoi(optarg);
			break;
		case 'H':
			lg.hold = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!lg.dst_len || !lg.conc || (!lg.hold && (!lg.conns || !lg.msgs)) ||
	    (lg.resume && !lg.starttls))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (lg.starttls && !(lg.ctx = client_ctx(ver, cipher)))
		return 2;
	nt = lg.conc < MAX_THREADS ? lg.conc : MAX_THREADS;
	raise_nofile((lg.hold ? lg.hold : nt) + 64);
	t = calloc(nt, sizeof(*t));
	if (!t)
		return 1;
	if (lg.hold) {
		rc = hold(&lg, t, nt);
		free(t);
		SSL_CTX_free(lg.ctx);
		return rc;
	}
	if (!lg.rcpts || strlen(rcpt_domain) > 240)
		usage();
	if (make_message(&lg) || make_envelope(&lg, rcpt_domain))
		return 2;
	if (nt > lg.conns)
		nt = lg.conns;
	if (getrusage(RUSAGE_SELF, &ru0))
		memset(&ru0, 0, sizeof(ru0));
	t0 = now_ms();
	for (unsigned long i = 0; i < nt; i++) {
		t[i].lg = &lg;
		if (pthread_create(&t[i].th, NULL, run_thread, &t[i])) {
			fprintf(stderr, "helper_loadgen: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned long i = 0; i < nt; i++) {
		pthread_join(t[i].th, NULL);
		errors += t[i].errors;
		resumed += t[i].resumed;
		SSL_SESSION_free(t[i].tls_sess);
		if (lat_merge(&msg, &t[i].msg) || lat_merge(&setup, &t[i].setup))
			return 1;
	}
	secs = (now_ms() - t0) / 1e3;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec - ru0.ru_utime.tv_sec -
				  ru0.ru_stime.tv_sec) * 1e3 +
			 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec - ru0.ru_utime.tv_usec -
				  ru0.ru_stime.tv_usec) / 1e3;
	qsort(msg.v, msg.n, sizeof(*msg.v), cmp_double);
	qsort(setup.v, setup.n, sizeof(*setup.v), cmp_double);
	/* Flat numbers only: printf says it plainly (lib/jsonw writes no fractions). */
	printf("{\"messages\":%zu,\"errors\":%lu,\"sessions\":%zu,\"size\":%zu,\"seconds\":%.3f,"
	       "\"msgs_per_s\":%.1f,\"mb_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"max_ms\":%.3f,\"setup_p50_ms\":%.3f,\"setup_p99_ms\":%.3f,\"rcpts\":%lu,"
	       "\"tls_resumed\":%lu,\"cpu_ms\":%.1f}\n",
	       msg.n, errors, setup.n, lg.size, secs, (double)msg.n / secs,
	       (double)msg.n * (double)lg.size / secs / 1e6, percentile(msg.v, msg.n, 500),
	       percentile(msg.v, msg.n, 990), msg.n ? msg.v[msg.n - 1] : 0.0,
	       percentile(setup.v, setup.n, 500), percentile(setup.v, setup.n, 990), lg.rcpts,
	       resumed, cpu_ms);
	if (errors)
		rc = 1;
	free(msg.v);
	free(setup.v);
	free(t);
	free(lg.msg);
	free(lg.env);
	SSL_CTX_free(lg.ctx);
	return rc;
}
