// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TLS reporter's sender thread (daemon/tlsrpt.h): spooled reports to their rua URIs.
 *
 * Per report (spool/B.job): the domain's _smtp._tls record now (RFC 8460 3: looked up at
 * delivery, so a record removed since is honoured), then each rua not yet done: https: by POST
 * (application/tlsrpt+gzip, any 2xx is delivered), mailto: as a DKIM-signed multipart/report to
 * the submission host.  A failure keeps the report with the URIs done so far; the next try is
 * retry_min_s later, doubling up to 4 h, and after give_up_s (24 h) the report is dropped with a
 * log line.  All I/O blocks this thread only, each step under the delivery deadline.
 */
#include "daemon/config.h"
#include "daemon/tlsrpt_int.h"
#include "lib/log.h"
#include "policy/sts.h"
#include "report/dkim.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MAX_S (4 * 3600)
#define DNS_TRIES 3
#define DNS_WAIT_MS 2000

struct job {
	char path[4096];	/* of the .job; the report is the same base + .json.gz */
	char domain[REPORT_NAME_MAX];
	char report_id[600];
	char filename[700];
	int64_t created, next;
	uint32_t attempts;
	char done[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	unsigned int ndone;
};

/* ---- DNS ----------------------------------------------------------------------------------- */

static int nameserver(struct tlsrpt *t, struct sockaddr_in *sin)
{
	struct __res_state res;
	char host[64];
	const char *c;
	unsigned long port = 53;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (t->nameserver) {
		c = strchr(t->nameserver, ':');
		snprintf(host, sizeof(host), "%.*s",
			 (int)(c ? (size_t)(c - t->nameserver) : strlen(t->nameserver)),
			 t->nameserver);
		if (c)
			port = strtoul(c + 1, NULL, 10);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 || !port || port > 65535)
			return -EINVAL;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) || !res.nscount) {
		res_nclose(&res);
		return -ENOENT;
	}
	*sin = res.nsaddr_list[0];
	res_nclose(&res);
	return 0;
}

/* One query over UDP: the answer in ans.  Bytes, or -errno (-EAGAIN: no answer). */
static ssize_t dns_query(struct tlsrpt *t, const char *name, int type, unsigned char *ans,
			 size_t cap)
{
	struct __res_state res;
	unsigned char q[NS_PACKETSZ];
	struct sockaddr_in ns;
	int qlen, fd, rc;
	ssize_t n = -EAGAIN;

	rc = nameserver(t, &ns);
	if (rc)
		return rc;
	memset(&res, 0, sizeof(res));
	if (res_ninit(&res))
		return -ENOMEM;
	qlen = res_nmkquery(&res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof(q));
	res_nclose(&res);
	if (qlen < NS_HFIXEDSZ)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ns, sizeof(ns))) {
		n = -errno;
		goto out;
	}
	for (int i = 0; i < DNS_TRIES; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (send(fd, q, (size_t)qlen, 0) != qlen) {
			n = -errno;
			goto out;
		}
		while (poll(&p, 1, DNS_WAIT_MS) > 0) {
			ssize_t r = recv(fd, ans, cap, 0);

			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				n = -errno; /* ICMP unreachable: no server there */
				goto out;
			}
			/* ours: same id (the socket is connected to the server we asked) */
			if (r >= NS_HFIXEDSZ && ans[0] == q[0] && ans[1] == q[1]) {
				n = (ans[2] & 0x02) ? -EAGAIN : r; /* TC: no TCP fallback here */
				goto out;
			}
		}
	}
out:
	close(fd);
	return n;
}

int tlsrpt_send_lookup(struct tlsrpt *t, const char *domain, struct tlsrpt_record *r, char *txt,
		       size_t txtlen, char *why, size_t whylen)
{
	unsigned char ans[4096];
	char name[REPORT_NAME_MAX + 16];
	ssize_t n;

	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	n = dns_query(t, name, ns_t_txt, ans, sizeof(ans));
	if (n < 0) {
		snprintf(why, whylen, "TXT %s: %s", name,
			 n == -EAGAIN ? "no answer" : strerror((int)-n));
		return -EAGAIN;
	}
	n = tlsrpt_record_answer(ans, (size_t)n, r, txt, txtlen, why, whylen);
	/* a malformed record is no record (3): nothing to send to */
	return n == -EINVAL ? -ENOENT : (int)n;
}

/* ---- connecting ----------------------------------------------------------------------------- */

static int connect_to(const struct sockaddr *sa, socklen_t sl, unsigned int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	struct pollfd p;
	int fd, err = 0, fl;
	socklen_t el = sizeof(err);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, sl) && errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, (int)timeout_s * 1000) != 1) {
		err = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		err = errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -(err ? err : EIO);
}

/* ---- https: --------------------------------------------------------------------------------- */

static int https_post(struct tlsrpt *t, const char *uri, const unsigned char *gz, size_t gzlen,
		      char *why, size_t whylen)
{
	char host[REPORT_NAME_MAX], path[TLSRPT_URI_MAX], head[REPORT_NAME_MAX + TLSRPT_URI_MAX + 256];
	const char *h = uri + 8, *e;
	unsigned long port = t->o.https_port ? t->o.https_port : 443;
	uint8_t addrs[4][16];
	size_t naddr = 0;
	unsigned char ans[4096];
	SSL *ssl = NULL;
	int fd = -1, rc = -EIO, family = AF_INET;
	char status[64];
	size_t got = 0;
	ssize_t n;

	e = h + strcspn(h, ":/?#");
	if (e == h || (size_t)(e - h) >= sizeof(host)) {
		snprintf(why, whylen, "%s: no host", uri);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(e - h), h);
	if (*e == ':') {
		port = strtoul(e + 1, (char **)&e, 10);
		if (!port || port > 65535) {
			snprintf(why, whylen, "%s: bad port", uri);
			return -EINVAL;
		}
	}
	snprintf(path, sizeof(path), "%s", *e == '/' ? e : "/");
	/* the host's addresses from the same resolver as the TXT record */
	n = dns_query(t, host, ns_t_a, ans, sizeof(ans));
	if (n > 0 && !policy_sts_addr_answer(ans, (size_t)n, AF_INET, addrs, 4, &naddr) && naddr) {
		family = AF_INET;
	} else {
		n = dns_query(t, host, ns_t_aaaa, ans, sizeof(ans));
		naddr = 0;
		if (n > 0)
			policy_sts_addr_answer(ans, (size_t)n, AF_INET6, addrs, 4, &naddr);
		family = AF_INET6;
	}
	if (!naddr) {
		snprintf(why, whylen, "%s: no address for %s", uri, host);
		return -EAGAIN;
	}
	for (size_t i = 0; i < naddr && fd < 0; i++) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sl;

		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			memcpy(&s4->sin_addr, addrs[i], 4);
			sl = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			memcpy(&s6->sin6_addr, addrs[i], 16);
			sl = sizeof(*s6);
		}
		fd = connect_to((struct sockaddr *)&ss, sl, t->o.timeout_s);
	}
	if (fd < 0) {
		snprintf(why, whylen, "%s: connect: %s", uri, strerror(-fd));
		return -EAGAIN;
	}
	ssl = SSL_new(t->ssl);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1) {
		snprintf(why, whylen, "%s: TLS setup failed", uri);
		goto out;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);

		snprintf(why, whylen, "%s: TLS handshake: %s", uri,
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "failed");
		goto out;
	}
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsgate\r\n"
		     "Content-Type: application/tlsrpt+gzip\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", path, host, gzlen);
	if (SSL_write(ssl, head, (int)n) != (int)n || SSL_write(ssl, gz, (int)gzlen) != (int)gzlen) {
		snprintf(why, whylen, "%s: sending the report failed", uri);
		goto out;
	}
	/* the status line is all we need: 2xx is delivered (RFC 8460 5.4) */
	while (got < sizeof(status) - 1 && !memchr(status, '\n', got)) {
		int r = SSL_read(ssl, status + got, (int)(sizeof(status) - 1 - got));

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	status[got] = '\0';
	status[strcspn(status, "\r\n")] = '\0';
	if (strncmp(status, "HTTP/1.", 7) || strlen(status) < 12 || status[9] != '2') {
		snprintf(why, whylen, "%s: answer \"%s\"", uri, got ? status : "(none)");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	return rc;
}

/* ---- mailto: ------------------------------------------------------------------------------- */

/* A whole SMTP reply: its code, or -errno.  text gets the last line. */
static int smtp_reply(FILE *f, char *text, size_t len)
{
	char line[1024];

	for (;;) {
		if (!fgets(line, sizeof(line), f))
			return -EIO;
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 3 || !isdigit((unsigned char)line[0]))
			return -EPROTO;
		if (line[3] != '-') {
			snprintf(text, len, "%.200s", line);
			return atoi(line);
		}
	}
}

static int smtp_cmd(FILE *f, int want, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int smtp_cmd(FILE *f, int want, char *why, size_t whylen, const char *fmt, ...)
{
	char text[512], cmd[700];
	va_list ap;
	int code;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (cmd[0] && (fprintf(f, "%s\r\n", cmd) < 0 || fflush(f))) {
		snprintf(why, whylen, "submission: write: %s", strerror(errno));
		return -EIO;
	}
	code = smtp_reply(f, text, sizeof(text));
	if (code / 100 != want / 100) {
		snprintf(why, whylen, "submission: %.40s: %s", cmd[0] ? cmd : "greeting",
			 code < 0 ? "connection lost" : text);
		return -EIO;
	}
	return 0;
}

static int mailto(struct tlsrpt *t, const struct job *j, const char *uri, const unsigned char *gz,
		  size_t gzlen, char *why, size_t whylen)
{
	struct dkim_opts d = { .key = t->dkim, .domain = t->dkim_domain, .selector = t->dkim_selector,
			       .headers = TLSRPT_DKIM_HEADERS, .time = tlsrpt_now(t) };
	struct tlsrpt_mail m = { .from = t->sender, .domain = j->domain, .submitter = t->submitter,
				 .report_id = j->report_id, .filename = j->filename,
				 .date = tlsrpt_now(t) };
	char to[320], token[TLSRPT_TOKEN_LEN + 1], *msg = NULL, *sig = NULL;
	const char *at = strrchr(t->sender, '@');
	struct config_addr sub;
	size_t mlen;
	FILE *f = NULL;
	int fd = -1, rc;

	if (!t->dkim || !t->submission || !at) {
		snprintf(why, whylen, "%s: mailto: needs tlsrpt_submission, tlsrpt_sender and a DKIM "
			 "key", uri);
		return -ENOTSUP;
	}
	if (tlsrpt_mailto_addr(uri, to, sizeof(to))) {
		snprintf(why, whylen, "%s: not one mail address", uri);
		return -EINVAL;
	}
	m.to = to;
	rc = tlsrpt_mail_build(&m, gz, gzlen, &msg, &mlen);
	rc = rc ?: dkim_sign(&d, msg, mlen, &sig);
	if (rc) {
		snprintf(why, whylen, "%s: building the message: %s", uri, strerror(-rc));
		goto out;
	}
	rc = config_parse_addr(t->submission, &sub);
	if (rc) {
		snprintf(why, whylen, "tlsrpt_submission %s: not host:port", t->submission);
		goto out;
	}
	fd = connect_to((struct sockaddr *)&sub.ss, sub.len, t->o.timeout_s);
	if (fd < 0) {
		snprintf(why, whylen, "submission %s: %s", t->submission, strerror(-fd));
		rc = -EAGAIN;
		goto out;
	}
	f = fdopen(fd, "r+");
	if (!f) {
		rc = -errno;
		close(fd);
		goto out;
	}
	/* 5.3.1: the token lets this gateway recognise the report when it comes back steered */
	rc = tlsrpt_exempt_add(t, to, token);
	if (rc) {
		snprintf(why, whylen, "too many report submissions under way");
		goto out;
	}
	rc = -EIO;
	if (smtp_cmd(f, 220, why, whylen, "%s", "") ||
	    smtp_cmd(f, 250, why, whylen, "EHLO %s", t->submitter) ||
	    smtp_cmd(f, 250, why, whylen, "MAIL FROM:<%.*s+%s%s>", (int)(at - t->sender), t->sender,
		     token, at) ||
	    smtp_cmd(f, 250, why, whylen, "RCPT TO:<%s>", to) ||
	    smtp_cmd(f, 354, why, whylen, "DATA"))
		goto out;
	if (fputs(sig, f) < 0)
		goto out;
	/* the body, dot-stuffed (none of our lines starts with '.', but the rule is the rule) */
	for (const char *p = msg; *p;) {
		size_t n = strcspn(p, "\n");

		if (*p == '.' && fputc('.', f) == EOF)
			goto out;
		if (fwrite(p, 1, n + (p[n] == '\n'), f) != n + (p[n] == '\n'))
			goto out;
		p += n + (p[n] == '\n');
	}
	if (smtp_cmd(f, 250, why, whylen, "%s", ".")) /* ends DATA: "\r\n.\r\n" */
		goto out;
	smtp_cmd(f, 221, why, whylen, "QUIT");
	rc = 0;
out:
	if (f)
		fclose(f);
	free(msg);
	free(sig);
	return rc;
}

/* ---- the spool ---------------------------------------------------------------------------- */

static int job_load(const char *path, struct job *j)
{
	FILE *f = fopen(path, "re");
	char line[1200];

	memset(j, 0, sizeof(*j));
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "domain"))
			snprintf(j->domain, sizeof(j->domain), "%s", v);
		else if (!strcmp(line, "report-id"))
			snprintf(j->report_id, sizeof(j->report_id), "%s", v);
		else if (!strcmp(line, "filename"))
			snprintf(j->filename, sizeof(j->filename), "%s", v);
		else if (!strcmp(line, "created"))
			j->created = strtoll(v, NULL, 10);
		else if (!strcmp(line, "next"))
			j->next = strtoll(v, NULL, 10);
		else if (!strcmp(line, "attempts"))
			j->attempts = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "done") && j->ndone < TLSRPT_RUA_MAX)
			snprintf(j->done[j->ndone++], TLSRPT_URI_MAX, "%s", v);
	}
	fclose(f);
	return j->domain[0] && j->report_id[0] && j->filename[0] ? 0 : -EINVAL;
}

static int job_save(const struct job *j)
{
	char tmp[4200];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "domain %s\nreport-id %s\nfilename %s\ncreated %" PRId64 "\nattempts %u\nnext %"
		PRId64 "\n", j->domain, j->report_id, j->filename, j->created, j->attempts, j->next);
	for (unsigned int i = 0; i < j->ndone; i++)
		fprintf(f, "done %s\n", j->done[i]);
	if (ferror(f) | fflush(f) | fsync(fileno(f)))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && rename(tmp, j->path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static void job_remove(const struct job *j)
{
	char gz[4200];
	size_t n = strlen(j->path) - 4;

	snprintf(gz, sizeof(gz), "%.*s.json.gz", (int)n, j->path);
	if (unlink(gz) && errno != ENOENT)
		log_warn("tlsrpt: unlink %s: %s", gz, strerror(errno));
	if (unlink(j->path) && errno != ENOENT)
		log_warn("tlsrpt: unlink %s: %s", j->path, strerror(errno));
}

static int read_all(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	int rc = 0;

	*buf = NULL;
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size <= 0 || st.st_size > (1 << 26)) {
		fclose(f);
		return -EINVAL;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf || fread(*buf, 1, *len, f) != *len) {
		free(*buf);
		*buf = NULL;
		rc = -EIO;
	}
	fclose(f);
	return rc;
}

static bool job_done(const struct job *j, const char *uri)
{
	for (unsigned int i = 0; i < j->ndone; i++)
		if (!strcmp(j->done[i], uri))
			return true;
	return false;
}

static void job_run(struct tlsrpt *t, struct job *j)
{
	int64_t now = tlsrpt_now(t);
	struct tlsrpt_record r;
	char why[600] = "", gzpath[4200];
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	bool failed = false;
	int rc;

	rc = tlsrpt_send_lookup(t, j->domain, &r, NULL, 0, why, sizeof(why));
	if (rc == -ENOENT) {
		log_info("tlsrpt: domain=%s report_id=%s: no TLSRPT record (%s): report dropped",
			 j->domain, j->report_id, why);
		job_remove(j);
		return;
	}
	if (rc) {
		failed = true;
		goto retry;
	}
	snprintf(gzpath, sizeof(gzpath), "%.*s.json.gz", (int)(strlen(j->path) - 4), j->path);
	rc = read_all(gzpath, &gz, &gzlen);
	if (rc) {
		log_err("tlsrpt: %s: %s: report dropped", gzpath, strerror(-rc));
		job_remove(j);
		return;
	}
	for (unsigned int i = 0; i < r.nrua; i++) {
		const char *uri = r.rua[i];
		char w[600] = "";

		if (job_done(j, uri))
			continue;
		rc = !strncasecmp(uri, "https://", 8) ? https_post(t, uri, gz, gzlen, w, sizeof(w))
						      : mailto(t, j, uri, gz, gzlen, w, sizeof(w));
		if (rc) {
			log_warn("tlsrpt: domain=%s report_id=%s rua=%s: not delivered: %s",
				 j->domain, j->report_id, uri, w);
			snprintf(why, sizeof(why), "%s", w);
			failed = true;
			continue;
		}
		log_info("tlsrpt: domain=%s report_id=%s rua=%s: delivered", j->domain, j->report_id,
			 uri);
		if (j->ndone < TLSRPT_RUA_MAX)
			snprintf(j->done[j->ndone++], TLSRPT_URI_MAX, "%s", uri);
	}
	free(gz);
	if (!failed) {
		job_remove(j);
		pthread_mutex_lock(&t->lock);
		t->st.delivered++;
		pthread_mutex_unlock(&t->lock);
		return;
	}
retry:
	tlsrpt_set_error(t, "%s: %s", j->domain, why);
	pthread_mutex_lock(&t->lock);
	t->st.failed_attempts++;
	pthread_mutex_unlock(&t->lock);
	if (now - j->created >= (int64_t)t->o.give_up_s) {
		log_err("tlsrpt: domain=%s report_id=%s: giving up after %u attempts over %" PRId64
			"s: %s", j->domain, j->report_id, j->attempts + 1, now - j->created, why);
		job_remove(j);
		pthread_mutex_lock(&t->lock);
		t->st.given_up++;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	{
		int64_t back = t->o.retry_min_s;

		for (uint32_t i = 0; i < j->attempts && back < RETRY_MAX_S; i++)
			back *= 2;
		j->attempts++;
		j->next = now + (back < RETRY_MAX_S ? back : RETRY_MAX_S);
	}
	if (job_save(j))
		log_warn("tlsrpt: cannot update %s", j->path);
	log_info("tlsrpt: domain=%s report_id=%s: retry %u at %" PRId64, j->domain, j->report_id,
		 j->attempts, j->next);
}

/* Every job due (all: every job); returns the seconds until the next is due. */
static int64_t spool_run(struct tlsrpt *t, bool all)
{
	DIR *d = opendir(t->spool);
	struct dirent *de;
	int64_t wait = 3600;

	if (!d) {
		log_warn("tlsrpt: %s: %s", t->spool, strerror(errno));
		return 60;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[4096];
		struct job j;
		int64_t now;

		if (n < 5 || strcmp(de->d_name + n - 4, ".job"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->spool, de->d_name);
		if (job_load(path, &j)) {
			log_warn("tlsrpt: %s is malformed: left alone", path);
			continue;
		}
		now = tlsrpt_now(t);
		if (!all && j.next > now) {
			if (j.next - now < wait)
				wait = j.next - now;
			continue;
		}
		job_run(t, &j);
		pthread_mutex_lock(&t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		pthread_mutex_unlock(&t->lock);
		if (j.attempts && j.next - tlsrpt_now(t) < wait)
			wait = j.next - tlsrpt_now(t);
	}
	closedir(d);
	return wait;
}

void *tlsrpt_send_main(void *arg)
{
	struct tlsrpt *t = arg;
	bool all = false;
	int64_t wait = 0;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct timespec ts;

		if (t->stop)
			break;
		if (!t->kick && wait > 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			/* at most a minute: an injected clock moves without telling us */
			ts.tv_sec += wait < 60 ? wait : 60;
			pthread_cond_timedwait(&t->cond, &t->lock, &ts);
			if (t->stop)
				break;
		}
		all = t->flush_all;
		t->flush_all = false;
		t->kick = false;
		pthread_mutex_unlock(&t->lock);
		if (t->fleet_socket) {
			tlsrpt_fleet_run(t);
			wait = 60;
		} else {
			wait = spool_run(t, all);
			if (wait < 1)
				wait = 1;
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}
