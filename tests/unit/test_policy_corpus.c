// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Postfix comparison corpus (tests/unit/data/policy-corpus/tls_policy): every entry's "#@"
 * line says what Postfix 3.7 does with it and what tlsgate must do.  Here: tlsgate's side --
 * the level it applies for the key Postfix looks up, whether it warned about the entry -- and
 * that tlsgate is never weaker than Postfix.  The postmap side is tests/e2e/test_policy_postmap.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define CORPUS "tests/unit/data/policy-corpus/tls_policy"

struct entry {
	unsigned int note_line, line, end;	/* the "#@" line; the entry from line, before end */
	char lookup[256], postmap[16], postfix[32], tlsgate[32], warn[8], since[16];
};

static void field(const char *note, const char *name, char *out, size_t len)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	out[0] = '\0';
	p = strstr(note, key);
	if (p)
		snprintf(out, len, "%.*s", (int)strcspn(p + strlen(key), " \n"), p + strlen(key));
}

/* The annotated entries, in file order. */
static size_t read_corpus(struct entry *e, size_t max)
{
	FILE *f = fopen(CORPUS, "r");
	char buf[1024];
	unsigned int ln = 0;
	size_t n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		ln++;
		if (n && !e[n - 1].line && buf[0] != '#')
			e[n - 1].line = ln;	/* the first line after the note: the entry */
		if (strncmp(buf, "#@", 2))
			continue;
		if (n)
			e[n - 1].end = ln;	/* only comments lie between an entry and a note */
		assert_true(n < max);
		memset(&e[n], 0, sizeof(e[n]));
		e[n].note_line = ln;
		field(buf, "lookup", e[n].lookup, sizeof(e[n].lookup));
		field(buf, "postmap", e[n].postmap, sizeof(e[n].postmap));
		field(buf, "postfix", e[n].postfix, sizeof(e[n].postfix));
		field(buf, "tlsgate", e[n].tlsgate, sizeof(e[n].tlsgate));
		field(buf, "warn", e[n].warn, sizeof(e[n].warn));
		field(buf, "since", e[n].since, sizeof(e[n].since));
		n++;
	}
	if (n && !e[n - 1].end)
		e[n - 1].end = ln + 1;
	fclose(f);
	return n;
}

/* Strictness for "never weaker": none < may < encrypt < fingerprint/verify/secure < defer. */
static int rank(const char *level)
{
	static const char *const order[] = { "none", "may", "encrypt", "fingerprint", "verify",
					     "secure" };

	if (!strcmp(level, "defer"))
		return 10;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(level, order[i]))
			return i >= 3 ? 3 : (int)i; /* the certificate checks are not ordered */
	fail_msg("unknown level '%s'", level);
	return -1;
}

/* What tlsgate answers for Postfix's lookup key: "[host]", "[host]:port", a domain, or
 * ".parent" (looked up by Postfix for any name below it). */
static struct policy_match lookup(const struct policy *p, const char *key)
{
	char host[256];
	const char *close;
	unsigned int port = 0;

	if (key[0] == '.') {	/* Postfix's parent walk: some name below it */
		snprintf(host, sizeof(host), "a%s", key);
		return policy_match_domain(p, host);
	}
	if (key[0] != '[')
		return policy_match_domain(p, key);
	close = strchr(key, ']');
	assert_non_null(close);
	snprintf(host, sizeof(host), "%.*s", (int)(close - key - 1), key + 1);
	if (close[1] == ':')
		port = (unsigned int)atoi(close + 2);
	return policy_match_host(p, host, (uint16_t)port);
}

static bool warned_about(const struct policy *p, const struct entry *e)
{
	for (size_t i = 0; i < policy_warning_count(p); i++) {
		const char *w = policy_warning_at(p, i), *c = strchr(w, ':');
		unsigned int l = c ? (unsigned int)atoi(c + 1) : 0;

		if (l >= e->line && l < e->end)
			return true;
	}
	return false;
}

static void test_corpus(void **state)
{
	struct entry e[80];
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	size_t n = read_corpus(e, 80);
	int bad = 0;

	(void)state;
	assert_true(n >= 50);
	/* The whole corpus loads: no entry in it refuses the table. */
	if (policy_load(CORPUS, NULL, &p, &err))
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		struct policy_match m;
		const char *got;
		bool this_rule, warned = warned_about(p, &e[i]);

		assert_true(e[i].line > 0);
		assert_true(e[i].lookup[0] && e[i].postfix[0] && e[i].tlsgate[0] && e[i].warn[0]);
		if (warned != !strcmp(e[i].warn, "yes")) {
			print_error("%s:%u: warned=%d, want warn=%s\n", CORPUS, e[i].line, warned,
				    e[i].warn);
			bad++;
		}
		if (!strcmp(e[i].tlsgate, "n/a"))
			continue;	/* a key tlsgate never looks up (it warned: checked above) */
		m = lookup(p, e[i].lookup);
		got = policy_level_name(m.rule->level);
		this_rule = m.rule->line == e[i].line;
		if (!strcmp(e[i].tlsgate, "default") ? strcmp(m.how, "default") != 0
						      : strcmp(got, e[i].tlsgate) != 0) {
			print_error("%s:%u: lookup %s: tlsgate applies %s (rule line %u, %s), want "
				    "%s\n", CORPUS, e[i].line, e[i].lookup, got, m.rule->line, m.how,
				    e[i].tlsgate);
			bad++;
		}
		/* postmap=this: the entry itself decides in tlsgate too, unless tlsgate is
		 * stricter with another entry of the same key (checked by the level above). */
		if (!strcmp(e[i].postmap, "this") && !this_rule) {
			print_error("%s:%u: lookup %s answered by line %u, not this entry\n", CORPUS,
				    e[i].line, e[i].lookup, m.rule->line);
			bad++;
		}
		/* Never weaker than Postfix (than the Postfix versions that read the form). */
		/* dane-only: the connection gets encrypt and each recipient is deferred unless
		 * DNSSEC-validated TLSA records authenticate the MX (daemon/session_dest.c) --
		 * Postfix's defer when there are none, taken per recipient */
		if (rank(got) < rank(e[i].postfix) && m.rule->written != POLICY_DANE_ONLY) {
			print_error("%s:%u: lookup %s: tlsgate %s is weaker than Postfix %s\n",
				    CORPUS, e[i].line, e[i].lookup, got, e[i].postfix);
			bad++;
		}
	}
	policy_put(p);
	assert_int_equal(bad, 0);
}

/* The corpus through `policy check`: warnings only, each naming file and line. */
static void test_corpus_diagnostics(void **state)
{
	struct policy_diags d = { 0 };
	struct policy_rule *rules = NULL;
	FILE *f = fopen(CORPUS, "r");
	static char text[65536];
	size_t len, n = 0;

	(void)state;
	assert_non_null(f);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	assert_int_equal(policy_parse_table_diags(POLICY_OUTBOUND, "tls_policy", text, len, &rules,
						  &n, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_true(d.nwarnings >= 25);
	for (size_t i = 0; i < d.n; i++)
		assert_true(!strncmp(d.v[i].msg, "tls_policy:", 11));
	policy_rules_free(rules, n);
	policy_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_diagnostics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
