// SPDX-License-Identifier: GPL-2.0-only
/*
 * A day's posture file, DIR/YYYY-MM-DD.posture (docs/POSTURE.md), text, one row a line:
 *
 *   tlsgate-posture 1
 *   day 2024-05-01
 *   overflow 0
 *   row out example.net mx1.example.net sessions=3 messages=3 cert.verified=3 ver:TLSv1.3=3 ...
 *   end 1
 *
 * Only counters that are not zero are written; a reader ignores counter keys it does not know
 * (a newer writer's), so adding a counter needs no new version; anything else it does not
 * understand, or a file without its `end` line (cut short), makes the whole file damaged and
 * nothing of it is counted.  Written to a temporary file, synced, renamed over the old one.
 */
#include "report/posture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t posture_day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

void posture_day_text(int64_t day, char *buf, size_t len)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int posture_day_parse(const char *s, int64_t *day)
{
	struct tm tm = { 0 };
	int y, m, d, n = 0;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] || m < 1 || m > 12 || d < 1 ||
	    d > 31 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)
		return -EINVAL; /* 2024-02-31 */
	*day = (int64_t)t / 86400;
	return 0;
}

static void file_path(const char *dir, int64_t day, const char *suffix, char *buf, size_t len)
{
	char date[16];

	posture_day_text(day, date, sizeof(date));
	snprintf(buf, len, "%s/%s.posture%s", dir, date, suffix);
}

static void write_row(FILE *f, const struct posture_day *d, const struct posture_domain *e,
		      const struct posture_row *r)
{
	fprintf(f, "row %s %s %s", e->dir == REPORT_INBOUND ? "in" : "out", e->name, r->host);
	for (int i = 0; i < POSTURE_NCTR; i++) {
		const struct posture_ctr_name *n = posture_ctr_name((enum posture_ctr)i);

		if (r->c[i])
			fprintf(f, " %s%s%s=%" PRIu32, n->group, n->group[0] ? "." : "", n->key,
				r->c[i]);
	}
	for (uint8_t i = 0; i < r->nver; i++)
		fprintf(f, " ver:%s=%" PRIu32, d->names[r->ver[i].name], r->ver[i].n);
	if (r->ver_other)
		fprintf(f, " ver:%s=%" PRIu32, POSTURE_OTHER, r->ver_other);
	for (uint8_t i = 0; i < r->ncip; i++)
		fprintf(f, " cip:%s=%" PRIu32, d->names[r->cip[i].name], r->cip[i].n);
	if (r->cip_other)
		fprintf(f, " cip:%s=%" PRIu32, POSTURE_OTHER, r->cip_other);
	fputc('\n', f);
}

int posture_file_write(const char *dir, const struct posture_day *d)
{
	char path[4096], tmp[4200], date[16];
	uint64_t rows = 0;
	FILE *f = NULL;
	int fd, rc = 0;

	file_path(dir, d->day, "", path, sizeof(path));
	file_path(dir, d->day, ".tmp", tmp, sizeof(tmp));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	posture_day_text(d->day, date, sizeof(date));
	fprintf(f, "tlsgate-posture %d\nday %s\noverflow %" PRIu64 "\n", POSTURE_FORMAT, date,
		d->overflow);
	for (size_t i = 0; i < d->ndom; i++) {
		for (uint32_t j = 0; j < d->dom[i]->nrow; j++) {
			write_row(f, d, d->dom[i], &d->dom[i]->row[j]);
			rows++;
		}
	}
	fprintf(f, "end %" PRIu64 "\n", rows);
	if (fflush(f) || ferror(f)) {
		rc = -(errno ? errno : EIO);
		goto fail;
	}
	/* the new file's bytes on disk before the name points at them (a crash leaves the old
	 * file or the new one, never an empty one) */
	if (fdatasync(fileno(f))) {
		rc = -errno;
		goto fail;
	}
	if (fclose(f)) {
		f = NULL;
		rc = -errno;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, path)) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	return rc;
}

/* "key=N" with N <= UINT32_MAX */
static int parse_count(const char *v, uint32_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/* One "row" line (after "row ") into win; names of its versions/ciphers go into d. */
static int parse_row(char *line, struct posture_day *win, char *why, size_t len)
{
	char *save = NULL, *tok, *dirw, *dom, *host;
	char *rnames[2 * POSTURE_TOP];
	unsigned int nn = 0;
	struct posture_row r = { 0 };
	uint8_t dir;

	dirw = strtok_r(line, " ", &save);
	dom = strtok_r(NULL, " ", &save);
	host = strtok_r(NULL, " ", &save);
	if (!dirw || !dom || !host || strlen(dom) >= REPORT_NAME_MAX ||
	    strlen(host) >= REPORT_NAME_MAX) {
		snprintf(why, len, "a row without direction, domain and host");
		return -EBADMSG;
	}
	if (!strcmp(dirw, "out")) {
		dir = REPORT_OUTBOUND;
	} else if (!strcmp(dirw, "in")) {
		dir = REPORT_INBOUND;
	} else {
		snprintf(why, len, "direction '%s'", dirw);
		return -EBADMSG;
	}
	r.host = host;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strrchr(tok, '=');
		uint32_t n;
		bool ver;

		if (!eq || parse_count(eq + 1, &n)) {
			snprintf(why, len, "field '%.40s'", tok);
			return -EBADMSG;
		}
		*eq = '\0';
		ver = !strncmp(tok, "ver:", 4);
		if (ver || !strncmp(tok, "cip:", 4)) {
			const char *name = tok + 4;

			if (!strcmp(name, POSTURE_OTHER)) {
				if (ver)
					r.ver_other += n;
				else
					r.cip_other += n;
				continue;
			}
			if ((ver ? r.nver : r.ncip) == POSTURE_TOP || !*name) {
				snprintf(why, len, "too many names in a row");
				return -EBADMSG;
			}
			rnames[nn] = tok + 4;
			if (ver)
				r.ver[r.nver++] = (struct posture_named){ (uint16_t)nn, n };
			else
				r.cip[r.ncip++] = (struct posture_named){ (uint16_t)nn, n };
			nn++;
			continue;
		}
		{
			int c = posture_ctr_lookup(tok);

			if (c >= 0)
				r.c[c] = n;
			/* else a newer writer's counter: not ours to count */
		}
	}
	return posture_day_merge_row(win, dir, dom, &r, rnames);
}

int posture_file_read(const char *dir, int64_t day, struct posture_day *d, char *why, size_t len)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	uint64_t rows = 0, end = 0, overflow = 0;
	struct posture_day *tmp = NULL;
	bool header = false, ended = false;
	unsigned int lineno = 0;
	FILE *f;
	int rc;

	why[0] = '\0';
	file_path(dir, day, "", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* read whole into a scratch day, so a damaged file counts nothing */
	rc = posture_day_new(day, UINT32_MAX, &tmp);
	if (rc)
		goto out;
	while (getline(&line, &cap, f) >= 0) {
		int n = -1;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (ended) {
			snprintf(why, len, "line %u: after the end", lineno);
			rc = -EBADMSG;
			goto out;
		}
		if (!header) {
			int v = 0;

			if (sscanf(line, "tlsgate-posture %d%n", &v, &n) != 1 || line[n]) {
				snprintf(why, len, "not a posture file");
				rc = -EBADMSG;
				goto out;
			}
			if (v != POSTURE_FORMAT) {
				snprintf(why, len, "format version %d (this reads %d)", v,
					 POSTURE_FORMAT);
				rc = -EBADMSG;
				goto out;
			}
			header = true;
		} else if (!strncmp(line, "day ", 4)) {
			int64_t dd;

			if (posture_day_parse(line + 4, &dd) || dd != day) {
				snprintf(why, len, "line %u: day '%.20s' is not the file's", lineno,
					 line + 4);
				rc = -EBADMSG;
				goto out;
			}
		} else if (sscanf(line, "overflow %" SCNu64 "%n", &overflow, &n) == 1 && !line[n]) {
			tmp->overflow += overflow;
		} else if (!strncmp(line, "row ", 4)) {
			char w[200];

			rc = parse_row(line + 4, tmp, w, sizeof(w));
			if (rc) {
				snprintf(why, len, "line %u: %s", lineno, w);
				if (rc != -ENOMEM)
					rc = -EBADMSG;
				goto out;
			}
			rows++;
		} else if (sscanf(line, "end %" SCNu64 "%n", &end, &n) == 1 && !line[n]) {
			ended = true;
		} else {
			snprintf(why, len, "line %u: '%.30s'", lineno, line);
			rc = -EBADMSG;
			goto out;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(why, len, "read error");
		goto out;
	}
	if (!ended || end != rows) {
		snprintf(why, len, ended ? "%" PRIu64 " rows, the end line says %" PRIu64
					 : "cut short after %" PRIu64 " rows (no end line)",
			 rows, end);
		rc = -EBADMSG;
		goto out;
	}
	rc = posture_day_merge(d, tmp);
out:
	posture_day_free(tmp);
	free(line);
	fclose(f);
	return rc;
}
