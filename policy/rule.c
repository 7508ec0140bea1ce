// SPDX-License-Identifier: GPL-2.0-only
/*
 * A rule's life outside a snapshot: parse one entry (`policy add`), format it back as a table
 * line (`policy show`, persistence), copy, compare, free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse.h"

void policy_rule_clear(struct policy_rule *r)
{
	if (!r)
		return;
	free(r->key);
	free(r->ciphers);
	free(r->exclude);
	for (size_t i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	free(r->match);
	free(r->servername);
	free(r->file);
	free(r->protocols);
	free(r->host);
	memset(r, 0, sizeof(*r));
}

void policy_rules_free(struct policy_rule *rules, size_t n)
{
	if (!rules)
		return;
	for (size_t i = 0; i < n; i++)
		policy_rule_clear(&rules[i]);
	free(rules);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int policy_rule_copy(struct policy_rule *dst, const struct policy_rule *src)
{
	*dst = *src;
	dst->key = dst->ciphers = dst->exclude = dst->servername = dst->file = NULL;
	dst->protocols = dst->host = NULL;
	dst->match = NULL;
	dst->nmatch = 0;
	if (dup_str(&dst->key, src->key) || dup_str(&dst->ciphers, src->ciphers) ||
	    dup_str(&dst->exclude, src->exclude) || dup_str(&dst->servername, src->servername) ||
	    dup_str(&dst->file, src->file) || dup_str(&dst->protocols, src->protocols) ||
	    dup_str(&dst->host, src->host))
		goto nomem;
	if (src->nmatch) {
		dst->match = calloc(src->nmatch, sizeof(*dst->match));
		if (!dst->match)
			goto nomem;
		for (; dst->nmatch < src->nmatch; dst->nmatch++)
			if (dup_str(&dst->match[dst->nmatch], src->match[dst->nmatch]))
				goto nomem;
	}
	return 0;
nomem:
	policy_rule_clear(dst);
	return -ENOMEM;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool policy_rule_equal(const struct policy_rule *a, const struct policy_rule *b)
{
	if (a->dir != b->dir || a->key_type != b->key_type || a->level != b->level ||
	    !str_eq(a->key, b->key) || a->port != b->port || a->family != b->family ||
	    memcmp(a->addr, b->addr, sizeof(a->addr)) || a->prefix_len != b->prefix_len ||
	    a->min_version != b->min_version || a->max_version != b->max_version ||
	    !str_eq(a->ciphers, b->ciphers) || !str_eq(a->exclude, b->exclude) ||
	    !str_eq(a->servername, b->servername) || !str_eq(a->protocols, b->protocols) ||
	    !str_eq(a->host, b->host) || a->nmatch != b->nmatch || a->written != b->written ||
	    a->monitor != b->monitor)
		return false;
	for (size_t i = 0; i < a->nmatch; i++)
		if (!str_eq(a->match[i], b->match[i]))
			return false;
	return true;
}

/* Append to buf like snprintf, tracking the length that would have been written. */
struct sbuf {
	char *buf;
	size_t len, used;
};

static void sb_add(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->used < s->len ? s->buf + s->used : NULL,
		      s->used < s->len ? s->len - s->used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->used += (size_t)n;
}

static void sb_attr(struct sbuf *s, const char *name, const char *val)
{
	if (!val)
		return;
	if (strpbrk(val, ", \t"))
		sb_add(s, " { %s = %s }", name, val);
	else
		sb_add(s, " %s=%s", name, val);
}

int policy_rule_format(const struct policy_rule *r, char *buf, size_t len)
{
	struct sbuf s = { .buf = buf, .len = len };

	if (len)
		buf[0] = '\0';
	sb_add(&s, "%s %s", r->key ? r->key : "(default)",
	       policy_level_name(r->written ? r->written : r->level));
	sb_attr(&s, "protocols", r->protocols);
	sb_attr(&s, "ciphers", r->ciphers);
	sb_attr(&s, "exclude", r->exclude);
	if (r->nmatch) {
		char sep = r->level == POLICY_FINGERPRINT ? '|' : ':';

		sb_add(&s, " match=");
		for (size_t i = 0; i < r->nmatch; i++)
			sb_add(&s, "%s%s", i ? (char[2]){ sep, 0 } : "", r->match[i]);
	}
	sb_attr(&s, "servername", r->servername);
	/* none ignores its attributes (as Postfix); elsewhere the mode is part of the line */
	if (r->monitor && r->level != POLICY_NONE)
		sb_add(&s, " mode=monitor");
	return s.used > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)s.used;
}

int policy_parse_entry(const struct policy_tbl_reader *t, enum policy_dir dir, struct policy_rule *r,
		       struct policy_error *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->dir = dir;
	rc = dir == POLICY_OUTBOUND ? policy_parse_outbound_entry(t, r, err)
				    : policy_parse_inbound_entry(t, r, err);
	if (rc == -ENOMEM)
		policy_errorf(err, "%s: out of memory", t->name);
	if (rc) {
		policy_rule_clear(r);
		return rc;	/* 1: skipped, as Postfix would (table mode; warning given) */
	}
	r->dir = dir;
	r->line = policy_tbl_first_line(t);
	return 0;
}

int policy_rule_parse(enum policy_dir dir, const char *name, const char *text,
		      struct policy_rule *out, struct policy_error *err)
{
	struct policy_error local;
	struct policy_tbl_reader t;
	int rc;

	if (!err)
		err = &local;
	memset(out, 0, sizeof(*out));
	policy_tbl_init(&t, name, text, strlen(text));
	rc = policy_tbl_next(&t, err);
	if (rc == 0) {
		policy_errorf(err, "%s:1:1: empty rule (expected KEY LEVEL [ATTRIBUTE=VALUE...])",
			      name);
		rc = -EINVAL;
	}
	if (rc < 0)
		goto out;
	rc = policy_parse_entry(&t, dir, out, err);
	if (rc)
		goto out;
	out->line = 0;
	rc = policy_tbl_next(&t, err);
	if (rc > 0) {
		policy_rule_clear(out);
		policy_tbl_error(err, &t, 0, "more than one rule (one rule per command)");
		rc = -EINVAL;
	} else if (rc < 0) {
		policy_rule_clear(out);
	}
out:
	policy_tbl_free(&t);
	return rc;
}

/* Which of two rules that both apply wins (policy.h states the precedence). */
static int specificity(const struct policy_rule *r)
{
	switch (r->key_type) {
	case POLICY_KEY_HOST:
		return r->port ? 6 : 5;
	case POLICY_KEY_DOMAIN:
		return 4;
	case POLICY_KEY_SUBDOMAINS:
		return 3;
	case POLICY_KEY_ADDR:
		return 2;
	case POLICY_KEY_DEFAULT:
	default:
		return 0;
	}
}

bool policy_rule_beats(const struct policy_rule *a, const struct policy_rule *b)
{
	enum policy_level ea = policy_rule_enforced_level(a), eb = policy_rule_enforced_level(b);
	int sa = specificity(a), sb = specificity(b);

	/* What is enforced first: a monitor rule never takes a connection from an enforced rule
	 * that refuses more (its would-be refusals then go unreported: the real one applies). */
	if (ea != eb)
		return ea > eb;
	if (a->level != b->level)
		return a->level > b->level;
	if (sa != sb)
		return sa > sb;
	if (a->key_type == POLICY_KEY_ADDR && a->prefix_len != b->prefix_len)
		return a->prefix_len > b->prefix_len;
	return false;
}
