// SPDX-License-Identifier: GPL-2.0-only
/*
 * Changes from the control plane, applied all-or-nothing and persisted atomically.
 *
 * The table file stays the source of truth: `policy add` appends one line to it, `policy del`
 * removes the lines of one entry, `policy import` replaces it, and the new snapshot is parsed
 * from exactly the bytes written.  So a restart (which parses the same file) yields an equal
 * snapshot by construction, ids included, and the administrator's comments and layout survive.
 * Order: edit in memory -> parse and build the new snapshot -> write temp + fsync + rename +
 * fsync dir -> hand out the snapshot.  Any failure before the rename leaves file and snapshot
 * as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/parse.h"

static const char *dir_name(enum policy_dir dir)
{
	return dir == POLICY_OUTBOUND ? "outbound" : "inbound";
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int policy_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL, *dcopy = NULL;
	int fd = -1, dfd = -1, rc;
	struct stat st;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* Keep the mode and owner of the file we replace (mkostemp makes it 0600). */
	if (!stat(path, &st)) {
		if (fchmod(fd, st.st_mode & 07777) || fchown(fd, st.st_uid, st.st_gid)) {
			rc = -errno;
			goto out;
		}
	} else if (fchmod(fd, mode)) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, len);
	if (rc)
		goto out;
	if (fsync(fd)) {
		rc = -errno;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = -errno;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The rename itself is durable only once the directory is. */
	dcopy = strdup(path);
	if (!dcopy) {
		rc = -ENOMEM;
		goto out;
	}
	dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dcopy);
	return rc;
}

int policy_write_atomic(const char *path, const void *data, size_t len)
{
	return policy_write_atomic_mode(path, data, len, 0644);
}

/* The file old was loaded from, unchanged since; its text in *text. */
static int read_current(const struct policy *old, enum policy_dir dir, char **text, size_t *len,
			struct policy_error *err)
{
	const struct policy_table *t = &old->t[dir];
	int rc;

	if (!t->path) {
		policy_errorf(err, "no %s policy table file is configured", dir_name(dir));
		return -ENOENT;
	}
	rc = policy_read_file(t->path, text, len, err);
	if (rc)
		return rc;
	if (policy_hash64(*text, *len, 0) != t->content_hash) {
		policy_errorf(err, "%s changed on disk since it was loaded (reload first, then "
			      "repeat the change)", t->path);
		free(*text);
		*text = NULL;
		return -ESTALE;
	}
	return 0;
}

/* Parse text as the new table of dir, build it with a copy of the other direction from old,
 * write it, and return the new snapshot. */
static int commit(const struct policy *old, enum policy_dir dir, const char *text, size_t len,
		  struct policy **out, struct policy_error *err)
{
	enum policy_dir other = dir == POLICY_OUTBOUND ? POLICY_INBOUND : POLICY_OUTBOUND;
	const struct policy_table *ot = &old->t[other];
	struct policy_rule *nr = NULL, *or = NULL;
	const char *path = old->t[dir].path;
	struct policy_diags d = { 0 };
	size_t nn = 0, on = ot->n;
	struct policy *p = NULL;
	int rc;

	rc = policy_parse_table_diags(dir, path, text, len, &nr, &nn, &d);
	if (rc) {
		for (size_t i = 0; i < d.n; i++) {
			if (d.v[i].error) {
				policy_errorf(err, "%s", d.v[i].msg);
				break;
			}
		}
		goto out;
	}
	or = calloc(on + 1, sizeof(*or));
	if (!or) {
		policy_rules_free(nr, nn);
		goto nomem;
	}
	for (size_t i = 0; i < on; i++) {
		if (policy_rule_copy(&or[i], &ot->rules[i])) {
			policy_rules_free(or, i);
			policy_rules_free(nr, nn);
			goto nomem;
		}
	}
	if (dir == POLICY_OUTBOUND)
		rc = policy_build(nr, nn, or, on, &p, err);
	else
		rc = policy_build(or, on, nr, nn, &p, err);
	if (rc)
		goto out;
	p->t[dir].content_hash = policy_hash64(text, len, 0);
	p->t[other].content_hash = ot->content_hash;
	p->t[dir].path = strdup(path);
	if (!p->t[dir].path || (ot->path && !(p->t[other].path = strdup(ot->path))) ||
	    policy_keep_warnings(p, &d)) {
		policy_put(p);
		goto nomem;
	}
	rc = policy_write_atomic(path, text, len);
	if (rc) {
		policy_errorf(err, "%s: cannot write: %s", path, strerror(-rc));
		policy_put(p);
		goto out;
	}
	*out = p;
	goto out;
nomem:
	policy_errorf(err, "out of memory");
	rc = -ENOMEM;
out:
	policy_diags_free(&d);
	return rc;
}

int policy_store_add(const struct policy *old, enum policy_dir dir, const char *rule_text,
		     struct policy **out, struct policy_error *err)
{
	struct policy_error local;
	struct policy_rule rule;
	const struct policy_rule *have;
	char *text = NULL, *ntext = NULL;
	size_t len = 0;
	int rc, n;

	if (!err)
		err = &local;
	*out = NULL;
	rc = policy_rule_parse(dir, "policy add", rule_text, &rule, err);
	if (rc)
		return rc;
	have = policy_rule_find(old, dir, rule.key);
	if (have) {
		policy_errorf(err, "a rule for '%s' exists already (%s:%u); delete it first",
			      rule.key, have->file ? have->file : "?", have->line);
		rc = -EEXIST;
		goto out;
	}
	rc = read_current(old, dir, &text, &len, err);
	if (rc)
		goto out;
	n = policy_rule_format(&rule, NULL, 0);
	ntext = malloc(len + (size_t)n + 3);
	if (!ntext) {
		rc = -ENOMEM;
		policy_errorf(err, "out of memory");
		goto out;
	}
	memcpy(ntext, text, len);
	if (len && text[len - 1] != '\n')
		ntext[len++] = '\n';
	policy_rule_format(&rule, ntext + len, (size_t)n + 1);
	len += (size_t)n;
	ntext[len++] = '\n';
	rc = commit(old, dir, ntext, len, out, err);
out:
	policy_rule_clear(&rule);
	free(text);
	free(ntext);
	return rc;
}

/* Byte offset of the start of physical line `line` (1-based) in text; len past the end. */
static size_t line_offset(const char *text, size_t len, unsigned int line)
{
	size_t off = 0;

	for (unsigned int l = 1; l < line && off < len; l++) {
		const char *nl = memchr(text + off, '\n', len - off);

		off = nl ? (size_t)(nl - text) + 1 : len;
	}
	return off;
}

/* Whether the logical line in t is an entry for key (its first token normalises to it). */
static bool entry_has_key(const struct policy_tbl_reader *t, enum policy_dir dir, const char *key)
{
	struct policy_rule k = { 0 };
	size_t klen = strcspn(t->buf, " \t\r\n\v\f"), bad;
	char why[256];
	bool same;

	if (policy_key_parse(dir, t->buf, klen, &k, &bad, why, sizeof(why)))
		return false;
	same = !strcmp(k.key, key);
	policy_rule_clear(&k);
	return same;
}

int policy_store_del(const struct policy *old, enum policy_dir dir, const char *key,
		     struct policy **out, struct policy_error *err)
{
	const struct policy_rule *r;
	struct policy_error local;
	struct policy_diags scratch = { 0 };
	struct policy_tbl_reader t;
	unsigned int (*span)[2] = NULL;
	size_t nspan = 0, len = 0;
	char *text = NULL;
	int rc;

	if (!err)
		err = &local;
	*out = NULL;
	r = policy_rule_find(old, dir, key);
	if (!r) {
		policy_errorf(err, "no %s rule for '%s'", dir_name(dir), key);
		return -ENOENT;
	}
	rc = read_current(old, dir, &text, &len, err);
	if (rc)
		return rc;
	/* Every entry for the key goes, each from its first line to the last of its
	 * continuation lines: with duplicates (the first applies, as in Postfix) deleting only
	 * the first would make the next one apply. */
	policy_tbl_init(&t, old->t[dir].path, text, len);
	t.diags = &scratch;	/* what the load skipped with a warning is no error here */
	while ((rc = policy_tbl_next(&t, err)) > 0) {
		unsigned int (*ns)[2];

		if (!entry_has_key(&t, dir, r->key))
			continue;
		ns = realloc(span, (nspan + 1) * sizeof(*span));
		if (!ns) {
			rc = -ENOMEM;
			policy_errorf(err, "out of memory");
			break;
		}
		span = ns;
		span[nspan][0] = policy_tbl_first_line(&t);
		span[nspan][1] = t.segs[t.nseg - 1].line;
		nspan++;
	}
	policy_tbl_free(&t);
	policy_diags_free(&scratch);
	if (rc < 0)
		goto out;
	if (!nspan) {	/* cannot happen while the hash matches */
		policy_errorf(err, "%s: entry for '%s' not found at line %u", old->t[dir].path,
			      key, r->line);
		rc = -ESTALE;
		goto out;
	}
	for (size_t i = nspan; i-- > 0;) {	/* from the end: offsets before stay valid */
		size_t a = line_offset(text, len, span[i][0]);
		size_t b = line_offset(text, len, span[i][1] + 1);

		memmove(text + a, text + b, len - b);
		len -= b - a;
	}
	rc = commit(old, dir, text, len, out, err);
out:
	free(span);
	free(text);
	return rc;
}

int policy_store_import(const struct policy *old, enum policy_dir dir, const char *src_path,
			struct policy **out, struct policy_error *err)
{
	struct policy_rule *rules = NULL;
	struct policy_error local;
	char *text = NULL;
	size_t len = 0, n = 0;
	int rc;

	if (!err)
		err = &local;
	*out = NULL;
	if (!old->t[dir].path) {
		policy_errorf(err, "no %s policy table file is configured", dir_name(dir));
		return -ENOENT;
	}
	rc = policy_read_file(src_path, &text, &len, err);
	if (rc)
		return rc;
	/* Errors name the file the admin gave us, not the table it would replace. */
	rc = policy_parse_table(dir, src_path, text, len, &rules, &n, err);
	policy_rules_free(rules, n);
	if (!rc)
		rc = commit(old, dir, text, len, out, err);
	free(text);
	return rc;
}
