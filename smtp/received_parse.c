// SPDX-License-Identifier: GPL-2.0-only
/*
 * Received: parsing.  A field is split into words and (nested) comments, words are grouped into
 * RFC 5321's clauses (from, by, via, with, id, for) and the date after the last top-level ';'.
 * The TLS facts are then looked for in every comment and in the "with" clause, in each MTA's
 * wording (see received_parse.h), and only when none is there does the RFC 3848 protocol
 * keyword decide.  Real headers bend every rule, so nothing here rejects input: what is not
 * recognised stays empty.
 */
#include "smtp/received_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A field with more words and comments than this is read up to here (real ones have ~20). */
#define MAX_TOKS 128

enum tok_type {
	TOK_END = 0,
	TOK_WORD,
	TOK_COMMENT,	/* s/n: the text between the outer parentheses */
	TOK_SEMI,
};

enum clause {
	CL_NONE = 0,
	CL_FROM,
	CL_BY,
	CL_VIA,
	CL_WITH,
	CL_ID,
	CL_FOR,
};

struct tok {
	const char *s;
	size_t n;
	enum tok_type type;
	enum clause clause;
	bool after_keyword;	/* the first token of its clause */
};

struct field {
	struct tok t[MAX_TOKS];
	size_t n;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ieq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

static bool istarts(const char *s, size_t n, const char *prefix)
{
	size_t pn = strlen(prefix);

	return n >= pn && !strncasecmp(s, prefix, pn);
}

/*
 * Copy n bytes into dst as printable ASCII: whitespace runs (folding included) become one
 * space, other control and 8-bit bytes '?', leading/trailing space dropped; truncates.
 */
static void copy_clean(char *dst, size_t size, const char *s, size_t n)
{
	size_t o = 0;
	bool space = false;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_ws((char)c)) {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < size)
			dst[o++] = ' ';
		space = false;
		dst[o++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	dst[o] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Tokens */

/* The longest <angle address> a word may hold (RFC 5321 allows a 256-octet path). */
#define ANGLE_MAX 1024

/*
 * The length of the <angle address> at v (v[0] == '<'), or 0 when it is not one: the '>' must
 * come within ANGLE_MAX octets, and white space, '<', '(', ')' and ';' are allowed only inside
 * a quoted local part ("odd; (name)"@example.org).  So a stray '<' in a HELO cannot reach the
 * '>' of a later "for <rcpt>".
 */
static size_t angle_len(const char *v, size_t len)
{
	bool quoted = false;

	for (size_t i = 1; i < len && i < ANGLE_MAX; i++) {
		char c = v[i];

		if (c == '\r' || c == '\n')
			return 0;
		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '>') {
			return i + 1;
		} else if (is_ws(c) || c == '\0' || strchr("<();", c)) {
			return 0;
		}
	}
	return 0;
}

static enum tok_type next_tok(const char *v, size_t len, size_t *pos, const char **s, size_t *n)
{
	size_t i = *pos;

	while (i < len && (is_ws(v[i]) || v[i] == ')'))
		i++;
	if (i >= len) {
		*pos = i;
		return TOK_END;
	}
	if (v[i] == ';') {
		*s = v + i;
		*n = 1;
		*pos = i + 1;
		return TOK_SEMI;
	}
	if (v[i] == '(') {
		size_t start = ++i;
		unsigned int depth = 1;

		for (; i < len; i++) {
			if (v[i] == '\\' && i + 1 < len) {
				i++;
			} else if (v[i] == '(') {
				depth++;
			} else if (v[i] == ')' && --depth == 0) {
				break;
			}
		}
		*s = v + start;
		*n = i - start;
		*pos = i < len ? i + 1 : i;
		return TOK_COMMENT;
	}

	size_t start = i;

	if (v[i] == '<')
		i += angle_len(v + i, len - i);
	while (i < len && !is_ws(v[i]) && v[i] != '(' && v[i] != ';' && v[i] != ')')
		i++;
	*s = v + start;
	*n = i - start;
	*pos = i;
	return TOK_WORD;
}

static enum clause keyword(const char *s, size_t n)
{
	static const struct {
		const char *word;
		enum clause cl;
	} kw[] = {
		{ "from", CL_FROM }, { "by", CL_BY }, { "via", CL_VIA },
		{ "with", CL_WITH }, { "id", CL_ID }, { "for", CL_FOR },
	};

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (ieq(s, n, kw[i].word))
			return kw[i].cl;
	return CL_NONE;
}

/* Split the field; the date is whatever follows the last ';' outside comments. */
static void tokenize(const char *v, size_t len, struct field *f, const char **date, size_t *date_n)
{
	enum clause cl = CL_NONE;
	bool first_of_clause = false;
	size_t pos = 0, end = len;
	enum tok_type type;
	const char *s;
	size_t n;

	*date = NULL;
	*date_n = 0;
	while ((type = next_tok(v, len, &pos, &s, &n)) != TOK_END) {
		if (type == TOK_SEMI) {
			end = (size_t)(s - v);
			*date = s + 1;
			*date_n = len - end - 1;
		}
	}

	f->n = 0;
	pos = 0;
	while (f->n < MAX_TOKS && (type = next_tok(v, end, &pos, &s, &n)) != TOK_END) {
		enum clause k = type == TOK_WORD ? keyword(s, n) : CL_NONE;

		if (type == TOK_SEMI)
			continue;	/* an earlier ';' inside the clauses: ignore it */
		if (k != CL_NONE) {
			cl = k;
			first_of_clause = true;
			continue;
		}
		f->t[f->n++] = (struct tok){ .s = s, .n = n, .type = type, .clause = cl,
					     .after_keyword = first_of_clause };
		first_of_clause = false;
	}
}

static const struct tok *first_word(const struct field *f, enum clause cl)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].clause == cl && f->t[i].type == TOK_WORD)
			return &f->t[i];
	return NULL;
}

static bool has_clause(const struct field *f, enum clause cl)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].clause == cl)
			return true;
	return false;
}

/* ------------------------------------------------------------------------------------------ */
/* The client: address and reverse-DNS name from the "from" clause's comments */

/* s/n is an IP address, possibly "IPv6:"-prefixed or with a %zone; stores the numeric form. */
static bool parse_ip(const char *s, size_t n, char *out, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char tmp[INET6_ADDRSTRLEN + 8];
	int af;

	if (istarts(s, n, "IPv6:")) {
		s += 5;
		n -= 5;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] == '%')
			n = i;
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	af = memchr(tmp, ':', n) ? AF_INET6 : AF_INET;
	if (inet_pton(af, tmp, bin) != 1)
		return false;
	return inet_ntop(af, bin, out, (socklen_t)size) != NULL;
}

/* A bare address word: "192.0.2.1", "192.0.2.1:3410", "2001:db8::1". */
static bool parse_bare_ip(const char *s, size_t n, char *out, size_t size)
{
	const char *colon = memchr(s, ':', n);

	if (parse_ip(s, n, out, size))
		return true;
	/* IPv4 with a port (zmailer's "[192.0.2.1]:3410" has brackets; some do without). */
	if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
		return parse_ip(s, (size_t)(colon - s), out, size);
	return false;
}

/* Find "[addr]" in a comment; also the name just before it ("rdns [addr]"). */
static bool comment_bracket_ip(const char *s, size_t n, struct received_hop *hop)
{
	for (size_t i = 0; i < n; i++) {
		const char *close;
		size_t name_end, name_start;

		if (s[i] != '[')
			continue;
		close = memchr(s + i, ']', n - i);
		if (!close)
			return false;
		if (!parse_ip(s + i + 1, (size_t)(close - s) - i - 1, hop->from_addr,
			      sizeof(hop->from_addr))) {
			i = (size_t)(close - s);
			continue;
		}
		name_end = i;
		while (name_end > 0 && is_ws(s[name_end - 1]))
			name_end--;
		name_start = name_end;
		while (name_start > 0 && !is_ws(s[name_start - 1]) && s[name_start - 1] != '(')
			name_start--;
		if (name_end > name_start && s[name_end - 1] == '.')
			name_end--;	/* Gmail writes the rDNS name fully qualified: "host. [ip]" */
		if (name_end > name_start && !ieq(s + name_start, name_end - name_start, "unknown") &&
		    !memchr(s + name_start, '=', name_end - name_start))
			copy_clean(hop->from_rdns, sizeof(hop->from_rdns), s + name_start,
				   name_end - name_start);
		return true;
	}
	return false;
}

static bool comment_bare_ip(const char *s, size_t n, struct received_hop *hop)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && (is_ws(s[i]) || s[i] == ','))
			i++;
		start = i;
		while (i < n && !is_ws(s[i]) && s[i] != ',')
			i++;
		if (i > start && parse_bare_ip(s + start, i - start, hop->from_addr,
					       sizeof(hop->from_addr)))
			return true;
	}
	return false;
}

static void parse_client(const struct field *f, struct received_hop *hop)
{
	const struct tok *from = first_word(f, CL_FROM);

	if (from)
		copy_clean(hop->from, sizeof(hop->from), from->s, from->n);
	/* The receiver's own view (in the comment) beats what the client claimed (the word). */
	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].clause == CL_FROM && f->t[i].type == TOK_COMMENT &&
		    comment_bracket_ip(f->t[i].s, f->t[i].n, hop))
			return;
	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].clause == CL_FROM && f->t[i].type == TOK_COMMENT &&
		    comment_bare_ip(f->t[i].s, f->t[i].n, hop))
			return;
	/* Exim without rDNS: "from [192.0.2.1] (helo=x)". */
	if (from && from->n > 2 && from->s[0] == '[' && from->s[from->n - 1] == ']')
		parse_ip(from->s + 1, from->n - 2, hop->from_addr, sizeof(hop->from_addr));
}

/* ------------------------------------------------------------------------------------------ */
/* TLS facts */

/* "TLSv1.3", "TLS1_2", "TLS1.2", "TLSv1", "SSLv3", "TLSv1/SSLv3": a protocol version. */
static bool is_version(const char *s, size_t n)
{
	size_t i = 3;

	if (!istarts(s, n, "TLS") && !istarts(s, n, "SSL"))
		return false;
	if (i < n && (s[i] == 'v' || s[i] == 'V'))
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	for (; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '/' ||
		      s[i] == 'v' || s[i] == 'V' || s[i] == 'S' || s[i] == 'L' || s[i] == 'T'))
			return false;
	return true;
}

/* One spelling for each version, OpenSSL's: "TLS1_2" and "TLS1.2" are "TLSv1.2". */
static void set_version(struct received_hop *hop, const char *s, size_t n)
{
	bool ssl = istarts(s, n, "SSL");
	size_t i = 3;
	int major, minor = 0;

	if (i < n && (s[i] == 'v' || s[i] == 'V'))
		i++;
	if (!is_version(s, n) || i >= n || memchr(s, '/', n))
		goto raw;
	major = s[i++] - '0';
	if (i < n && (s[i] == '.' || s[i] == '_') && i + 1 < n && s[i + 1] >= '0' &&
	    s[i + 1] <= '9') {
		minor = s[i + 1] - '0';
		i += 2;
	}
	if (i != n)
		goto raw;
	if (ssl)
		snprintf(hop->tls_version, sizeof(hop->tls_version), "SSLv%d", major);
	else if (major == 1)
		snprintf(hop->tls_version, sizeof(hop->tls_version), "TLSv1.%d", minor);
	else
		goto raw;
	return;
raw:
	copy_clean(hop->tls_version, sizeof(hop->tls_version), s, n);
}

static unsigned int parse_bits(const char *s, size_t n)
{
	unsigned int v = 0;

	for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9' && v < 100000; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	return v;
}

/* The next whitespace-separated word of a comment, starting at *i. */
static bool comment_word(const char *s, size_t n, size_t *i, const char **w, size_t *wn)
{
	while (*i < n && is_ws(s[*i]))
		(*i)++;
	if (*i >= n)
		return false;
	*w = s + *i;
	while (*i < n && !is_ws(s[*i]))
		(*i)++;
	*wn = (size_t)(s + *i - *w);
	return true;
}

/* Postfix: "using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ...". */
static void tls_postfix(const char *s, size_t n, struct received_hop *hop)
{
	size_t i = 0;
	const char *w, *prev = NULL;
	size_t wn, prev_n = 0;

	comment_word(s, n, &i, &w, &wn);	/* "using" */
	if (comment_word(s, n, &i, &w, &wn))
		set_version(hop, w, wn);
	while (comment_word(s, n, &i, &w, &wn)) {
		if (prev && ieq(prev, prev_n, "cipher") && !hop->cipher[0])
			copy_clean(hop->cipher, sizeof(hop->cipher), w, wn);
		else if (w[0] == '(' && !hop->bits)
			hop->bits = parse_bits(w + 1, wn - 1);
		prev = w;
		prev_n = wn;
	}
}

/* sendmail's ${verify}: OK, NOT (not requested), NO (none presented), NONE, FAIL, ... */
static void set_verify(struct received_hop *hop, const char *v, size_t n)
{
	if (ieq(v, n, "OK"))
		hop->cert = RECEIVED_CERT_VERIFIED;
	else if (ieq(v, n, "NOT") || ieq(v, n, "NO") || ieq(v, n, "NONE"))
		hop->cert = RECEIVED_CERT_NOT_CHECKED;
	else
		hop->cert = RECEIVED_CERT_FAILED;
	snprintf(hop->cert_note, sizeof(hop->cert_note), "verify=%.*s",
		 (int)(n < 32 ? n : 32), v);
	for (char *c = hop->cert_note; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			*c = '?';
}

/* Gmail, sendmail, Microsoft, Mimecast: "version=X cipher=Y bits=N/M", ", " or " " apart. */
static bool tls_keyvalue(const char *s, size_t n, struct received_hop *hop)
{
	bool found = false;
	size_t i = 0;

	while (i < n) {
		size_t start, eq, end;

		while (i < n && (is_ws(s[i]) || s[i] == ','))
			i++;
		start = i;
		while (i < n && !is_ws(s[i]) && s[i] != ',')
			i++;
		end = i;
		for (eq = start; eq < end && s[eq] != '='; eq++)
			;
		if (eq >= end)
			continue;
		if (ieq(s + start, eq - start, "version")) {
			set_version(hop, s + eq + 1, end - eq - 1);
			found = true;
		} else if (ieq(s + start, eq - start, "cipher")) {
			copy_clean(hop->cipher, sizeof(hop->cipher), s + eq + 1, end - eq - 1);
		} else if (ieq(s + start, eq - start, "bits")) {
			hop->bits = parse_bits(s + eq + 1, end - eq - 1);
		} else if (ieq(s + start, eq - start, "verify")) {
			set_verify(hop, s + eq + 1, end - eq - 1);
		}
	}
	return found;
}

/* Older Exim: "TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256" or "TLSv1.3:TLS_AES_256_GCM_SHA384:256". */
static bool tls_exim_colon(const char *s, size_t n, struct received_hop *hop)
{
	const char *c1 = memchr(s, ':', n), *c2;

	if (!c1 || !is_version(s, (size_t)(c1 - s)))
		return false;
	set_version(hop, s, (size_t)(c1 - s));
	c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - s));
	if (!c2)
		c2 = s + n;
	else
		hop->bits = parse_bits(c2 + 1, n - (size_t)(c2 + 1 - s));
	copy_clean(hop->cipher, sizeof(hop->cipher), c1 + 1, (size_t)(c2 - c1 - 1));
	return true;
}

/* Exim 4.9x: "with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384": the cipher is a word. */
static void exim_tls_word(const struct field *f, struct received_hop *hop)
{
	for (size_t i = 0; i + 1 < f->n; i++)
		if (f->t[i].clause == CL_WITH && f->t[i].type == TOK_WORD &&
		    ieq(f->t[i].s, f->t[i].n, "tls") && f->t[i + 1].type == TOK_WORD) {
			copy_clean(hop->cipher, sizeof(hop->cipher), f->t[i + 1].s, f->t[i + 1].n);
			return;
		}
}

/*
 * Postfix's certificate clause: "(No client certificate requested)", "(Client did not present a
 * certificate)", "(Client CN \"x\", Issuer \"y\" (verified OK))" or "(... (not verified))".
 */
static void cert_comment(const struct tok *t, struct received_hop *hop)
{
	static const struct {
		const char *text;
		enum received_cert cert;
		const char *note;
	} forms[] = {
		{ "No client certificate requested", RECEIVED_CERT_NOT_CHECKED,
		  "no client certificate requested" },
		{ "Client did not present a certificate", RECEIVED_CERT_NOT_CHECKED,
		  "no certificate presented" },
		{ "(verified OK)", RECEIVED_CERT_VERIFIED, "verified OK" },
		{ "(not verified)", RECEIVED_CERT_FAILED, "not verified" },
	};

	if (hop->cert != RECEIVED_CERT_UNKNOWN)
		return;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (memmem(t->s, t->n, forms[i].text, strlen(forms[i].text))) {
			hop->cert = forms[i].cert;
			snprintf(hop->cert_note, sizeof(hop->cert_note), "%s", forms[i].note);
			return;
		}
}

/* What a comment says about TLS; returns true when it says TLS was used. */
static bool tls_comment(const struct field *f, const struct tok *t, struct received_hop *hop)
{
	cert_comment(t, hop);
	if (istarts(t->s, t->n, "using ") && !hop->tls_version[0]) {
		tls_postfix(t->s, t->n, hop);
		return true;
	}
	if (memmem(t->s, t->n, "version=", 8) && !hop->tls_version[0])
		return tls_keyvalue(t->s, t->n, hop);
	if (is_version(t->s, t->n) && !hop->tls_version[0]) {
		set_version(hop, t->s, t->n);
		exim_tls_word(f, hop);
		return true;
	}
	if (t->clause == CL_WITH && !hop->tls_version[0] && tls_exim_colon(t->s, t->n, hop))
		return true;
	/* Exchange 2010: "with Microsoft SMTP Server (TLS) id 14.3..."; Gmail's internal hops. */
	return ieq(t->s, t->n, "TLS") || ieq(t->s, t->n, "Google Transport Security");
}

/*
 * RFC 3848 / RFC 6531 keywords: [UTF8](SMTP|ESMTP|LMTP)[S][A]; "S" means TLS.  Exchange
 * Online's mailbox servers deliver to each other "with HTTPS" (and never over plain HTTP).
 */
static enum received_tls_state keyword_tls(const char *p)
{
	size_t n = strlen(p);
	const char *base[] = { "ESMTP", "SMTP", "LMTP" };

	/* (webmail writes "with HTTP" whatever the browser used: not recorded) */
	if (!strcasecmp(p, "HTTPS"))
		return RECEIVED_TLS_YES;

	if (istarts(p, n, "UTF8")) {
		p += 4;
		n -= 4;
	}
	for (size_t i = 0; i < 3; i++) {
		size_t bn = strlen(base[i]);
		const char *sfx = p + bn;

		if (!istarts(p, n, base[i]))
			continue;
		if (!*sfx || !strcasecmp(sfx, "A"))
			return RECEIVED_TLS_NO;
		if (!strcasecmp(sfx, "S") || !strcasecmp(sfx, "SA"))
			return RECEIVED_TLS_YES;
	}
	return RECEIVED_TLS_UNKNOWN;
}

/* The words right after "with" up to the first comment: "ESMTPS", "Microsoft SMTP Server". */
static void parse_protocol(const struct field *f, struct received_hop *hop)
{
	size_t start = f->n, end;

	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].clause == CL_WITH) {
			start = i;
			break;
		}
	if (start == f->n || f->t[start].type != TOK_WORD)
		return;
	for (end = start; end + 1 < f->n && f->t[end + 1].clause == CL_WITH &&
			  f->t[end + 1].type == TOK_WORD && !f->t[end + 1].after_keyword &&
			  !ieq(f->t[end + 1].s, f->t[end + 1].n, "tls");
	     end++)
		;
	copy_clean(hop->protocol, sizeof(hop->protocol), f->t[start].s,
		   (size_t)(f->t[end].s + f->t[end].n - f->t[start].s));
}

static void parse_tls(const struct field *f, struct received_hop *hop)
{
	bool yes = false;
	const char *slash;

	for (size_t i = 0; i < f->n; i++) {
		const struct tok *t = &f->t[i];

		if (t->type == TOK_COMMENT)
			yes |= tls_comment(f, t, hop);
		/* Mimecast: "with ESMTP with STARTTLS (version=...)". */
		else if (t->clause == CL_WITH && ieq(t->s, t->n, "STARTTLS"))
			yes = true;
	}
	/* IronPort: "with ESMTP/TLS/ECDHE-RSA-AES256-GCM-SHA384". */
	slash = strchr(hop->protocol, '/');
	if (slash && !strncasecmp(slash, "/TLS", 4) && (slash[4] == '/' || !slash[4])) {
		yes = true;
		if (slash[4] == '/' && !hop->cipher[0])
			snprintf(hop->cipher, sizeof(hop->cipher), "%s", slash + 5);
	}
	if (yes || hop->tls_version[0]) {
		hop->tls = RECEIVED_TLS_YES;
		return;
	}
	if (!strcasecmp(hop->protocol, "Microsoft SMTP Server")) {
		/* Exchange writes "(version=..., cipher=...)" or "(TLS)" whenever TLS was used. */
		hop->tls = RECEIVED_TLS_NO;
		return;
	}
	hop->tls = keyword_tls(hop->protocol);
}

/* ------------------------------------------------------------------------------------------ */
/* Style, locality */

static bool comment_starts(const struct field *f, enum clause cl, const char *prefix)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->t[i].type == TOK_COMMENT && (cl == CL_NONE || f->t[i].clause == cl) &&
		    istarts(f->t[i].s, f->t[i].n, prefix))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), sn = strlen(suffix);

	return n >= sn && !strcasecmp(s + n - sn, suffix);
}

/* sendmail's "by host (8.17.1/8.17.1)". */
static bool sendmail_version(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct tok *t = &f->t[i];

		if (t->type == TOK_COMMENT && t->clause == CL_BY && t->n > 2 && t->s[0] == '8' &&
		    t->s[1] == '.' && memchr(t->s, '/', t->n))
			return true;
	}
	return false;
}

static enum received_style parse_style(const struct field *f, const struct received_hop *hop)
{
	if (comment_starts(f, CL_BY, "tlsgate"))
		return RECEIVED_STYLE_TLSGATE;
	if (comment_starts(f, CL_BY, "Postfix") || comment_starts(f, CL_NONE, "using TLS"))
		return RECEIVED_STYLE_POSTFIX;
	if (comment_starts(f, CL_NONE, "Exim "))
		return RECEIVED_STYLE_EXIM;
	if (istarts(hop->protocol, strlen(hop->protocol), "Microsoft SMTP") ||
	    !strcasecmp(hop->protocol, "mapi") || !strcasecmp(hop->protocol, "HTTPS"))
		return RECEIVED_STYLE_MICROSOFT;
	if (ends_with(hop->by, ".google.com") || ends_with(hop->by, ".gmail.com") ||
	    ends_with(hop->by, ".googlemail.com") ||
	    comment_starts(f, CL_NONE, "Google Transport Security"))
		return RECEIVED_STYLE_GMAIL;
	if (sendmail_version(f))
		return RECEIVED_STYLE_SENDMAIL;
	return RECEIVED_STYLE_GENERIC;
}

static bool is_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static bool same_host(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);

	if (an && a[an - 1] == '.')
		an--;
	if (bn && b[bn - 1] == '.')
		bn--;
	return an && an == bn && !strncasecmp(a, b, an);
}

static enum received_local parse_local(const struct field *f, const struct received_hop *hop)
{
	if (!has_clause(f, CL_FROM))
		return RECEIVED_LOCAL_NO_FROM;
	if (hop->from_addr[0] && is_loopback(hop->from_addr))
		return RECEIVED_LOCAL_LOOPBACK;
	/* before "from X by X": Exchange writes its mapi hop so, and it is Outlook's submission */
	if (!strcasecmp(hop->protocol, "local") || !strcasecmp(hop->protocol, "mapi") ||
	    !strncasecmp(hop->protocol, "local-", 6))
		return RECEIVED_LOCAL_PROTOCOL;
	if (same_host(hop->from, hop->by))
		return RECEIVED_LOCAL_SAME_HOST;
	return RECEIVED_LOCAL_NO;
}

void received_parse_field(const char *value, size_t len, struct received_hop *hop)
{
	struct field fb, *f = &fb;
	const struct tok *t;
	const char *date;
	size_t date_n;

	memset(hop, 0, sizeof(*hop));
	tokenize(value, len, f, &date, &date_n);
	if (date)
		copy_clean(hop->date, sizeof(hop->date), date, date_n);
	parse_client(f, hop);
	if ((t = first_word(f, CL_BY)))
		copy_clean(hop->by, sizeof(hop->by), t->s, t->n);
	if ((t = first_word(f, CL_ID)))
		copy_clean(hop->id, sizeof(hop->id), t->s, t->n);
	parse_protocol(f, hop);
	parse_tls(f, hop);
	hop->style = parse_style(f, hop);
	hop->local = parse_local(f, hop);
}
