// SPDX-License-Identifier: GPL-2.0-only
/*
 * One MTA-STS refresh (sts_fetch_int.h): a state machine on the supervisor's loop.
 *
 *   TXT (UDP, retransmitted every second) -> id unchanged and fresh: done
 *   -> A, else AAAA of mta-sts.DOMAIN -> non-blocking connect (next address on failure)
 *   -> TLS handshake (verify peer, hostname mta-sts.DOMAIN, SNI, >= TLS 1.2)
 *   -> GET /.well-known/mta-sts.txt -> read until the answer is complete (policy_sts_http_parse)
 *   -> parse, write to the cache (disk first), swap in.
 *
 * One deadline covers the whole job.  Our own UDP client rather than glibc's res_nsend because
 * res_nsend blocks the thread that calls it; the query is still built by res_nmkquery and the
 * answer read by policy/dns.c's walker.  A reply must come from the server we asked (connected
 * socket) with our query id.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sts_fetch_int.h"
#include "lib/log.h"


#define MAX_ADDRS 8
#define DNS_RETRANSMIT_MS 1000
#define RETRY_MIN_S 60		/* after a failure; doubles up to RETRY_MAX_S */
#define RETRY_MAX_S 3600
#define RX_CAP (16384 + POLICY_STS_MAX_BODY + 16384)	/* headers, body, chunk framing */

enum job_step { J_TXT, J_A, J_AAAA, J_CONNECT, J_TLS, J_WRITE, J_READ };

static const char *const step_names[] = {
	[J_TXT] = "TXT lookup", [J_A] = "A lookup", [J_AAAA] = "AAAA lookup",
	[J_CONNECT] = "connect", [J_TLS] = "TLS handshake", [J_WRITE] = "HTTP request",
	[J_READ] = "HTTP response",
};

struct sts_job {
	struct sts_fetch *f;
	char domain[POLICY_STS_NAME_MAX];
	char host[POLICY_STS_NAME_MAX + 8];	/* mta-sts.DOMAIN */
	bool force;
	enum job_step step;
	struct loop_ev ev;
	struct loop_timer timer;
	uint64_t deadline_ms;
	unsigned char query[NS_PACKETSZ];
	int qlen;
	char id[POLICY_STS_ID_MAX + 1];
	uint8_t addrs[MAX_ADDRS][16];
	size_t naddrs, next_addr;
	int family;
	int connect_err;	/* errno of the last address that failed */
	SSL *ssl;
	char req[POLICY_STS_NAME_MAX + 160];
	size_t req_len, req_off;
	char *rx;
	size_t rx_len;
};

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- the end of a job --------------------------------------------------------------------- */

void sts_job_free(struct sts_job *j)
{
	struct sts_fetch *f = j->f;

	for (size_t i = 0; i < STS_MAX_JOBS; i++)
		if (f->jobs[i] == j)
			f->jobs[i] = NULL;
	loop_timer_disarm(f->loop, &j->timer);
	if (j->ev.fd >= 0) {
		loop_unwatch(f->loop, &j->ev);
		close(j->ev.fd);
	}
	SSL_free(j->ssl);
	free(j->rx);
	free(j);
}

/* Record the outcome in the domain's state; why == NULL is success. */
static void job_done(struct sts_job *j, const char *why, bool fetched)
{
	struct sts_fetch *f = j->f;
	struct policy_sts_entry *e = NULL;
	struct policy_sts_state st = { 0 };
	int64_t now = wall_now();

	policy_sts_cache_get(f->cache, j->domain, &e, &st);
	st.pending = false;
	if (!why) {
		st.failures = 0;
		st.error[0] = '\0';
		st.last_check = now;
		st.next_check = now + STS_CHECK_INTERVAL_S;
		if (fetched)
			st.fetches++;
	} else {
		int64_t back = RETRY_MIN_S;

		for (uint32_t i = 0; i < st.failures && back < RETRY_MAX_S; i++)
			back *= 2;
		st.failures++;
		st.next_check = now + (back < RETRY_MAX_S ? back : RETRY_MAX_S);
		snprintf(st.error, sizeof(st.error), "%s", why);
		log_warn("mta-sts refresh domain=%s error=\"%s\" cached=%s", j->domain, why,
			 e && e->expires > now ? "kept" : "none");
	}
	if (policy_sts_cache_set_state(f->cache, j->domain, &st))
		log_warn("mta-sts domain=%s: cannot record state: out of memory", j->domain);
	policy_sts_entry_put(e);
	sts_job_free(j);
	sts_fetch_start_queued(f);
}

static void job_fail(struct sts_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void job_fail(struct sts_job *j, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	job_done(j, why, false);
}

static void job_tls_fail(struct sts_job *j, const char *what)
{
	unsigned long e = ERR_get_error();
	long vr = j->ssl ? SSL_get_verify_result(j->ssl) : X509_V_OK;
	char buf[128];

	ERR_clear_error();
	if (vr != X509_V_OK) {
		job_fail(j, "%s: certificate of %s: %s", what, j->host,
			 X509_verify_cert_error_string(vr));
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	job_fail(j, "%s with %s: %s", what, j->host, e ? buf : "connection closed");
}

/* ---- DNS ---------------------------------------------------------------------------------- */

static int dns_send(struct sts_job *j)
{
	if (send(j->ev.fd, j->query, (size_t)j->qlen, 0) != j->qlen)
		return -errno;
	return 0;
}

static int dns_start(struct sts_job *j, const char *name, int type)
{
	struct sts_fetch *f = j->f;
	int fd, rc;

	if (j->ev.fd >= 0) {
		loop_unwatch(f->loop, &j->ev);
		close(j->ev.fd);
		j->ev.fd = -1;
	}
	j->qlen = res_nmkquery(&f->res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, j->query,
			       sizeof(j->query));
	if (j->qlen < NS_HFIXEDSZ)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	j->ev.fd = fd;
	if (connect(fd, (const struct sockaddr *)&f->ns, sizeof(f->ns)))
		return -errno;
	rc = dns_send(j);
	rc = rc ?: loop_watch(f->loop, &j->ev, EPOLLIN);
	if (!rc) {
		uint64_t now = loop_now_ms();
		uint64_t left = j->deadline_ms > now ? j->deadline_ms - now : 1;

		rc = loop_timer_arm(f->loop, &j->timer,
				    left < DNS_RETRANSMIT_MS ? left : DNS_RETRANSMIT_MS);
	}
	return rc;
}

static void connect_next(struct sts_job *j);

static void lookup_addrs(struct sts_job *j, int family)
{
	int rc;

	j->step = family == AF_INET ? J_A : J_AAAA;
	j->family = family;
	rc = dns_start(j, j->host, family == AF_INET ? ns_t_a : ns_t_aaaa);
	if (rc)
		job_fail(j, "%s %s: %s", step_names[j->step], j->host, strerror(-rc));
}

static void on_txt(struct sts_job *j, const unsigned char *msg, size_t len)
{
	struct policy_sts_entry *e = NULL;
	char why[160];
	int64_t now = wall_now();
	bool cached;
	int rc;

	rc = policy_sts_txt_answer(msg, len, j->id, why, sizeof(why));
	policy_sts_cache_get(j->f->cache, j->domain, &e, NULL);
	cached = e && e->expires > now;
	if (rc == -ENOENT && !cached) {
		/* No STS record and nothing cached: the domain has no policy, which is an
		 * answer, not a failure. */
		log_info("mta-sts refresh domain=%s policy=none reason=\"%s\"", j->domain, why);
		policy_sts_entry_put(e);
		job_done(j, NULL, false);
		return;
	}
	if (rc) {
		/* §5.1: a cached policy stays in force when the record disappears or DNS fails. */
		policy_sts_entry_put(e);
		job_fail(j, "%s", why);
		return;
	}
	if (cached && !strcmp(e->id, j->id) && !j->force &&
	    now < e->fetched + (int64_t)e->pol.max_age / 2) {
		policy_sts_entry_put(e);
		job_done(j, NULL, false);
		return;
	}
	policy_sts_entry_put(e);
	lookup_addrs(j, AF_INET);
}

static void on_dns(struct sts_job *j)
{
	unsigned char ans[4096];
	ssize_t n = recv(j->ev.fd, ans, sizeof(ans), 0);
	size_t got;
	int rc;

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		job_fail(j, "%s: %s", step_names[j->step], strerror(errno));
		return;
	}
	/* Not the answer to our question: ignore it (the retransmit timer goes on). */
	if (n < NS_HFIXEDSZ || ans[0] != j->query[0] || ans[1] != j->query[1])
		return;
	if (ans[2] & 0x02) {	/* TC: our answers are small; no TCP fallback */
		job_fail(j, "%s: truncated answer", step_names[j->step]);
		return;
	}
	if (j->step == J_TXT) {
		on_txt(j, ans, (size_t)n);
		return;
	}
	rc = policy_sts_addr_answer(ans, (size_t)n, j->family, j->addrs, MAX_ADDRS, &got);
	if (rc == -ENOENT && j->step == J_A) {
		lookup_addrs(j, AF_INET6);
		return;
	}
	if (rc) {
		job_fail(j, "%s %s: %s", step_names[j->step], j->host,
			 rc == -ENOENT ? "no address" : rc == -EAGAIN ? "SERVFAIL" : "bad answer");
		return;
	}
	j->naddrs = got;
	j->next_addr = 0;
	loop_unwatch(j->f->loop, &j->ev);
	close(j->ev.fd);
	j->ev.fd = -1;
	loop_timer_arm(j->f->loop, &j->timer,
		       j->deadline_ms > loop_now_ms() ? j->deadline_ms - loop_now_ms() : 1);
	connect_next(j);
}

/* ---- HTTPS -------------------------------------------------------------------------------- */

static void connect_next(struct sts_job *j)
{
	struct sts_fetch *f = j->f;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char addr[INET6_ADDRSTRLEN];
	int fd;

	if (j->ev.fd >= 0) {
		loop_unwatch(f->loop, &j->ev);
		close(j->ev.fd);
		j->ev.fd = -1;
	}
	if (j->next_addr >= j->naddrs) {
		job_fail(j, "connect %s port %u: %s", j->host, f->port,
			 j->connect_err ? strerror(j->connect_err) : "no address");
		return;
	}
	if (j->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(f->port);
		memcpy(&s4->sin_addr, j->addrs[j->next_addr], 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(f->port);
		memcpy(&s6->sin6_addr, j->addrs[j->next_addr], 16);
		sl = sizeof(*s6);
	}
	inet_ntop(j->family, j->addrs[j->next_addr], addr, sizeof(addr));
	j->next_addr++;
	j->step = J_CONNECT;
	fd = socket(j->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		job_fail(j, "socket: %s", strerror(errno));
		return;
	}
	j->ev.fd = fd;
	if (connect(fd, (const struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		j->connect_err = errno;
		log_info("mta-sts domain=%s connect %s: %s", j->domain, addr, strerror(errno));
		connect_next(j);
		return;
	}
	if (loop_watch(f->loop, &j->ev, EPOLLOUT))
		job_fail(j, "epoll: %s", strerror(errno));
}

/* 0, or -1 when the job ended (j is gone). */
static int tls_start(struct sts_job *j)
{
	struct sts_fetch *f = j->f;

	j->ssl = SSL_new(f->ctx);
	if (!j->ssl || SSL_set_fd(j->ssl, j->ev.fd) != 1 ||
	    SSL_set_tlsext_host_name(j->ssl, j->host) != 1 || SSL_set1_host(j->ssl, j->host) != 1) {
		job_tls_fail(j, "TLS setup");
		return -1;
	}
	/* §3.3: the certificate must be valid for mta-sts.DOMAIN; a wildcard only as the whole
	 * leftmost label. */
	SSL_set_hostflags(j->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_set_connect_state(j->ssl);
	j->step = J_TLS;
	j->req_len = (size_t)snprintf(j->req, sizeof(j->req),
				      "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\n"
				      "User-Agent: tlsgate\r\nAccept: text/plain\r\n"
				      "Connection: close\r\n\r\n",
				      j->host);
	return 0;
}

/* SSL wants to read or write: watch for that.  0, or -1 when the job ended. */
static int ssl_want(struct sts_job *j, int ret, const char *what)
{
	int err = SSL_get_error(j->ssl, ret);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		if (loop_watch(j->f->loop, &j->ev,
			       err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT)) {
			job_fail(j, "epoll: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	job_tls_fail(j, what);
	return -1;
}

static void finish_body(struct sts_job *j, const char *body, size_t blen)
{
	struct policy_sts_entry *e;
	char why[160];
	int rc;

	rc = policy_sts_entry_new(j->domain, j->id, wall_now(), body, blen, &e, why, sizeof(why));
	if (rc) {
		job_fail(j, "policy from %s: %s", j->host, rc == -ENOMEM ? "out of memory" : why);
		return;
	}
	log_info("mta-sts fetched domain=%s id=%s mode=%s max_age=%u mx=%zu", e->domain, e->id,
		 policy_sts_mode_name(e->pol.mode), e->pol.max_age, e->pol.nmx);
	rc = policy_sts_cache_put(j->f->cache, e);
	if (rc) {
		job_fail(j, "cannot store the policy: %s", strerror(-rc));
		return;
	}
	if (j->f->stored)
		j->f->stored(j->f->stored_arg, j->domain);
	job_done(j, NULL, true);
}

static void https_step(struct sts_job *j)
{
	const char *body;
	size_t blen;
	char why[160];
	int ret, rc;

	if (j->step == J_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(j->ev.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			j->connect_err = soerr ? soerr : errno;
			log_info("mta-sts domain=%s connect %s: %s", j->domain, j->host,
				 strerror(soerr ? soerr : errno));
			connect_next(j);
			return;
		}
		if (tls_start(j))
			return;
	}
	if (j->step == J_TLS) {
		ret = SSL_do_handshake(j->ssl);
		if (ret != 1) {
			ssl_want(j, ret, "TLS handshake");
			return;
		}
		if (SSL_get_verify_result(j->ssl) != X509_V_OK) {
			job_tls_fail(j, "TLS handshake");
			return;
		}
		j->step = J_WRITE;
	}
	if (j->step == J_WRITE) {
		while (j->req_off < j->req_len) {
			ret = SSL_write(j->ssl, j->req + j->req_off, (int)(j->req_len - j->req_off));
			if (ret <= 0) {
				ssl_want(j, ret, "HTTP request");
				return;
			}
			j->req_off += (size_t)ret;
		}
		j->rx = malloc(RX_CAP);
		if (!j->rx) {
			job_fail(j, "out of memory");
			return;
		}
		j->step = J_READ;
	}
	for (;;) {
		bool eof = false;

		ret = SSL_read(j->ssl, j->rx + j->rx_len, (int)(RX_CAP - j->rx_len));
		if (ret > 0) {
			j->rx_len += (size_t)ret;
		} else {
			int err = SSL_get_error(j->ssl, ret);

			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
				ssl_want(j, ret, "HTTP response");
				return;
			}
			if (err != SSL_ERROR_ZERO_RETURN) {
				/* Reset or closed without close_notify: anyone on the path can do
				 * that, so it may end only a body whose length was announced (a
				 * cut "max_age: 8|6400" must not pass as a policy). */
				rc = policy_sts_http_parse(j->rx, j->rx_len, false, &body, &blen, why,
							   sizeof(why));
				if (!rc) {
					ERR_clear_error();
					finish_body(j, body, blen);
				} else if (rc < 0) {
					job_fail(j, "https://%s/.well-known/mta-sts.txt: %s", j->host,
						 why);
				} else {
					job_tls_fail(j, "HTTP response cut short (no close_notify)");
				}
				return;
			}
			eof = true;
		}
		rc = policy_sts_http_parse(j->rx, j->rx_len, eof || j->rx_len == RX_CAP, &body,
					   &blen, why, sizeof(why));
		if (rc < 0) {
			job_fail(j, "https://%s/.well-known/mta-sts.txt: %s", j->host, why);
			return;
		}
		if (!rc) {
			finish_body(j, body, blen);
			return;
		}
		if (eof) {
			job_fail(j, "HTTP response: connection closed early");
			return;
		}
	}
}

static void on_job_io(struct loop_ev *ev, uint32_t events)
{
	struct sts_job *j = (struct sts_job *)((char *)ev - offsetof(struct sts_job, ev));

	(void)events;
	if (j->step <= J_AAAA)
		on_dns(j);
	else
		https_step(j);
}

static void on_job_timer(struct loop_timer *t)
{
	struct sts_job *j = (struct sts_job *)((char *)t - offsetof(struct sts_job, timer));
	uint64_t now = loop_now_ms();

	if (now >= j->deadline_ms) {
		job_fail(j, "%s: timed out after %us", step_names[j->step], j->f->timeout_s);
		return;
	}
	if (j->step <= J_AAAA) {	/* UDP: ask again */
		uint64_t left = j->deadline_ms - now;

		if (dns_send(j))
			log_debug("mta-sts domain=%s: resend: %s", j->domain, strerror(errno));
		loop_timer_arm(j->f->loop, &j->timer,
			       left < DNS_RETRANSMIT_MS ? left : DNS_RETRANSMIT_MS);
	}
}

/* ---- starting jobs ------------------------------------------------------------------------ */

static struct sts_job *job_find(struct sts_fetch *f, const char *domain)
{
	for (size_t i = 0; i < STS_MAX_JOBS; i++)
		if (f->jobs[i] && !strcmp(f->jobs[i]->domain, domain))
			return f->jobs[i];
	return NULL;
}

int sts_job_start(struct sts_fetch *f, const char *domain, bool force)
{
	struct policy_sts_state st = { 0 };
	struct sts_job *j = job_find(f, domain);
	char name[POLICY_STS_NAME_MAX + 16];
	size_t slot = STS_MAX_JOBS;
	int rc;

	if (j) {
		j->force |= force;
		return 0;
	}
	for (size_t i = 0; i < STS_MAX_JOBS && slot == STS_MAX_JOBS; i++)
		if (!f->jobs[i])
			slot = i;
	if (slot == STS_MAX_JOBS)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->f = f;
	j->ev.fn = on_job_io;
	j->ev.fd = -1;
	loop_timer_init(&j->timer, on_job_timer);
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	snprintf(j->host, sizeof(j->host), "mta-sts.%s", domain);
	j->force = force;
	j->deadline_ms = loop_now_ms() + f->timeout_s * 1000ull;
	f->jobs[slot] = j;
	policy_sts_cache_get(f->cache, domain, NULL, &st);
	st.pending = true;
	st.last_attempt = wall_now();
	rc = policy_sts_cache_set_state(f->cache, domain, &st);
	if (rc) {
		sts_job_free(j);
		return rc;
	}
	j->step = J_TXT;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	rc = dns_start(j, name, ns_t_txt);
	if (rc)
		job_fail(j, "TXT %s: %s", name, strerror(-rc));
	return 0;
}
