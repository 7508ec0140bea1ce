// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy/store.c and reloads: a change is all-or-nothing, persisted so that loading the files
 * again gives an equal snapshot (save -> load -> equal), the administrator's comments survive,
 * and a bad table or a failed change leaves both the running snapshot and the file untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/lib/tmpdir.h"

static char dir[64], out_path[128], in_path[128];

static const char outbound_text[] =
	"# Outbound policy -- comments must survive CLI edits.\n"
	"example.org     encrypt\n"
	"\n"
	"# the bank: verified, pinned protocols\n"
	"bank.example    secure\n"
	"                match=nexthop:dot-nexthop\n"
	"    # (continuation lines may be separated by comments)\n"
	"                protocols=>=TLSv1.2\n"
	"# trailer comment\n"
	"192.0.2.0/24    may\n";

static const char inbound_text[] = "# inbound\n198.51.100.0/24 encrypt\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	if (tg_tmpdir_new(dir, sizeof(dir), "tg-policy-store"))
		return -1;
	snprintf(out_path, sizeof(out_path), "%s/tls_policy", dir);
	snprintf(in_path, sizeof(in_path), "%s/inbound_policy", dir);
	write_file(out_path, outbound_text);
	write_file(in_path, inbound_text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tg_tmpdir_remove(dir);
}

static struct policy *load(void)
{
	struct policy_error err = { 0 };
	struct policy *p = NULL;

	if (policy_load(out_path, in_path, &p, &err))
		fail_msg("%s", err.msg);
	return p;
}

/* Only the table files are in the directory: no temp file left behind. */
static void assert_no_temp_files(void)
{
	struct dirent *d;
	DIR *dh = opendir(dir);
	int n = 0;

	assert_non_null(dh);
	while ((d = readdir(dh)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dh);
	assert_int_equal(n, 2);
}

static void test_add_persists(void **state)
{
	struct policy *old = load(), *new = NULL, *again;
	struct policy_error err = { 0 };
	uint32_t bank_id = policy_rule_find(old, POLICY_OUTBOUND, "bank.example")->id;
	char *text;

	(void)state;
	if (policy_store_add(old, POLICY_OUTBOUND, "[MX.example.net]:25 verify match=nexthop", &new,
			     &err))
		fail_msg("%s", err.msg);
	assert_non_null(new);
	/* The old snapshot is untouched; the new one has the rule. */
	assert_int_equal(policy_rule_count(old, POLICY_OUTBOUND), 3);
	assert_int_equal(policy_rule_count(new, POLICY_OUTBOUND), 4);
	assert_int_equal(policy_match_host(new, "mx.example.net", 25).rule->level, POLICY_VERIFY);
	assert_int_equal(policy_rule_find(new, POLICY_OUTBOUND, "bank.example")->id, bank_id);
	/* The file: the old bytes, then the normalised rule. */
	text = read_file(out_path);
	assert_true(!strncmp(text, outbound_text, strlen(outbound_text)));
	assert_string_equal(text + strlen(outbound_text),
			    "[mx.example.net]:25 verify match=nexthop\n");
	free(text);
	/* What a restart would load equals what is running. */
	again = load();
	assert_true(policy_equal(new, again));
	assert_false(policy_equal(old, again));
	assert_no_temp_files();
	policy_put(again);
	policy_put(new);
	policy_put(old);
}

static void test_del_persists(void **state)
{
	struct policy *old = load(), *new = NULL, *again;
	struct policy_error err = { 0 };
	char *text;

	(void)state;
	/* A three-line entry with a comment inside: its lines go, the comment before stays. */
	if (policy_store_del(old, POLICY_OUTBOUND, "Bank.Example.", &new, &err))
		fail_msg("%s", err.msg);
	text = read_file(out_path);
	assert_string_equal(text, "# Outbound policy -- comments must survive CLI edits.\n"
				  "example.org     encrypt\n"
				  "\n"
				  "# the bank: verified, pinned protocols\n"
				  "# trailer comment\n"
				  "192.0.2.0/24    may\n");
	free(text);
	assert_null(policy_rule_find(new, POLICY_OUTBOUND, "bank.example"));
	assert_int_equal(policy_match_domain(new, "bank.example").rule->key_type,
			 POLICY_KEY_DEFAULT);
	/* Line numbers of the rules after it moved; the snapshot knows the new ones. */
	assert_int_equal(policy_rule_find(new, POLICY_OUTBOUND, "192.0.2.0/24")->line, 6);
	again = load();
	assert_true(policy_equal(new, again));
	policy_put(again);
	policy_put(new);
	policy_put(old);
}

static void expect_file(const char *path, const char *want)
{
	char *now = read_file(path);

	assert_string_equal(now, want);
	free(now);
}

static void test_failures_change_nothing(void **state)
{
	struct policy *old = load(), *new = (struct policy *)1;
	struct policy_error err = { 0 };
	char want[512], edited[1024];

	(void)state;
	assert_int_equal(policy_store_add(old, POLICY_OUTBOUND, "EXAMPLE.org. secure", &new, &err),
			 -EEXIST);
	assert_null(new);
	snprintf(want, sizeof(want), "a rule for 'example.org' exists already (%s:2); delete it "
		 "first", out_path);
	assert_string_equal(err.msg, want);
	assert_int_equal(policy_store_add(old, POLICY_OUTBOUND, "example.net encypt", &new, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "policy add:1:13: unknown security level 'encypt' (expected "
			    "none, may, encrypt, fingerprint, verify, secure)");
	assert_int_equal(policy_store_add(old, POLICY_INBOUND, "[mx.example.net] encrypt", &new,
					  &err), -EINVAL);
	assert_int_equal(policy_store_del(old, POLICY_OUTBOUND, "nope.example", &new, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "no outbound rule for 'nope.example'");
	assert_null(new);
	expect_file(out_path, outbound_text);
	expect_file(in_path, inbound_text);
	assert_no_temp_files();

	/* Edited behind our back: refuse rather than lose the edit or diverge from the file. */
	snprintf(edited, sizeof(edited), "%s# edited by hand\n", outbound_text);
	write_file(out_path, edited);
	assert_int_equal(policy_store_add(old, POLICY_OUTBOUND, "example.net encrypt", &new, &err),
			 -ESTALE);
	snprintf(want, sizeof(want), "%s changed on disk since it was loaded (reload first, then "
		 "repeat the change)", out_path);
	assert_string_equal(err.msg, want);
	assert_int_equal(policy_store_del(old, POLICY_OUTBOUND, "example.org", &new, &err),
			 -ESTALE);
	expect_file(out_path, edited);
	/* The running snapshot still answers as before. */
	assert_int_equal(policy_match_domain(old, "example.org").rule->level, POLICY_ENCRYPT);
	policy_put(old);
}

static void test_reload_all_or_nothing(void **state)
{
	struct policy *good = load(), *p = (struct policy *)1;
	struct policy_error err = { 0 };
	char want[512];

	(void)state;
	write_file(out_path, "example.org encrypt\nexample.net secure\n192.0.2.300 encrypt\n");
	assert_int_equal(policy_load(out_path, in_path, &p, &err), -EINVAL);
	assert_null(p);
	snprintf(want, sizeof(want), "%s:3:1: invalid IPv4 address '192.0.2.300'", out_path);
	assert_string_equal(err.msg, want);
	/* A good outbound table with a bad inbound one: nothing of either is taken. */
	write_file(out_path, "example.org none\n");
	write_file(in_path, "192.0.2.0/24 verify\n");
	assert_int_equal(policy_load(out_path, in_path, &p, &err), -EINVAL);
	assert_null(p);
	/* The good snapshot is what keeps answering. */
	assert_int_equal(policy_match_domain(good, "example.org").rule->level, POLICY_ENCRYPT);
	assert_int_equal(policy_match_domain(good, "bank.example").rule->level, POLICY_SECURE);
	write_file(in_path, "192.0.2.0/24 encrypt\n");
	p = load();
	assert_int_equal(policy_match_domain(p, "example.org").rule->level, POLICY_NONE);
	policy_put(p);
	policy_put(good);
}

static void test_import(void **state)
{
	char src[] = "/tmp/tg-policy-import.XXXXXX", want[512];
	struct policy *old = load(), *new = NULL, *again;
	struct policy_error err = { 0 };
	static const char replacement[] =
		"# imported\n.example.com secure\n203.0.113.0/24 encrypt\n";
	int fd = mkstemp(src);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x.example may\n192.0.2.1/24 encrypt\n", 34), 34);
	close(fd);
	assert_int_equal(policy_store_import(old, POLICY_OUTBOUND, src, &new, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: host bits set in '192.0.2.1/24' (expected "
		 "192.0.2.0/24)", src);
	assert_string_equal(err.msg, want);
	assert_null(new);
	expect_file(out_path, outbound_text);

	write_file(src, replacement);
	if (policy_store_import(old, POLICY_OUTBOUND, src, &new, &err))
		fail_msg("%s", err.msg);
	expect_file(out_path, replacement);
	assert_int_equal(policy_rule_count(new, POLICY_OUTBOUND), 2);
	/* The other direction is carried over unchanged. */
	assert_int_equal(policy_rule_find(new, POLICY_INBOUND, "198.51.100.0/24")->id,
			 policy_rule_find(old, POLICY_INBOUND, "198.51.100.0/24")->id);
	again = load();
	assert_true(policy_equal(new, again));
	assert_no_temp_files();
	policy_put(again);
	policy_put(new);
	policy_put(old);
	unlink(src);
}

static void test_inbound_and_sequences(void **state)
{
	struct policy *p = load(), *q = NULL, *again;
	struct policy_error err = { 0 };
	uint32_t org = policy_rule_find(p, POLICY_OUTBOUND, "example.org")->id;

	(void)state;
	/* A series of changes, each on the snapshot the previous one returned. */
	assert_int_equal(policy_store_add(p, POLICY_INBOUND, "Example.COM encrypt", &q, &err), 0);
	policy_put(p);
	p = q;
	assert_int_equal(policy_store_add(p, POLICY_OUTBOUND, "198.51.100.0/24 secure", &q, &err),
			 0);
	policy_put(p);
	p = q;
	assert_int_equal(policy_store_del(p, POLICY_OUTBOUND, "192.0.2.0/24", &q, &err), 0);
	policy_put(p);
	p = q;
	assert_int_equal(policy_store_del(p, POLICY_INBOUND, "198.51.100.0/24", &q, &err), 0);
	policy_put(p);
	p = q;
	expect_file(in_path, "# inbound\nexample.com encrypt\n");
	assert_int_equal(policy_rule_find(p, POLICY_OUTBOUND, "example.org")->id, org);
	again = load();
	assert_true(policy_equal(p, again));
	policy_put(again);
	policy_put(p);
}

static void test_no_trailing_newline_and_mode(void **state)
{
	struct policy *p, *q = NULL;
	struct policy_error err = { 0 };
	struct stat st;

	(void)state;
	write_file(out_path, "example.org encrypt");	/* no newline at the end */
	assert_int_equal(chmod(out_path, 0640), 0);
	p = load();
	assert_int_equal(policy_store_add(p, POLICY_OUTBOUND, "example.net may", &q, &err), 0);
	expect_file(out_path, "example.org encrypt\nexample.net may\n");
	assert_int_equal(stat(out_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	policy_put(q);
	policy_put(p);
}

static void test_no_table_file(void **state)
{
	struct policy_error err = { 0 };
	struct policy *p = NULL, *q = (struct policy *)1;

	(void)state;
	assert_int_equal(policy_load(out_path, NULL, &p, &err), 0);
	assert_null(policy_path(p, POLICY_INBOUND));
	assert_int_equal(policy_store_add(p, POLICY_INBOUND, "example.com encrypt", &q, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "no inbound policy table file is configured");
	assert_null(q);
	policy_put(p);
}

static void test_write_atomic(void **state)
{
	char path[160];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/new-file", dir);
	assert_int_equal(policy_write_atomic(path, "abc\n", 4), 0);
	expect_file(path, "abc\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(policy_write_atomic(path, "", 0), 0);
	expect_file(path, "");
	unlink(path);
	snprintf(path, sizeof(path), "%s/no-such-dir/file", dir);
	assert_int_equal(policy_write_atomic(path, "abc\n", 4), -ENOENT);
	assert_no_temp_files();
}

/* A table as Postfix reads it (duplicates, an indented first line): del removes every entry
 * of the key, so a later duplicate cannot take over, and keeps what the load skipped. */
static void test_del_duplicates(void **state)
{
	static const char text[] = "  skipped.example encrypt\n"
				   "dup.example encrypt\n"
				   "other.example secure\n"
				   "DUP.example. none\n"
				   "dup.example\n"
				   "    may\n";
	struct policy *old, *new = NULL;
	struct policy_error err = { 0 };

	(void)state;
	write_file(out_path, text);
	old = load();
	assert_int_equal(policy_warning_count(old), 3);
	assert_int_equal(policy_match_domain(old, "dup.example").rule->level, POLICY_ENCRYPT);
	if (policy_store_del(old, POLICY_OUTBOUND, "dup.example", &new, &err))
		fail_msg("%s", err.msg);
	expect_file(out_path, "  skipped.example encrypt\nother.example secure\n");
	assert_null(policy_rule_find(new, POLICY_OUTBOUND, "dup.example"));
	assert_int_equal(policy_match_domain(new, "dup.example").rule->key_type,
			 POLICY_KEY_DEFAULT);
	policy_put(new);
	policy_put(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_and_sequences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_trailing_newline_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_table_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
