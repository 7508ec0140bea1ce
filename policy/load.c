// SPDX-License-Identifier: GPL-2.0-only
/*
 * Snapshots: parse the tables, build the indexes, hand out references.  Everything is built on
 * the side and only returned when complete, so a bad table never replaces a good one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/parse.h"

int policy_read_file(const char *path, char **text, size_t *len, struct policy_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0, cap;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		policy_errorf(err, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		policy_errorf(err, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		policy_errorf(err, "%s: not a regular file", path);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		policy_errorf(err, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (got + 1 == cap) {	/* grew while we read */
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				rc = -ENOMEM;
				policy_errorf(err, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			policy_errorf(err, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* The first error of d as a policy_error. */
static void first_error(const struct policy_diags *d, struct policy_error *err)
{
	if (d->first_error[0])
		snprintf(err->msg, sizeof(err->msg), "%s", d->first_error);
	else
		policy_errorf(err, "policy table: %zu errors", d->nerrors);
}

int policy_parse_table_diags(enum policy_dir dir, const char *name, const char *text, size_t len,
			     struct policy_rule **rules, size_t *n, struct policy_diags *d)
{
	struct policy_rule *v = NULL;
	struct policy_error e;
	struct strtab keys = { 0 };
	struct policy_tbl_reader t;
	size_t nv = 0, cap = 0, kept = 0;
	int rc;

	policy_tbl_init(&t, name, text, len);
	t.diags = d;
	while ((rc = policy_tbl_next(&t, &e)) > 0) {
		if (nv == cap) {
			struct policy_rule *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(v, cap * sizeof(*v));
			if (!nr) {
				rc = -ENOMEM;
				goto nomem;
			}
			v = nr;
		}
		e.msg[0] = '\0';
		rc = policy_parse_entry(&t, dir, &v[nv], &e);
		if (rc == -ENOMEM)
			goto nomem;
		if (rc == -EINVAL) {
			/* An error in tlsgate's own syntax: the table is refused, but read on
			 * so that `policy check` shows every problem at once. */
			policy_diag_push(d, true, e.msg);
			continue;
		}
		if (rc > 0)
			continue;	/* skipped, warned */
		v[nv].file = strdup(name);
		nv++;
		if (!v[nv - 1].file) {
			rc = -ENOMEM;
			goto nomem;
		}
	}
	if (rc < 0) {
		if (rc == -ENOMEM)
			goto nomem;
		policy_diag_push(d, true, e.msg);	/* the reader cannot go on */
	}
	/* Duplicates (outbound): as postmap, the first entry wins and the others are warned
	 * about (with the same case folding and, beyond postmap, the normalisation lookups use). */
	rc = policy_strtab_init(&keys, nv);
	if (rc)
		goto nomem;
	for (size_t i = 0; i < nv; i++) {
		long first;

		if (i != kept) {	/* v[kept] was a duplicate, cleared */
			v[kept] = v[i];
			memset(&v[i], 0, sizeof(v[i]));
		}
		first = policy_strtab_insert(&keys, v, (uint32_t)kept);
		if (first != (long)kept) {
			char msg[512];

			/* The inbound table is tlsgate's own: two levels for one key there stay
			 * an error (the second might be the stricter one). */
			if (dir == POLICY_INBOUND)
				snprintf(msg, sizeof(msg), "%s:%u:1: duplicate key '%s' (first at "
					 "line %u)", name, v[kept].line, v[kept].key,
					 v[first].line);
			else
				snprintf(msg, sizeof(msg), "%s:%u:1: duplicate key '%s' ignored "
					 "(the entry at line %u applies, as in Postfix)", name,
					 v[kept].line, v[kept].key, v[first].line);
			policy_diag_push(d, dir == POLICY_INBOUND, msg);
			policy_rule_clear(&v[kept]);
			continue;
		}
		kept++;
	}
	for (size_t i = kept; i < nv; i++)
		policy_rule_clear(&v[i]);
	nv = kept;
	rc = d->nerrors ? -EINVAL : 0;
	if (!rc && rules) {
		*rules = v;
		*n = nv;
		v = NULL;
		nv = 0;
	} else if (!rc && n) {
		*n = nv;
	}
	goto out;
nomem:
	policy_diag_push(d, true, "out of memory");
	rc = -ENOMEM;
out:
	policy_strtab_free(&keys);
	policy_rules_free(v, nv);
	policy_tbl_free(&t);
	return rc;
}

int policy_parse_table(enum policy_dir dir, const char *name, const char *text, size_t len,
		       struct policy_rule **rules, size_t *n, struct policy_error *err)
{
	struct policy_diags d = { 0 };
	int rc = policy_parse_table_diags(dir, name, text, len, rules, n, &d);

	if (rc && err)
		first_error(&d, err);
	policy_diags_free(&d);
	return rc;
}

int policy_load_table(enum policy_dir dir, const char *path, struct policy_rule **rules,
		      size_t *n, uint64_t *hash, struct policy_diags *d, struct policy_error *err)
{
	struct policy_diags local = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = policy_read_file(path, &text, &len, err);
	if (rc)
		return rc;
	if (hash)
		*hash = policy_hash64(text, len, 0);
	if (!d)
		d = &local;
	rc = policy_parse_table_diags(dir, path, text, len, rules, n, d);
	if (rc && err)
		first_error(d, err);
	policy_diags_free(&local);
	free(text);
	return rc;
}

int policy_check_file(enum policy_dir dir, const char *path, size_t *nrules,
		      struct policy_error *err)
{
	struct policy_rule *rules = NULL;
	size_t n = 0;
	int rc;

	rc = policy_load_table(dir, path, &rules, &n, NULL, NULL, err);
	if (!rc && nrules)
		*nrules = n;
	policy_rules_free(rules, n);
	return rc;
}

int policy_check_file_diags(enum policy_dir dir, const char *path, size_t *nrules,
			    struct policy_diags *d, struct policy_error *err)
{
	struct policy_rule *rules = NULL;
	size_t n = 0;
	int rc;

	rc = policy_load_table(dir, path, &rules, &n, NULL, d, err);
	if (!rc && nrules)
		*nrules = n;
	policy_rules_free(rules, n);
	return rc;
}

int policy_keep_warnings(struct policy *p, const struct policy_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char **nw, *w;

		if (d->v[i].error)
			continue;
		nw = realloc(p->warnings, (p->nwarnings + 1) * sizeof(*nw));
		if (!nw)
			return -ENOMEM;
		p->warnings = nw;
		w = strdup(d->v[i].msg);
		if (!w)
			return -ENOMEM;
		p->warnings[p->nwarnings++] = w;
	}
	if (d->nwarnings > d->n) {	/* beyond POLICY_DIAG_MAX: say how many were not kept */
		char **nw = realloc(p->warnings, (p->nwarnings + 1) * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		p->warnings = nw;
		if (asprintf(&p->warnings[p->nwarnings], "and more warnings (%zu in all)",
			     d->nwarnings) < 0)
			return -ENOMEM;
		p->nwarnings++;
	}
	return 0;
}

size_t policy_warning_count(const struct policy *p)
{
	return p->nwarnings;
}

const char *policy_warning_at(const struct policy *p, size_t i)
{
	return i < p->nwarnings ? p->warnings[i] : NULL;
}

static void table_free(struct policy_table *t)
{
	policy_rules_free(t->rules, t->n);
	policy_strtab_free(&t->keys);
	policy_lpm_free(&t->lpm);
	policy_rule_clear(&t->deflt);
	free(t->path);
}

static int table_init(struct policy_table *t, enum policy_dir dir, struct policy_rule *rules,
		      size_t n)
{
	int rc;

	t->rules = rules;
	t->n = n;
	t->deflt.dir = dir;
	t->deflt.key_type = POLICY_KEY_DEFAULT;
	t->deflt.level = POLICY_MAY;
	t->deflt.id = dir == POLICY_OUTBOUND ? POLICY_ID_DEFAULT_OUT : POLICY_ID_DEFAULT_IN;
	t->deflt.key = strdup("default");
	if (!t->deflt.key)
		return -ENOMEM;
	rc = policy_strtab_init(&t->keys, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (policy_strtab_insert(&t->keys, rules, (uint32_t)i) != (long)i)
			return -EEXIST;	/* policy_parse_table refuses these */
	return policy_lpm_build(&t->lpm, rules, n);
}

int policy_build(struct policy_rule *out, size_t nout, struct policy_rule *in, size_t nin,
		 struct policy **pp, struct policy_error *err)
{
	struct policy *p = calloc(1, sizeof(*p));
	int rc = -ENOMEM;

	if (!p) {
		policy_rules_free(out, nout);
		policy_rules_free(in, nin);
		goto out;
	}
	atomic_init(&p->refs, 1);
	rc = table_init(&p->t[POLICY_OUTBOUND], POLICY_OUTBOUND, out, nout);
	if (!rc)
		rc = table_init(&p->t[POLICY_INBOUND], POLICY_INBOUND, in, nin);
	else
		policy_rules_free(in, nin);
	if (rc)
		goto out;
	rc = policy_ids_assign(out, nout, in, nin, &p->ids);
	if (rc)
		goto out;
	p->nids = nout + nin;
	p->res = calloc(1, sizeof(*p->res));
	if (!p->res) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&p->res->lock, NULL);
	*pp = p;
	return 0;
out:
	if (rc == -EEXIST)
		policy_errorf(err, "duplicate key in policy table");
	else
		policy_errorf(err, "building the policy: %s", strerror(-rc));
	policy_put(p);
	return rc;
}

int policy_load(const char *outbound_path, const char *inbound_path, struct policy **out,
		struct policy_error *err)
{
	struct policy_rule *ro = NULL, *ri = NULL;
	struct policy_diags d = { 0 };
	size_t no = 0, ni = 0;
	uint64_t ho = 0, hi = 0;
	struct policy_error local;
	struct policy *p = NULL;
	int rc;

	if (!err)
		err = &local;
	*out = NULL;
	if (outbound_path) {
		rc = policy_load_table(POLICY_OUTBOUND, outbound_path, &ro, &no, &ho, &d, err);
		if (rc)
			goto out;
	}
	if (inbound_path) {
		rc = policy_load_table(POLICY_INBOUND, inbound_path, &ri, &ni, &hi, &d, err);
		if (rc) {
			policy_rules_free(ro, no);
			goto out;
		}
	}
	rc = policy_build(ro, no, ri, ni, &p, err);
	if (rc)
		goto out;
	if (policy_keep_warnings(p, &d)) {
		policy_errorf(err, "out of memory");
		policy_put(p);
		rc = -ENOMEM;
		goto out;
	}
	p->t[POLICY_OUTBOUND].content_hash = ho;
	p->t[POLICY_INBOUND].content_hash = hi;
	if ((outbound_path && !(p->t[POLICY_OUTBOUND].path = strdup(outbound_path))) ||
	    (inbound_path && !(p->t[POLICY_INBOUND].path = strdup(inbound_path)))) {
		policy_errorf(err, "out of memory");
		policy_put(p);
		rc = -ENOMEM;
		goto out;
	}
	*out = p;
out:
	policy_diags_free(&d);
	return rc;
}

struct policy *policy_get(struct policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void policy_put(struct policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	table_free(&p->t[POLICY_OUTBOUND]);
	table_free(&p->t[POLICY_INBOUND]);
	free(p->ids);
	for (size_t i = 0; i < p->nwarnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	if (p->res) {
		policy_addrmap_put(p->res->map);
		pthread_mutex_destroy(&p->res->lock);
		free(p->res);
	}
	free(p);
}

size_t policy_rule_count(const struct policy *p, enum policy_dir dir)
{
	return p->t[dir].n;
}

const struct policy_rule *policy_rule_at(const struct policy *p, enum policy_dir dir, size_t i)
{
	return i < p->t[dir].n ? &p->t[dir].rules[i] : NULL;
}

const struct policy_rule *policy_rule_by_id(const struct policy *p, uint32_t id)
{
	size_t lo = 0, hi = p->nids;

	if (id == POLICY_ID_DEFAULT_OUT)
		return &p->t[POLICY_OUTBOUND].deflt;
	if (id == POLICY_ID_DEFAULT_IN)
		return &p->t[POLICY_INBOUND].deflt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ids[mid].id == id)
			return p->ids[mid].rule;
		if (p->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct policy_rule *policy_rule_find(const struct policy *p, enum policy_dir dir,
					   const char *key)
{
	struct policy_rule tmp = { 0 };
	const struct policy_table *t = &p->t[dir];
	char why[256];
	size_t bad;
	long i = -1;

	if (!policy_key_parse(dir, key, strlen(key), &tmp, &bad, why, sizeof(why)))
		i = policy_strtab_find(&t->keys, tmp.key, strlen(tmp.key));
	policy_rule_clear(&tmp);
	return i < 0 ? NULL : &t->rules[i];
}

const char *policy_path(const struct policy *p, enum policy_dir dir)
{
	return p->t[dir].path;
}

bool policy_equal(const struct policy *a, const struct policy *b)
{
	for (int d = POLICY_OUTBOUND; d <= POLICY_INBOUND; d++) {
		if (a->t[d].n != b->t[d].n)
			return false;
		for (size_t i = 0; i < a->t[d].n; i++)
			if (a->t[d].rules[i].id != b->t[d].rules[i].id ||
			    !policy_rule_equal(&a->t[d].rules[i], &b->t[d].rules[i]))
				return false;
	}
	return true;
}
