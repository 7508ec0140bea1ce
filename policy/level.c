// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy vocabulary: security levels, TLS protocol names and the protocols= syntax, cipher
 * grades.  Names are matched without regard to case, as Postfix does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

static const char *const level_names[] = {
	[POLICY_NONE] = "none",		[POLICY_MAY] = "may",
	[POLICY_ENCRYPT] = "encrypt",	[POLICY_FINGERPRINT] = "fingerprint",
	[POLICY_VERIFY] = "verify",	[POLICY_SECURE] = "secure",
	[POLICY_DANE] = "dane",		[POLICY_DANE_ONLY] = "dane-only",
	[POLICY_DEFER] = "defer",
};

const char policy_levels_expected[] = "none, may, encrypt, fingerprint, verify, secure";

const char *policy_level_name(enum policy_level l)
{
	if ((size_t)l >= NELEM(level_names))
		return "?";
	return level_names[l];
}

int policy_level_parse(const char *s, enum policy_level *out)
{
	/* "defer" is what tlsgate applies, never a level a table can ask for. */
	for (size_t i = 0; i <= POLICY_DANE_ONLY; i++) {
		if (!strcasecmp(s, level_names[i])) {
			*out = (enum policy_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int policy_mode_parse(const char *s, size_t n, bool *monitor)
{
	if (n == 7 && !strncasecmp(s, "monitor", 7))
		*monitor = true;
	else if (n == 7 && !strncasecmp(s, "enforce", 7))
		*monitor = false;
	else
		return -EINVAL;
	return 0;
}

/* Messages quote what the table said; a table can hold anything, a log line must not. */
void policy_error_sanitize(struct policy_error *err)
{
	for (char *c = err->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
}

void policy_errorf(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	policy_error_sanitize(err);
}

/* Postfix's protocol names, oldest first. */
static const struct {
	const char *name;
	int version;
} protocols[] = {
	{ "SSLv2", 0x0002 }, { "SSLv3", 0x0300 },   { "TLSv1", 0x0301 },
	{ "TLSv1.1", 0x0302 }, { "TLSv1.2", 0x0303 }, { "TLSv1.3", 0x0304 },
};

#define PROTO_EXPECTED "SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"

static int proto_index(const char *s, size_t len)
{
	for (size_t i = 0; i < NELEM(protocols); i++)
		if (strlen(protocols[i].name) == len && !strncasecmp(s, protocols[i].name, len))
			return (int)i;
	return -1;
}

int policy_tls_version_parse(const char *s, size_t len)
{
	int i = proto_index(s, len);

	return i < 0 ? -EINVAL : protocols[i].version;
}

const char *policy_tls_version_name(int version)
{
	for (size_t i = 0; i < NELEM(protocols); i++)
		if (protocols[i].version == version)
			return protocols[i].name;
	return NULL;
}

const char *policy_cipher_grade(const char *s, size_t len)
{
	static const char *const grades[] = { "export", "low", "medium", "high", "null" };

	for (size_t i = 0; i < NELEM(grades); i++)
		if (strlen(grades[i]) == len && !strncasecmp(s, grades[i], len))
			return grades[i];
	return NULL;
}

/*
 * protocols= as Postfix reads it: tokens separated by ':' (or ',', ' '), each "NAME" (include
 * only these), "!NAME" (exclude), ">=NAME" or "<=NAME" (bounds, Postfix >= 3.6).  OpenSSL only
 * takes a minimum and a maximum, so the allowed set must be contiguous; a gap is refused rather
 * than silently widened (policy_protocols_range narrows it instead: see there).  SSLv2 is
 * ignored for the gap check: nothing speaks it any more.  The
 * bounds come out as 0 where the set reaches the oldest (SSLv3) or newest known version, so
 * that versions newer than this table stay allowed, as in Postfix.
 */
int policy_protocols_parse(const char *s, int *min_version, int *max_version, size_t *bad,
			   char *why, size_t whylen)
{
	return policy_protocols_range(s, min_version, max_version, bad, why, whylen, NULL, 0);
}

/*
 * A gap in a table's protocols= ("!TLSv1.1" leaves TLSv1 and TLSv1.2-1.3): Postfix passes the
 * exclusion to OpenSSL as SSL_OP_NO_TLSv1_1, and an OpenSSL 3.0 client then offers only the
 * *oldest* contiguous run (TLSv1 alone; tested with `openssl s_client -no_tls1_1`), the
 * opposite of what such a line means.  tlsgate takes the newest run (TLSv1.2-TLSv1.3): only
 * versions the line allows, never an older one than Postfix would use.
 */
int policy_protocols_range(const char *s, int *min_version, int *max_version, size_t *bad,
			   char *why, size_t whylen, char *note, size_t notelen)
{
	bool allowed[NELEM(protocols)], include_seen = false, included[NELEM(protocols)] = { 0 };
	size_t pos = 0, n = strlen(s);
	int lo = 0, hi = (int)NELEM(protocols) - 1, first = -1, last = -1, gap_below = -1;

	for (size_t i = 0; i < NELEM(protocols); i++)
		allowed[i] = true;
	while (pos < n) {
		size_t start, len, name_off;
		int idx;

		while (pos < n && strchr(":, \t", s[pos]))
			pos++;
		if (pos >= n)
			break;
		start = pos;
		while (pos < n && !strchr(":, \t", s[pos]))
			pos++;
		len = pos - start;
		name_off = 0;
		if (s[start] == '!')
			name_off = 1;
		else if (len >= 2 && (!strncmp(s + start, ">=", 2) || !strncmp(s + start, "<=", 2)))
			name_off = 2;
		idx = proto_index(s + start + name_off, len - name_off);
		if (idx < 0) {
			*bad = start + name_off;
			snprintf(why, whylen, "unknown protocol '%.*s' (expected " PROTO_EXPECTED
				 ", optionally with !, >= or <=)", (int)(len - name_off),
				 s + start + name_off);
			return -EINVAL;
		}
		if (name_off == 1) {
			allowed[idx] = false;
		} else if (name_off == 2) {
			if (s[start] == '>')
				lo = idx > lo ? idx : lo;
			else
				hi = idx < hi ? idx : hi;
		} else {
			include_seen = true;
			included[idx] = true;
		}
	}
	for (int i = 0; i < (int)NELEM(protocols); i++) {
		if (include_seen && !included[i])
			allowed[i] = false;
		if (i < lo || i > hi)
			allowed[i] = false;
	}
	if (note && notelen)
		note[0] = '\0';
	for (int i = 1; i < (int)NELEM(protocols); i++) {	/* from SSLv3: see above */
		if (!allowed[i])
			continue;
		if (first < 0)
			first = i;
		else if (last != i - 1) {
			if (!note) {
				*bad = 0;
				snprintf(why, whylen,
					 "protocols '%s' leave a gap between %s and %s that OpenSSL "
					 "cannot express (allow a contiguous range, e.g. >=TLSv1.2)",
					 s, protocols[last].name, protocols[i].name);
				return -EINVAL;
			}
			if (gap_below < 0)
				gap_below = last;	/* the oldest run ends here */
			first = i;	/* the newest run wins */
		}
		last = i;
	}
	if (first < 0) {
		*bad = 0;
		snprintf(why, whylen, "protocols '%s' exclude every protocol version", s);
		return -EINVAL;
	}
	if (gap_below >= 0)
		snprintf(note, notelen,
			 "protocols '%s' leave a gap that OpenSSL cannot express: tlsgate uses the "
			 "newest contiguous part, %s%s%s (Postfix with OpenSSL 3 would offer %s and "
			 "older only)", s, protocols[first].name,
			 last == (int)NELEM(protocols) - 1 ? " and newer" : " to ",
			 last == (int)NELEM(protocols) - 1 ? "" : protocols[last].name,
			 protocols[gap_below].name);
	*min_version = first == 1 ? 0 : protocols[first].version;
	*max_version = last == (int)NELEM(protocols) - 1 ? 0 : protocols[last].version;
	return 0;
}
