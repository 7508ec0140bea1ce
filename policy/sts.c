// SPDX-License-Identifier: GPL-2.0-only
/*
 * MTA-STS texts (RFC 8461): the TXT record, the policy, MX patterns, and the record the cache
 * writes (the HTTP answer that carries the policy: sts_http.c).  Everything here reads bytes a
 * remote party chose (DNS, an HTTPS server, a file an attacker may have damaged): bounded, no
 * NUL-terminated assumptions on input, fuzzed (tests/fuzz/fuzz_policy_sts.c).
 */
#include <arpa/nameser.h>
#include <ctype.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "policy/sts.h"

#define RECORD_MAGIC "tlsgate-mta-sts 1\n"

const char *policy_sts_mode_name(enum policy_sts_mode m)
{
	return m == POLICY_STS_ENFORCE ? "enforce" : m == POLICY_STS_TESTING ? "testing" : "none";
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- TXT ---------------------------------------------------------------------------------- */

#define STS_V "v=STSv1"

bool policy_sts_txt_is_sts(const char *rec, size_t len)
{
	size_t n = sizeof(STS_V) - 1;

	/* §3.1: records that do not begin with "v=STSv1;" (the delimiter may have blanks
	 * before it) are discarded */
	if (len < n || memcmp(rec, STS_V, n))
		return false;
	while (n < len && is_wsp(rec[n]))
		n++;
	return n < len && rec[n] == ';';
}

/* sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static size_t ext_name_len(const char *s, size_t len)
{
	size_t i;

	if (!len || !is_alnum(s[0]))
		return 0;
	for (i = 1; i < len && i < 32; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			break;
	return i;
}

int policy_sts_txt_parse(const char *rec, size_t len, char id[POLICY_STS_ID_MAX + 1])
{
	size_t i = sizeof(STS_V) - 1, fields = 0;
	bool have_id = false;

	if (!policy_sts_txt_is_sts(rec, len))
		return -EINVAL;
	for (;;) {
		size_t name, vstart;

		/* sts-field-delim = *WSP ";" *WSP; a last delimiter may end the record */
		while (i < len && is_wsp(rec[i]))
			i++;
		if (i == len)
			break;
		if (rec[i] != ';')
			return -EINVAL;
		i++;
		while (i < len && is_wsp(rec[i]))
			i++;
		if (i == len)
			break;
		name = ext_name_len(rec + i, len - i);
		if (!name || i + name >= len || rec[i + name] != '=')
			return -EINVAL;
		vstart = i + name + 1;
		if (name == 2 && !memcmp(rec + i, "id", 2) && !have_id) {
			size_t n = 0;

			/* a repeated id counts once, as the first (the others are just
			 * extensions that must be well-formed) */
			while (vstart + n < len && is_alnum(rec[vstart + n]))
				n++;
			if (!n || n > POLICY_STS_ID_MAX)
				return -EINVAL;
			memcpy(id, rec + vstart, n);
			id[n] = '\0';
			have_id = true;
			i = vstart + n;
		} else {
			/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
			size_t n = 0;

			while (vstart + n < len) {
				unsigned char c = (unsigned char)rec[vstart + n];

				if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
					break;
				n++;
			}
			if (!n)
				return -EINVAL;
			i = vstart + n;
		}
		fields++;
		if (i < len && rec[i] != ';' && !is_wsp(rec[i]))
			return -EINVAL;
	}
	return fields && have_id ? 0 : -EINVAL;
}

struct txt_walk {
	char *buf;		/* the first v=STSv1 record, concatenated */
	size_t len;
	unsigned int sts;	/* v=STSv1 records seen */
	bool malformed;
};

static int txt_rr(const struct policy_dns_rr *rr, void *arg)
{
	struct txt_walk *w = arg;
	char rec[65536];
	size_t n;

	/* RDATA: one or more <length><bytes> character-strings, concatenated (§3.1) */
	if (policy_dns_txt_join(rr, rec, sizeof(rec), &n)) {
		w->malformed = true;
		return 0;
	}
	if (!policy_sts_txt_is_sts(rec, n))
		return 0;
	if (!w->sts++) {
		w->buf = malloc(n ? n : 1);
		if (!w->buf)
			return -ENOMEM;
		memcpy(w->buf, rec, n);
		w->len = n;
	}
	return 0;
}

int policy_sts_txt_answer(const unsigned char *msg, size_t len, char id[POLICY_STS_ID_MAX + 1],
			  char *why, size_t whylen)
{
	struct txt_walk w = { 0 };
	int st, rc;

	st = policy_dns_parse_answer(msg, len, ns_t_txt, txt_rr, &w);
	switch (st) {
	case DNS_OK:
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		snprintf(why, whylen, "no TXT record");
		rc = -ENOENT;
		goto out;
	case DNS_TEMPFAIL:
		snprintf(why, whylen, "TXT lookup: SERVFAIL");
		rc = -EAGAIN;
		goto out;
	case -ENOMEM:
		rc = -ENOMEM;
		goto out;
	default:
		snprintf(why, whylen, "TXT lookup: malformed or refused answer");
		rc = -EINVAL;
		goto out;
	}
	if (w.malformed) {
		snprintf(why, whylen, "TXT record: malformed character-string");
		rc = -EINVAL;
	} else if (!w.sts) {
		snprintf(why, whylen, "no v=STSv1 TXT record");
		rc = -ENOENT;
	} else if (w.sts > 1) {
		snprintf(why, whylen, "%u v=STSv1 TXT records (exactly one allowed)", w.sts);
		rc = -EINVAL;
	} else if (policy_sts_txt_parse(w.buf, w.len, id)) {
		snprintf(why, whylen, "malformed v=STSv1 TXT record");
		rc = -EINVAL;
	} else {
		rc = 0;
	}
out:
	free(w.buf);
	return rc;
}

struct addr_walk {
	uint8_t (*addrs)[16];
	size_t max, n;
	size_t alen;
};

static int addr_rr(const struct policy_dns_rr *rr, void *arg)
{
	struct addr_walk *w = arg;

	if (w->n < w->max)
		memcpy(w->addrs[w->n++], rr->addr, w->alen);
	return 0;
}

int policy_sts_addr_answer(const unsigned char *msg, size_t len, int family,
			   uint8_t (*addrs)[16], size_t max, size_t *n)
{
	struct addr_walk w = { .addrs = addrs, .max = max, .alen = family == AF_INET ? 4 : 16 };
	int st = policy_dns_parse_answer(msg, len, family == AF_INET ? ns_t_a : ns_t_aaaa,
					 addr_rr, &w);

	*n = w.n;
	switch (st) {
	case DNS_OK:
		return w.n ? 0 : -ENOENT;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		return -ENOENT;
	case DNS_TEMPFAIL:
		return -EAGAIN;
	default:
		return -EINVAL;
	}
}

/* ---- the policy --------------------------------------------------------------------------- */

bool policy_sts_domain_norm(const char *in, char out[POLICY_STS_NAME_MAX])
{
	char why[64];
	size_t bad;

	return !policy_domain_norm(in, strlen(in), out, &bad, why, sizeof(why));
}

void policy_sts_policy_clear(struct policy_sts_policy *p)
{
	for (size_t i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	free(p->mx);
	memset(p, 0, sizeof(*p));
}

static bool val_is(const char *v, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(v, word, n);
}

/* RFC 5321 Domain: sub-domains of letters, digits and inner hyphens (Let-dig [Ldh-str]),
 * dot-separated, no empty label, no trailing dot; lower-cased into out.  A label over 63 bytes
 * cannot exist in DNS, so such a pattern matches nothing, but it does not spoil the policy. */
static bool ldh_domain(const char *s, size_t n, char *out, size_t cap)
{
	size_t label = 0;

	if (!n || n >= cap || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(c) || (c == '-' && label)) {
			label++;
		} else {
			return false;
		}
		out[i] = (char)tolower((unsigned char)c);
	}
	out[n] = '\0';
	return label && s[n - 1] != '-';
}

/* sts-policy-mx-value = ["*."] Domain; stored lower case. */
static int add_mx(struct policy_sts_policy *p, const char *v, size_t n)
{
	bool wild = n > 2 && v[0] == '*' && v[1] == '.';
	size_t off = wild ? 2 : 0;
	char norm[POLICY_STS_NAME_MAX], **mx;
	char *s;

	if (p->nmx >= POLICY_STS_MAX_MX)
		return -E2BIG;
	if (!ldh_domain(v + off, n - off, norm, sizeof(norm)))
		return -EINVAL;
	if (asprintf(&s, "%s%s", wild ? "*." : "", norm) < 0)
		return -ENOMEM;
	mx = realloc(p->mx, (p->nmx + 1) * sizeof(*mx));
	if (!mx) {
		free(s);
		return -ENOMEM;
	}
	p->mx = mx;
	p->mx[p->nmx++] = s;
	return 0;
}

int policy_sts_policy_parse(const char *text, size_t len, struct policy_sts_policy *p, char *why,
			    size_t whylen)
{
	bool have_version = false, have_mode = false, have_age = false;
	unsigned int line = 0;
	size_t pos = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (len > POLICY_STS_MAX_BODY) {
		snprintf(why, whylen, "policy larger than %u bytes", POLICY_STS_MAX_BODY);
		return -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(why, whylen, "NUL byte in the policy");
		return -EINVAL;
	}
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos, k, v, vn;

		pos += n + (nl ? 1 : 0);
		line++;
		if (nl && n && l[n - 1] == '\r')	/* CRLF or LF (§3.2); a CR alone ends nothing */
			n--;
		while (n && is_wsp(l[n - 1]))	/* *WSP before the line end */
			n--;
		k = ext_name_len(l, n);
		/* Not "key: value" with a well-formed key: not a field we know, so ignored like
		 * any unknown one (an HTML page still fails: it has no version). */
		if (!k || k >= n || l[k] != ':')
			continue;
		for (v = k + 1; v < n && is_wsp(l[v]); v++)
			;
		vn = n - v;
		if (val_is(l, k, "version")) {
			if (have_version)
				continue;
			if (!val_is(l + v, vn, "STSv1")) {
				snprintf(why, whylen, "line %u: version is not STSv1", line);
				goto inval;
			}
			have_version = true;
		} else if (val_is(l, k, "mode")) {
			if (have_mode)
				continue;
			if (val_is(l + v, vn, "enforce"))
				p->mode = POLICY_STS_ENFORCE;
			else if (val_is(l + v, vn, "testing"))
				p->mode = POLICY_STS_TESTING;
			else if (val_is(l + v, vn, "none"))
				p->mode = POLICY_STS_NONE;
			else {
				snprintf(why, whylen, "line %u: unknown mode", line);
				goto inval;
			}
			have_mode = true;
		} else if (val_is(l, k, "max_age")) {
			uint64_t age = 0;

			if (have_age)
				continue;
			/* 1*10DIGIT */
			if (!vn || vn > 10) {
				snprintf(why, whylen, "line %u: max_age is not 1-10 digits", line);
				goto inval;
			}
			for (size_t i = 0; i < vn; i++) {
				if (!isdigit((unsigned char)l[v + i])) {
					snprintf(why, whylen, "line %u: max_age is not a number",
						 line);
					goto inval;
				}
				age = age * 10 + (uint64_t)(l[v + i] - '0');
			}
			if (age > POLICY_STS_MAX_AGE_MAX) {
				snprintf(why, whylen, "line %u: max_age over %u", line,
					 POLICY_STS_MAX_AGE_MAX);
				goto inval;
			}
			p->max_age = (uint32_t)age;
			have_age = true;
		} else if (val_is(l, k, "mx")) {
			rc = add_mx(p, l + v, vn);
			if (rc == -ENOMEM)
				goto fail;
			if (rc) {
				snprintf(why, whylen, "line %u: %s", line,
					 rc == -E2BIG ? "too many mx patterns" : "bad mx pattern");
				goto inval;
			}
		}
		/* other keys: extensions, ignored (§3.2) */
	}
	if (!have_version || !have_mode || !have_age) {
		snprintf(why, whylen, "missing %s", !have_version ? "version"
						    : !have_mode  ? "mode"
								  : "max_age");
		goto inval;
	}
	if (p->mode != POLICY_STS_NONE && !p->nmx) {
		snprintf(why, whylen, "mode %s without mx", policy_sts_mode_name(p->mode));
		goto inval;
	}
	return 0;
inval:
	rc = -EINVAL;
fail:
	policy_sts_policy_clear(p);
	return rc;
}

bool policy_sts_pattern_match(const char *pattern, const char *mx)
{
	char name[POLICY_STS_NAME_MAX];
	const char *dot;

	if (!policy_name_fold(mx, name, sizeof(name)))
		return false;
	if (pattern[0] != '*')
		return !strcmp(pattern, name);
	/* "*.rest": exactly one non-empty label in front of rest (§4.1) */
	dot = strchr(name, '.');
	return dot && dot != name && !strcmp(dot, pattern + 1);
}

bool policy_sts_mx_match(const struct policy_sts_policy *p, const char *mx)
{
	for (size_t i = 0; i < p->nmx; i++)
		if (policy_sts_pattern_match(p->mx[i], mx))
			return true;
	return false;
}

/* ---- entries and records ------------------------------------------------------------------ */

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > POLICY_STS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(id[i]))
			return false;
	return true;
}

int policy_sts_entry_new(const char *domain, const char *id, int64_t fetched, const char *text,
			 size_t len, struct policy_sts_entry **out, char *why, size_t whylen)
{
	struct policy_sts_entry *e;
	int rc;

	if (!id_ok(id)) {
		snprintf(why, whylen, "bad policy id");
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (!policy_sts_domain_norm(domain, e->domain)) {
		snprintf(why, whylen, "bad domain name");
		rc = -EINVAL;
		goto fail;
	}
	rc = policy_sts_policy_parse(text, len, &e->pol, why, whylen);
	if (rc)
		goto fail;
	e->text = malloc(len + 1);
	if (!e->text) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->text_len = len;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->fetched = fetched;
	e->expires = fetched + (int64_t)e->pol.max_age;
	atomic_init(&e->refs, 1);
	*out = e;
	return 0;
fail:
	policy_sts_policy_clear(&e->pol);
	free(e);
	return rc;
}

void policy_sts_entry_get(struct policy_sts_entry *e)
{
	atomic_fetch_add(&e->refs, 1);
}

void policy_sts_entry_put(struct policy_sts_entry *e)
{
	if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	policy_sts_policy_clear(&e->pol);
	free(e->text);
	free(e);
}

int policy_sts_record_serialize(const struct policy_sts_entry *e, char **out, size_t *len)
{
	char *hdr = NULL, *buf;
	int n;

	n = asprintf(&hdr, RECORD_MAGIC "domain: %s\nid: %s\nfetched: %" PRId64 "\nexpires: %" PRId64
			   "\n\n",
		     e->domain, e->id, e->fetched, e->expires);
	if (n < 0)
		return -ENOMEM;
	buf = malloc((size_t)n + e->text_len);
	if (!buf) {
		free(hdr);
		return -ENOMEM;
	}
	memcpy(buf, hdr, (size_t)n);
	memcpy(buf + n, e->text, e->text_len);
	free(hdr);
	*out = buf;
	*len = (size_t)n + e->text_len;
	return 0;
}

/* One "key: value\n" header line of a record into val (NUL-terminated). */
static bool record_field(const char *buf, size_t len, size_t *pos, const char *key, char *val,
			 size_t vcap)
{
	size_t k = strlen(key), n;
	const char *l = buf + *pos, *nl = memchr(l, '\n', len - *pos);

	if (!nl)
		return false;
	n = (size_t)(nl - l);
	if (n < k + 2 || memcmp(l, key, k) || l[k] != ':' || l[k + 1] != ' ' || n - k - 2 >= vcap)
		return false;
	memcpy(val, l + k + 2, n - k - 2);
	val[n - k - 2] = '\0';
	*pos += n + 1;
	return !memchr(val, '\0', n - k - 2);
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;

	/* canonical decimal only: a record reads back exactly as it was written */
	if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1]))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

int policy_sts_record_parse(const char *buf, size_t len, struct policy_sts_entry **out,
			    char *why, size_t whylen)
{
	char domain[POLICY_STS_NAME_MAX], id[64], fetched_s[32], expires_s[32];
	size_t pos = sizeof(RECORD_MAGIC) - 1;
	int64_t fetched, expires;
	struct policy_sts_entry *e;
	int rc;

	if (len < pos || memcmp(buf, RECORD_MAGIC, pos) ||
	    !record_field(buf, len, &pos, "domain", domain, sizeof(domain)) ||
	    !record_field(buf, len, &pos, "id", id, sizeof(id)) ||
	    !record_field(buf, len, &pos, "fetched", fetched_s, sizeof(fetched_s)) ||
	    !record_field(buf, len, &pos, "expires", expires_s, sizeof(expires_s)) ||
	    pos >= len || buf[pos] != '\n' || !parse_i64(fetched_s, &fetched) ||
	    !parse_i64(expires_s, &expires)) {
		snprintf(why, whylen, "not a tlsgate MTA-STS cache record");
		return -EINVAL;
	}
	pos++;
	rc = policy_sts_entry_new(domain, id, fetched, buf + pos, len - pos, &e, why, whylen);
	if (rc)
		return rc;
	if (e->expires != expires || strcmp(e->domain, domain)) {
		snprintf(why, whylen, "record inconsistent (expires or domain)");
		policy_sts_entry_put(e);
		return -EINVAL;
	}
	*out = e;
	return 0;
}
