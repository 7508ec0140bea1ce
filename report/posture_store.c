// SPDX-License-Identifier: GPL-2.0-only
/*
 * The posture directory: today's day in memory (loaded from its file at start, so a restart
 * adds to it), written out when asked (posture_store_flush, or take on the counting thread and
 * commit on a writer), rolled over at midnight UTC, files beyond the days kept deleted.  The clock is the caller's (`now` arguments, the outcomes' own
 * times): the tests move it.
 */
#include "report/posture.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Two days in memory.  `cur` is where outcomes are counted (the caller's thread: the daemon's
 * main loop); `base` is what the files have, or will have once the write under way ends, and
 * is touched only by posture_store_commit.  posture_store_take moves cur out (a fresh one
 * takes its place), and commit merges it into base and writes base: so the thread that counts
 * never waits for the disk, and the one that writes never sees a day that is still changing.
 * A day's cur that ended (an outcome of a later day came) waits in `ended` for its commit.
 */
#define STORE_ENDED 4

struct posture_store {
	char *dir;
	uint32_t days, max_domains;
	struct posture_day *cur;	/* the counting side's */
	struct posture_day *ended[STORE_ENDED];	/* past days' cur, oldest first */
	unsigned int nended;
	int64_t taken_day;		/* the day of the last cur taken (base's, once committed) */
	struct posture_day *base;	/* the committing side's */
};

/* d's file into d; a damaged one is renamed aside (kept for a look) and logged. */
static int load_day(const char *dir, struct posture_day *d)
{
	char why[256];
	int rc = posture_file_read(dir, d->day, d, why, sizeof(why));

	if (rc == -EBADMSG) {
		char date[16], from[4096], to[4200];

		posture_day_text(d->day, date, sizeof(date));
		snprintf(from, sizeof(from), "%s/%s.posture", dir, date);
		snprintf(to, sizeof(to), "%s.damaged", from);
		log_warn("posture: %s is damaged (%s): renamed to %s, the day starts again", from,
			 why, to);
		if (rename(from, to))
			log_warn("posture: rename %s: %s", from, strerror(errno));
		return 0;
	}
	if (rc && rc != -ENOENT)
		return rc;
	d->dirty = false;
	return 0;
}

int posture_store_open(const struct posture_store_opts *o, int64_t now,
		       struct posture_store **out)
{
	struct posture_store *s = calloc(1, sizeof(*s));
	int64_t day = posture_day_of(now);
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->days = o->days ? o->days : POSTURE_DAYS_DEFAULT;
	s->max_domains = o->max_domains ? o->max_domains : POSTURE_MAX_DOMAINS_DEFAULT;
	s->dir = strdup(o->dir);
	if (!s->dir) {
		rc = -ENOMEM;
		goto fail;
	}
	if (mkdir(s->dir, 0750) && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = posture_day_new(day, s->max_domains, &s->base);
	if (rc)
		goto fail;
	rc = posture_day_new(day, s->max_domains, &s->cur);
	if (rc)
		goto fail;
	rc = load_day(s->dir, s->base);
	if (rc)
		goto fail;
	s->taken_day = day;
	posture_store_prune(s->dir, day - (int64_t)s->days + 1);
	*out = s;
	return 0;
fail:
	posture_day_free(s->base);
	posture_day_free(s->cur);
	free(s->dir);
	free(s);
	return rc;
}

/* From now on outcomes count into `day`: cur is put aside for its commit.  When too many
 * ended days wait (the writer has been failing for days), the old cur goes on counting:
 * counted into an old day rather than not at all. */
static int roll_to(struct posture_store *s, int64_t day)
{
	struct posture_day *n;
	int rc;

	if (s->nended == STORE_ENDED)
		return -EBUSY;
	rc = posture_day_new(day, s->max_domains, &n);
	if (rc)
		return rc;
	s->ended[s->nended++] = s->cur;
	s->cur = n;
	return 0;
}

int posture_store_add(struct posture_store *s, const struct report_outcome *o)
{
	int64_t day = posture_day_of(o->time);

	if (day > s->cur->day)
		roll_to(s, day); /* failed: counted into the old day rather than not at all */
	return posture_day_add(s->cur, o);
}

int posture_store_take(struct posture_store *s, int64_t now, struct posture_day **out)
{
	int64_t day = posture_day_of(now);
	struct posture_day *n;
	int rc;

	*out = NULL;
	if (day > s->cur->day)
		roll_to(s, day); /* failed: tried again at the next take */
	if (s->nended) {
		*out = s->ended[0];
		memmove(&s->ended[0], &s->ended[1], --s->nended * sizeof(s->ended[0]));
		s->taken_day = (*out)->day;
		return 0;
	}
	/* nothing new, same day, the last write went through: nothing to do */
	if (!s->cur->dirty && s->cur->day == s->taken_day && !s->base->dirty)
		return 0;
	rc = posture_day_new(s->cur->day, s->max_domains, &n);
	if (rc)
		return rc;
	*out = s->cur;
	s->cur = n;
	s->taken_day = (*out)->day;
	return 0;
}

static int write_base(struct posture_store *s)
{
	int rc;

	if (!s->base->dirty)
		return 0;
	rc = posture_file_write(s->dir, s->base);
	if (rc) {
		log_err("posture: cannot write %s: %s (kept in memory, tried again)", s->dir,
			strerror(-rc));
		return rc;
	}
	s->base->dirty = false;
	return 0;
}

int posture_store_commit(struct posture_store *s, struct posture_day *delta)
{
	int rc = 0;

	if (delta->day > s->base->day) {
		struct posture_day *n = NULL;

		/* the old day is written out before it is let go; a failed write (or a new
		 * day's file that cannot be read) keeps it, and what came is counted into it:
		 * nothing is lost while the disk is full */
		rc = write_base(s);
		if (!rc)
			rc = posture_day_new(delta->day, s->max_domains, &n);
		if (!rc) {
			rc = load_day(s->dir, n);
			if (rc)
				posture_day_free(n);
		}
		if (!rc) {
			posture_day_free(s->base);
			s->base = n;
			posture_store_prune(s->dir, n->day - (int64_t)s->days + 1);
		}
	}
	if (posture_day_merge(s->base, delta) && !rc)
		rc = -ENOMEM;
	posture_day_free(delta);
	if (rc)
		return rc;
	return write_base(s);
}

int posture_store_flush(struct posture_store *s, int64_t now)
{
	/* every ended day, then today: one take more than may be waiting */
	for (unsigned int i = 0; i <= STORE_ENDED + 1; i++) {
		struct posture_day *delta;
		int rc = posture_store_take(s, now, &delta);

		if (rc)
			return rc;
		if (!delta)
			return 0;
		rc = posture_store_commit(s, delta);
		if (rc)
			return rc;
	}
	return 0;
}

void posture_store_close(struct posture_store *s, int64_t now)
{
	if (!s)
		return;
	posture_store_flush(s, now);
	for (unsigned int i = 0; i < s->nended; i++)
		posture_day_free(s->ended[i]);
	posture_day_free(s->cur);
	posture_day_free(s->base);
	free(s->dir);
	free(s);
}

int64_t posture_store_day(const struct posture_store *s)
{
	return s->cur->day;
}

const struct posture_day *posture_store_written(const struct posture_store *s)
{
	return s->base;
}

/* "2024-05-01.posture" -> its day; -1 for any other name */
static int64_t name_day(const char *name)
{
	char date[16];
	size_t n = strlen(name);
	int64_t day;

	if (n != 18 || strcmp(name + 10, ".posture"))
		return -1;
	memcpy(date, name, 10);
	date[10] = '\0';
	return posture_day_parse(date, &day) ? -1 : day;
}

int posture_store_prune(const char *dir, int64_t before)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int64_t day = name_day(e->d_name);
		char path[4400];

		if (day < 0 || day >= before)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && errno != ENOENT) {
			rc = -errno;
			log_warn("posture: cannot delete %s: %s", path, strerror(errno));
		}
	}
	closedir(d);
	return rc;
}

int posture_store_read(const char *dir, int64_t from, int64_t to, struct posture_day *win,
		       bool *read_days, void (*warn)(const char *why, void *ctx), void *ctx)
{
	for (int64_t day = from; day <= to; day++) {
		char why[300], msg[400], date[16];
		int rc = posture_file_read(dir, day, win, why, sizeof(why));

		if (read_days)
			read_days[day - from] = rc == 0;
		if (rc == -ENOENT)
			continue;
		if (rc == -EBADMSG || (rc && rc != -ENOMEM)) {
			posture_day_text(day, date, sizeof(date));
			snprintf(msg, sizeof(msg), "%s/%s.posture skipped: %s", dir, date,
				 rc == -EBADMSG ? why : strerror(-rc));
			if (warn)
				warn(msg, ctx);
			continue;
		}
		if (rc)
			return rc;
	}
	return 0;
}
