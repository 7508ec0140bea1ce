// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the pinned counter maps (bpf/metrics.h): per-CPU values summed over every possible CPU.
 * Only bpf_obj_get on the pins: works whether or not the daemon runs.
 */
#include "bpf/metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const reason_names[TG_DROP_N] = {
	[TG_DROP_NONE] = "none",
	[TG_DROP_PLAIN_MAIL] = "plaintext-mail",
	[TG_DROP_PLAIN_AUTH] = "plaintext-auth",
	[TG_DROP_BAD_VERB] = "command-before-tls",
	[TG_DROP_EARLY_DATA] = "data-before-tls",
	[TG_DROP_BAD_RECORD] = "malformed-record",
	[TG_DROP_NO_STATE] = "no-flow-state",
	[TG_DROP_FRAGMENT] = "fragment",
	[TG_DROP_LIMIT] = "inspection-limit",
	[TG_DROP_BLOCKED] = "flow-blocked",
	[TG_DROP_OOO] = "out-of-order",
	[TG_DROP_UNPARSABLE] = "unparsable",
	[TG_DROP_RETRANSMIT] = "retransmit-differs",
	[TG_DROP_BAD_LINE] = "malformed-command-line",
	[TG_DROP_SYN] = "syn-on-live-flow",
};

const char *tg_drop_reason_name(unsigned int reason)
{
	static __thread char buf[24];

	if (reason < TG_DROP_N)
		return reason_names[reason];
	snprintf(buf, sizeof(buf), "reason-%u", reason);
	return buf;
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Sum one per-CPU value (ncpu copies of struct tg_counters) into *out. */
static int lookup_sum(int fd, const void *key, struct tg_counters *vals, int ncpu,
		      struct tg_counters *out)
{
	if (bpf_map_lookup_elem(fd, key, vals))
		return -errno;
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < TG_CTR_N; i++)
			out->v[i] += vals[c].v[i];
	return 0;
}

static int cmp_rule(const void *a, const void *b)
{
	const struct tg_rule_counters *x = a, *y = b;

	return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

static int read_rules(int fd, struct tg_counters *vals, int ncpu, struct tg_metrics *m)
{
	__u32 key, next, *prev = NULL;
	size_t cap = 0;
	int err;

	for (;;) {
		if (bpf_map_get_next_key(fd, prev, &next)) {
			if (errno == ENOENT)
				break; /* the last key */
			return -errno;
		}
		key = next;
		prev = &key;
		if (m->nrules == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = realloc(m->rules, ncap * sizeof(*m->rules));

			if (!p)
				return -ENOMEM;
			m->rules = p;
			cap = ncap;
		}
		err = lookup_sum(fd, &key, vals, ncpu, &m->rules[m->nrules].c);
		if (err == -ENOENT)
			continue; /* deleted meanwhile */
		if (err)
			return err;
		m->rules[m->nrules++].rule_id = key;
	}
	if (m->nrules > 1)
		qsort(m->rules, m->nrules, sizeof(*m->rules), cmp_rule);
	return 0;
}

int tg_metrics_read(const char *pin_dir, struct tg_metrics *m)
{
	int ncpu = libbpf_num_possible_cpus(), gfd = -1, rfd = -1, err;
	struct tg_counters *vals = NULL;
	__u32 zero = 0;

	memset(m, 0, sizeof(*m));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	gfd = open_pin(pin_dir, "tg_stats");
	err = gfd < 0 ? gfd : 0;
	if (!err) {
		rfd = open_pin(pin_dir, "tg_rule_stats");
		err = rfd < 0 ? rfd : 0;
	}
	if (!err)
		err = lookup_sum(gfd, &zero, vals, ncpu, &m->global);
	if (!err)
		err = read_rules(rfd, vals, ncpu, m);
	if (gfd >= 0)
		close(gfd);
	if (rfd >= 0)
		close(rfd);
	free(vals);
	if (err)
		tg_metrics_free(m);
	return err;
}

void tg_metrics_free(struct tg_metrics *m)
{
	free(m->rules);
	m->rules = NULL;
	m->nrules = 0;
}
