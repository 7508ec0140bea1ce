// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: every parser of smtp/proto.h on what a client or a next hop can send.  The first
 * input byte picks the parser (low 2 bits) and parameters (the rest), the other bytes are the
 * wire text.  Beyond the sanitizers it traps when a promise of proto.h breaks:
 *   - commands: success exactly for a line whose first word is letters; the verb is the one its
 *     name says; MAIL/RCPT paths copy back the same address through a small buffer or a large
 *     one and through "FROM:<addr>" again; BDAT accepts exactly digits [SP+ LAST] (RFC 3030,
 *     with Postfix's tolerance of trailing spaces) with the digits' value;
 *   - replies: a verdict on a prefix never changes once more bytes arrive (a complete reply
 *     stays the same reply, an error stays the error), and a reply found is well formed;
 *   - end of data: for any chunking (sizes from the input), what the caller emits and where the
 *     data ends equal a reference model on the whole stream: bare LF -> CRLF, then the first
 *     "\r\n.\r\n" counting the line start after the 354 (so the next hop sees no line end that
 *     the relay did not see);
 *   - EHLO: the rewrite of a reply is a reply with the same code, the first line unchanged, the
 *     other lines in order less the dropped ones, every added keyword present and no dropped
 *     keyword that is not also added.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                                 \
	do {                                                                                     \
		if (!(x)) {                                                                      \
			fprintf(stderr, "fuzz_smtp_proto: %s:%d: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                        \
		}                                                                                \
	} while (0)

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- commands, paths, BDAT ---- */

static void check_path(const char *args, size_t len, const char *prefix, size_t small)
{
	char big[SMTP_LINE_MAX + 8], tiny[SMTP_LINE_MAX + 8], again[SMTP_LINE_MAX + 16];
	char dom[256];
	int rc = smtp_path_parse(args, len, prefix, big, sizeof(big)), rs, n;
	size_t alen, i;

	if (small > sizeof(tiny))
		small = sizeof(tiny);
	rs = smtp_path_parse(args, len, prefix, tiny, small);
	check(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
	if (len < sizeof(big))
		check(rc != -ENAMETOOLONG);
	if (rc)
		return;
	alen = strlen(big);
	check(alen < len);
	/* a smaller buffer: the same address, or "too long", never a truncated one */
	check(alen < small ? rs == 0 && !strcmp(tiny, big) : rs == -ENAMETOOLONG);
	if (memchr(args, '\0', len))
		return; /* a command line never holds one (smtp_cmd_parse refuses it) */
	check(memmem(args, len, big, alen));
	/* a bare address (no brackets, tolerated as Postfix does) is taken as is */
	for (i = strlen(prefix); i < len && args[i] == ' '; i++)
		;
	if (i == len || args[i] != '<')
		goto domain;
	/* What we log and match is what the next hop reads from the same bytes. */
	n = snprintf(again, sizeof(again), "%s<%s>", prefix, big);
	check(n > 0 && (size_t)n < sizeof(again));
	check(smtp_path_parse(again, (size_t)n, prefix, tiny, sizeof(tiny)) == 0);
	check(!strcmp(tiny, big));
domain:
	if (!smtp_addr_domain(big, dom, sizeof(dom))) {
		const char *at = strrchr(big, '@');
		size_t dl = strlen(dom);

		check(at && dl && dl <= strlen(at + 1));
		check(!strncasecmp(dom, at + 1, dl));
		for (i = 0; i < dl; i++)
			check(!(dom[i] >= 'A' && dom[i] <= 'Z'));
	}
}

/* RFC 3030: chunk-size [SP+ "LAST"], trailing spaces tolerated; NULL when not. */
static bool bdat_model(const char *a, size_t len, uint64_t *size, bool *last, bool *ovf)
{
	size_t i = 0, sp;
	unsigned __int128 v = 0;

	*ovf = false;
	while (i < len && is_digit(a[i])) {
		v = v * 10 + (unsigned)(a[i] - '0');
		if (v > UINT64_MAX)
			*ovf = true;
		i++;
	}
	if (!i)
		return false;
	sp = i;
	while (i < len && a[i] == ' ')
		i++;
	*size = (uint64_t)v;
	*last = false;
	if (i == len)
		return true;
	if (i == sp || len - i != 4 || strncasecmp(a + i, "LAST", 4))
		return false;
	*last = true;
	return true;
}

static void fuzz_command(const uint8_t *param, const char *line, size_t len)
{
	struct smtp_cmd c;
	int rc = smtp_cmd_parse(line, len, &c);
	size_t vlen = 0;
	bool ok = len && !memchr(line, '\0', len);
	uint64_t size, msize;
	bool last, mlast, ovf;

	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < vlen; i++)
		ok = ok && is_alpha(line[i]);
	ok = ok && vlen;
	check(ok ? rc == 0 : rc == -EINVAL);
	if (rc)
		return;
	check(c.args == line + vlen + (vlen < len));
	check(c.args_len == len - vlen - (vlen < len));
	if (c.verb != SMTP_UNKNOWN) {
		const char *name = smtp_verb_name(c.verb);

		check(strlen(name) == vlen && !strncasecmp(name, line, vlen));
	} else {
		static const char *const known[] = {
			"EHLO", "HELO", "MAIL", "RCPT",	    "DATA",    "BDAT",
			"RSET", "NOOP", "QUIT", "STARTTLS", "AUTH",    "VRFY",
			"EXPN", "HELP", "ETRN", "XCLIENT",  "XFORWARD"};

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			check(strlen(known[i]) != vlen || strncasecmp(known[i], line, vlen));
	}
	check_path(c.args, c.args_len, "FROM:", *param);
	check_path(c.args, c.args_len, "TO:", *param);
	rc = smtp_bdat_parse(c.args, c.args_len, &size, &last);
	if (!bdat_model(c.args, c.args_len, &msize, &mlast, &ovf) || ovf)
		check(rc == -EINVAL);
	else if (msize < 10000000000000000000u) /* above, the parser may refuse early */
		check(rc == 0 && size == msize && last == mlast);
	else
		check(rc == -EINVAL || (rc == 0 && size == msize && last == mlast));
}

/* ---- replies ---- */

static void check_reply(const char *buf, size_t len, int code, size_t rlen)
{
	size_t off = 0;

	check(rlen && rlen <= len && rlen <= SMTP_REPLY_MAX);
	check(code >= 200 && code <= 599);
	check(buf[rlen - 1] == '\n');
	while (off < rlen) {
		const char *nl = memchr(buf + off, '\n', rlen - off);
		size_t llen = (size_t)(nl - (buf + off)) + 1;

		check(nl && llen >= 4);
		check((buf[off] - '0') * 100 + (buf[off + 1] - '0') * 10 + (buf[off + 2] - '0') ==
		      code);
		if (off + llen == rlen)
			check(buf[off + 3] == ' ' || buf[off + 3] == '\r' || buf[off + 3] == '\n');
		else
			check(buf[off + 3] == '-');
		off += llen;
	}
}

static void fuzz_reply(const uint8_t *param, const char *buf, size_t len)
{
	size_t rlen = 0;
	int code = 0, rc = smtp_reply_scan(buf, len, &code, &rlen);

	check(rc == 1 || rc == 0 || rc == -EPROTO || rc == -EMSGSIZE);
	if (rc == 1)
		check_reply(buf, len, code, rlen);
	/* Prefixes, as the bytes may arrive: the verdict only ever firms up. */
	for (unsigned int k = 0; k < 8 && len; k++) {
		size_t cut = (param[k % 4] * 131u + k * 977u) % len;
		int pcode = 0, prc;
		size_t plen = 0;

		prc = smtp_reply_scan(buf, cut, &pcode, &plen);
		check(prc == 1 || prc == 0 || prc == -EPROTO || prc == -EMSGSIZE);
		if (prc == 1)
			check(rc == 1 && pcode == code && plen == rlen);
		else if (prc < 0)
			check(rc == prc);
		if (rc == 1 && cut < rlen)
			check(prc == 0);
	}
}

/* ---- end of data ---- */

struct out {
	char *p;
	size_t len;
};

static void emit(struct out *o, const char *p, size_t n)
{
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* The model: normalize bare LF, find the first CRLF.CRLF after an implicit CRLF. */
static bool dot_model(const char *in, size_t len, struct out *o, size_t *end)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			emit(o, "\r\n", 2);
		else
			emit(o, in + i, 1);
		if (in[i] == '\n' && ((o->len >= 5 && !memcmp(o->p + o->len - 5, "\r\n.\r\n", 5)) ||
				      (o->len == 3 && !memcmp(o->p, ".\r\n", 3)))) {
			*end = i + 1;
			return true;
		}
	}
	return false;
}

static void fuzz_dot(const uint8_t *param, const char *body, size_t len)
{
	struct out got = {.p = malloc(2 * len + 1)}, want = {.p = malloc(2 * len + 1)};
	struct smtp_dot d;
	size_t off = 0, wend = 0, gend = 0;
	bool wended = dot_model(body, len, &want, &wend), gended = false;
	unsigned int k = 0;

	check(got.p && want.p);
	smtp_dot_init(&d);
	while (off < len && !gended) {
		/* chunk sizes 1..64 from the parameters, or all at once */
		size_t n = (param[k % 4] & 0x40) ? len - off : 1 + (param[k % 4] + k) % 64u;
		const char *p = body + off;

		k++;
		if (n > len - off)
			n = len - off;
		off += n;
		while (n && !gended) {
			size_t used = (size_t)-1;
			enum smtp_dot_result r = smtp_dot_scan(&d, p, n, &used);

			switch (r) {
			case SMTP_DOT_MORE:
				check(used == n);
				emit(&got, p, n);
				n = 0;
				break;
			case SMTP_DOT_END:
				check(used >= 1 && used <= n && p[used - 1] == '\n');
				emit(&got, p, used);
				gended = true;
				gend = (size_t)(p - body) + used;
				break;
			case SMTP_DOT_BARE_LF:
				check(used < n && p[used] == '\n');
				emit(&got, p, used);
				emit(&got, "\r\n", 2);
				if (smtp_dot_bare_lf(&d)) {
					gended = true;
					gend = (size_t)(p - body) + used + 1;
				}
				p += used + 1;
				n -= used + 1;
				break;
			default:
				check(0);
			}
		}
	}
	check(gended == wended);
	if (gended)
		check(gend == wend);
	check(got.len == want.len && !memcmp(got.p, want.p, got.len));
	free(got.p);
	free(want.p);
}

/* ---- EHLO ---- */

/* The keyword rule of proto.h: the first word, ended by the text's end, a space or '='. */
static bool kw_model(const char *text, size_t tlen, const char *kw)
{
	size_t k = strlen(kw);

	return tlen >= k && !strncasecmp(text, kw, k) &&
	       (tlen == k || text[k] == ' ' || text[k] == '=');
}

static bool in_model(const char *text, size_t tlen, const char *const *list)
{
	for (; list && *list; list++)
		if (kw_model(text, tlen, *list))
			return true;
	return false;
}

/* Line i of a reply (LF-terminated lines): its text after "ddd-" without the line end. */
static bool line_at(const char *r, size_t len, size_t *pos, const char **text, size_t *tlen)
{
	const char *nl;
	size_t n, llen;

	if (*pos >= len)
		return false;
	nl = memchr(r + *pos, '\n', len - *pos);
	llen = nl ? (size_t)(nl - (r + *pos)) + 1 : len - *pos;
	n = llen;
	while (n && (r[*pos + n - 1] == '\n' || r[*pos + n - 1] == '\r'))
		n--;
	*text = n > 4 ? r + *pos + 4 : r + *pos + n;
	*tlen = n > 4 ? n - 4 : 0;
	*pos += llen;
	return true;
}

static void fuzz_ehlo(const uint8_t *param, const char *buf, size_t len)
{
	/* the lists tlsgated uses (daemon/session_relay.c), and one of our own */
	static const char *const drop_out[] = {"STARTTLS", NULL};
	static const char *const drop_in[] = {"STARTTLS", "XCLIENT", "XFORWARD", NULL};
	static const char *const drop_in_x[] = {"STARTTLS", "XCLIENT", "XFORWARD", "CHUNKING",
						NULL};
	static const char *const add_tls[] = {"STARTTLS", NULL};
	static const char *const add_two[] = {"SIZE 1000", "8BITMIME", NULL};
	static const char *const drop_none[] = {NULL};
	static const char *const *const drops[] = {drop_out, drop_in, drop_in_x, drop_none};
	static const char *const *const adds[] = {add_tls, NULL, add_two, add_tls};
	const char *const *drop = drops[*param & 3], *const *add = adds[(*param >> 2) & 3];
	size_t rlen = 0, outlen, ip = 0, op = 0, it, ot, nlines = 0;
	const char *itext, *otext;
	int code = 0, ocode = 0, n;
	char *out;

	if (smtp_reply_scan(buf, len, &code, &rlen) != 1)
		return; /* tlsgated rewrites only what the scan found */
	/* room for CRLF in place of LF, "ddd " on a short line, and the additions */
	for (size_t i = 0; i < rlen; i++)
		nlines += buf[i] == '\n';
	outlen = rlen + nlines + 2 + 64;
	out = malloc(outlen);
	check(out);
	/* has() answers by the keyword rule, on every line but the first */
	{
		const char *const probe[] = {"STARTTLS", "SIZE", "CHUNKING", "PIPELINING",
					     "8BITMIME"};

		for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
			bool want = false, first = true;
			size_t pos = 0;

			while (line_at(buf, rlen, &pos, &itext, &it)) {
				want = want || (!first && kw_model(itext, it, probe[i]));
				first = false;
			}
			check(smtp_ehlo_has(buf, rlen, probe[i]) == want);
		}
	}
	n = smtp_ehlo_rewrite(buf, rlen, drop, add, out, outlen);
	check(n > 0 && (size_t)n <= outlen);
	/* a well-formed reply of the same code, with CRLF line ends */
	check(smtp_reply_scan(out, (size_t)n, &ocode, &(size_t){0}) == 1 && ocode == code);
	{
		size_t olen = 0;

		smtp_reply_scan(out, (size_t)n, &ocode, &olen);
		check(olen == (size_t)n);
		for (size_t i = 0; i < olen; i++)
			if (out[i] == '\n')
				check(i && out[i - 1] == '\r');
	}
	/* the first line as it was, then the kept lines in order */
	check(line_at(buf, rlen, &ip, &itext, &it) && line_at(out, (size_t)n, &op, &otext, &ot));
	check(it == ot && !memcmp(itext, otext, it));
	while (line_at(buf, rlen, &ip, &itext, &it)) {
		if (in_model(itext, it, drop))
			continue;
		check(line_at(out, (size_t)n, &op, &otext, &ot));
		check(it == ot && !memcmp(itext, otext, it));
	}
	/* then the additions, each there once */
	for (const char *const *a = add; a && *a; a++)
		check(smtp_ehlo_has(out, (size_t)n, *a));
	for (const char *const *d = drop; *d; d++) {
		bool added = false;

		for (const char *const *a = add; a && *a; a++)
			added = added || kw_model(*a, strlen(*a), *d);
		if (!added)
			check(!smtp_ehlo_has(out, (size_t)n, *d));
	}
	while (line_at(out, (size_t)n, &op, &otext, &ot))
		check(in_model(otext, ot, add));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t param[4];
	char *text;
	size_t len;

	if (size < 5)
		return 0;
	/* parameters: byte 0 picks the parser, 1..4 feed it; the wire text follows */
	memcpy(param, data + 1, 4);
	len = size - 5;
	/* an exact-size copy, so ASan sees any read past the end */
	text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, data + 5, len);
	switch (data[0] & 3) {
	case 0:
		fuzz_command(param, text, len);
		break;
	case 1:
		fuzz_reply(param, text, len);
		break;
	case 2:
		fuzz_dot(param, text, len);
		break;
	case 3:
		fuzz_ehlo(param, text, len);
		break;
	}
	free(text);
	return 0;
}
