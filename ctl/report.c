// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl report: what the posture files (STATE_DIR/posture, report/posture.h) say about
 * each destination domain (outbound) and sender domain (inbound) over a window of days, and
 * which policy level each could be moved to without one failed delivery in it.  Reads the
 * files only: works with the daemon down.  -j gives every number the text shows and more
 * (docs/POSTURE.md describes the JSON); --suggest the Postfix policy lines; --html FILE the
 * same numbers as a page (report_html.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctl/conf.h"
#include "ctl/print.h"
#include "ctl/report.h"

#define REPORT_STATE_DIR "/var/lib/tlsgate"

struct report_args {
	const char *config;
	const char *state_dir;
	const char *domain;
	const char *html;	/* --html FILE ("-": stdout) */
	int since_days;		/* 0: posture_days of the configuration */
	int dir;		/* -1 both, else enum report_dir */
	bool suggest;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl report [--since Nd|Nh|YYYY-MM-DD] [--domain D] [-j] [--suggest]\n"
		   "                         [--html FILE] [--direction outbound|inbound]\n"
		   "                         [--state-dir DIR] [--config FILE]\n"
		   "  per domain over the window (default: every day kept, posture_days): sessions,\n"
		   "  messages, TLS, certificates, refusals, and the policy level it could be moved to\n"
		   "  without one failed delivery; --suggest prints those levels as policy lines;\n"
		   "  --html writes the same numbers as one self-contained page (charts and tables)\n");
}

static int parse_since(const char *s, int *days)
{
	char *end;
	long n = strtol(s, &end, 10);
	int64_t day;

	if (end != s && n > 0 && n <= 100000 && (!strcmp(end, "d") || !*end)) {
		*days = (int)n;
		return 0;
	}
	if (end != s && n > 0 && n <= 2400000 && !strcmp(end, "h")) {
		*days = (int)((n + 23) / 24);
		return 0;
	}
	if (!posture_day_parse(s, &day)) {
		int64_t today = posture_day_of(time(NULL));

		if (day > today)
			return -EINVAL;
		*days = (int)(today - day + 1);
		return 0;
	}
	return -EINVAL;
}

static int parse_args(struct report_args *a, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(s, "--suggest")) {
			a->suggest = true;
		} else if (!strcmp(s, "-j") || !strcmp(s, "--json")) {
			a->json = true;
		} else if (more && !strcmp(s, "--since")) {
			if (parse_since(argv[++i], &a->since_days))
				return ctl_usage_error("report: --since wants Nd, Nh or a past date "
						       "YYYY-MM-DD, not '%s'\n", argv[i]);
		} else if (more && !strcmp(s, "--html")) {
			a->html = argv[++i];
		} else if (more && !strcmp(s, "--domain")) {
			a->domain = argv[++i];
		} else if (more && !strcmp(s, "--direction")) {
			const char *d = argv[++i];

			if (ctl_matches(d, "outbound"))
				a->dir = REPORT_OUTBOUND;
			else if (ctl_matches(d, "inbound"))
				a->dir = REPORT_INBOUND;
			else
				return ctl_usage_error("report: --direction outbound or inbound\n");
		} else if (more && !strcmp(s, "--state-dir")) {
			a->state_dir = argv[++i];
		} else if (more && (!strcmp(s, "--config") || !strcmp(s, "-c"))) {
			a->config = argv[++i];
		} else if (!strcmp(s, "help") || !strcmp(s, "--help")) {
			usage(stdout);
			return -1;
		} else {
			usage(stderr);
			return 2;
		}
	}
	return 0;
}

static int by_messages(const void *x, const void *y)
{
	const struct ctl_report_dom *a = x, *b = y;

	if (a->c[POSTURE_MESSAGES] != b->c[POSTURE_MESSAGES])
		return a->c[POSTURE_MESSAGES] < b->c[POSTURE_MESSAGES] ? 1 : -1;
	if (a->c[POSTURE_SESSIONS] != b->c[POSTURE_SESSIONS])
		return a->c[POSTURE_SESSIONS] < b->c[POSTURE_SESSIONS] ? 1 : -1;
	return strcmp(a->dom->name, b->dom->name);
}

/* A domain a policy line can name (not (other), (unknown) or an address literal). */
static bool nameable(const char *d)
{
	return d[0] != '(' && !strpbrk(d, "[]:@");
}

/* The direction's domains, with their sums and verdicts, sorted by messages. */
struct ctl_report_dom *ctl_report_collect(const struct posture_day *win, uint8_t dir, const char *only,
				  size_t *n)
{
	struct ctl_report_dom *v = calloc(win->ndom ? win->ndom : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < win->ndom; i++) {
		const struct posture_domain *e = win->dom[i];
		struct ctl_report_dom *r;

		if (e->dir != dir || (only && strcasecmp(e->name, only)))
			continue;
		r = &v[(*n)++];
		r->dom = e;
		posture_domain_sum(e, r->c);
		posture_verdict(r->c, dir, &r->v);
	}
	qsort(v, *n, sizeof(*v), by_messages);
	return v;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* Every counter, nested by group, always all keys (a consumer never guesses). */
static void json_counts(struct jsonw *w, const uint32_t c[POSTURE_NCTR])
{
	const char *groups[] = { "", "ktls", "cert", "dane", "sts", "refused", "would_refuse" };

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (groups[g][0]) {
			jsonw_name(w, groups[g]);
			jsonw_start_object(w);
		}
		for (int i = 0; i < POSTURE_NCTR; i++) {
			const struct posture_ctr_name *n = posture_ctr_name((enum posture_ctr)i);

			if (!strcmp(n->group, groups[g]))
				jsonw_u64_field(w, n->key, c[i]);
		}
		if (groups[g][0])
			jsonw_end_object(w);
	}
}

/* "versions" / "ciphers": {name: sessions, ..., "(other)": n} */
static void json_named(struct jsonw *w, const struct posture_day *win,
		       const struct posture_row *rows, uint32_t nrow, bool ver)
{
	uint32_t *sum = calloc(POSTURE_NAMES, sizeof(*sum)), other = 0;

	jsonw_name(w, ver ? "versions" : "ciphers");
	jsonw_start_object(w);
	for (uint32_t j = 0; sum && j < nrow; j++) {
		const struct posture_row *r = &rows[j];
		const struct posture_named *v = ver ? r->ver : r->cip;
		uint8_t n = ver ? r->nver : r->ncip;

		for (uint8_t k = 0; k < n; k++)
			sum[v[k].name] += v[k].n;
		other += ver ? r->ver_other : r->cip_other;
	}
	for (unsigned int k = 0; sum && k < win->nnames; k++)
		if (sum[k])
			jsonw_u64_field(w, win->names[k], sum[k]);
	jsonw_u64_field(w, POSTURE_OTHER, other);
	jsonw_end_object(w);
	free(sum);
}

void ctl_report_suggest_line(const struct ctl_report_dom *r, char *buf, size_t len)
{
	buf[0] = '\0';
	if (r->v.can != POSTURE_CAN_NONE && nameable(r->dom->name))
		snprintf(buf, len, "%s\t%s", r->dom->name, posture_can_name(r->v.can));
}

static void json_domain(struct jsonw *w, const struct posture_day *win, const struct ctl_report_dom *r)
{
	char line[400];

	jsonw_start_object(w);
	jsonw_string_field(w, "domain", r->dom->name);
	json_counts(w, r->c);
	json_named(w, win, r->dom->row, r->dom->nrow, true);
	json_named(w, win, r->dom->row, r->dom->nrow, false);
	jsonw_name(w, "verdict");
	jsonw_start_object(w);
	jsonw_string_field(w, "can", posture_can_name(r->v.can));
	jsonw_string_field(w, "reason", r->v.reason);
	ctl_report_suggest_line(r, line, sizeof(line));
	jsonw_string_field_opt(w, "suggest", line);
	jsonw_end_object(w);
	jsonw_name(w, "hosts");
	jsonw_start_array(w);
	for (uint32_t j = 0; j < r->dom->nrow; j++) {
		const struct posture_row *h = &r->dom->row[j];

		jsonw_start_object(w);
		jsonw_string_field(w, "host", h->host);
		json_counts(w, h->c);
		json_named(w, win, h, 1, true);
		json_named(w, win, h, 1, false);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
}

static int print_json(const struct ctl_opts *o, const struct report_args *a,
		      const struct posture_day *win, const struct ctl_report_daysum *days, int ndays,
		      int64_t from, const char *dir)
{
	struct ctl_opts jo = *o;
	struct jsonw *w;
	char date[16];
	int with_data = 0;

	jo.json = true;
	w = ctl_json(&jo);
	if (!w)
		return ctl_fail("report", -ENOMEM, NULL);
	for (int i = 0; i < ndays; i++)
		with_data += days[i].data;
	jsonw_start_object(w);
	jsonw_u64_field(w, "format", POSTURE_FORMAT);
	jsonw_string_field(w, "posture_dir", dir);
	jsonw_name(w, "window");
	jsonw_start_object(w);
	posture_day_text(from, date, sizeof(date));
	jsonw_string_field(w, "from", date);
	posture_day_text(from + ndays - 1, date, sizeof(date));
	jsonw_string_field(w, "to", date);
	jsonw_u64_field(w, "days", (uint64_t)ndays);
	jsonw_u64_field(w, "days_with_data", (uint64_t)with_data);
	jsonw_end_object(w);
	jsonw_u64_field(w, "overflow", win->overflow);
	jsonw_name(w, "days");
	jsonw_start_array(w);
	for (int i = 0; i < ndays; i++) {
		jsonw_start_object(w);
		posture_day_text(from + i, date, sizeof(date));
		jsonw_string_field(w, "date", date);
		jsonw_bool_field(w, "data", days[i].data);
		for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++) {
			jsonw_name(w, d == REPORT_OUTBOUND ? "outbound" : "inbound");
			jsonw_start_object(w);
			json_counts(w, days[i].c[d]);
			jsonw_end_object(w);
		}
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++) {
		size_t n;
		struct ctl_report_dom *v;

		jsonw_name(w, d == REPORT_OUTBOUND ? "outbound" : "inbound");
		jsonw_start_array(w);
		if (a->dir < 0 || a->dir == d) {
			v = ctl_report_collect(win, (uint8_t)d, a->domain, &n);
			for (size_t i = 0; v && i < n; i++)
				json_domain(w, win, &v[i]);
			free(v);
		}
		jsonw_end_array(w);
	}
	jsonw_end_object(w);
	jsonw_destroy(&w);
	return 0;
}

/* ---- text ------------------------------------------------------------------------------------ */

static void print_verdict(const struct ctl_report_dom *r)
{
	const char *not = strstr(r->v.reason, "not verify: ");

	if (r->v.can == POSTURE_CAN_NONE)
		printf("%s", r->v.reason);
	else if (not)
		printf("%s (%s)", posture_can_name(r->v.can), not + 12);
	else
		printf("%s", posture_can_name(r->v.can));
}

static void print_details(const struct posture_day *win, const struct ctl_report_dom *r)
{
	for (uint32_t j = 0; j < r->dom->nrow; j++) {
		const struct posture_row *h = &r->dom->row[j];

		printf("    host %s: sessions %u messages %u tls %u starttls_offered %u", h->host,
		       h->c[POSTURE_SESSIONS], h->c[POSTURE_MESSAGES], h->c[POSTURE_TLS],
		       h->c[POSTURE_STARTTLS]);
		for (uint8_t k = 0; k < h->nver; k++)
			printf(" %s:%u", win->names[h->ver[k].name], h->ver[k].n);
		for (uint8_t k = 0; k < h->ncip; k++)
			printf(" %s:%u", win->names[h->cip[k].name], h->cip[k].n);
		printf("\n");
	}
	printf("    ");
	for (int i = 0; i < POSTURE_NCTR; i++) {
		const struct posture_ctr_name *n = posture_ctr_name((enum posture_ctr)i);

		if (r->c[i] && n->group[0])
			printf(" %s.%s=%u", n->group, n->key, r->c[i]);
	}
	printf("\n");
}

static void print_text(const struct report_args *a, const struct posture_day *win, int ndays,
		       int with_data, int64_t from)
{
	char f[16], t[16];

	posture_day_text(from, f, sizeof(f));
	posture_day_text(from + ndays - 1, t, sizeof(t));
	printf("window %s .. %s (%d days, %d with data)\n", f, t, ndays, with_data);
	if (win->overflow)
		printf("over posture_max_domains: %llu outcomes counted under (other)\n",
		       (unsigned long long)win->overflow);
	for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++) {
		size_t n;
		struct ctl_report_dom *v;

		if (a->dir >= 0 && a->dir != d)
			continue;
		v = ctl_report_collect(win, (uint8_t)d, a->domain, &n);
		printf("\n%s\n", d == REPORT_OUTBOUND ? "outbound (recipient domain)"
						      : "inbound (sender domain)");
		printf("%-32s %8s %8s %8s %8s %8s %8s %8s %8s  %s\n", "DOMAIN", "SESSIONS", "MESSAGES",
		       "RCPTS", "STARTTLS", "TLS", "VERIFIED", "KTLS", "REFUSED", "VERDICT");
		for (size_t i = 0; v && i < n; i++) {
			const uint32_t *c = v[i].c;

			printf("%-32s %8u %8u %8u %8u %8u %8u %8u %8u  ", v[i].dom->name,
			       c[POSTURE_SESSIONS], c[POSTURE_MESSAGES], c[POSTURE_RECIPIENTS],
			       c[POSTURE_STARTTLS], c[POSTURE_TLS],
			       c[POSTURE_CERT + REPORT_CERT_VERIFIED], c[POSTURE_KTLS_TX_KERNEL],
			       c[POSTURE_REFUSED]);
			print_verdict(&v[i]);
			printf("\n");
			if (a->domain)
				print_details(win, &v[i]);
		}
		free(v);
	}
}

static void print_suggest(const struct report_args *a, const struct posture_day *win, int ndays,
			  int64_t from)
{
	char f[16], t[16], line[400];

	posture_day_text(from, f, sizeof(f));
	posture_day_text(from + ndays - 1, t, sizeof(t));
	for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++) {
		size_t n;
		struct ctl_report_dom *v;

		if (a->dir >= 0 && a->dir != d)
			continue;
		v = ctl_report_collect(win, (uint8_t)d, a->domain, &n);
		printf("# %s table (%s): what the traffic of %s .. %s allows\n",
		       d == REPORT_OUTBOUND ? "outbound" : "inbound",
		       d == REPORT_OUTBOUND ? "outbound_policy" : "inbound_policy", f, t);
		for (size_t i = 0; v && i < n; i++) {
			ctl_report_suggest_line(&v[i], line, sizeof(line));
			if (!line[0])
				continue;
			printf("# %s: %u messages; %s\n%s\n", v[i].dom->name,
			       v[i].c[POSTURE_MESSAGES], v[i].v.reason, line);
		}
		free(v);
	}
}

/* The page to path ("-": stdout), through a temporary file renamed over it: a reader (or a
 * web server publishing it) never sees half a page. */
static int write_html(const char *path, const struct ctl_report_view *v)
{
	char tmp[4096];
	FILE *f;
	int err, rc;

	if (!strcmp(path, "-")) {
		err = ctl_report_html(stdout, v);
		if (!err && (fflush(stdout) || ferror(stdout)))
			err = -errno;
		return err ? ctl_fail("report: --html", err, NULL) : 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ctl_fail("report: --html", -ENAMETOOLONG, NULL);
	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		fprintf(stderr, "tlsgatectl: report: %s: %s\n", tmp, strerror(-err));
		return 1;
	}
	err = ctl_report_html(f, v);
	if (!err && (fflush(f) || ferror(f)))
		err = -(errno ? errno : EIO);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	rc = 0;
	if (err) {
		fprintf(stderr, "tlsgatectl: report: writing %s: %s\n", path, strerror(-err));
		unlink(tmp);
		rc = 1;
	}
	return rc;
}

int ctl_report(int argc, char **argv, const struct ctl_opts *o)
{
	static const char *const keys[] = { "state_dir", "posture_days", "posture_max_domains",
					     NULL };
	struct report_args a = { .dir = -1, .json = o->json };
	char *vals[3] = { NULL, NULL, NULL }, dir[4096];
	struct posture_day *win = NULL;
	struct ctl_report_daysum *days = NULL;
	uint32_t max_domains = 0;
	int64_t today, from;
	int rc, ndays, with_data = 0;

	rc = parse_args(&a, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = ctl_conf_read(a.config, keys, vals);
	if (rc)
		goto out;
	snprintf(dir, sizeof(dir), "%s/posture",
		 a.state_dir ? a.state_dir : vals[0] && *vals[0] ? vals[0] : REPORT_STATE_DIR);
	ndays = a.since_days;
	if (!ndays)
		ndays = vals[1] && atoi(vals[1]) > 0 ? atoi(vals[1]) : POSTURE_DAYS_DEFAULT;
	if (vals[2] && atoi(vals[2]) > 0)
		max_domains = (uint32_t)atoi(vals[2]);
	today = posture_day_of(time(NULL));
	from = today - ndays + 1;
	rc = posture_day_new(-1, max_domains, &win);
	days = calloc((size_t)ndays, sizeof(*days));
	if (rc || !days) {
		rc = ctl_fail("report", -ENOMEM, NULL);
		goto out;
	}
	/* day by day: the window is their merge, and -j gives each day's totals */
	for (int i = 0; i < ndays; i++) {
		struct posture_day *day;
		char why[300];

		rc = posture_day_new(from + i, max_domains, &day);
		if (rc) {
			rc = ctl_fail("report", rc, NULL);
			goto out;
		}
		rc = posture_file_read(dir, from + i, day, why, sizeof(why));
		if (!rc)
			rc = posture_day_merge(win, day);
		if (!rc) {
			days[i].data = true;
			posture_day_sum(day, REPORT_OUTBOUND, days[i].c[REPORT_OUTBOUND]);
			posture_day_sum(day, REPORT_INBOUND, days[i].c[REPORT_INBOUND]);
		}
		posture_day_free(day);
		if (rc) {
			char date[16];

			/* a damaged or unreadable day is skipped, said, and the rest reported */
			posture_day_text(from + i, date, sizeof(date));
			if (rc != -ENOENT)
				fprintf(stderr, "tlsgatectl: warning: %s/%s.posture skipped: %s\n",
					dir, date, rc == -EBADMSG ? why : strerror(-rc));
			continue;
		}
		with_data++;
	}
	rc = 0;
	if (!with_data && !a.json && !a.suggest)
		fprintf(stderr, "tlsgatectl: no posture files in %s for these days\n", dir);
	if (a.html) {
		struct ctl_report_view view = { .win = win, .days = days, .ndays = ndays,
						.from = from, .posture_dir = dir, .dir = a.dir,
						.domain = a.domain };

		rc = write_html(a.html, &view);
	} else if (a.json)
		rc = print_json(o, &a, win, days, ndays, from, dir);
	else if (a.suggest)
		print_suggest(&a, win, ndays, from);
	else
		print_text(&a, win, ndays, with_data, from);
out:
	free(days);
	posture_day_free(win);
	for (int i = 0; i < 3; i++)
		free(vals[i]);
	return rc;
}
