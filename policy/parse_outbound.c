// SPDX-License-Identifier: GPL-2.0-only
/*
 * One entry of a Postfix smtp_tls_policy_maps source file:
 *
 *     KEY  LEVEL [NAME=VALUE | { NAME = VALUE }]...
 *
 * parsed as Postfix's smtp_tls_policy.c does (tokens separated by commas and whitespace, names
 * without regard to case, "none" ignores what follows it, match= only at fingerprint/verify/
 * secure and split on '|' resp. ':', the single-valued attributes at most once), and the values
 * are validated now (cipher grade, protocol names, digests, names).
 *
 * In a table (t->diags set) an entry is never a reason to refuse the whole table when Postfix
 * reads it (policy.h): what postmap skips is skipped, what makes Postfix's smtp client defer
 * the mail (a bad level or attribute, or one tlsgate cannot honour) becomes a defer rule for the
 * key, with a warning.  dane and dane-only are levels like the others: the connection gets
 * may or encrypt, the recipients' TLSA records are checked per RCPT.  A single rule from the CLI (no diags) gets errors instead, so nothing is stored
 * that would only defer.  Keys in tlsgate's own address syntax stay errors: Postfix never
 * reads them, and dropping an address rule would weaken only tlsgate.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/parse.h"

#define SEPS ", \t\r\n\v\f"
#define ATTRS_EXPECTED "protocols, ciphers, exclude, match, servername, mode"

/* Postfix attributes that change neither who may see the mail nor how the server is checked:
 * ignored with a warning (connection_reuse: Postfix >= 3.4; enable_rpk: 3.9, tlsgate asks for
 * no raw keys, so the server sends its certificate and match= still checks it; the TLSRPT ones:
 * 3.10, reporting only). */
static const struct {
	const char *name, *why;
} ignored[] = {
	{ "connection_reuse", "tlsgate does not reuse TLS connections" },
	{ "enable_rpk", "tlsgate does not ask for raw public keys (Postfix >= 3.9)" },
	{ "policy_type", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
	{ "policy_domain", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
	{ "policy_ttl", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
	{ "policy_string", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
	{ "mx_host_pattern", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
	{ "policy_failure", "TLSRPT reporting is not implemented (Postfix >= 3.10)" },
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
		      bool *mode_seen, struct policy_error *err)
{
	const char *v = t->buf + a->val_off;
	char why[256];
	size_t bad = 0;

	if (a->val_len == 0 && (name_is(t, a, "protocols") || name_is(t, a, "exclude"))) {
		/* Postfix takes these as "no restriction" (tls_proto_mask_lims("") excludes
		 * nothing); tlsgate's defaults are at least as strict. */
		policy_tbl_warn(t, a->name_off, "empty %.*s= ignored: tlsgate's default applies "
				"(Postfix reads it as no restriction)", (int)a->name_len,
				t->buf + a->name_off);
		return 0;
	}
	if (a->val_len == 0) {
		policy_tbl_error(err, t, a->name_off, "attribute '%.*s' has an empty value",
			  (int)a->name_len, t->buf + a->name_off);
		return -EINVAL;
	}
	if (name_is(t, a, "mode")) {
		/* tlsgate's own (docs/POLICY.md "Monitor mode"); Postfix defers such an entry. */
		if (*mode_seen) {
			policy_tbl_error(err, t, a->name_off, "attribute 'mode' is specified more "
					 "than once");
			return -EINVAL;
		}
		*mode_seen = true;
		if (policy_mode_parse(v, a->val_len, &r->monitor)) {
			policy_tbl_error(err, t, a->val_off, "mode: invalid value '%.*s' (expected "
					 "monitor or enforce)", (int)a->val_len, v);
			return -EINVAL;
		}
		if (r->monitor && r->level == POLICY_MAY)
			policy_tbl_warn(t, a->name_off, "mode=monitor has no effect at level may "
					"(it refuses nothing)");
		return 0;
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
			char note[300];

			if (policy_protocols_range(val, &r->min_version, &r->max_version, &bad, why,
						   sizeof(why), note, sizeof(note)))
				goto bad;
			if (note[0])
				policy_tbl_warn(t, a->val_off, "%s", note);
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
	if (name_is(t, a, "connection_reuse") &&
	    !((a->val_len == 3 && !strncasecmp(v, "yes", 3)) ||
	      (a->val_len == 2 && !strncasecmp(v, "no", 2)))) {
		policy_tbl_error(err, t, a->val_off, "connection_reuse: bad value '%.*s' "
				 "(expected yes or no)", (int)a->val_len, v);
		return -EINVAL;
	}
	for (size_t i = 0; i < NELEM(ignored); i++) {
		if (name_is(t, a, ignored[i].name)) {
			policy_tbl_warn(t, a->name_off, "attribute '%s' ignored: %s",
					ignored[i].name, ignored[i].why);
			return 0;
		}
	}
	if (name_is(t, a, "tafile")) {
		/* Trust anchors narrow which CAs count; ignoring them would trust them all. */
		policy_tbl_error(err, t, a->name_off, "attribute 'tafile' is not supported by "
				 "tlsgate (it cannot narrow the trusted CAs to a file)");
		return -EINVAL;
	}
	policy_tbl_error(err, t, a->name_off, "unknown attribute '%.*s' (expected " ATTRS_EXPECTED ")",
		  (int)a->name_len, t->buf + a->name_off);
	return -EINVAL;
}

/* Key, then level.  1 (table mode only, warning given): the entry has no level, which postmap
 * skips ("expected format: key whitespace value"). */
static int key_level(const struct policy_tbl_reader *t, enum policy_dir dir, struct policy_rule *r,
		     size_t *pos, struct policy_tbl_tok *level_tok, bool *key_ok,
		     struct policy_error *err)
{
	const char *expected =
		dir == POLICY_OUTBOUND ? policy_levels_expected : "none, may, encrypt";
	size_t keylen = 0, bad = 0;
	char why[256], lvl[32];
	enum policy_level level;
	int rc;

	*key_ok = false;
	while (keylen < t->blen && !blank(t->buf[keylen]))
		keylen++;
	rc = policy_key_parse(dir, t->buf, keylen, r, &bad, why, sizeof(why));
	if (rc) {
		if (rc == -EINVAL)
			policy_tbl_error(err, t, bad, "%s", why);
		return rc;
	}
	*key_ok = true;
	*pos = keylen;
	rc = policy_tbl_token(t, pos, SEPS, level_tok, err);
	if (rc < 0)
		return rc;
	if (rc == 0 && t->diags && dir == POLICY_OUTBOUND) {
		policy_tbl_warn(t, 0, "'%.*s' has no value (expected format: key whitespace "
				"value); entry ignored, as postmap does", (int)keylen, t->buf);
		return 1;
	}
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
	if (dir == POLICY_INBOUND && level > POLICY_ENCRYPT) {
		policy_tbl_error(err, t, level_tok->start,
			  "security level '%s' is not valid in the inbound table (expected %s)",
			  policy_level_name(level), expected);
		return -EINVAL;
	}
	r->level = level;
	return 0;
}

int policy_parse_key_level(const struct policy_tbl_reader *t, enum policy_dir dir,
			   struct policy_rule *r, size_t *pos, struct policy_tbl_tok *level_tok,
			   struct policy_error *err)
{
	bool key_ok;
	int rc = key_level(t, dir, r, pos, level_tok, &key_ok, err);

	return rc > 0 ? -EINVAL : rc;
}

/* Level and attributes after the key; r->level is the level as written. */
static int outbound_body(const struct policy_tbl_reader *t, struct policy_rule *r, size_t pos,
			 const struct policy_tbl_tok *level_tok, struct policy_error *err)
{
	struct policy_tbl_tok tok;
	bool braces = false, mode_seen = false;
	int rc;

	/* Postfix ignores (with a warning) whatever follows "none": TLS is off anyway. */
	if (r->level == POLICY_NONE)
		return 0;
	while ((rc = policy_tbl_token(t, &pos, SEPS, &tok, err)) > 0) {
		struct attr a;

		if (tok.brace && !braces) {
			braces = true;
			policy_tbl_warn(t, tok.start - 1, "'{ name = value }' is read by Postfix "
					"3.10 and later; Postfix 3.9 and older refuse this entry "
					"(\"malformed attribute/value pair\") and defer its mail");
		}
		rc = split_attr(t, &tok, &a, err);
		if (rc)
			return rc;
		rc = parse_attr(t, &a, r, &mode_seen, err);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (r->level == POLICY_FINGERPRINT && r->nmatch == 0) {
		policy_tbl_error(err, t, level_tok->start, "security level 'fingerprint' needs "
			  "match=DIGEST (no fingerprints to match)");
		return -EINVAL;
	}
	return 0;
}

/* A key whose error refuses the table: an address (tlsgate's own syntax), or a name Postfix
 * could look up that tlsgate cannot match. */
static bool address_form(const char *s, size_t len)
{
	size_t colons = 0;

	for (size_t i = 0; i < len; i++) {
		/* Not an address, but Postfix (smtputf8) may look a UTF-8 name up: ignoring it
		 * could be weaker than Postfix, so it stays an error ("write the xn-- form"). */
		if ((unsigned char)s[i] >= 0x80)
			return true;
		colons += s[i] == ':';
	}
	return s[0] != '[' && (memchr(s, '/', len) || colons >= 2 || isdigit((unsigned char)s[0]));
}

/*
 * Does the entry say mode=monitor anywhere after its key?  For an entry that is refused: its
 * other attributes are dropped, but the admin asked for it not to refuse, whatever came first.
 */
static bool entry_says_monitor(const struct policy_tbl_reader *t)
{
	size_t pos = strcspn(t->buf, " \t\r\n\v\f");
	struct policy_error ignored_err;
	struct policy_tbl_tok tok;
	bool monitor = false;

	while (policy_tbl_token(t, &pos, SEPS, &tok, &ignored_err) > 0) {
		struct attr a;
		bool m;

		if (split_attr(t, &tok, &a, &ignored_err) || !name_is(t, &a, "mode"))
			continue;
		if (!policy_mode_parse(t->buf + a.val_off, a.val_len, &m))
			monitor = m;
	}
	return monitor;
}

/* The entry cannot be honoured but its key is good: defer mail to it, as Postfix does. */
static int defer_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
		       const struct policy_error *why)
{
	enum policy_level written = r->written ? r->written : r->level;
	bool monitor = entry_says_monitor(t);
	char msg[sizeof(why->msg)];

	snprintf(msg, sizeof(msg), "%.300s; entry refused: mail to '%s' is %s until it is fixed",
		 why->msg, r->key, monitor ? "delivered as may would (mode=monitor: logged as "
		 "would have been refused)" : "deferred (4xx)");
	policy_diag_push(t->diags, false, msg);
	free(r->ciphers);
	free(r->exclude);
	for (size_t i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	free(r->match);
	free(r->servername);
	free(r->protocols);
	r->ciphers = r->exclude = r->servername = r->protocols = NULL;
	r->match = NULL;
	r->nmatch = 0;
	r->min_version = r->max_version = 0;
	r->written = written;
	r->level = POLICY_DEFER;
	r->monitor = monitor;
	return 0;
}

int policy_parse_outbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
				struct policy_error *err)
{
	struct policy_tbl_tok level_tok;
	size_t pos = 0, keylen = strcspn(t->buf, " \t\r\n\v\f");
	bool key_ok, dot;
	int rc;

	/* Postfix looks keys up without a trailing dot: "example.org." never matches. */
	dot = keylen > 1 && (t->buf[keylen - 1] == '.' ||
			     (t->buf[0] == '[' && memmem(t->buf, keylen, ".]", 2)));
	rc = key_level(t, POLICY_OUTBOUND, r, &pos, &level_tok, &key_ok, err);
	if (rc > 0)
		return 1;
	if (rc == -EINVAL && t->diags && !key_ok && !address_form(t->buf, keylen)) {
		/* Not a name Postfix's lookups could produce (e.g. example.org:587, a
		 * transport next-hop with a port: tlsgate only sees MX connections). */
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%.400s; entry ignored", err->msg);
		policy_diag_push(t->diags, false, msg);
		return 1;
	}
	if (rc == -EINVAL && t->diags && key_ok)
		return defer_entry(t, r, err);
	if (rc)
		return rc;
	rc = outbound_body(t, r, pos, &level_tok, err);
	if (rc == -EINVAL && t->diags)
		return defer_entry(t, r, err);
	if (rc)
		return rc;
	/*
	 * DANE is decided per recipient, once the domain's TLSA records are known
	 * (daemon/session_dest.c): what the connection itself must be is the level Postfix
	 * applies without TLSA records (dane: may), or TLS (dane-only: no TLSA, no delivery).
	 */
	if (r->level == POLICY_DANE) {
		r->written = POLICY_DANE;
		r->level = POLICY_MAY;
	} else if (r->level == POLICY_DANE_ONLY) {
		r->written = POLICY_DANE_ONLY;
		r->level = POLICY_ENCRYPT;
	}
	if (dot && t->diags) {
		if (r->level < POLICY_ENCRYPT) {
			policy_tbl_warn(t, keylen - 1, "Postfix never matches a key with a trailing "
					"dot; entry ignored as in Postfix (write '%s')", r->key);
			return 1;
		}
		policy_tbl_warn(t, keylen - 1, "Postfix never matches a key with a trailing dot; "
				"tlsgate applies this %s entry to '%s' (stricter than Postfix)",
				policy_level_name(r->level), r->key);
	}
	return 0;
}
