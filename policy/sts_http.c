// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP answer that carries an MTA-STS policy (RFC 8461 §3.3): status 200 only, text/plain,
 * the body delimited by Content-Length, chunked coding or the close, 64 KiB at most.  The bytes
 * come from the policy server (or anyone who can make a certificate for it): bounded, fuzzed
 * (tests/fuzz/fuzz_policy_sts.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/sts.h"

#define HTTP_MAX_HEADERS 16384	/* status line and headers of the policy response */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool hdr_is(const char *l, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || l[k] != ':' || strncasecmp(l, name, k))
		return false;
	l += k + 1;
	n -= k + 1;
	while (n && is_wsp(*l))
		l++, n--;
	while (n && is_wsp(l[n - 1]))
		n--;
	*val = l;
	*vlen = n;
	return true;
}

#define CHUNK_LINE_MAX 1024	/* a chunk-size line (with extensions) or a trailer line */

/* The next line of buf from *pos: 1 with [*pos, *eol) the line without CR LF and *pos moved past
 * it, 0 when incomplete, -1 when longer than CHUNK_LINE_MAX. */
static int next_line(const char *buf, size_t len, size_t *pos, size_t *eol)
{
	const char *nl = memchr(buf + *pos, '\n', len - *pos);
	size_t e;

	if (!nl)
		return len - *pos > CHUNK_LINE_MAX ? -1 : 0;
	e = (size_t)(nl - buf);
	if (e - *pos > CHUNK_LINE_MAX)
		return -1;
	*eol = e > *pos && buf[e - 1] == '\r' ? e - 1 : e;
	*pos = e + 1;
	return 1;
}

/*
 * Walk a chunked body (RFC 9112 §7.1) from buf + start: 1 incomplete, 0 complete, -EINVAL
 * (why), -E2BIG (over POLICY_STS_MAX_BODY).  With join, the data of every chunk is moved to
 * buf + start (each move goes backwards: safe in order); only call it so on a body already
 * walked to 0.  Chunk extensions and trailer fields are ignored.
 */
static int walk_chunks(char *buf, size_t len, size_t start, bool join, size_t *total)
{
	size_t pos = start, eol;

	*total = 0;
	for (;;) {
		size_t line = pos, size = 0, i;
		int r = next_line(buf, len, &pos, &eol);

		if (r <= 0)
			return r < 0 ? -EINVAL : 1;
		/* chunk-size = 1*HEXDIG [ chunk-ext ] */
		for (i = line; i < eol && isxdigit((unsigned char)buf[i]); i++) {
			unsigned char c = (unsigned char)tolower((unsigned char)buf[i]);

			size = size * 16 + (size_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
			if (size > POLICY_STS_MAX_BODY)
				return -E2BIG;
		}
		if (i == line || (i < eol && buf[i] != ';' && !is_wsp(buf[i])))
			return -EINVAL;
		if (!size)
			break;
		if (*total + size > POLICY_STS_MAX_BODY)
			return -E2BIG;
		if (len - pos < size + 1)
			return 1;
		if (join)
			memmove(buf + start + *total, buf + pos, size);
		*total += size;
		pos += size;
		if (buf[pos] == '\r') {
			if (len - pos < 2)
				return 1;
			pos++;
		}
		if (buf[pos] != '\n')
			return -EINVAL;
		pos++;
	}
	/* last-chunk; trailer fields until an empty line */
	for (;;) {
		size_t line = pos;
		int r = next_line(buf, len, &pos, &eol);

		if (r <= 0)
			return r < 0 ? -EINVAL : 1;
		if (eol == line)
			return 0;
	}
}

static int dechunk(char *buf, size_t len, size_t start, bool eof, size_t *blen, char *why,
		   size_t whylen)
{
	int rc = walk_chunks(buf, len, start, false, blen);

	if (!rc)
		return walk_chunks(buf, len, start, true, blen);
	if (rc == 1 && !eof)
		return 1;
	if (rc == -E2BIG)
		snprintf(why, whylen, "policy larger than %u bytes", POLICY_STS_MAX_BODY);
	else if (rc == 1)
		snprintf(why, whylen, "connection closed inside the chunked body");
	else
		snprintf(why, whylen, "malformed chunked body");
	return -EINVAL;
}

int policy_sts_http_parse(char *buf, size_t len, bool eof, const char **body, size_t *body_len,
			  char *why, size_t whylen)
{
	const char *end = NULL, *p = buf, *v;
	size_t hlen = 0, vlen, avail;
	bool have_type = false, have_cl = false, chunked = false;
	uint64_t cl = 0;
	unsigned int status;

	for (size_t i = 0; i + 1 < len && i < HTTP_MAX_HEADERS; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			end = buf + i + 1;
			hlen = i + 2;
			break;
		}
		if (buf[i] == '\n' && i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			end = buf + i + 1;
			hlen = i + 3;
			break;
		}
	}
	if (!end) {
		if (len >= HTTP_MAX_HEADERS) {
			snprintf(why, whylen, "HTTP headers longer than %u bytes", HTTP_MAX_HEADERS);
			return -EINVAL;
		}
		if (eof) {
			snprintf(why, whylen, "connection closed before the HTTP headers ended");
			return -EINVAL;
		}
		return 1;
	}
	if (memchr(buf, '\0', hlen)) {
		snprintf(why, whylen, "NUL byte in the HTTP headers");
		return -EINVAL;
	}
	/* "HTTP/1.x SSS reason" */
	if (end - p < 12 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) ||
	    p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || (p[12] != ' ' && p[12] != '\r' && p[12] != '\n')) {
		snprintf(why, whylen, "not an HTTP/1.x status line");
		return -EINVAL;
	}
	status = (unsigned int)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	if (status != 200) {
		snprintf(why, whylen, "HTTP status %u%s", status,
			 status / 100 == 3 ? " (redirects are not followed)" : "");
		return -EINVAL;
	}
	p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (!n)
			break;
		if (hdr_is(p, n, "Content-Type", &v, &vlen)) {
			size_t mt = 0;

			while (mt < vlen && v[mt] != ';' && !is_wsp(v[mt]))
				mt++;
			if (have_type || mt != 10 || strncasecmp(v, "text/plain", 10)) {
				snprintf(why, whylen, "Content-Type is not text/plain");
				return -EINVAL;
			}
			have_type = true;
		} else if (hdr_is(p, n, "Content-Length", &v, &vlen)) {
			if (have_cl || !vlen || vlen > 12) {
				snprintf(why, whylen, "bad Content-Length");
				return -EINVAL;
			}
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i])) {
					snprintf(why, whylen, "bad Content-Length");
					return -EINVAL;
				}
				cl = cl * 10 + (uint64_t)(v[i] - '0');
			}
			have_cl = true;
		} else if (hdr_is(p, n, "Transfer-Encoding", &v, &vlen) &&
			   vlen == 7 && !strncasecmp(v, "chunked", 7) && !chunked) {
			chunked = true;
		} else if (hdr_is(p, n, "Transfer-Encoding", &v, &vlen) ||
			   hdr_is(p, n, "Content-Encoding", &v, &vlen)) {
			if (vlen != 8 || strncasecmp(v, "identity", 8)) {
				snprintf(why, whylen, "encoded body (%.*s) not supported",
					 (int)(vlen < 32 ? vlen : 32), v);
				return -EINVAL;
			}
		}
		p = nl + 1;
	}
	if (!have_type) {
		snprintf(why, whylen, "no Content-Type (text/plain required)");
		return -EINVAL;
	}
	if (chunked && have_cl) {
		/* two framings: which one a proxy on the way used is anyone's guess */
		snprintf(why, whylen, "both Content-Length and chunked");
		return -EINVAL;
	}
	if (chunked) {
		int rc = dechunk(buf, len, hlen, eof, body_len, why, whylen);

		if (!rc)
			*body = buf + hlen;
		return rc;
	}
	avail = len - hlen;
	if ((have_cl && cl > POLICY_STS_MAX_BODY) || avail > POLICY_STS_MAX_BODY) {
		snprintf(why, whylen, "policy larger than %u bytes", POLICY_STS_MAX_BODY);
		return -EINVAL;
	}
	if (have_cl) {
		if (avail < cl) {
			if (eof) {
				snprintf(why, whylen, "body shorter than Content-Length");
				return -EINVAL;
			}
			return 1;
		}
		avail = (size_t)cl;
	} else if (!eof) {
		return 1;
	}
	*body = buf + hlen;
	*body_len = avail;
	return 0;
}
