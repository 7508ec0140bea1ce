// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MTA-STS policy cache.  RFC 8461's protection against a downgrade is the cache: a policy
 * seen once is applied until its max_age runs out, whatever DNS or the policy server say in
 * between (§5.1).  So it lives on disk: one file per domain under STATE_DIR/mta-sts/, written
 * with policy_write_atomic (temp, fsync, rename, fsync dir) before the new policy is used, and
 * loaded at start.  In memory: a sorted array of slots (a policy, or none yet, plus what the
 * fetcher remembers), bounded: past max_entries the slot fetched longest ago goes, file too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "policy/policy_int.h"
#include "policy/sts.h"

#define DEFAULT_MAX_ENTRIES 100000
#define RECORD_MAX (POLICY_STS_MAX_BODY + 1024)

struct slot {
	char domain[POLICY_STS_NAME_MAX];
	struct policy_sts_entry *e;	/* NULL: no policy known */
	struct policy_sts_state st;
};

struct policy_sts_cache {
	pthread_mutex_t lock;
	char *dir;
	size_t max;
	struct slot **v;	/* sorted by domain */
	size_t n, cap;
};

/* Index of domain, or -(insertion point) - 1. */
static long find(const struct policy_sts_cache *c, const char *domain)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(c->v[mid]->domain, domain);

		if (!d)
			return (long)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int path_of(const struct policy_sts_cache *c, const char *domain, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", c->dir, domain);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void slot_free(struct slot *s)
{
	policy_sts_entry_put(s->e);
	free(s);
}

static int64_t slot_age_key(const struct slot *s)
{
	return s->e ? s->e->fetched : s->st.last_attempt;
}

struct victim {
	bool has_policy;
	int64_t age;
	size_t idx;
};

/* Eviction order: a domain without a policy before one with, then the older. */
static int victim_cmp(const void *pa, const void *pb)
{
	const struct victim *a = pa, *b = pb;

	if (a->has_policy != b->has_policy)
		return a->has_policy ? 1 : -1;
	return a->age < b->age ? -1 : a->age > b->age;
}

/*
 * Over the bound: slots go, and their files.  Slots without a policy go first, so that mail to
 * many domains without MTA-STS (an inside sender can choose them) cannot push cached policies
 * out; among equals the one fetched (or tried) longest ago.  A large cache drops 1% more than
 * needed at once: one sort per hundreds of new domains, not a scan of every slot per domain.
 * Called without the lock, by the one thread that changes the cache (sts.h): it may read the
 * array unlocked, and locks only to take the victims out, so lookups never wait for the sort,
 * nor for the unlinks and frees done after.
 */
static void evict(struct policy_sts_cache *c, const char *keep)
{
	size_t batch = c->max >= 1000 ? c->max / 100 : 0, want, n = 0, out = 0;
	struct victim *vs;
	struct slot **gone;

	if (c->n <= c->max)
		return;
	want = c->n - c->max + batch;
	vs = malloc(c->n * sizeof(*vs));
	gone = malloc(want * sizeof(*gone));
	if (!vs || !gone)
		goto out;	/* over the bound until the next change finds memory */
	for (size_t i = 0; i < c->n; i++) {
		if (!strcmp(c->v[i]->domain, keep))
			continue;
		vs[n].has_policy = c->v[i]->e != NULL;
		vs[n].age = slot_age_key(c->v[i]);
		vs[n].idx = i;
		n++;
	}
	qsort(vs, n, sizeof(*vs), victim_cmp);
	if (want > n)
		want = n;
	for (size_t k = 0; k < want; k++)
		gone[k] = c->v[vs[k].idx];
	pthread_mutex_lock(&c->lock);
	for (size_t k = 0; k < want; k++)
		c->v[vs[k].idx] = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i])
			c->v[out++] = c->v[i];
	c->n = out;
	pthread_mutex_unlock(&c->lock);
	for (size_t k = 0; k < want; k++) {
		char path[4096];

		if (gone[k]->e && !path_of(c, gone[k]->domain, path, sizeof(path)) && unlink(path) &&
		    errno != ENOENT)
			log_warn("mta-sts cache: cannot remove %s: %s", path, strerror(errno));
		log_debug("mta-sts cache evict domain=%s policy=%s", gone[k]->domain,
			  gone[k]->e ? "yes" : "no");
		slot_free(gone[k]);
	}
	log_info("mta-sts cache evicted=%zu entries=%zu max=%zu", want, out, c->max);
out:
	free(vs);
	free(gone);
}

/* The slot for domain, created when missing (caller holds the lock). */
static int slot_get(struct policy_sts_cache *c, const char *domain, struct slot **out)
{
	long i = find(c, domain);
	struct slot *s;
	size_t at;

	if (i >= 0) {
		*out = c->v[i];
		return 0;
	}
	at = (size_t)(-i - 1);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct slot **v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->domain, sizeof(s->domain), "%s", domain);
	memmove(c->v + at + 1, c->v + at, (c->n - at) * sizeof(*c->v));
	c->v[at] = s;
	c->n++;
	*out = s;
	return 0;
}

static int read_small(int dfd, const char *name, char **buf, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = 0;
	char *b;
	int rc;

	if (fd < 0)
		return -errno;
	b = malloc(RECORD_MAX + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, RECORD_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (!r)
			break;
		n += (size_t)r;
		if (n > RECORD_MAX) {
			rc = -EFBIG;
			goto out;
		}
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

static int load(struct policy_sts_cache *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *de;
	size_t loaded = 0, bad = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct policy_sts_entry *e = NULL;
		char why[192], *buf = NULL;
		struct slot *s;
		size_t len = 0;
		int rc;

		if (de->d_name[0] == '.')
			continue;
		if (strstr(de->d_name, ".tmp.")) {	/* a write that did not finish */
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		rc = read_small(dirfd(d), de->d_name, &buf, &len);
		if (!rc)
			rc = policy_sts_record_parse(buf, len, &e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", strerror(-rc));
		free(buf);
		if (!rc && strcmp(e->domain, de->d_name)) {
			snprintf(why, sizeof(why), "file name is not the record's domain");
			rc = -EINVAL;
		}
		if (rc == -ENOMEM) {
			closedir(d);
			return rc;
		}
		if (rc) {
			log_warn("mta-sts cache: skipping %s/%s: %s", c->dir, de->d_name, why);
			policy_sts_entry_put(e);
			bad++;
			continue;
		}
		rc = slot_get(c, e->domain, &s);
		if (rc) {
			policy_sts_entry_put(e);
			closedir(d);
			return rc;
		}
		s->e = e;
		loaded++;
	}
	closedir(d);
	evict(c, "");
	log_info("mta-sts cache dir=%s loaded=%zu skipped=%zu", c->dir, loaded, bad);
	return 0;
}

int policy_sts_cache_open(const char *dir, size_t max_entries, struct policy_sts_cache **out)
{
	struct policy_sts_cache *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->max = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	c->dir = strdup(dir);
	if (!c->dir) {
		rc = -ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = load(c);
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	policy_sts_cache_free(c);
	return rc;
}

void policy_sts_cache_free(struct policy_sts_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		slot_free(c->v[i]);
	free(c->v);
	free(c->dir);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

size_t policy_sts_cache_count(struct policy_sts_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int policy_sts_cache_get(struct policy_sts_cache *c, const char *domain,
			 struct policy_sts_entry **e, struct policy_sts_state *st)
{
	long i;

	pthread_mutex_lock(&c->lock);
	i = find(c, domain);
	if (i >= 0) {
		if (e) {
			*e = c->v[i]->e;
			if (*e)
				policy_sts_entry_get(*e);
		}
		if (st)
			*st = c->v[i]->st;
	}
	pthread_mutex_unlock(&c->lock);
	if (i < 0 && e)
		*e = NULL;
	return i >= 0 ? 0 : -ENOENT;
}

int policy_sts_cache_put(struct policy_sts_cache *c, struct policy_sts_entry *e)
{
	struct policy_sts_entry *old = NULL;
	char path[4096], *rec = NULL;
	struct slot *s;
	size_t len;
	int rc;

	rc = path_of(c, e->domain, path, sizeof(path));
	rc = rc ?: policy_sts_record_serialize(e, &rec, &len);
	if (rc)
		goto out;
	/* On disk before in use: a restart never forgets a policy we acted on.  Outside the lock
	 * (an fsync takes milliseconds that lookups must not wait): puts and purges come from
	 * one thread, the fetcher's, so no two writes of a file race. */
	rc = policy_write_atomic(path, rec, len);
	if (rc)
		goto out;
	pthread_mutex_lock(&c->lock);
	rc = slot_get(c, e->domain, &s);
	if (!rc) {
		old = s->e;
		s->e = e;
		e = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	policy_sts_entry_put(old);
	if (!rc)
		evict(c, s->domain);
out:
	free(rec);
	if (rc)
		policy_sts_entry_put(e);
	return rc;
}

int policy_sts_cache_set_state(struct policy_sts_cache *c, const char *domain,
			       const struct policy_sts_state *st)
{
	struct slot *s;
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = slot_get(c, domain, &s);
	if (!rc)
		s->st = *st;
	pthread_mutex_unlock(&c->lock);
	/* a new domain without a policy may be the one to go */
	if (!rc)
		evict(c, s->e ? s->domain : "");
	return rc;
}

int policy_sts_cache_purge(struct policy_sts_cache *c, const char *domain)
{
	char path[4096];
	long i;
	int rc = 0;

	struct slot *gone = NULL;

	/* The file first, outside the lock (only this thread changes the cache): a failure
	 * leaves memory and disk as they were. */
	i = find(c, domain);
	if (i < 0)
		return -ENOENT;
	if (!path_of(c, domain, path, sizeof(path)) && unlink(path) && errno != ENOENT)
		return -errno;
	pthread_mutex_lock(&c->lock);
	i = find(c, domain);
	if (i >= 0) {
		gone = c->v[i];
		memmove(c->v + i, c->v + i + 1, (c->n - (size_t)i - 1) * sizeof(*c->v));
		c->n--;
	}
	pthread_mutex_unlock(&c->lock);
	if (gone)
		slot_free(gone);
	return rc;
}

int policy_sts_cache_foreach(struct policy_sts_cache *c,
			     int (*fn)(const char *domain, const struct policy_sts_entry *e,
				       const struct policy_sts_state *st, void *arg),
			     void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n && !rc; i++)
		rc = fn(c->v[i]->domain, c->v[i]->e, &c->v[i]->st, arg);
	pthread_mutex_unlock(&c->lock);
	return rc;
}
