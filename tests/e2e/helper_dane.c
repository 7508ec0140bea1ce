// SPDX-License-Identifier: GPL-2.0-only
/*
 * e2e helper: policy/dane*.c against a real validating lookup (libunbound over the test's
 * signed zone), driven by an epoll loop as a worker would, then optionally an SMTP session with
 * the DANE-configured SSL (ktls/dane.c) to an MX.
 *
 *   helper_dane --ta FILE --fwd IP[@PORT] [--host] NAME [--connect IP[:PORT]] [--rcpt ADDR]
 *               [--deadline MS]
 *
 * Prints one line for the domain and one per MX host (key=value), then with --connect:
 * "smtp tls=verified detail=..." and a delivered message (MAIL/RCPT/DATA), "smtp
 * tls=unauthenticated" (all records unusable: TLS, then the message), or "smtp tls=failed
 * detail=..." and QUIT without MAIL.  A DANE lookup failure prints "smtp defer 4.7.5" without
 * connecting; a host without DANE "smtp dane=none" without connecting.  With no verdict by the
 * deadline (default 20 s) the lookup is cancelled: "deadline after ..." and a 4.7.5 defer.
 * "longest_call_ms=" is the longest time spent inside the module (start, process, cancel): a
 * worker must never block on DNS.  Exit 0 when it ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ktls/dane.h"
#include "policy/dane.h"

static struct policy_dane_domain result;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
static bool done;

static void on_result(void *arg, const struct policy_dane_domain *d)
{
	(void)arg;
	if (policy_dane_domain_copy(&result, d))
		abort();
	done = true;
}

static void print_result(void)
{
	printf("domain=%s state=%s reason=\"%s\" implicit_mx=%d hosts=%zu\n", result.domain,
	       policy_dane_state_name(result.state), result.reason, result.implicit_mx,
	       result.nhost);
	for (size_t h = 0; h < result.nhost; h++) {
		const struct policy_dane_host *x = &result.host[h];
		char a[INET6_ADDRSTRLEN];

		printf("host=%s pref=%u state=%s base=%s tlsa=%zu unusable=%zu reason=\"%s\" "
		       "addrs=",
		       x->name, x->pref, policy_dane_state_name(x->state), x->base, x->ntlsa,
		       x->nunusable, x->reason);
		for (size_t i = 0; i < x->n4; i++)
			printf("%s%s", i ? "," : "", inet_ntop(AF_INET, x->addr4[i], a, sizeof(a)));
		for (size_t i = 0; i < x->n6; i++)
			printf("%s%s", i || x->n4 ? "," : "",
			       inet_ntop(AF_INET6, x->addr6[i], a, sizeof(a)));
		for (size_t i = 0; i < x->ntlsa; i++) {
			char d[32];

			policy_dane_tlsa_desc(&x->tlsa[i], d, sizeof(d));
			printf(" record=\"%s\"", d);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* ---- a minimal SMTP client ---------------------------------------------------------------- */

struct conn {
	int fd;
	SSL *ssl;
};

static int conn_write(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->ssl)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -EIO;
	return write(c->fd, s, n) == (ssize_t)n ? 0 : -EIO;
}

/* Read one reply (all its lines); returns the code, or -EIO. */
static int conn_reply(struct conn *c)
{
	char line[1024];
	size_t n = 0;

	for (;;) {
		char ch;
		int r = c->ssl ? SSL_read(c->ssl, &ch, 1) : (int)read(c->fd, &ch, 1);

		if (r != 1)
			return -EIO;
		if (n < sizeof(line) - 1)
			line[n++] = ch;
		if (ch != '\n')
			continue;
		line[n] = '\0';
		if (n >= 4 && line[3] == ' ')
			return atoi(line);
		n = 0;
	}
}

static int cmd(struct conn *c, const char *s, int want)
{
	int code;

	if (conn_write(c, s))
		return -EIO;
	code = conn_reply(c);
	if (code / 100 != want / 100) {
		printf("smtp unexpected reply %d to %.*s\n", code, (int)strcspn(s, "\r"), s);
		return -EPROTO;
	}
	return 0;
}

static int smtp(const char *target, const struct policy_dane_host *h, const char *rcpt)
{
	struct sockaddr_storage ss = {0};
	char ip[INET6_ADDRSTRLEN + 8], buf[1024], err[256];
	struct conn c = {.fd = -1};
	unsigned int port = 25;
	SSL_CTX *ctx = NULL;
	socklen_t sl;
	bool usable;
	int rc = -EIO;
	char *colon;

	snprintf(ip, sizeof(ip), "%s", target);
	colon = strrchr(ip, ':');
	if (colon && strchr(ip, ':') == colon) { /* a.b.c.d:port; IPv6 without port */
		*colon = '\0';
		port = (unsigned int)atoi(colon + 1);
	}
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "bad address %s\n", ip);
		return -EINVAL;
	}
	c.fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&ss, sl)) {
		printf("smtp connect failed: %s\n", strerror(errno));
		goto out;
	}
	if (conn_reply(&c) != 220 || cmd(&c, "EHLO helper.test\r\n", 250) ||
	    cmd(&c, "STARTTLS\r\n", 220))
		goto out;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || ktls_dane_ctx_enable(ctx))
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	c.ssl = SSL_new(ctx);
	if (!c.ssl || ktls_dane_ssl_config(c.ssl, h, result.domain, &usable, err, sizeof(err))) {
		printf("smtp config failed: %s\n", err);
		goto out;
	}
	SSL_set_fd(c.ssl, c.fd);
	if (SSL_connect(c.ssl) != 1) {
		printf("smtp handshake failed\n");
		ERR_print_errors_fp(stdout);
		goto out;
	}
	if (!usable) {
		printf("smtp tls=unauthenticated version=%s sni=%s\n", SSL_get_version(c.ssl),
		       h->base);
	} else if (ktls_dane_check(c.ssl, buf, sizeof(buf))) {
		printf("smtp tls=failed detail=\"%s\"\n", buf);
		cmd(&c, "QUIT\r\n", 221);
		rc = 0;
		goto out;
	} else {
		printf("smtp tls=verified detail=\"%s\" sni=%s\n", buf, h->base);
	}
	snprintf(buf, sizeof(buf), "RCPT TO:<%s>\r\n", rcpt);
	if (cmd(&c, "EHLO helper.test\r\n", 250) ||
	    cmd(&c, "MAIL FROM:<dane@helper.test>\r\n", 250) || cmd(&c, buf, 250) ||
	    cmd(&c, "DATA\r\n", 354))
		goto out;
	snprintf(buf, sizeof(buf), "Subject: dane %s\r\n\r\nover DANE to %s\r\n.\r\n", h->name,
		 h->name);
	if (cmd(&c, buf, 250))
		goto out;
	printf("smtp delivered\n");
	cmd(&c, "QUIT\r\n", 221);
	rc = 0;
out:
	fflush(stdout);
	if (c.ssl)
		SSL_free(c.ssl);
	SSL_CTX_free(ctx);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ta", required_argument, NULL, 't'},
		{"fwd", required_argument, NULL, 'f'},
		{"host", no_argument, NULL, 'H'},
		{"connect", required_argument, NULL, 'c'},
		{"rcpt", required_argument, NULL, 'r'},
		{"deadline", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct policy_dane_resolver_opts o = {.sz = sizeof(o)};
	const char *connect_to = NULL, *rcpt = "alice@example.org";
	struct policy_dane_resolver *r = NULL;
	struct policy_dane_transport tr;
	struct policy_dane_lookup *l;
	struct epoll_event ev = {.events = EPOLLIN};
	bool host = false;
	char err[256];
	int ep, opt, rc, deadline_ms = 20000;
	uint64_t t0, t, longest = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			o.trust_anchor = optarg;
			break;
		case 'f':
			o.forwarder = optarg;
			break;
		case 'H':
			host = true;
			break;
		case 'c':
			connect_to = optarg;
			break;
		case 'r':
			rcpt = optarg;
			break;
		case 'd':
			deadline_ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
			"usage: helper_dane --ta FILE --fwd IP [--host] NAME [--connect IP]\n");
		return 2;
	}
	rc = policy_dane_resolver_new(&o, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "resolver: %s\n", err);
		return 1;
	}
	policy_dane_transport_of(r, &tr);
	t0 = now_ms();
	rc = host ? policy_dane_lookup_host(&tr, argv[optind], on_result, NULL, &l)
		  : policy_dane_lookup_domain(&tr, argv[optind], on_result, NULL, &l);
	if (rc) {
		fprintf(stderr, "lookup: %s\n", strerror(-rc));
		return 1;
	}
	longest = now_ms() - t0;
	/* The worker's way: the resolver's fd in epoll, never a blocking call; a caller with a
	 * deadline cancels.  The longest time spent inside the module is reported. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, policy_dane_fd(r), &ev))
		return 1;
	while (!done) {
		int left = deadline_ms - (int)(now_ms() - t0);
		int n = epoll_wait(ep, &ev, 1, left > 0 ? left : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			t = now_ms();
			policy_dane_lookup_cancel(l);
			longest = now_ms() - t > longest ? now_ms() - t : longest;
			printf("deadline after %d ms: lookup cancelled, longest_call_ms=%llu\n",
			       deadline_ms, (unsigned long long)longest);
			if (connect_to)
				printf("smtp defer 4.7.5 reason=\"DNS lookup timed out\"\n");
			policy_dane_resolver_free(r);
			return 0;
		}
		t = now_ms();
		if (policy_dane_process(r))
			return 1;
		longest = now_ms() - t > longest ? now_ms() - t : longest;
	}
	close(ep);
	print_result();
	printf("longest_call_ms=%llu\n", (unsigned long long)longest);
	if (connect_to) {
		const struct policy_dane_host *h = result.nhost ? &result.host[0] : NULL;

		if (result.state == POLICY_DANE_FAILED || (h && h->state == POLICY_DANE_FAILED))
			printf("smtp defer 4.7.5 reason=\"%s\"\n",
			       h && h->state == POLICY_DANE_FAILED ? h->reason : result.reason);
		else if (!h || h->state == POLICY_DANE_NONE)
			printf("smtp dane=none\n");
		else
			smtp(connect_to, h, rcpt);
	}
	policy_dane_domain_clear(&result);
	policy_dane_resolver_free(r);
	return 0;
}
