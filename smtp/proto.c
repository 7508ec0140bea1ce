// SPDX-License-Identifier: GPL-2.0-only
#include "smtp/proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "EHLO", SMTP_EHLO },	     { "HELO", SMTP_HELO },	{ "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT },	     { "DATA", SMTP_DATA },	{ "BDAT", SMTP_BDAT },
	{ "RSET", SMTP_RSET },	     { "NOOP", SMTP_NOOP },	{ "QUIT", SMTP_QUIT },
	{ "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH },	{ "VRFY", SMTP_VRFY },
	{ "EXPN", SMTP_EXPN },	     { "HELP", SMTP_HELP },	{ "ETRN", SMTP_ETRN },
	{ "XCLIENT", SMTP_XCLIENT }, { "XFORWARD", SMTP_XFORWARD },
};

const char *smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "(unknown)";
}

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t vlen = 0;

	memset(cmd, 0, sizeof(*cmd));
	if (!len || memchr(line, '\0', len))
		return -EINVAL;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < vlen; i++)
		if (!isalpha((unsigned char)line[i]))
			return -EINVAL;
	if (!vlen)
		return -EINVAL;
	cmd->verb = SMTP_UNKNOWN;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == vlen && !strncasecmp(line, verbs[i].name, vlen)) {
			cmd->verb = verbs[i].verb;
			break;
		}
	}
	cmd->args = line + vlen;
	cmd->args_len = len - vlen;
	if (cmd->args_len) {
		/* the separating space */
		cmd->args++;
		cmd->args_len--;
	}
	return 0;
}

int smtp_path_parse(const char *args, size_t len, const char *prefix, char *addr, size_t addrlen)
{
	size_t plen = strlen(prefix), i, start, end;
	bool quoted = false;

	if (len < plen || strncasecmp(args, prefix, plen))
		return -EINVAL;
	i = plen;
	while (i < len && args[i] == ' ')
		i++;
	if (i < len && args[i] == '<') {
		start = ++i;
		/* Up to the closing bracket; a quoted local part may hold '>' and spaces. */
		for (; i < len; i++) {
			if (args[i] == '\\' && quoted && i + 1 < len) {
				i++;
				continue;
			}
			if (args[i] == '"')
				quoted = !quoted;
			else if (args[i] == '>' && !quoted)
				break;
		}
		if (i >= len)
			return -EINVAL;
		end = i;
	} else {
		/* Postfix tolerates a bare address (no brackets) unless strict. */
		start = i;
		while (i < len && args[i] != ' ')
			i++;
		end = i;
		if (end == start)
			return -EINVAL;
	}
	if (end - start >= addrlen)
		return -ENAMETOOLONG;
	memcpy(addr, args + start, end - start);
	addr[end - start] = '\0';
	return 0;
}

int smtp_addr_domain(const char *addr, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');
	size_t n;

	if (!at || !at[1])
		return -EINVAL;
	n = strlen(at + 1);
	if (at[1 + n - 1] == '.')
		n--;
	if (!n || n >= outlen)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)at[1 + i]);
	out[n] = '\0';
	return 0;
}

int smtp_addr_canon(const char *raw, char *out, size_t outlen)
{
	size_t o = 0, at = SIZE_MAX, start = 0;
	unsigned int depth = 0;
	bool quoted = false;

	for (const char *p = raw; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
		if (depth) {
			/* a comment: dropped; nested ones count, a quoted-pair escapes */
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (!quoted && (c == ' ' || c == '\t'))
			continue;
		if (!quoted && c == '(') {
			depth++;
			continue;
		}
		if (!quoted && (c == ')' || c == '<' || c == '>'))
			return -EINVAL;
		if (o + 2 >= outlen)
			return -ENAMETOOLONG;
		if (c == '\\' && p[1]) {
			out[o++] = *p++;
			out[o++] = *p;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		else if (c == '@' && !quoted)
			at = o;
		out[o++] = (char)c;
	}
	if (depth || quoted)
		return -EINVAL;
	out[o] = '\0';
	/* RFC 821 source route "@a,@b:user@domain": the next hop routes by what follows ':' */
	if (o && out[0] == '@') {
		char *colon = strchr(out, ':');

		if (!colon)
			return -EINVAL;
		/* "@host,@host:" and nothing else before the colon */
		for (const char *r = out; r < colon; r++)
			if (!isalnum((unsigned char)*r) && !strchr("@,.-_[]", *r))
				return -EINVAL;
		start = (size_t)(colon + 1 - out);
		memmove(out, out + start, o - start + 1);
		o -= start;
		if (at < start || out[0] == '@')
			return -EINVAL; /* no mailbox after the route, or a second route */
		at -= start;
	}
	if (at == SIZE_MAX)
		return o || !raw[0] ? 0 : -EINVAL; /* "postmaster", "<>"; nothing left of "(c)" */
	if (!at || at + 1 >= o)
		return -EINVAL;
	/* brackets belong to an address literal, never to a bare local part */
	for (size_t i = 0, q = 0; i < at; i++) {
		if (out[i] == '\\')
			i++;
		else if (out[i] == '"')
			q = !q;
		else if (!q && (out[i] == '[' || out[i] == ']'))
			return -EINVAL;
	}
	/* the domain: an address literal, or labels of a host name (UTF-8 allowed) */
	if (out[at + 1] == '[') {
		if (out[o - 1] != ']' || memchr(out + at + 2, '[', o - at - 3) ||
		    memchr(out + at + 2, ']', o - at - 3))
			return -EINVAL;
		for (size_t i = at + 2; i + 1 < o; i++)
			if (!isalnum((unsigned char)out[i]) && !strchr(".:", out[i]))
				return -EINVAL;
		return 0;
	}
	for (size_t i = at + 1; i < o; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '.') {
			/* no empty label; one trailing dot is the root */
			if (i == at + 1 || out[i - 1] == '.')
				return -EINVAL;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_' && c < 0x80)
			return -EINVAL;
	}
	return 0;
}

static int route_one(const char *p, size_t n, int (*fn)(const char *, void *), void *ctx)
{
	char dom[256];

	if (n >= sizeof(dom))
		n = sizeof(dom) - 1; /* a name no rule can have: still asked, never too long */
	while (n && p[n - 1] == '.')
		n--;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		dom[i] = (char)tolower((unsigned char)p[i]);
	dom[n] = '\0';
	return fn(dom, ctx);
}

int smtp_addr_route_domains(const char *addr, int (*fn)(const char *domain, void *ctx), void *ctx)
{
	char local[512];
	size_t at = SIZE_MAX, n = 0, from = 0;
	bool quoted = false, split = false;
	int rc;

	for (size_t i = 0; addr[i]; i++) {
		if (addr[i] == '\\' && addr[i + 1])
			i++;
		else if (addr[i] == '"')
			quoted = !quoted;
		else if (addr[i] == '@' && !quoted)
			at = i;
	}
	if (at == SIZE_MAX)
		at = strlen(addr); /* no domain: only the local part can name one */
	else if ((rc = route_one(addr + at + 1, strlen(addr + at + 1), fn, ctx)))
		return rc;
	/* the local part unquoted, then split at the routing characters */
	for (size_t i = 0; i < at && n + 1 < sizeof(local); i++) {
		if (addr[i] == '"')
			continue;
		if (addr[i] == '\\' && i + 1 < at)
			i++;
		split |= addr[i] == '%' || addr[i] == '!' || addr[i] == '@';
		local[n++] = addr[i];
	}
	if (!split)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && local[i] != '%' && local[i] != '!' && local[i] != '@')
			continue;
		if ((rc = route_one(local + from, i - from, fn, ctx)))
			return rc;
		from = i + 1;
	}
	return 0;
}

int smtp_bdat_parse(const char *args, size_t len, uint64_t *size, bool *last)
{
	uint64_t v = 0;
	size_t i = 0, digits;

	*last = false;
	if (!len || !isdigit((unsigned char)args[0]))
		return -EINVAL;
	for (; i < len && isdigit((unsigned char)args[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(args[i] - '0');
	}
	digits = i;
	while (i < len && args[i] == ' ')
		i++;
	if (i < len) {
		/* "40LAST" is one word to the next hop, which refuses it and then reads the chunk
		 * as commands: the space is what makes LAST a second argument. */
		if (i == digits || len - i != 4 || strncasecmp(args + i, "LAST", 4))
			return -EINVAL;
		*last = true;
	}
	*size = v;
	return 0;
}

int smtp_reply_scan(const char *buf, size_t len, int *code, size_t *reply_len)
{
	size_t off = 0;
	int first = -1;

	while (off < len) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t llen;
		int c;

		if (!nl) {
			/* Wait for the rest of the line, but judge what we can already. */
			if (len - off >= 1 && !isdigit((unsigned char)line[0]))
				return -EPROTO;
			/* SMTP_REPLY_MAX bytes without the reply's end: it cannot end in bounds */
			return len >= SMTP_REPLY_MAX ? -EMSGSIZE : 0;
		}
		llen = (size_t)(nl - line) + 1;
		if (off + llen > SMTP_REPLY_MAX)
			return -EMSGSIZE;
		if (llen < 4 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]))
			return -EPROTO;
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (c < 200 || c > 599)
			return -EPROTO; /* 1yz and 6yz do not exist in SMTP: reject, don't guess */
		if (first >= 0 && c != first)
			return -EPROTO;
		first = c;
		off += llen;
		if (line[3] == '-')
			continue;
		if (line[3] != ' ' && line[3] != '\r' && line[3] != '\n')
			return -EPROTO;
		*code = c;
		*reply_len = off;
		return 1;
	}
	return 0;
}

/* Iterate the lines of a reply: [*pos, *pos+*llen) is the next line including its LF. */
static bool next_line(const char *r, size_t len, size_t *pos, size_t *llen)
{
	const char *nl;

	if (*pos >= len)
		return false;
	nl = memchr(r + *pos, '\n', len - *pos);
	*llen = nl ? (size_t)(nl - (r + *pos)) + 1 : len - *pos;
	return true;
}

/* The text of a reply line (after "ddd-"), without its line end. */
static void line_text(const char *line, size_t llen, const char **text, size_t *tlen)
{
	size_t n = llen;

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	*text = n > 4 ? line + 4 : line + n;
	*tlen = n > 4 ? n - 4 : 0;
}

static bool keyword_is(const char *text, size_t tlen, const char *kw)
{
	size_t k = strlen(kw);

	return tlen >= k && !strncasecmp(text, kw, k) && (tlen == k || text[k] == ' ' ||
							   text[k] == '=');
}

bool smtp_ehlo_has(const char *reply, size_t len, const char *kw)
{
	size_t pos = 0, llen;
	bool first = true;

	while (next_line(reply, len, &pos, &llen)) {
		const char *text;
		size_t tlen;

		line_text(reply + pos, llen, &text, &tlen);
		if (!first && keyword_is(text, tlen, kw))
			return true;
		first = false;
		pos += llen;
	}
	return false;
}

static bool in_list(const char *text, size_t tlen, const char *const *list)
{
	for (; list && *list; list++)
		if (keyword_is(text, tlen, *list))
			return true;
	return false;
}

/* Append "ddd-text\r\n" at *o; *last is where the line starts (its mark is fixed at the end). */
static int put_line(char *out, size_t outlen, size_t *o, size_t *last, const char *code,
		    const char *text, size_t tlen)
{
	if (*o + 4 + tlen + 2 > outlen)
		return -ENOSPC;
	*last = *o;
	memcpy(out + *o, code, 3);
	out[*o + 3] = '-';
	memcpy(out + *o + 4, text, tlen);
	*o += 4 + tlen;
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
	return 0;
}

int smtp_ehlo_rewrite(const char *reply, size_t len, const char *const *drop,
		      const char *const *add, char *out, size_t outlen)
{
	size_t pos = 0, llen, o = 0, last = 0;
	char code[4] = "250";
	bool first = true;
	int err;

	while (next_line(reply, len, &pos, &llen)) {
		const char *text;
		size_t tlen;

		if (first && llen >= 3)
			memcpy(code, reply + pos, 3);
		line_text(reply + pos, llen, &text, &tlen);
		if (first || !in_list(text, tlen, drop)) {
			err = put_line(out, outlen, &o, &last, code, text, tlen);
			if (err)
				return err;
		}
		first = false;
		pos += llen;
	}
	/* Present means among the lines kept: a keyword both dropped and added (STARTTLS, which
	 * the next hop offers for itself and we offer for us) must come out once, not vanish. */
	for (; add && *add; add++) {
		if (smtp_ehlo_has(out, o, *add))
			continue;
		err = put_line(out, outlen, &o, &last, code, *add, strlen(*add));
		if (err)
			return err;
	}
	if (o)
		out[last + 3] = ' ';
	return (int)o;
}

enum {
	DOT_MID = 0,	/* inside a line */
	DOT_CR,		/* inside a line, just after CR */
	DOT_BOL,	/* at the beginning of a line */
	DOT_DOT,	/* "." at the beginning of a line */
	DOT_DOTCR,	/* ".\r" at the beginning of a line */
};

void smtp_dot_init(struct smtp_dot *d)
{
	d->state = DOT_BOL;
}

enum smtp_dot_result smtp_dot_scan(struct smtp_dot *d, const char *p, size_t n, size_t *used)
{
	uint8_t s = d->state;

	for (size_t i = 0; i < n; i++) {
		char c;

		if (s == DOT_MID) {
			/* Inside a line only the next LF matters (and whether CR precedes it):
			 * memchr skips the line at memory speed instead of a branch per byte. */
			const char *nl = memchr(p + i, '\n', n - i);
			size_t j;

			if (!nl) {
				s = p[n - 1] == '\r' ? DOT_CR : DOT_MID;
				break;
			}
			j = (size_t)(nl - p);
			if (j == i || p[j - 1] != '\r') {
				d->state = DOT_MID;
				*used = j;
				return SMTP_DOT_BARE_LF;
			}
			s = DOT_BOL;
			i = j;
			continue;
		}
		c = p[i];
		switch (s) {
		case DOT_CR:
			s = c == '\n' ? DOT_BOL : c == '\r' ? DOT_CR : DOT_MID;
			continue;
		case DOT_DOTCR:
			if (c == '\n') {
				d->state = DOT_BOL;
				*used = i + 1;
				return SMTP_DOT_END;
			}
			s = c == '\r' ? DOT_CR : DOT_MID;
			continue;
		case DOT_BOL:
			if (c == '.') {
				s = DOT_DOT;
				continue;
			}
			break;
		case DOT_DOT:
			if (c == '\r') {
				s = DOT_DOTCR;
				continue;
			}
			break;
		default:
			break;
		}
		/* DOT_MID, or BOL/DOT followed by an ordinary character */
		if (c == '\n') {
			d->state = s;
			*used = i;
			return SMTP_DOT_BARE_LF;
		}
		s = c == '\r' ? DOT_CR : DOT_MID;
	}
	d->state = s;
	*used = n;
	return SMTP_DOT_MORE;
}

bool smtp_dot_bare_lf(struct smtp_dot *d)
{
	/* The LF counts as CRLF: ".\n" ends the data, anything else starts a new line. */
	bool end = d->state == DOT_DOT;

	d->state = DOT_BOL;
	return end;
}
