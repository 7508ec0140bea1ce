// SPDX-License-Identifier: GPL-2.0-only
/*
 * The posture directory: today's day in memory (loaded from its file at start, so a restart
 * adds to it), written out when asked (posture_store_flush), rolled over at midnight UTC, files
 * beyond the days kept deleted.  The clock is the caller's (`now` arguments, the outcomes' own
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

struct posture_store {
	char *dir;
	uint32_t days, max_domains;
	struct posture_day *today;
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
	rc = posture_day_new(posture_day_of(now), s->max_domains, &s->today);
	if (rc)
		goto fail;
	rc = load_day(s->dir, s->today);
	if (rc)
		goto fail;
	posture_store_prune(s->dir, s->today->day - (int64_t)s->days + 1);
	*out = s;
	return 0;
fail:
	if (s->today)
		posture_day_free(s->today);
	free(s->dir);
	free(s);
	return rc;
}

static int write_today(struct posture_store *s)
{
	int rc;

	if (!s->today->dirty)
		return 0;
	rc = posture_file_write(s->dir, s->today);
	if (rc) {
		log_err("posture: cannot write %s: %s (kept in memory, tried again)", s->dir,
			strerror(-rc));
		return rc;
	}
	s->today->dirty = false;
	return 0;
}

/* Today is `day` from now on: the old day is written out and let go. */
static int roll_to(struct posture_store *s, int64_t day)
{
	struct posture_day *n;
	int rc;

	rc = posture_day_new(day, s->max_domains, &n);
	if (rc)
		return rc;
	rc = load_day(s->dir, n);
	if (rc) {
		posture_day_free(n);
		return rc;
	}
	/* a failed write keeps the old day: nothing is lost while the disk is full */
	rc = write_today(s);
	if (rc) {
		posture_day_free(n);
		return rc;
	}
	posture_day_free(s->today);
	s->today = n;
	posture_store_prune(s->dir, day - (int64_t)s->days + 1);
	return 0;
}

int posture_store_add(struct posture_store *s, const struct report_outcome *o)
{
	int64_t day = posture_day_of(o->time);

	if (day > s->today->day)
		roll_to(s, day); /* failed: counted into the old day rather than not at all */
	return posture_day_add(s->today, o);
}

int posture_store_flush(struct posture_store *s, int64_t now)
{
	int64_t day = posture_day_of(now);

	if (day > s->today->day)
		return roll_to(s, day);
	return write_today(s);
}

void posture_store_close(struct posture_store *s, int64_t now)
{
	if (!s)
		return;
	posture_store_flush(s, now);
	posture_day_free(s->today);
	free(s->dir);
	free(s);
}

const struct posture_day *posture_store_today(const struct posture_store *s)
{
	return s->today;
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
