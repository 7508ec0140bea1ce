/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgatectl report: the window of posture days report.c reads (and prints as text, -j or
 * --suggest), which report_html.c draws as a page (--html).  Both show the same numbers: the
 * page takes them from here, never computes its own.
 */
#ifndef TLSGATE_CTL_REPORT_H
#define TLSGATE_CTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/posture.h"

/* One day of the window: only its totals are kept (the days are merged as they are read). */
struct ctl_report_daysum {
	bool data;
	uint32_t c[2][POSTURE_NCTR];	/* per enum report_dir */
};

/* A domain of the window: its counters summed over hosts and days, and its verdict. */
struct ctl_report_dom {
	const struct posture_domain *dom;
	uint32_t c[POSTURE_NCTR];
	struct posture_verdict v;
};

/* What report -j shows, as the page writer needs it. */
struct ctl_report_view {
	const struct posture_day *win;		/* the window's days merged */
	const struct ctl_report_daysum *days;	/* ndays, oldest first */
	int ndays;
	int64_t from;				/* the first day (days since the epoch) */
	const char *posture_dir;
	int dir;				/* -1 both directions, else the one shown */
	const char *domain;			/* --domain, or NULL */
};

/* The direction's domains (only `only` when not NULL), with their sums and verdicts, sorted by
 * messages then sessions then name: the order of -j's arrays.  NULL when out of memory. */
struct ctl_report_dom *ctl_report_collect(const struct posture_day *win, uint8_t dir,
					  const char *only, size_t *n);
/* "DOMAIN<TAB>LEVEL", the --suggest line of a domain; "" when there is none. */
void ctl_report_suggest_line(const struct ctl_report_dom *r, char *buf, size_t len);

/* report_html.c: the page of a view, self-contained (inline CSS and SVG, no script), to f.
 * 0 or -ENOMEM; the caller checks f for write errors. */
int ctl_report_html(FILE *f, const struct ctl_report_view *v);

#endif
