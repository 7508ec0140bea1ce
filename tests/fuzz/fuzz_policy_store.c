// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the control plane's in-place edits of a policy table file (policy/store.c) on a
 * fuzzed file.  Input: byte 0 picks the edit (add, del, import) and the direction, byte 1 the
 * rule to delete; then the table text up to a NUL; then the rule line to add or the table to
 * import.  The table is loaded first (a table that does not load is not edited).  Beyond the
 * sanitizers it traps when a promise of policy.h breaks:
 *   - a failed edit leaves the file byte for byte as it was;
 *   - add: the old text is kept whole (comments and layout), one line follows it, the new rule
 *     is there as parsed and every old rule as it was;
 *   - del: the file loses exactly the entry's lines (from its first line to its last
 *     continuation line, nothing after), the rule is gone and every other rule is as it was;
 *   - import: the file is the imported text, and it succeeds exactly when that text parses;
 *   - every new snapshot equals what loading the files again gives (policy_equal).
 * Files live in a temporary directory on /dev/shm (fsync is free there).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                                   \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			fprintf(stderr, "fuzz_policy_store: %s:%d: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

static char tmpdir[64], path[2][96], import_path[96];

static void cleanup(void)
{
	unlink(path[0]);
	unlink(path[1]);
	unlink(import_path);
	rmdir(tmpdir);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz_policy_store.XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	check(mkdtemp(tmpdir));
	snprintf(path[POLICY_OUTBOUND], sizeof(path[0]), "%s/tls_policy", tmpdir);
	snprintf(path[POLICY_INBOUND], sizeof(path[1]), "%s/inbound_policy", tmpdir);
	snprintf(import_path, sizeof(import_path), "%s/import", tmpdir);
	atexit(cleanup);
}

static void put(const char *p, const void *d, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	check(fd >= 0);
	check(write(fd, d, len) == (ssize_t)len);
	close(fd);
}

static char *get(const char *p, size_t *len)
{
	char *buf = NULL;
	struct stat st;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	check(fd >= 0 && !fstat(fd, &st));
	buf = malloc((size_t)st.st_size + 1);
	check(buf);
	check(read(fd, buf, (size_t)st.st_size) == st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

/* The rule's key as a user types it: the first word of its formatted line. */
static char *key_of(const struct policy_rule *r)
{
	int n = policy_rule_format(r, NULL, 0);
	char *line;

	check(n > 0);
	line = malloc((size_t)n + 1);
	check(line);
	policy_rule_format(r, line, (size_t)n + 1);
	line[strcspn(line, " \t")] = '\0';
	return line;
}

/* Every rule of `from` but `skip` (NULL: none) is in `to`, equal. */
static void rules_kept(const struct policy *from, const struct policy *to, enum policy_dir dir,
		       const struct policy_rule *skip)
{
	for (size_t i = 0; i < policy_rule_count(from, dir); i++) {
		const struct policy_rule *r = policy_rule_at(from, dir, i), *t;
		char *key;

		if (r == skip)
			continue;
		key = key_of(r);
		t = policy_rule_find(to, dir, key);
		check(t && policy_rule_equal(r, t) && t->id == r->id);
		free(key);
	}
}

/* What loading the files again gives equals the snapshot the edit handed out. */
static void reloads_equal(const struct policy *p)
{
	struct policy_error err;
	struct policy *again = NULL;

	check(policy_load(path[POLICY_OUTBOUND], path[POLICY_INBOUND], &again, &err) == 0);
	check(policy_equal(p, again));
	policy_put(again);
}

static bool blank_or_comment(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	return i == len || line[i] == '#';
}

static void do_add(const struct policy *old, enum policy_dir dir, const char *before, size_t blen,
		   const char *rule_text)
{
	struct policy_error err, perr;
	struct policy_rule parsed = {0};
	struct policy *p = NULL;
	const struct policy_rule *r;
	size_t alen, keep;
	char *after, *key;
	int rc = policy_store_add(old, dir, rule_text, &p, &err);
	bool parses = !policy_rule_parse(dir, "policy add", rule_text, &parsed, &perr);

	after = get(path[dir], &alen);
	if (rc) {
		check(!p && alen == blen && !memcmp(after, before, blen));
		if (parses) {
			key = key_of(&parsed);
			/* refused although it parses: the key is taken (or writing failed) */
			check(rc == -EEXIST ? policy_rule_find(old, dir, key) != NULL
					    : rc != -EINVAL);
			free(key);
		}
		goto out;
	}
	check(p && parses);
	/* the old text whole, then a line break if it lacked one, then one line */
	keep = blen + (blen && before[blen - 1] != '\n');
	check(alen > keep && !memcmp(after, before, blen));
	check(after[alen - 1] == '\n' && !memchr(after + keep, '\n', alen - keep - 1));
	key = key_of(&parsed);
	r = policy_rule_find(p, dir, key);
	check(r && policy_rule_equal(r, &parsed));
	free(key);
	check(policy_rule_count(p, dir) == policy_rule_count(old, dir) + 1);
	rules_kept(old, p, dir, NULL);
	rules_kept(old, p, !dir, NULL);
	reloads_equal(p);
out:
	policy_rule_clear(&parsed);
	free(after);
	policy_put(p);
}

/* Does the text start more than one entry with the rule's key?  (The first entry applies, as in
 * Postfix; `policy del` then removes every entry of the key, also a later duplicate or a key
 * without a value, so the file loses more than one run of lines.)  A line's key is read as the
 * store reads it: normalised (case, trailing dots, also inside brackets), so the rule the table
 * has for it is the one policy_rule_find() gives for the line's first word. */
static bool has_duplicate(const struct policy *old, enum policy_dir dir,
			  const struct policy_rule *r, const char *text, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, klen = 0;
		char word[1024];

		if (end > i && !isspace((unsigned char)text[i]) && text[i] != '#') {
			while (i + klen < end && !isspace((unsigned char)text[i + klen]))
				klen++;
			if (klen < sizeof(word) && !memchr(text + i, '\0', klen)) {
				memcpy(word, text + i, klen);
				word[klen] = '\0';
				count += policy_rule_find(old, dir, word) == r;
			}
		}
		i = end + 1;
	}
	return count > 1;
}

static void do_del(const struct policy *old, enum policy_dir dir, const char *before, size_t blen,
		   uint8_t pick)
{
	size_t n = policy_rule_count(old, dir), alen, a = 0, b, line = 1;
	const struct policy_rule *r;
	struct policy_error err;
	struct policy *p = NULL;
	char *after, *key;
	int rc;

	if (!n) {
		check(policy_store_del(old, dir, "example.org", &p, &err) == -ENOENT && !p);
		return;
	}
	r = policy_rule_at(old, dir, pick % n);
	key = key_of(r);
	rc = policy_store_del(old, dir, key, &p, &err);
	after = get(path[dir], &alen);
	check(rc == 0 || rc == -ENOMEM || rc == -EIO);
	if (rc) {
		check(!p && alen == blen && !memcmp(after, before, blen));
		goto out;
	}
	check(!policy_rule_find(p, dir, key));
	check(policy_rule_count(p, dir) == n - 1);
	rules_kept(old, p, dir, r);
	rules_kept(old, p, !dir, NULL);
	reloads_equal(p);
	if (has_duplicate(old, dir, r, before, blen)) {
		check(alen < blen); /* several runs went: what is left was checked by reloading */
		goto out;
	}
	/* after = before less one run of whole lines, starting at the rule's first line */
	while (line < r->line && a < blen) {
		const char *nl = memchr(before + a, '\n', blen - a);

		a = nl ? (size_t)(nl - before) + 1 : blen;
		line++;
	}
	check(alen < blen && a <= alen && !memcmp(after, before, a));
	b = a + (blen - alen);
	check(!memcmp(after + a, before + b, blen - b));
	check(b == blen || before[b - 1] == '\n');
	/* the run ends on a line of the entry, not on a comment or blank line after it */
	{
		size_t s = b - 1;

		while (s > a && before[s - 1] != '\n')
			s--;
		check(!blank_or_comment(before + s, b - s - (before[b - 1] == '\n')));
	}
out:
	free(key);
	free(after);
	policy_put(p);
}

static void do_import(const struct policy *old, enum policy_dir dir, const char *before,
		      size_t blen, const uint8_t *text, size_t tlen)
{
	struct policy_rule *rules = NULL;
	struct policy_error err;
	struct policy *p = NULL;
	size_t alen, nr = 0;
	char *after;
	int rc, prc;

	put(import_path, text, tlen);
	rc = policy_store_import(old, dir, import_path, &p, &err);
	prc = policy_parse_table(dir, import_path, (const char *)text, tlen, &rules, &nr, &err);
	policy_rules_free(rules, nr);
	after = get(path[dir], &alen);
	if (rc) {
		check(!p && alen == blen && !memcmp(after, before, blen));
		check(prc || rc == -ENOMEM || rc == -EIO || rc == -EINVAL);
	} else {
		check(!prc && p);
		check(alen == tlen && !memcmp(after, text, tlen));
		check(policy_rule_count(p, dir) == nr);
		rules_kept(old, p, !dir, NULL);
		reloads_equal(p);
	}
	free(after);
	policy_put(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char other[2][64] = {"# the other direction\n192.0.2.0/24 encrypt\n",
					  "# the other direction\n198.51.100.0/24 encrypt\n"};
	enum policy_dir dir;
	const uint8_t *text, *nul, *rest;
	size_t tlen, rlen, blen;
	struct policy_error err;
	struct policy *old = NULL;
	char *before, *rule;

	if (!tmpdir[0])
		setup();
	if (size < 2)
		return 0;
	dir = data[0] & 1 ? POLICY_INBOUND : POLICY_OUTBOUND;
	text = data + 2;
	nul = memchr(text, '\0', size - 2);
	tlen = nul ? (size_t)(nul - text) : size - 2;
	rest = nul ? nul + 1 : data + size;
	rlen = (size_t)(data + size - rest);
	put(path[dir], text, tlen);
	put(path[!dir], other[!dir], strlen(other[!dir]));
	if (policy_load(path[POLICY_OUTBOUND], path[POLICY_INBOUND], &old, &err))
		return 0;
	before = get(path[dir], &blen);
	switch ((data[0] >> 1) % 3) {
	case 0:
		rule = strndup((const char *)rest, rlen);
		check(rule);
		do_add(old, dir, before, blen, rule);
		free(rule);
		break;
	case 1:
		do_del(old, dir, before, blen, data[1]);
		break;
	case 2:
		do_import(old, dir, before, blen, rest, rlen);
		break;
	}
	free(before);
	policy_put(old);
	return 0;
}
