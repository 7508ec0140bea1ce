// SPDX-License-Identifier: GPL-2.0-only
/*
 * Postfix table source files, read as postmap(1) reads them (util/readlline.c): a logical line
 * starts with non-whitespace text; a line starting with whitespace continues it; empty lines,
 * whitespace-only lines and lines whose first non-whitespace character is '#' are ignored and do
 * not end a logical line.  '#' elsewhere is not a comment.  The physical lines of a logical line
 * are joined without separator (the continuation's own leading whitespace separates), exactly
 * like Postfix.  We keep where each physical line starts so errors can name line and column.
 * A logical line that starts with whitespace (nothing to continue) is skipped with a warning,
 * as postmap does ("logical line must not start with whitespace").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void policy_tbl_init(struct policy_tbl_reader *r, const char *name, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->text = text;
	r->len = len;
	r->line = 1;
}

void policy_tbl_free(struct policy_tbl_reader *r)
{
	free(r->buf);
	free(r->segs);
	r->buf = NULL;
	r->segs = NULL;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Append the physical line text[start..end) to the logical line. */
static int append_line(struct policy_tbl_reader *r, size_t start, size_t end, unsigned int line)
{
	size_t n = end - start;

	if (grow((void **)&r->buf, &r->bcap, r->blen + n + 1, 1) ||
	    grow((void **)&r->segs, &r->segcap, r->nseg + 1, sizeof(*r->segs)))
		return -ENOMEM;
	r->segs[r->nseg].off = r->blen;
	r->segs[r->nseg].line = line;
	r->nseg++;
	memcpy(r->buf + r->blen, r->text + start, n);
	r->blen += n;
	r->buf[r->blen] = '\0';
	return 0;
}

int policy_tbl_next(struct policy_tbl_reader *r, struct policy_error *err)
{
	bool skip = false;

	r->blen = 0;
	r->nseg = 0;
	while (r->pos < r->len) {
		size_t start = r->pos, end, p;
		unsigned int line = r->line;
		const char *nl = memchr(r->text + start, '\n', r->len - start);
		const char *nul;

		end = nl ? (size_t)(nl - r->text) : r->len;
		r->pos = nl ? end + 1 : r->len;
		r->line++;
		for (p = start; p < end && is_space(r->text[p]); p++)
			;
		if (p == start && p != end && r->text[p] != '#' && r->blen > 0) {
			/* The next entry starts here: give the line back (before judging it, so
			 * that the entry before a bad line is still returned and checked). */
			r->pos = start;
			r->line = line;
			return 1;
		}
		nul = memchr(r->text + start, '\0', end - start);
		if (nul) {
			snprintf(err->msg, sizeof(err->msg), "%s:%u:%zu: NUL byte in table text",
				 r->name, line, (size_t)(nul - (r->text + start)) + 1);
			return -EINVAL;
		}
		if (p == end || r->text[p] == '#')
			continue;	/* blank or comment: skipped, does not end the entry */
		if (skip) {
			if (p != start)
				continue;	/* the skipped entry's continuation lines */
			skip = false;		/* a new entry: read it */
		}
		if (p != start && r->blen == 0) {
			char msg[512];

			snprintf(msg, sizeof(msg),
				 "%s:%u:%zu: continuation line without an entry to continue "
				 "(a line starting with whitespace continues the previous entry)",
				 r->name, line, p - start + 1);
			if (!r->diags) {
				snprintf(err->msg, sizeof(err->msg), "%s", msg);
				return -EINVAL;
			}
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
				 "; entry ignored, as postmap does");
			policy_diag_push(r->diags, false, msg);
			skip = true;
			continue;
		}
		if (r->blen + (end - start) > POLICY_MAX_LINE) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%u:1: entry longer than %u bytes", r->name, line,
				 POLICY_MAX_LINE);
			return -EINVAL;
		}
		if (append_line(r, start, end, line)) {
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory", r->name);
			return -ENOMEM;
		}
	}
	return r->blen > 0 ? 1 : 0;
}

unsigned int policy_tbl_first_line(const struct policy_tbl_reader *r)
{
	return r->nseg ? r->segs[0].line : r->line;
}

void policy_tbl_error(struct policy_error *err, const struct policy_tbl_reader *r, size_t off, const char *fmt,
	       ...)
{
	unsigned int line = policy_tbl_first_line(r);
	size_t col = off + 1;
	int n;
	va_list ap;

	if (!err)
		return;
	for (size_t i = 0; i < r->nseg; i++) {
		if (r->segs[i].off > off)
			break;
		line = r->segs[i].line;
		col = off - r->segs[i].off + 1;
	}
	n = snprintf(err->msg, sizeof(err->msg), "%s:%u:%zu: ", r->name, line, col);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	policy_error_sanitize(err);
}

void policy_diag_push(struct policy_diags *d, bool error, const char *msg)
{
	struct policy_diag *e;

	if (error && !d->nerrors++) {
		snprintf(d->first_error, sizeof(d->first_error), "%s", msg);
		for (char *c = d->first_error; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
	} else if (!error) {
		d->nwarnings++;
	}
	if (d->n >= POLICY_DIAG_MAX)
		return;
	if (!d->v) {
		d->v = calloc(POLICY_DIAG_MAX, sizeof(*d->v));
		if (!d->v)
			return;	/* counted; the caller still sees nerrors */
	}
	e = &d->v[d->n++];
	e->error = error;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	for (char *c = e->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
}

void policy_diags_free(struct policy_diags *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void policy_tbl_warn(const struct policy_tbl_reader *r, size_t off, const char *fmt, ...)
{
	struct policy_error e;
	char msg[sizeof(e.msg)];
	va_list ap;

	if (!r->diags)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	policy_tbl_error(&e, r, off, "%s", msg);
	policy_diag_push(r->diags, false, e.msg);
}

/*
 * Tokens as Postfix's mystrtokq(): separated by any of seps; a token starting with '{' runs to
 * the matching '}' and may hold separators ("{ exclude = 3DES aNULL }").  Nested braces are
 * refused (Postfix allows them, nothing in a TLS policy needs them).
 */
int policy_tbl_token(const struct policy_tbl_reader *r, size_t *pos, const char *seps, struct policy_tbl_tok *t,
	      struct policy_error *err)
{
	const char *b = r->buf;
	size_t p = *pos, n = r->blen;

	while (p < n && strchr(seps, b[p]))
		p++;
	if (p >= n) {
		*pos = p;
		return 0;
	}
	if (b[p] == '{') {
		size_t open = p, q = p + 1;

		while (q < n && b[q] != '}' && b[q] != '{')
			q++;
		if (q >= n) {
			policy_tbl_error(err, r, open,
				  "unbalanced '{' (expected '}' before the end of the entry)");
			return -EINVAL;
		}
		if (b[q] == '{') {
			policy_tbl_error(err, r, q, "nested '{' is not supported");
			return -EINVAL;
		}
		t->start = open + 1;
		t->len = q - open - 1;
		t->brace = true;
		p = q + 1;
		if (p < n && !strchr(seps, b[p])) {
			policy_tbl_error(err, r, p, "unexpected text after '}' (expected a separator)");
			return -EINVAL;
		}
		*pos = p;
		return 1;
	}
	t->start = p;
	while (p < n && !strchr(seps, b[p]))
		p++;
	t->len = p - t->start;
	t->brace = false;
	*pos = p;
	return 1;
}
