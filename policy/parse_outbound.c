// SPDX-License-Identifier: GPL-2.0-only
/*
 * One entry of a Postfix smtp_tls_policy_maps source file:
 *
 *     KEY  LEVEL [NAME=VALUE | { NAME = VALUE }]...
 *
 * parsed as Postfix's smtp_tls_policy.c does (tokens separated by commas and whitespace, names
 * without regard to case, "none" ignores what follows it, match= only at fingerprint/verify/
 * secure and split on '|' resp. ':', the single-valued attributes at most once), with two
 * differences that only refuse what Postfix would refuse later or what tlsgate cannot honour:
 * the values are validated now (cipher grade, protocol names, digests, names), and dane /
 * dane-only and the attributes tlsgate does not implement are errors, never silently dropped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/parse.h"

#define SEPS ", \t\r\n\v\f"
#define ATTRS_EXPECTED "protocols, ciphers, exclude, match, servername"

/* Postfix attributes tlsgate does not implement: refused by name, so the admin knows. */
static const char *const unsupported[] = {
	"tafile",	 "connection_reuse", "enable_rpk",	"policy_type",
	"policy_domain", "policy_ttl",	     "policy_string",	"mx_host_pattern",
	"policy_failure",
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* "name=value" or the inside of "{ name = value }" (whitespace around '=' allowed there). */
static int split_attr(const struct policy_tbl_reader *t, const struct policy_tbl_tok *tok, struct attr *a,
		      struct policy_error *err)
{
	const char *b = t->buf;
	size_t s = tok->start, e = tok->start + tok->len, eq;

	if (tok->brace) {
		while (s < e && blank(b[s]))
			s++;
		while (e > s && blank(b[e - 1]))
			e--;
	}
	for (eq = s; eq < e && b[eq] != '='; eq++)
		;
	if (eq >= e || eq == s) {
		policy_tbl_error(err, t, tok->start, "malformed attribute '%.*s' (expected name=value)",
			  (int)tok->len, b + tok->start);
		return -EINVAL;
	}
	a->name_off = s;
	a->name_len = eq - s;
	while (a->name_len && blank(b[s + a->name_len - 1]))
		a->name_len--;
	a->val_off = eq + 1;
	if (tok->brace)
		while (a->val_off < e && blank(b[a->val_off]))
			a->val_off++;
	a->val_len = e - a->val_off;
	if (!tok->brace && memchr(b + s, '{', e - s)) {
		policy_tbl_error(err, t, s, "'{' inside a value (quote the whole attribute: "
			  "{ name = value })");
		return -EINVAL;
	}
	return 0;
}

static bool name_is(const struct policy_tbl_reader *t, const struct attr *a, const char *name)
{
	return strlen(name) == a->name_len && !strncasecmp(t->buf + a->name_off, name, a->name_len);
}

static int add_match(struct policy_rule *r, char *pattern)
{
	char **m = realloc(r->match, (r->nmatch + 1) * sizeof(*m));

	if (!m) {
		free(pattern);
		return -ENOMEM;
	}
	r->match = m;
	m[r->nmatch++] = pattern;
	return 0;
}

/* A certificate or public-key digest: hex bytes, optionally ':'-separated; "AB:CD:..." out. */
static int digest_norm(const char *s, size_t len, char **out, size_t *bad)
{
	static const size_t sizes[] = { 16, 20, 28, 32, 48, 64 };	/* md5 ... sha512 */
	unsigned char bytes[64];
	size_t nb = 0, i = 0;
	bool ok = false;
	char *o;

	while (i < len) {
		if (nb == sizeof(bytes) || i + 1 >= len || !isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1])) {
			*bad = i;
			return -EINVAL;
		}
		bytes[nb++] = (unsigned char)strtoul((char[3]){ s[i], s[i + 1], 0 }, NULL, 16);
		i += 2;
		if (i < len && s[i] == ':') {
			if (i + 1 == len) {
				*bad = i;
				return -EINVAL;
			}
			i++;
		}
	}
	for (size_t k = 0; k < NELEM(sizes); k++)
		ok |= nb == sizes[k];
	if (!ok) {
		*bad = 0;
		return -EINVAL;
	}
	o = malloc(nb * 3);
	if (!o)
		return -ENOMEM;
	for (size_t k = 0; k < nb; k++)
		snprintf(o + 3 * k, 4, "%02X%s", bytes[k], k + 1 < nb ? ":" : "");
	*out = o;
	return 0;
}

static int parse_match(const struct policy_tbl_reader *t, const struct attr *a, struct policy_rule *r,
		       struct policy_error *err)
{
	const char *v = t->buf + a->val_off;
	char sep = r->level == POLICY_FINGERPRINT ? '|' : ':';
	size_t i = 0;

	while (i <= a->val_len) {
		size_t s = i, bad = 0;
		char *pat = NULL;
		int rc;

		while (i < a->val_len && v[i] != sep)
			i++;
		if (i == s) {
			policy_tbl_error(err, t, a->val_off + s, "empty match pattern (patterns are "
				  "separated by '%c')", sep);
			return -EINVAL;
		}
		if (r->level == POLICY_FINGERPRINT) {
			rc = digest_norm(v + s, i - s, &pat, &bad);
			if (rc == -EINVAL)
				policy_tbl_error(err, t, a->val_off + s + bad,
					  "invalid fingerprint '%.*s' (expected the hex digest "
					  "of 16, 20, 28, 32, 48 or 64 bytes, e.g. AB:CD:...)",
					  (int)(i - s), v + s);
		} else {
			char name[256], why[160];
			size_t off = v[s] == '.' ? 1 : 0;

			/* why is not shown: the column points at the offending character. */

			if (i - s == 8 && !strncasecmp(v + s, "hostname", 8))
				pat = strdup("hostname");
			else if (i - s == 7 && !strncasecmp(v + s, "nexthop", 7))
				pat = strdup("nexthop");
			else if (i - s == 11 && !strncasecmp(v + s, "dot-nexthop", 11))
				pat = strdup("dot-nexthop");
			else if (policy_domain_norm(v + s + off, i - s - off, name + off, &bad, why,
						    sizeof(why))) {
				policy_tbl_error(err, t, a->val_off + s + off + bad,
					  "invalid match pattern '%.*s' (expected hostname, "
					  "nexthop, dot-nexthop, a name or .domain)",
					  (int)(i - s), v + s);
				return -EINVAL;
			} else {
				if (off)
					name[0] = '.';
				pat = strdup(name);
			}
			rc = pat ? 0 : -ENOMEM;
		}
		if (rc || (rc = add_match(r, pat)))
			return rc;
		i++;
	}
	return 0;
}

static int parse_attr(const struct policy_tbl_reader *t, const struct attr *a, struct policy_rule *r,
		      struct policy_error *err)
{
	const char *v = t->buf + a->val_off;
	char why[256];
	size_t bad = 0;

	if (a->val_len == 0) {
		policy_tbl_error(err, t, a->name_off, "attribute '%.*s' has an empty value",
			  (int)a->name_len, t->buf + a->name_off);
		return -EINVAL;
	}
	if (name_is(t, a, "match")) {
		if (r->level != POLICY_FINGERPRINT && r->level != POLICY_VERIFY &&
		    r->level != POLICY_SECURE) {
			policy_tbl_error(err, t, a->name_off, "attribute 'match' is invalid at security "
				  "level '%s' (expected fingerprint, verify or secure)",
				  policy_level_name(r->level));
			return -EINVAL;
		}
		return parse_match(t, a, r, err);
	}
	if (name_is(t, a, "protocols") || name_is(t, a, "ciphers") || name_is(t, a, "exclude") ||
	    name_is(t, a, "servername")) {
		char **slot = name_is(t, a, "protocols") ? &r->protocols
			: name_is(t, a, "ciphers") ? &r->ciphers
			: name_is(t, a, "exclude") ? &r->exclude : &r->servername;
		char *val;

		if (*slot) {
			policy_tbl_error(err, t, a->name_off,
				  "attribute '%.*s' is specified more than once", (int)a->name_len,
				  t->buf + a->name_off);
			return -EINVAL;
		}
		val = strndup(v, a->val_len);
		if (!val)
			return -ENOMEM;
		/* As Postfix's extpar(EXTPAR_FLAG_NORMAL_WS): any whitespace inside a { } value
		 * is a plain space (one for one, so error columns stay right). */
		for (char *c = val; *c; c++)
			if (blank(*c))
				*c = ' ';
		*slot = val;
		if (slot == &r->protocols) {
			if (policy_protocols_parse(val, &r->min_version, &r->max_version, &bad, why,
						   sizeof(why)))
				goto bad;
		} else if (slot == &r->ciphers) {
			const char *g = policy_cipher_grade(v, a->val_len);

			if (!g) {
				snprintf(why, sizeof(why), "invalid cipher grade '%s' (expected "
					 "export, low, medium, high, null)", val);
				goto bad;
			}
			strcpy(val, g);	/* lower case; same length */
		} else if (slot == &r->exclude) {
			for (size_t i = 0; i < a->val_len; i++) {
				bool tok_start = i == 0 || strchr(SEPS ":", v[i - 1]);

				if (tok_start && strchr("!+-@", v[i])) {
					bad = i;
					snprintf(why, sizeof(why), "invalid '%c' at the start of a "
						 "cipher to exclude (expected cipher names)", v[i]);
					goto bad;
				}
				if (!isgraph((unsigned char)v[i]) && !blank(v[i])) {
					bad = i;
					snprintf(why, sizeof(why), "invalid byte in exclude=");
					goto bad;
				}
			}
		} else {
			char name[256];

			if (policy_domain_norm(v, a->val_len, name, &bad, why, sizeof(why)))
				goto bad;
			strcpy(val, name);	/* normalised is never longer */
		}
		return 0;
bad:
		policy_tbl_error(err, t, a->val_off + bad, "%.*s: %s", (int)a->name_len,
			  t->buf + a->name_off, why);
		return -EINVAL;
	}
	for (size_t i = 0; i < NELEM(unsupported); i++) {
		if (name_is(t, a, unsupported[i])) {
			policy_tbl_error(err, t, a->name_off, "attribute '%s' is not supported by tlsgate "
				  "(supported: " ATTRS_EXPECTED ")", unsupported[i]);
			return -EINVAL;
		}
	}
	policy_tbl_error(err, t, a->name_off, "unknown attribute '%.*s' (expected " ATTRS_EXPECTED ")",
		  (int)a->name_len, t->buf + a->name_off);
	return -EINVAL;
}

int policy_parse_key_level(const struct policy_tbl_reader *t, enum policy_dir dir, struct policy_rule *r,
		    size_t *pos, struct policy_tbl_tok *level_tok, struct policy_error *err)
{
	const char *expected =
		dir == POLICY_OUTBOUND ? policy_levels_expected : "none, may, encrypt";
	size_t keylen = 0, bad = 0;
	char why[256], lvl[32];
	enum policy_level level;
	int rc;

	while (keylen < t->blen && !blank(t->buf[keylen]))
		keylen++;
	rc = policy_key_parse(dir, t->buf, keylen, r, &bad, why, sizeof(why));
	if (rc) {
		if (rc == -EINVAL)
			policy_tbl_error(err, t, bad, "%s", why);
		return rc;
	}
	*pos = keylen;
	rc = policy_tbl_token(t, pos, SEPS, level_tok, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		policy_tbl_error(err, t, keylen, "missing security level after '%.*s' (expected %s)",
			  (int)keylen, t->buf, expected);
		return -EINVAL;
	}
	if (level_tok->brace || level_tok->len >= sizeof(lvl)) {
		policy_tbl_error(err, t, level_tok->start - level_tok->brace,
			  "expected a security level (%s)", expected);
		return -EINVAL;
	}
	memcpy(lvl, t->buf + level_tok->start, level_tok->len);
	lvl[level_tok->len] = '\0';
	if (policy_level_parse(lvl, &level)) {
		policy_tbl_error(err, t, level_tok->start, "unknown security level '%s' (expected %s)",
			  lvl, expected);
		return -EINVAL;
	}
	if (level == POLICY_DANE || level == POLICY_DANE_ONLY) {
		policy_tbl_error(err, t, level_tok->start, "security level '%s' is not supported yet "
			  "(expected %s)", policy_level_name(level), expected);
		return -EINVAL;
	}
	if (dir == POLICY_INBOUND && level > POLICY_ENCRYPT) {
		policy_tbl_error(err, t, level_tok->start,
			  "security level '%s' is not valid in the inbound table (expected %s)",
			  policy_level_name(level), expected);
		return -EINVAL;
	}
	r->level = level;
	return 0;
}

int policy_parse_outbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
				struct policy_error *err)
{
	struct policy_tbl_tok tok, level_tok;
	size_t pos;
	int rc;

	rc = policy_parse_key_level(t, POLICY_OUTBOUND, r, &pos, &level_tok, err);
	if (rc)
		return rc;
	/* Postfix ignores (with a warning) whatever follows "none": TLS is off anyway. */
	if (r->level == POLICY_NONE)
		return 0;
	while ((rc = policy_tbl_token(t, &pos, SEPS, &tok, err)) > 0) {
		struct attr a;

		rc = split_attr(t, &tok, &a, err);
		if (rc)
			return rc;
		rc = parse_attr(t, &a, r, err);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (r->level == POLICY_FINGERPRINT && r->nmatch == 0) {
		policy_tbl_error(err, t, level_tok.start, "security level 'fingerprint' needs "
			  "match=DIGEST (no fingerprints to match)");
		return -EINVAL;
	}
	return 0;
}
