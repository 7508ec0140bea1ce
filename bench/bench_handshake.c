// SPDX-License-Identifier: GPL-2.0-only
/*
 * The relay's CPU per outbound TLS handshake, client side only (bench/bench_handshake.sh; make
 * bench, not make check): tls_client_ssl_new on the daemon's own client context
 * (tls_client_ctx_new with the default trust store), a full handshake against a local server
 * (tests/lib/tls_fixture's P-256 certificate) over a socketpair, then SSL_free, all in this
 * thread.  Only the client's calls are timed (CLOCK_THREAD_CPUTIME_ID around each of them); the
 * server's work in the same thread is not counted.
 *
 * Two cases: no rule (the defaults: cipher grade medium, TLS 1.2 and later), and a rule with
 * every attribute tls_client_ssl_new applies (protocols, ciphers=high, exclude=, level verify with
 * a name).  Each also resumed (outbound_tls_session_cache): the session the previous handshake
 * kept is offered (tls_client_resume_offer), the server (one TLS 1.3 ticket per handshake) takes
 * it, the client reads one byte through OpenSSL (the tickets on the way, as the daemon reads the
 * EHLO reply) and keeps the new session (tls_client_resume_keep); all of that is timed.  Built
 * against a tls_client.c without resumption (TLSGATE_BENCH_HS_BEFORE) those cases are left out.  ROUNDS rounds of N handshakes per case, the cases interleaved; per round the mean;
 * printed as JSON: every round, and the median over the rounds, of the whole handshake and of
 * tls_client_ssl_new alone, in microseconds.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/tls_client.h"
#include "lib/log.h"
#include "lib/sockutil.h"
#include "tests/lib/tls_fixture.h"

/* absent from a tls_client.c before resumption (bench_handshake.sh's "before" build) */
int tls_client_resume_offer(SSL_CTX *ctx, SSL *ssl, const struct tls_client_params *p,
			    const char *dest) __attribute__((weak));
bool tls_client_resume_keep(SSL *ssl) __attribute__((weak));

#define ROUNDS_DEFAULT 9

static long not_resumed; /* resumed cases whose server chose a full handshake (must stay 0) */
#define N_DEFAULT 200

static void die(const char *what)
{
	fprintf(stderr, "bench_handshake: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static double thread_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[64];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/*
 * One handshake; the client's CPU in *total, that of tls_client_ssl_new in *setup.  resume: offer
 * the kept session, read the server's byte (and tickets), keep the new session.
 */
static void one(SSL_CTX *cctx, SSL_CTX *sctx, const struct tls_client_params *p, bool resume,
		double *total, double *setup)
{
	int sv[2], cdone = 0, sdone = 0;
	short ev;
	char err[256];
	SSL *c = NULL, *s;
	double t0, t;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || tg_set_nonblock(sv[0], true) ||
	    tg_set_nonblock(sv[1], true))
		die("socketpair");
	s = SSL_new(sctx);
	if (!s)
		die("SSL_new (server)");
	SSL_set_fd(s, sv[1]);
	t0 = thread_us();
	if (tls_client_ssl_new(cctx, p, &c, err, sizeof(err)))
		die(err);
	t = thread_us() - t0;
	*setup += t;
	*total += t;
	if (resume) {
		t0 = thread_us();
		tls_client_resume_offer(cctx, c, p, "mx.example[192.0.2.1]:25");
		*total += thread_us() - t0;
	}
	SSL_set_fd(c, sv[0]);
	while (!cdone || !sdone) {
		if (!cdone) {
			t0 = thread_us();
			cdone = tls_fixture_step(c, SSL_connect, &ev);
			*total += thread_us() - t0;
			if (cdone < 0)
				die("SSL_connect");
		}
		if (!sdone && (sdone = tls_fixture_step(s, SSL_accept, &ev)) < 0)
			die("SSL_accept");
	}
	if (resume) {
		char b;

		if (SSL_write(s, "x", 1) != 1)
			die("SSL_write (server)");
		t0 = thread_us();
		while (SSL_read(c, &b, 1) != 1)
			if (SSL_get_error(c, -1) != SSL_ERROR_WANT_READ)
				die("SSL_read");
		tls_client_resume_keep(c);
		*total += thread_us() - t0;
		not_resumed += !SSL_session_reused(c);
		/* as ktls_ep_release_ssl does: the connection lives on, the session is good */
		SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	}
	t0 = thread_us();
	SSL_free(c);
	*total += thread_us() - t0;
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	static char exclude[] = "3DES:RC4:CAMELLIA", high[] = "high", mx[] = "mx.example";
	static char *match[] = { (char *)"hostname" };
	struct policy_rule rule = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_3_VERSION,
		.ciphers = high, .exclude = exclude, .match = match, .nmatch = 1,
	};
	const struct {
		const char *name;
		struct tls_client_params p;
		bool resume;
	} cases[] = {
		{ "default", { .level = POLICY_MAY, .mx_host = mx }, false },
		{ "rule", { .level = POLICY_VERIFY, .rule = &rule, .mx_host = mx }, false },
		{ "default_resumed", { .level = POLICY_MAY, .mx_host = mx }, true },
		{ "rule_resumed", { .level = POLICY_VERIFY, .rule = &rule, .mx_host = mx }, true },
	};
	enum { NCASE_ALL = sizeof(cases) / sizeof(cases[0]) };
	int NCASE = tls_client_resume_offer ? NCASE_ALL : 2;
	const char *env;
	int rounds = ROUNDS_DEFAULT, n = N_DEFAULT;
	double total[NCASE_ALL][64], setup[NCASE_ALL][64];
	struct tls_fixture_opts o = { .version = 0 };
	struct config cfg;
	char err[256];
	SSL_CTX *cctx, *sctx, *sctx_tickets;

	if ((env = getenv("TLSGATE_BENCH_HS_ROUNDS")))
		rounds = atoi(env);
	if ((env = getenv("TLSGATE_BENCH_HS_N")))
		n = atoi(env);
	if (rounds < 1 || rounds > 64 || n < 1)
		die("TLSGATE_BENCH_HS_ROUNDS 1..64, TLSGATE_BENCH_HS_N >= 1");
	tg_log_set_level(TG_LOG_WARN);
	config_defaults(&cfg);
	if (cfg.tls_ca_file && access(cfg.tls_ca_file, R_OK)) {
		free(cfg.tls_ca_file);
		cfg.tls_ca_file = NULL;
	}
	cctx = tls_client_ctx_new(&cfg, err, sizeof(err));
	if (!cctx)
		die(err);
	sctx = tls_fixture_server_ctx(&o);
	if (!sctx)
		die("server context");
	/* the fixture's server would send TLS 1.3 tickets the relay's client never reads */
	SSL_CTX_set_num_tickets(sctx, 0);
	/* for the resumed cases: one ticket per handshake (a new one for every resumption) */
	sctx_tickets = tls_fixture_server_ctx(&o);
	if (!sctx_tickets || SSL_CTX_set_num_tickets(sctx_tickets, 1) != 1)
		die("server context");
	for (int c = 0; c < NCASE; c++) { /* warm-up: first use of every context and provider */
		double a = 0, b = 0;

		for (int i = 0; i < 20; i++)
			one(cctx, cases[c].resume ? sctx_tickets : sctx, &cases[c].p,
			    cases[c].resume, &a, &b);
	}
	not_resumed = 0; /* the first of each resumed case is a full one */
	for (int r = 0; r < rounds; r++)
		for (int c = 0; c < NCASE; c++) {
			double a = 0, b = 0;

			for (int i = 0; i < n; i++)
				one(cctx, cases[c].resume ? sctx_tickets : sctx, &cases[c].p,
			    cases[c].resume, &a, &b);
			total[c][r] = a / n;
			setup[c][r] = b / n;
		}
	printf("{\"ca_file\": \"%s\", \"rounds\": %d, \"handshakes_per_round\": %d, "
	       "\"not_resumed\": %ld, \"cases\": {",
	       cfg.tls_ca_file ? cfg.tls_ca_file : "", rounds, n, not_resumed);
	for (int c = 0; c < NCASE; c++) {
		printf("%s\"%s\": {\"median_us\": %.1f, \"median_ssl_new_us\": %.1f, \"rounds_us\": [",
		       c ? ", " : "", cases[c].name, median(total[c], rounds),
		       median(setup[c], rounds));
		for (int r = 0; r < rounds; r++)
			printf("%s%.1f", r ? ", " : "", total[c][r]);
		printf("], \"rounds_ssl_new_us\": [");
		for (int r = 0; r < rounds; r++)
			printf("%s%.1f", r ? ", " : "", setup[c][r]);
		printf("]}");
	}
	printf("}}\n");
	config_free(&cfg);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	SSL_CTX_free(sctx_tickets);
	return 0;
}
