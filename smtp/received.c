// SPDX-License-Identifier: GPL-2.0-only
/*
 * Received: / X-Tlsgate-TLS: generation and queue ids.  The layout follows Postfix's smtpd
 * (smtpd.c, the Received: header written before "354"): one line per out_fprintf() there, TAB
 * continuation, the same words, so parsers written for Postfix headers read ours unchanged.
 */
#include "smtp/received.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An output buffer that remembers where the current line started and the first error. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
	size_t line_start;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (n >= o->cap - o->len) {	/* keep room for the NUL */
		o->err = -ENOSPC;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Only numbers go through here; anything longer is a bug, not data. */
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->err = o->err ? o->err : -EINVAL;
		return;
	}
	put(o, tmp, (size_t)n);
}

/*
 * Copy text that may come from the client.  A CR or LF would let a client inject header lines,
 * so everything outside printable ASCII becomes '?' (Postfix's printable(s, '?') for HELO).
 * Free text (a recipient's quoted local part, the certificate comment) keeps the rest.
 */
static void put_clean(struct out *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char c = *p > 0x7e || *p < 0x20 ? '?' : (char)*p;

		put(o, &c, 1);
	}
}

static bool token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._:[]", c) != NULL;
}

/*
 * Names and TLS words: host names, address literals, queue ids, "TLSv1.3", cipher names.  Here
 * we are stricter than Postfix, which writes HELO verbatim: a HELO with '(', '"', '<' or ';'
 * is not a host name, and left alone it could unbalance the comments that every parser of
 * this header (ours included) relies on to find the TLS clause.
 */
static void put_token(struct out *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char c = token_char(*p) ? (char)*p : '?';

		put(o, &c, 1);
	}
}

static void end_line(struct out *o)
{
	if (!o->err && o->len - o->line_start > RECEIVED_LINE_MAX)
		o->err = -EMSGSIZE;
	put(o, "\r\n", 2);
	o->line_start = o->len;
}

static int finish(struct out *o)
{
	if (o->err) {
		if (o->cap)
			o->buf[0] = '\0';
		return o->err;
	}
	return (int)o->len;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/*
 * Postfix's rfc_addr: "192.0.2.1" or "IPv6:2001:db8::1", normalised by inet_ntop so that the
 * same client always reads the same; an IPv4-mapped IPv6 address (a dual-stack listener) is the
 * IPv4 client it stands for, as Postfix's smtpd_peer writes it.
 */
static int rfc_addr(const struct received_info *ri, char *buf, size_t len)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN];
	int n;

	if (empty(ri->addr) || (ri->family != AF_INET && ri->family != AF_INET6))
		return -EINVAL;
	if (inet_pton(ri->family, ri->addr, bin) != 1)
		return -EINVAL;
	if (ri->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)bin)) {
		if (!inet_ntop(AF_INET, bin + 12, text, sizeof(text)))
			return -errno;
		n = snprintf(buf, len, "%s", text);
	} else {
		if (!inet_ntop(ri->family, bin, text, sizeof(text)))
			return -errno;
		n = snprintf(buf, len, "%s%s", ri->family == AF_INET6 ? "IPv6:" : "", text);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static int check_info(const struct received_info *ri)
{
	if (!ri || empty(ri->by_host))
		return -EINVAL;
	if (ri->nrcpt && !ri->rcpts)
		return -EINVAL;
	if (ri->tls && (empty(ri->tls->version) || empty(ri->tls->cipher)))
		return -EINVAL;
	return 0;
}

/* Both headers start alike: an empty output, a valid ri, the client's address as written. */
static int begin(struct out *o, char *buf, size_t len, const struct received_info *ri,
		 char *addr, size_t addrlen)
{
	int err;

	if (!buf || !len)
		return -ENOSPC;
	*o = (struct out){ .buf = buf, .cap = len };
	buf[0] = '\0';
	err = check_info(ri);
	return err ? err : rfc_addr(ri, addr, addrlen);
}

/*
 * "(using V with cipher C (B/A bits)" and, when known, Postfix 3.4's second line
 * "<TAB> key-exchange K (curve) server-signature S (bits) server-digest D", then ")".
 */
static void put_tls_clause(struct out *o, const struct received_tls *t)
{
	bool kex = !empty(t->kex_name), sig = !empty(t->sig_name);

	puts_(o, "\t(using ");
	put_token(o, t->version);
	puts_(o, " with cipher ");
	put_token(o, t->cipher);
	putf(o, " (%d/%d bits)", t->bits, t->alg_bits);
	if (!kex && !sig) {
		puts_(o, ")");
		end_line(o);
		return;
	}
	end_line(o);
	puts_(o, "\t");
	if (kex) {
		puts_(o, " key-exchange ");
		put_token(o, t->kex_name);
		if (!empty(t->kex_curve)) {
			puts_(o, " (");
			put_token(o, t->kex_curve);
			puts_(o, ")");
		} else if (t->kex_bits > 0) {
			putf(o, " (%d bits)", t->kex_bits);
		}
	}
	if (sig) {
		puts_(o, " server-signature ");
		put_token(o, t->sig_name);
		if (!empty(t->sig_curve)) {
			puts_(o, " (");
			put_token(o, t->sig_curve);
			puts_(o, ")");
		} else if (t->sig_bits > 0) {
			putf(o, " (%d bits)", t->sig_bits);
		}
		if (!empty(t->sig_digest)) {
			puts_(o, " server-digest ");
			put_token(o, t->sig_digest);
		}
	}
	puts_(o, ")");
	end_line(o);
}

int received_format(const struct received_info *ri, char *buf, size_t len)
{
	struct out o;
	char addr[INET6_ADDRSTRLEN + 8], date[80];
	const char *name;
	int err;

	err = begin(&o, buf, len, ri, addr, sizeof(addr));
	if (err)
		return err;
	err = received_date(ri->when, date, sizeof(date));
	if (err < 0)
		return err;

	/* Postfix: helo_name ? helo_name : name, where name is the rDNS name or "unknown". */
	name = empty(ri->rdns) ? "unknown" : ri->rdns;
	puts_(&o, "Received: from ");
	put_token(&o, empty(ri->helo) ? name : ri->helo);
	puts_(&o, " (");
	put_token(&o, name);
	puts_(&o, " [");
	puts_(&o, addr);
	puts_(&o, "])");
	end_line(&o);

	if (ri->tls) {
		put_tls_clause(&o, ri->tls);
		puts_(&o, "\t(");
		put_clean(&o, ri->tls->client_cert ? ri->tls->client_cert
						   : "No client certificate requested");
		puts_(&o, ")");
		end_line(&o);
	}

	/* RFC 3848: the "S" is defined for ESMTP only, so a HELO session stays "SMTP". */
	puts_(&o, "\tby ");
	put_token(&o, ri->by_host);
	puts_(&o, " (" RECEIVED_MAIL_NAME ") with ");
	puts_(&o, !ri->esmtp ? "SMTP" : ri->tls ? "ESMTPS" : "ESMTP");
	if (!empty(ri->queue_id)) {
		puts_(&o, " id ");
		put_token(&o, ri->queue_id);
	}
	if (ri->nrcpt == 1) {
		end_line(&o);
		puts_(&o, "\tfor <");
		put_clean(&o, ri->rcpts[0] ? ri->rcpts[0] : "");
		puts_(&o, ">; ");
	} else {
		puts_(&o, ";");
		end_line(&o);
		puts_(&o, "\t");
	}
	puts_(&o, date);
	end_line(&o);
	return finish(&o);
}

int received_tls_summary(const struct received_info *ri, char *buf, size_t len)
{
	struct out o;
	char addr[INET6_ADDRSTRLEN + 8];
	int err;

	err = begin(&o, buf, len, ri, addr, sizeof(addr));
	if (err)
		return err;

	puts_(&o, "X-Tlsgate-TLS: ");
	if (ri->tls) {
		puts_(&o, "tls=yes version=");
		put_token(&o, ri->tls->version);
		puts_(&o, " cipher=");
		put_token(&o, ri->tls->cipher);
		putf(&o, " bits=%d", ri->tls->bits);
	} else {
		puts_(&o, "tls=no");
	}
	puts_(&o, " client=[");
	puts_(&o, addr);
	puts_(&o, "]");
	if (!empty(ri->queue_id)) {
		puts_(&o, " id=");
		put_token(&o, ri->queue_id);
	}
	end_line(&o);
	return finish(&o);
}

int received_date(time_t when, char *buf, size_t len)
{
	static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	int n;

	/* Our own day and month names: strftime's follow the locale, RFC 5322's do not. */
	if (!localtime_r(&when, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -EINVAL;
	off = tm.tm_gmtoff / 60;
	n = snprintf(buf, len, "%s, %2d %s %d %02d:%02d:%02d %c%02ld%02ld (%s)", wday[tm.tm_wday],
		     tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60,
		     tm.tm_zone ? tm.tm_zone : "UTC");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* Postfix's safe_ultostr() alphabet: no vowels, so no words; base 51 leaves out the 'z'. */
static const char safe_chars[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

/* Most significant digit first, left-padded with '0' to pad digits; returns the digit count. */
static size_t safe_ultostr(char *dst, uint64_t v, unsigned int base, size_t pad)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = safe_chars[v % base];
		v /= base;
	} while (v);
	while (n < pad && n < sizeof(tmp))
		tmp[n++] = '0';
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

int received_queue_id_encode(uint64_t sec, uint32_t usec, uint64_t uniq, char *buf, size_t len)
{
	char tmp[RECEIVED_QUEUE_ID_SIZE + 32];
	size_t n;

	if (usec >= 1000000)
		return -EINVAL;
	n = safe_ultostr(tmp, sec, 52, 6);
	n += safe_ultostr(tmp + n, usec, 52, 4);
	tmp[n++] = 'z';
	n += safe_ultostr(tmp + n, uniq, 51, 0);
	if (n >= len)
		return -ENOSPC;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return (int)n;
}

int received_queue_id(char *buf, size_t len)
{
	static atomic_uint_fast32_t seq;
	struct timespec ts;
	uint64_t uniq;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -errno;
	/*
	 * Unique as long as one process does not make 2^24 ids within one microsecond: the time
	 * part repeats only within a microsecond (or after a clock step), and then the process id
	 * separates workers and the counter separates calls within a process.
	 */
	uniq = ((uint64_t)(uint32_t)getpid() << 24) |
	       (atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed) & 0xffffff);
	return received_queue_id_encode((uint64_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), uniq,
					buf, len);
}
