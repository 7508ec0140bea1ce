// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/ parsers: the valid corpora (Postfix policy files as admins write them) parse to
 * exactly the rules in the .expect files; every file of the invalid corpora is refused with the
 * message on its "# expect:" line (file:line:column and what was expected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "policy/policy.h"

#define DATA "tests/unit/data/policy/"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int has_suffix(const struct dirent *d, const char *suffix)
{
	size_t n = strlen(d->d_name), s = strlen(suffix);

	return n > s && !strcmp(d->d_name + n - s, suffix);
}

static int is_table(const struct dirent *d)
{
	return has_suffix(d, ".tls_policy") || has_suffix(d, ".policy");
}

/* Each valid table parses; its rules, formatted, are the lines of NAME.expect. */
static void check_valid_dir(const char *dir, enum policy_dir pdir, int *files)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, is_table, alphasort);

	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		char path[512], expect_path[512], line[1024];
		struct policy_rule *rules = NULL;
		struct policy_error err = { 0 };
		size_t len, nrules = 0, elen;
		char *text, *expect, *dot;
		char *save = NULL, *want;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		snprintf(expect_path, sizeof(expect_path), "%s", path);
		dot = strrchr(expect_path, '.');
		snprintf(dot, sizeof(expect_path) - (size_t)(dot - expect_path), ".expect");
		text = slurp(path, &len);
		expect = slurp(expect_path, &elen);
		if (policy_parse_table(pdir, path, text, len, &rules, &nrules, &err))
			fail_msg("%s: %s", path, err.msg);
		want = strtok_r(expect, "\n", &save);
		for (size_t r = 0; r < nrules; r++) {
			policy_rule_format(&rules[r], line, sizeof(line));
			if (!want)
				fail_msg("%s: extra rule '%s'", path, line);
			if (strcmp(line, want))
				fail_msg("%s rule %zu:\n  got:  '%s'\n  want: '%s'", path, r, line,
					 want);
			assert_int_equal(rules[r].dir, pdir);
			assert_string_equal(rules[r].file, path);
			want = strtok_r(NULL, "\n", &save);
		}
		if (want)
			fail_msg("%s: missing rule '%s'", path, want);
		policy_rules_free(rules, nrules);
		free(text);
		free(expect);
		free(ents[i]);
		(*files)++;
	}
	free(ents);
}

static void test_valid_corpora(void **state)
{
	int files = 0;

	(void)state;
	check_valid_dir(DATA "outbound", POLICY_OUTBOUND, &files);
	check_valid_dir(DATA "inbound", POLICY_INBOUND, &files);
	assert_true(files >= 7);
}

/* "KEY LEVEL; KEY LEVEL" with the level tlsgate applies, or "nothing". */
static void applied(const struct policy_rule *rules, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "nothing");
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s %s", i ? "; " : "",
					 rules[i].key, policy_level_name(rules[i].level));
}

/*
 * Each file of the invalid corpora starts with either
 *   # expect: MESSAGE     the table is refused; MESSAGE is its first error
 * or (an entry Postfix reads differently, handled per entry; the table loads)
 *   # warn: MESSAGE       one of the warnings
 *   # applies: KEY LEVEL  the rules that result (the level tlsgate applies), or "nothing"
 */
static void check_invalid_dir(const char *dir, enum policy_dir pdir, const char *name,
			      int *files)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, is_table, alphasort), bad = 0;

	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		struct policy_rule *rules = NULL;
		struct policy_diags d = { 0 };
		size_t len, nrules = 0;
		char path[512], got[1024], *text, *nl, *want, *want2 = NULL;
		bool warn;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		text = slurp(path, &len);
		warn = !strncmp(text, "# warn: ", 8);
		assert_true(warn || !strncmp(text, "# expect: ", 10));
		nl = strchr(text, '\n');
		want = strndup(text + (warn ? 8 : 10), (size_t)(nl - text - (warn ? 8 : 10)));
		if (warn) {
			assert_true(!strncmp(nl + 1, "# applies: ", 11));
			want2 = strndup(nl + 12, strcspn(nl + 12, "\n"));
		}
		rc = policy_parse_table_diags(pdir, name, text, len, &rules, &nrules, &d);
		if (!warn) {
			const char *first = "";

			for (size_t k = 0; k < d.n; k++)
				if (d.v[k].error && !first[0])
					first = d.v[k].msg;
			if (rc != -EINVAL || strcmp(first, want)) {
				print_error("%s: rc %d\n  got:  '%s'\n  want: '%s'\n", path, rc,
					    first, want);
				bad++;
			}
			if (!rc) {
				applied(rules, nrules, got, sizeof(got));
				print_error("  %s: rules: '%s'\n", path, got);
				for (size_t k = 0; k < d.n; k++)
					print_error("    warning: '%s'\n", d.v[k].msg);
			}
		} else {
			bool found = false;

			for (size_t k = 0; k < d.n; k++)
				found |= !d.v[k].error && !strcmp(d.v[k].msg, want);
			applied(rules, nrules, got, sizeof(got));
			if (rc || !found || strcmp(got, want2)) {
				print_error("%s: rc %d, want warning '%s'\n", path, rc, want);
				for (size_t k = 0; k < d.n; k++)
					print_error("  %s: '%s'\n",
						    d.v[k].error ? "error" : "warning", d.v[k].msg);
				print_error("  applies: '%s' want '%s'\n", got, want2);
				bad++;
			}
		}
		policy_rules_free(rules, nrules);
		policy_diags_free(&d);
		free(want);
		free(want2);
		free(text);
		free(ents[i]);
		(*files)++;
	}
	free(ents);
	assert_int_equal(bad, 0);
}

static void test_invalid_corpora(void **state)
{
	int files = 0;

	(void)state;
	check_invalid_dir(DATA "outbound-invalid", POLICY_OUTBOUND, "tls_policy", &files);
	check_invalid_dir(DATA "inbound-invalid", POLICY_INBOUND, "inbound_policy", &files);
	assert_true(files >= 30);
}

/* policy_load names the file by the path it was given. */
static void test_load_error_names_path(void **state)
{
	struct policy_error err = { 0 };
	struct policy *p = (struct policy *)1;

	(void)state;
	assert_int_equal(policy_load(DATA "outbound-invalid/bad-ipv4.tls_policy", NULL, &p, &err),
			 -EINVAL);
	assert_null(p);
	assert_string_equal(err.msg, DATA "outbound-invalid/bad-ipv4.tls_policy:2:1: invalid IPv4 "
			    "address '192.0.2.300'");
	/* A Postfix entry tlsgate refuses loads deferred, its warning naming the file. */
	assert_int_equal(policy_load(DATA "outbound-invalid/level-typo.tls_policy", NULL, &p, &err),
			 0);
	assert_int_equal(policy_warning_count(p), 1);
	assert_string_equal(policy_warning_at(p, 0),
			    DATA "outbound-invalid/level-typo.tls_policy:13:9: unknown security "
			    "level 'encrpyt' (expected none, may, encrypt, fingerprint, verify, "
			    "secure); entry refused: mail to 'foo.org' is deferred (4xx) until it "
			    "is fixed");
	assert_int_equal(policy_match_domain(p, "foo.org").rule->level, POLICY_DEFER);
	assert_int_equal(policy_match_domain(p, "bank.example").rule->level, POLICY_ENCRYPT);
	policy_put(p);
	assert_int_equal(policy_load("/nonexistent/tls_policy", NULL, &p, &err), -ENOENT);
	assert_string_equal(err.msg, "/nonexistent/tls_policy: No such file or directory");
	/* The inbound table is checked with its own rules. */
	assert_int_equal(policy_load(DATA "outbound/gateway.tls_policy",
				     DATA "outbound/gateway.tls_policy", &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "gateway.tls_policy:5:33: security level 'secure' is not "
				"valid in the inbound table (expected none, may, encrypt)"));
}

static void test_nul_byte(void **state)
{
	static const char text[] = "example.org encrypt\nexam\0ple.net may\n";
	struct policy_rule *rules = NULL;
	struct policy_error err;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_parse_table(POLICY_OUTBOUND, "t", text, sizeof(text) - 1, &rules,
					    &n, &err), -EINVAL);
	assert_string_equal(err.msg, "t:2:5: NUL byte in table text");
}

/* Messages quote the table; control bytes from it never reach a log line. */
static void test_message_sanitized(void **state)
{
	static const char text[] = "example.org encrypt protocols=\x1b[31mSSLv2\n";
	struct policy_rule *rules = NULL, one;
	struct policy_error err;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_parse_table(POLICY_OUTBOUND, "t", text, sizeof(text) - 1, &rules,
					    &n, &err), 0);
	policy_rules_free(rules, n);
	/* In a table the entry is deferred with a warning; as one rule it is an error. */
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "t", text, &one, &err), -EINVAL);
	assert_string_equal(err.msg, "t:1:31: protocols: unknown protocol '?[31mSSLv2' (expected "
			    "SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, optionally with !, >= "
			    "or <=)");
}

static void test_long_entry_refused(void **state)
{
	size_t len = (1u << 20) + (1u << 18);	/* newlines do not count */
	char *text = malloc(len + 1);
	struct policy_rule *rules = NULL;
	struct policy_error err;
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	memcpy(text, "example.org verify\n", 19);
	for (size_t i = 19; i < len; i += 10)
		memcpy(text + i, "  match=a\n", len - i < 10 ? len - i : 10);
	text[len] = '\0';
	assert_int_equal(policy_parse_table(POLICY_OUTBOUND, "t", text, len, &rules, &n, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "entry longer than 1048576 bytes"));
	free(text);
}

static struct policy_rule parse_one(enum policy_dir dir, const char *text)
{
	struct policy_rule r;
	struct policy_error err = { 0 };

	if (policy_rule_parse(dir, "test", text, &r, &err))
		fail_msg("'%s': %s", text, err.msg);
	return r;
}

static void test_protocols(void **state)
{
	static const struct {
		const char *attr;
		int min, max;
	} cases[] = {
		{ "protocols=>=TLSv1.2", TLS1_2_VERSION, 0 },
		{ "protocols=<=TLSv1.2", 0, TLS1_2_VERSION },
		{ "protocols=>=TLSv1.2:<=TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION },
		{ "protocols=!SSLv2:!SSLv3", TLS1_VERSION, 0 },
		{ "protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", TLS1_2_VERSION, 0 },
		{ "{ protocols = !SSLv2, !SSLv3 }", TLS1_VERSION, 0 },
		{ "protocols=!TLSv1.3", 0, TLS1_2_VERSION },
		{ "protocols=TLSv1.2:TLSv1.3", TLS1_2_VERSION, 0 },
		{ "protocols=TLSv1", TLS1_VERSION, TLS1_VERSION },
		{ "protocols=tlsv1.3", TLS1_3_VERSION, 0 },
		/* SSLv2 is left out of the gap check */
		{ "protocols=!SSLv3", TLS1_VERSION, 0 },
		{ "", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		struct policy_rule r;

		snprintf(text, sizeof(text), "example.org encrypt %s", cases[i].attr);
		r = parse_one(POLICY_OUTBOUND, text);
		if (r.min_version != cases[i].min || r.max_version != cases[i].max)
			fail_msg("%s: min %#x max %#x, want %#x %#x", cases[i].attr, r.min_version,
				 r.max_version, cases[i].min, cases[i].max);
		policy_rule_clear(&r);
	}
}

static void test_key_fields(void **state)
{
	struct policy_rule r;
	uint8_t a[16] = { 0 };

	(void)state;
	r = parse_one(POLICY_OUTBOUND, "[MX.Example.ORG.]:2525 verify match=Hostname:.Example.Org");
	assert_int_equal(r.key_type, POLICY_KEY_HOST);
	assert_string_equal(r.key, "[mx.example.org]:2525");
	assert_string_equal(r.host, "mx.example.org");
	assert_int_equal(r.port, 2525);
	assert_int_equal(r.nmatch, 2);
	assert_string_equal(r.match[0], "hostname");
	assert_string_equal(r.match[1], ".example.org");
	policy_rule_clear(&r);

	r = parse_one(POLICY_OUTBOUND, "2001:DB8:0:0::/32 encrypt");
	assert_int_equal(r.key_type, POLICY_KEY_ADDR);
	assert_string_equal(r.key, "2001:db8::/32");
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.prefix_len, 32);
	inet_pton(AF_INET6, "2001:db8::", a);
	assert_memory_equal(r.addr, a, 16);
	policy_rule_clear(&r);

	r = parse_one(POLICY_OUTBOUND, "192.0.2.25/32 encrypt");
	assert_string_equal(r.key, "192.0.2.25");
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.prefix_len, 32);
	assert_int_equal(r.addr[0], 192);
	assert_int_equal(r.addr[3], 25);
	policy_rule_clear(&r);

	r = parse_one(POLICY_OUTBOUND, "0.0.0.0/0 encrypt");
	assert_string_equal(r.key, "0.0.0.0/0");
	assert_int_equal(r.prefix_len, 0);
	policy_rule_clear(&r);

	r = parse_one(POLICY_OUTBOUND, ".Sub.Example.Org secure");
	assert_int_equal(r.key_type, POLICY_KEY_SUBDOMAINS);
	assert_string_equal(r.key, ".sub.example.org");
	assert_int_equal(r.level, POLICY_SECURE);
	assert_int_equal(r.nmatch, 0);	/* Postfix's default match list applies */
	policy_rule_clear(&r);

	r = parse_one(POLICY_OUTBOUND, "[ipv6:2001:DB8::0:1] encrypt");
	assert_string_equal(r.key, "[ipv6:2001:db8::1]");
	assert_string_equal(r.host, "ipv6:2001:db8::1");
	policy_rule_clear(&r);

	r = parse_one(POLICY_INBOUND, "example.com encrypt");
	assert_int_equal(r.dir, POLICY_INBOUND);
	assert_int_equal(r.key_type, POLICY_KEY_DOMAIN);
	policy_rule_clear(&r);
}

/* Whitespace inside { } is normalised to spaces (Postfix: EXTPAR_FLAG_NORMAL_WS). */
static void test_brace_whitespace(void **state)
{
	struct policy_rule r;
	char line[256];

	(void)state;
	r = parse_one(POLICY_OUTBOUND, "example.org encrypt {exclude=3DES\r\tRC4}");
	assert_string_equal(r.exclude, "3DES  RC4");
	policy_rule_format(&r, line, sizeof(line));
	assert_string_equal(line, "example.org encrypt { exclude = 3DES  RC4 }");
	policy_rule_clear(&r);
}

/* Postfix ignores what follows "none"; so do we (the rule is plaintext anyway). */
static void test_none_ignores_attributes(void **state)
{
	struct policy_rule r;

	(void)state;
	r = parse_one(POLICY_OUTBOUND, "example.org none match=x tafile=/y bogus");
	assert_int_equal(r.level, POLICY_NONE);
	assert_int_equal(r.nmatch, 0);
	assert_null(r.ciphers);
	policy_rule_clear(&r);
}

static void test_rule_parse_errors(void **state)
{
	struct policy_error err;
	struct policy_rule r;

	(void)state;
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add", "example.org verfy", &r,
					   &err), -EINVAL);
	assert_string_equal(err.msg, "policy add:1:13: unknown security level 'verfy' (expected "
			    "none, may, encrypt, fingerprint, verify, secure)");
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add", "", &r, &err), -EINVAL);
	assert_string_equal(err.msg, "policy add:1:1: empty rule (expected KEY LEVEL "
			    "[ATTRIBUTE=VALUE...])");
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add",
					   "a.example encrypt\nb.example may", &r, &err), -EINVAL);
	assert_string_equal(err.msg, "policy add:2:1: more than one rule (one rule per command)");
	/* A continuation line is part of the one rule. */
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add",
					   "a.example verify\n  match=nexthop", &r, &err), 0);
	assert_int_equal(r.nmatch, 1);
	policy_rule_clear(&r);
}

/* Every rule of every valid table formats to a line that parses back to an equal rule. */
static void test_format_round_trip(void **state)
{
	static const char *const files[] = {
		DATA "outbound/gateway.tls_policy",	  DATA "outbound/postfix-readme.tls_policy",
		DATA "outbound/generated.tls_policy", DATA "outbound/crlf.tls_policy",
		DATA "inbound/inbound.policy",
	};

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		enum policy_dir dir =
			strstr(files[f], "inbound/") ? POLICY_INBOUND : POLICY_OUTBOUND;
		struct policy_rule *rules = NULL;
		struct policy_error err;
		size_t len, n = 0;
		char *text = slurp(files[f], &len);

		assert_int_equal(policy_parse_table(dir, files[f], text, len, &rules, &n, &err), 0);
		for (size_t i = 0; i < n; i++) {
			char line[1024];
			struct policy_rule back;
			int k = policy_rule_format(&rules[i], line, sizeof(line));

			assert_int_equal(k, (int)strlen(line));
			back = parse_one(dir, line);
			if (!policy_rule_equal(&rules[i], &back))
				fail_msg("%s: '%s' does not parse back equal", files[f], line);
			policy_rule_clear(&back);
		}
		policy_rules_free(rules, n);
		free(text);
	}
}

static void test_format_truncates(void **state)
{
	struct policy_rule r = parse_one(POLICY_OUTBOUND, "example.org encrypt ciphers=high");
	char small[8];

	(void)state;
	assert_int_equal(policy_rule_format(&r, small, sizeof(small)),
			 (int)strlen("example.org encrypt ciphers=high"));
	assert_string_equal(small, "example");
	policy_rule_clear(&r);
}

static void test_levels(void **state)
{
	enum policy_level l;

	(void)state;
	for (int i = POLICY_NONE; i <= POLICY_DANE_ONLY; i++) {
		const char *name = policy_level_name((enum policy_level)i);

		assert_int_equal(policy_level_parse(name, &l), 0);
		assert_int_equal(l, i);
	}
	assert_int_equal(policy_level_parse("SECURE", &l), 0);
	assert_int_equal(l, POLICY_SECURE);
	assert_int_equal(policy_level_parse("secured", &l), -EINVAL);
	assert_string_equal(policy_level_name((enum policy_level)99), "?");
	assert_false(policy_level_requires_tls(POLICY_MAY));
	assert_true(policy_level_requires_tls(POLICY_ENCRYPT));
}

static void test_check_file(void **state)
{
	struct policy_error err;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_check_file(POLICY_OUTBOUND, DATA "outbound/gateway.tls_policy", &n,
					   &err), 0);
	assert_int_equal(n, 17);
	assert_int_equal(policy_check_file(POLICY_INBOUND, DATA "inbound/inbound.policy", &n, &err),
			 0);
	assert_int_equal(n, 7);
	assert_int_equal(policy_check_file(POLICY_OUTBOUND, DATA "outbound-invalid/dane-only.tls_policy",
					   NULL, &err), 0);
	assert_int_equal(policy_check_file(POLICY_OUTBOUND,
					   DATA "outbound-invalid/bad-ipv4.tls_policy", NULL, &err),
			 -EINVAL);
	{
		struct policy_diags d = { 0 };

		assert_int_equal(policy_check_file_diags(POLICY_OUTBOUND,
							 DATA "outbound-invalid/level-typo.tls_policy",
							 &n, &d, &err), 0);
		assert_int_equal(n, 5);
		assert_int_equal(d.nwarnings, 1);
		assert_int_equal(d.nerrors, 0);
		policy_diags_free(&d);
		assert_int_equal(policy_check_file_diags(POLICY_OUTBOUND, "/nonexistent", &n, &d,
							 &err), -ENOENT);
	}
}

/* Parse text as a table; the rules, and every diagnostic joined by '\n'. */
static int parse_diags(const char *text, struct policy_rule **rules, size_t *n, char *all,
		       size_t len, struct policy_diags *d)
{
	size_t used = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = policy_parse_table_diags(POLICY_OUTBOUND, "t", text, strlen(text), rules, n, d);
	all[0] = '\0';
	for (size_t i = 0; i < d->n && used < len; i++)
		used += (size_t)snprintf(all + used, len - used, "%s%s\n",
					 d->v[i].error ? "E " : "W ", d->v[i].msg);
	return rc;
}

/* dane and dane-only load as levels for the connection (may, encrypt) that keep what was
 * written: DANE itself is decided per recipient (daemon/session_dest.c). */
static void test_dane_levels(void **state)
{
	struct policy_rule *rules = NULL, one;
	struct policy_diags d;
	struct policy_error err;
	char all[4096], line[256];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_diags("a.example dane protocols=>=TLSv1.2\nb.example dane-only\n",
				     &rules, &n, all, sizeof(all), &d), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rules[0].level, POLICY_MAY);
	assert_int_equal(rules[0].written, POLICY_DANE);
	assert_int_equal(rules[0].min_version, TLS1_2_VERSION);
	assert_int_equal(rules[1].level, POLICY_ENCRYPT);
	assert_int_equal(rules[1].written, POLICY_DANE_ONLY);
	policy_rule_format(&rules[1], line, sizeof(line));
	assert_string_equal(line, "b.example dane-only");
	assert_string_equal(all, "");
	policy_rules_free(rules, n);
	policy_diags_free(&d);
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add", "b.example dane-only",
					   &one, &err), 0);
	assert_int_equal(one.level, POLICY_ENCRYPT);
	assert_int_equal(one.written, POLICY_DANE_ONLY);
	policy_rule_clear(&one);
	/* "defer" is what tlsgate applies, not a level a table may name. */
	assert_int_equal(parse_diags("c.example defer\n", &rules, &n, all, sizeof(all), &d), 0);
	assert_int_equal(rules[0].level, POLICY_DEFER);
	assert_non_null(strstr(all, "unknown security level 'defer'"));
	policy_rules_free(rules, n);
	policy_diags_free(&d);
}

/* mode=monitor|enforce: tlsgate's own attribute, in both tables; it survives a format round
 * trip, and a refused (defer) entry keeps it wherever it was written. */
static void test_monitor_mode(void **state)
{
	struct policy_rule *rules = NULL, one;
	struct policy_diags d;
	struct policy_error err;
	char all[4096], line[256];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_diags(".gov.uk encrypt mode=monitor\n"
				     "legacy.example.gov.uk may\n"
				     "a.example verify MODE=Enforce match=hostname\n"
				     "b.example may mode=monitor\n"
				     "c.example encrypt tafile=/x mode=monitor\n"
				     "d.example encrypt mode=monitor mode=enforce\n"
				     "e.example encrypt mode=sometimes\n"
				     "f.example dane mode=monitor\n"
				     "g.example none mode=monitor\n",
				     &rules, &n, all, sizeof(all), &d), 0);
	assert_int_equal(n, 9);
	assert_true(rules[0].monitor);
	assert_int_equal(rules[0].level, POLICY_ENCRYPT);
	assert_int_equal(policy_rule_enforced_level(&rules[0]), POLICY_MAY);
	policy_rule_format(&rules[0], line, sizeof(line));
	assert_string_equal(line, ".gov.uk encrypt mode=monitor");
	assert_false(rules[1].monitor);
	assert_false(rules[2].monitor);
	policy_rule_format(&rules[2], line, sizeof(line));
	assert_string_equal(line, "a.example verify match=hostname");
	assert_true(rules[3].monitor);	/* warned: nothing to monitor at may */
	assert_non_null(strstr(all, "t:4:15: mode=monitor has no effect at level may"));
	/* refused for tafile=, but the admin asked for monitor: delivered as may, reported */
	assert_int_equal(rules[4].level, POLICY_DEFER);
	assert_true(rules[4].monitor);
	assert_non_null(strstr(all, "mail to 'c.example' is delivered as may would (mode=monitor"));
	policy_rule_format(&rules[4], line, sizeof(line));
	assert_string_equal(line, "c.example encrypt mode=monitor");
	/* twice, or a bad value: Postfix would defer such an entry, so does tlsgate */
	assert_int_equal(rules[5].level, POLICY_DEFER);
	assert_non_null(strstr(all, "attribute 'mode' is specified more than once"));
	assert_int_equal(rules[6].level, POLICY_DEFER);
	assert_false(rules[6].monitor);
	assert_non_null(strstr(all, "mode: invalid value 'sometimes' (expected monitor or enforce)"));
	assert_true(rules[7].monitor);
	assert_int_equal(rules[7].written, POLICY_DANE);
	assert_false(rules[8].monitor);	/* none: attributes ignored, as Postfix */
	policy_rules_free(rules, n);
	policy_diags_free(&d);

	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add",
					   "example.org encrypt mode=monitor", &one, &err), 0);
	assert_true(one.monitor);
	{
		struct policy_rule back;

		policy_rule_format(&one, line, sizeof(line));
		assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "x", line, &back, &err), 0);
		assert_true(policy_rule_equal(&one, &back));
		back.monitor = false;
		assert_false(policy_rule_equal(&one, &back));
		policy_rule_clear(&back);
	}
	policy_rule_clear(&one);
	assert_int_equal(policy_rule_parse(POLICY_OUTBOUND, "policy add",
					   "example.org encrypt mode=maybe", &one, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "policy add:1:26: mode: invalid value 'maybe'"));

	/* inbound: the one attribute that table takes */
	assert_int_equal(policy_rule_parse(POLICY_INBOUND, "in", "192.0.2.0/24 encrypt mode=monitor",
					   &one, &err), 0);
	assert_true(one.monitor);
	policy_rule_format(&one, line, sizeof(line));
	assert_string_equal(line, "192.0.2.0/24 encrypt mode=monitor");
	policy_rule_clear(&one);
	assert_int_equal(policy_rule_parse(POLICY_INBOUND, "in", "192.0.2.0/24 encrypt mode=on",
					   &one, &err), -EINVAL);
	assert_int_equal(policy_rule_parse(POLICY_INBOUND, "in",
					   "192.0.2.0/24 encrypt mode=monitor x=y", &one, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "takes no attributes but mode="));
}

/* What postmap skips, tlsgate skips; what Postfix reads, tlsgate does not refuse. */
static void test_postfix_reads_it(void **state)
{
	static const char text[] =
		"  indented.example encrypt\n"
		"      continued=1\n"
		"novalue.example\n"
		"weak.example. none\n"
		"strict.example. secure\n"
		"dup.example encrypt\n"
		"DUP.example. none\n"
		"dup.example none\n"
		"gap.example encrypt protocols=!TLSv1.1\n"
		"empty.example encrypt protocols=\n"
		"reuse.example encrypt connection_reuse=yes\n"
		"brace.example encrypt { exclude = 3DES, RC4 }\n";
	struct policy_rule *rules = NULL;
	struct policy_diags d;
	char all[8192], line[256], *got = all;
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_diags(text, &rules, &n, all, sizeof(all), &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 10);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		policy_rule_format(&rules[i], line, sizeof(line));
		got += sprintf(got, "%s|", line);
	}
	assert_string_equal(all, "strict.example secure|dup.example encrypt|gap.example encrypt "
			    "protocols=!TLSv1.1|empty.example encrypt|reuse.example encrypt|"
			    "brace.example encrypt { exclude = 3DES, RC4 }|");
	assert_int_equal(rules[2].min_version, TLS1_2_VERSION);
	assert_int_equal(rules[2].max_version, 0);
	policy_rules_free(rules, n);
	policy_diags_free(&d);
	parse_diags(text, &rules, &n, all, sizeof(all), &d);
	assert_string_equal(all,
		"W t:1:3: continuation line without an entry to continue (a line starting with "
		"whitespace continues the previous entry); entry ignored, as postmap does\n"
		"W t:3:1: 'novalue.example' has no value (expected format: key whitespace value); "
		"entry ignored, as postmap does\n"
		"W t:4:13: Postfix never matches a key with a trailing dot; entry ignored as in "
		"Postfix (write 'weak.example')\n"
		"W t:5:15: Postfix never matches a key with a trailing dot; tlsgate applies this "
		"secure entry to 'strict.example' (stricter than Postfix)\n"
		"W t:7:12: Postfix never matches a key with a trailing dot; entry ignored as in "
		"Postfix (write 'dup.example')\n"
		"W t:9:31: protocols '!TLSv1.1' leave a gap that OpenSSL cannot express: tlsgate "
		"uses the newest contiguous part, TLSv1.2 and newer (Postfix with OpenSSL 3 would "
		"offer TLSv1 and older only)\n"
		"W t:10:23: empty protocols= ignored: tlsgate's default applies (Postfix reads it "
		"as no restriction)\n"
		"W t:11:23: attribute 'connection_reuse' ignored: tlsgate does not reuse TLS "
		"connections\n"
		"W t:12:23: '{ name = value }' is read by Postfix 3.10 and later; Postfix 3.9 and "
		"older refuse this entry (\"malformed attribute/value pair\") and defer its mail\n"
		"W t:8:1: duplicate key 'dup.example' ignored (the entry at line 6 applies, as in "
		"Postfix)\n");
	policy_rules_free(rules, n);
	policy_diags_free(&d);
}

/* `policy check` sees every error, not only the first; at most POLICY_DIAG_MAX are kept. */
static void test_all_errors(void **state)
{
	struct policy_rule *rules = (struct policy_rule *)1;
	struct policy_diags d;
	char all[4096], *text;
	size_t n = 0, len = 0;

	(void)state;
	assert_int_equal(parse_diags("192.0.2.300 encrypt\nok.example encrypt\n"
				     "bad.example encrpyt\n2001:db8::/129 secure\n", &rules, &n,
				     all, sizeof(all), &d), -EINVAL);
	assert_true(rules == (struct policy_rule *)1);	/* untouched on error */
	assert_int_equal(d.nerrors, 2);
	assert_string_equal(all,
		"E t:1:1: invalid IPv4 address '192.0.2.300'\n"
		"W t:3:13: unknown security level 'encrpyt' (expected none, may, encrypt, "
		"fingerprint, verify, secure); entry refused: mail to 'bad.example' is deferred "
		"(4xx) until it is fixed\n"
		"E t:4:12: invalid prefix length '129' (expected 0-128)\n");
	policy_diags_free(&d);
	text = malloc(150 * 24 + 1);
	assert_non_null(text);
	for (int i = 0; i < 150; i++)
		len += (size_t)sprintf(text + len, "192.0.2.%d/8 encrypt\n", i);
	assert_int_equal(policy_parse_table_diags(POLICY_OUTBOUND, "t", text, len, NULL, NULL, &d),
			 -EINVAL);
	assert_int_equal(d.nerrors, 150);
	assert_int_equal(d.n, POLICY_DIAG_MAX);
	assert_string_equal(d.v[99].msg, "t:100:1: host bits set in '192.0.2.99/8' (expected "
			    "192.0.0.0/8)");
	policy_diags_free(&d);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_corpora),
		cmocka_unit_test(test_invalid_corpora),
		cmocka_unit_test(test_load_error_names_path),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_message_sanitized),
		cmocka_unit_test(test_long_entry_refused),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_key_fields),
		cmocka_unit_test(test_brace_whitespace),
		cmocka_unit_test(test_none_ignores_attributes),
		cmocka_unit_test(test_rule_parse_errors),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_check_file),
		cmocka_unit_test(test_dane_levels),
		cmocka_unit_test(test_monitor_mode),
		cmocka_unit_test(test_postfix_reads_it),
		cmocka_unit_test(test_all_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
