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

int policy_parse_table(enum policy_dir dir, const char *name, const char *text, size_t len,
		       struct policy_rule **rules, size_t *n, struct policy_error *err)
{
	struct policy_error local;
	struct policy_rule *v = NULL;
	struct strtab keys = { 0 };
	struct policy_tbl_reader t;
	size_t nv = 0, cap = 0;
	int rc;

	if (!err)
		err = &local;
	policy_tbl_init(&t, name, text, len);
	while ((rc = policy_tbl_next(&t, err)) > 0) {
		if (nv == cap) {
			struct policy_rule *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(v, cap * sizeof(*v));
			if (!nr) {
				rc = -ENOMEM;
				policy_errorf(err, "%s: out of memory", name);
				goto out;
			}
			v = nr;
		}
		rc = policy_parse_entry(&t, dir, &v[nv], err);
		if (rc)
			goto out;
		v[nv].file = strdup(name);
		nv++;
		if (!v[nv - 1].file) {
			rc = -ENOMEM;
			policy_errorf(err, "%s: out of memory", name);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	/* Duplicates: Postfix's postmap keeps the first and warns; two entries for one key are
	 * ambiguous (the second might be the stricter), so we refuse them. */
	rc = policy_strtab_init(&keys, nv);
	if (rc) {
		policy_errorf(err, "%s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		long first = policy_strtab_insert(&keys, v, (uint32_t)i);

		if (first != (long)i) {
			policy_errorf(err, "%s:%u:1: duplicate key '%s' (first at line %u)", name,
				      v[i].line, v[i].key, v[first].line);
			rc = -EINVAL;
			goto out;
		}
	}
	*rules = v;
	*n = nv;
	v = NULL;
	nv = 0;
out:
	policy_strtab_free(&keys);
	policy_rules_free(v, nv);
	policy_tbl_free(&t);
	return rc;
}

int policy_load_table(enum policy_dir dir, const char *path, struct policy_rule **rules,
		      size_t *n, uint64_t *hash, struct policy_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = policy_read_file(path, &text, &len, err);
	if (rc)
		return rc;
	if (hash)
		*hash = policy_hash64(text, len, 0);
	rc = policy_parse_table(dir, path, text, len, rules, n, err);
	free(text);
	return rc;
}

int policy_check_file(enum policy_dir dir, const char *path, size_t *nrules,
		      struct policy_error *err)
{
	struct policy_rule *rules = NULL;
	size_t n = 0;
	int rc;

	rc = policy_load_table(dir, path, &rules, &n, NULL, err);
	if (!rc && nrules)
		*nrules = n;
	policy_rules_free(rules, n);
	return rc;
}

int policy_check_table(enum policy_dir dir, const char *name, const char *text, size_t len,
		       size_t *nrules, policy_report_fn report, void *arg)
{
	struct policy_error err;
	struct policy_rule *v = NULL;
	struct strtab keys = { 0 };
	struct policy_tbl_reader t;
	size_t nv = 0, cap = 0;
	int rc, errors = 0;

	policy_tbl_init(&t, name, text, len);
	for (;;) {
		err.msg[0] = '\0';
		rc = policy_tbl_next(&t, &err);
		if (rc == 0)
			break;
		if (rc == -ENOMEM)
			goto out;
		if (rc < 0) {
			/* The reader is past the bad line and starts the next entry afresh. */
			report(arg, err.msg);
			errors++;
			continue;
		}
		if (nv == cap) {
			struct policy_rule *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(v, cap * sizeof(*v));
			if (!nr) {
				rc = -ENOMEM;
				goto out;
			}
			v = nr;
		}
		memset(&v[nv], 0, sizeof(v[nv]));
		rc = policy_parse_entry(&t, dir, &v[nv], &err);
		if (rc == -ENOMEM)
			goto out;
		if (rc) {
			report(arg, err.msg);
			errors++;
			continue;
		}
		nv++;
	}
	rc = policy_strtab_init(&keys, nv);
	if (rc)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		long first = policy_strtab_insert(&keys, v, (uint32_t)i);

		if (first != (long)i) {
			policy_errorf(&err, "%s:%u:1: duplicate key '%s' (first at line %u)", name,
				      v[i].line, v[i].key, v[first].line);
			report(arg, err.msg);
			errors++;
		}
	}
	if (nrules)
		*nrules = nv;
	rc = errors;
out:
	policy_strtab_free(&keys);
	policy_rules_free(v, nv);
	policy_tbl_free(&t);
	return rc;
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
	size_t no = 0, ni = 0;
	uint64_t ho = 0, hi = 0;
	struct policy_error local;
	struct policy *p = NULL;
	int rc;

	if (!err)
		err = &local;
	*out = NULL;
	if (outbound_path) {
		rc = policy_load_table(POLICY_OUTBOUND, outbound_path, &ro, &no, &ho, err);
		if (rc)
			return rc;
	}
	if (inbound_path) {
		rc = policy_load_table(POLICY_INBOUND, inbound_path, &ri, &ni, &hi, err);
		if (rc) {
			policy_rules_free(ro, no);
			return rc;
		}
	}
	rc = policy_build(ro, no, ri, ni, &p, err);
	if (rc)
		return rc;
	p->t[POLICY_OUTBOUND].content_hash = ho;
	p->t[POLICY_INBOUND].content_hash = hi;
	if ((outbound_path && !(p->t[POLICY_OUTBOUND].path = strdup(outbound_path))) ||
	    (inbound_path && !(p->t[POLICY_INBOUND].path = strdup(inbound_path)))) {
		policy_errorf(err, "out of memory");
		policy_put(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
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
