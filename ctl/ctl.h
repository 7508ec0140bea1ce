/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgatectl: iproute2-style `tlsgatectl [OPTIONS] OBJECT COMMAND [ARGS]`.  ctl/main.c
 * parses the global options and dispatches OBJECT (prefixes accepted) to one handler per object,
 * each in its own ctl/OBJECT.c.  Handlers get argv starting at COMMAND and return the
 * process exit status (0 ok, 1 failure, 2 usage error), printing errors themselves.
 *
 *   main.c     global options, dispatch        words.c    keyword prefixes (iproute2 matches())
 *   request.c  one request to tlsgated         print.c    errors, JSON, how rules/sessions print
 *   policy.c   policy show/add/del/import/check          session.c  session list/show/kill
 *   status.c   status, reload, log             monitor.c  live events
 *   stats.c    BPF counters from pinned maps (works while the daemon is down)
 *   stats_daemon.c  and after them the daemon's own counters, when it answers
 *   sts.c      sts show/refresh/purge: MTA-STS policies
 *   tlsrpt.c   tlsrpt status/flush: TLS reports (RFC 8460)
 *   dane.c     dane check: the DANE lookup and verdict for a domain, offline (no daemon);
 *              dane_probe.c its --connect (STARTTLS with ktls/dane.c's SSL, QUIT before MAIL)
 *   report.c   report: the posture files of STATE_DIR/posture (report/posture.h), offline;
 *              report_html.c its --html page (ctl/report.h: what the two share)
 *   conf.c     the few keys of tlsgate.conf a command needs (dane, report)
 *   explain.c + received_explain.c  `explain message.eml`: was each hop encrypted?
 *              received_html.c its --html picture; conf.c keys of tlsgate.conf (explain, dane)
 * ctl/ talks to the daemon only through control/ (the wire protocol and its client); `dane
 * check` reads policy/dane.h and ktls/dane.h, never daemon/.
 */
#ifndef TLSGATE_CTL_CTL_H
#define TLSGATE_CTL_CTL_H

#include <stdbool.h>

struct ctl_opts {
	bool json;		/* -j: JSON on stdout */
	bool pretty;		/* -p: pretty JSON */
	bool stats;		/* -s: more statistics */
	int verbose;		/* -v */
	const char *bpf_pin_dir;	/* --pin-dir (default /sys/fs/bpf/tlsgate) */
	const char *run_dir;	/* --run-dir (default /run/tlsgate): the daemon's netlink port */
	int timeout_ms;		/* --timeout SEC: how long to wait for tlsgated's answer */
	bool timeout_set;	/* --timeout was given (dane check has its own default) */
};

/* true when `arg` is a non-empty prefix of `word` (iproute2's matches()). */
bool ctl_matches(const char *arg, const char *word);

/* A keyword and what it stands for; aliases share an id.  Tables end with { NULL, 0 }. */
struct ctl_word {
	const char *word;
	int id;
};

/*
 * The id of the word arg names: an exact match, else a unique prefix ("pol" -> policy).  On an
 * unknown or ambiguous word, prints why and the choices to stderr, naming it as `what` ("unknown
 * policy command 'shw'; try show add del import check") and returns -1: exit with status 2.
 */
int ctl_choose(const char *arg, const struct ctl_word *words, const char *what);

int ctl_policy(int argc, char **argv, const struct ctl_opts *o);	/* ctl_policy.c */
int ctl_session(int argc, char **argv, const struct ctl_opts *o);	/* ctl_session.c */
int ctl_monitor(int argc, char **argv, const struct ctl_opts *o);	/* ctl_monitor.c */
int ctl_status(int argc, char **argv, const struct ctl_opts *o);	/* ctl_status.c */
int ctl_reload(int argc, char **argv, const struct ctl_opts *o);	/* ctl_status.c */
int ctl_log(int argc, char **argv, const struct ctl_opts *o);		/* ctl_status.c */
int ctl_stats(int argc, char **argv, const struct ctl_opts *o);	/* ctl_stats.c */
int ctl_explain(int argc, char **argv, const struct ctl_opts *o);	/* ctl_explain.c */
int ctl_sts(int argc, char **argv, const struct ctl_opts *o);		/* ctl/sts.c */
int ctl_tlsrpt(int argc, char **argv, const struct ctl_opts *o);	/* ctl/tlsrpt.c */
int ctl_dane(int argc, char **argv, const struct ctl_opts *o);		/* ctl/dane.c */
int ctl_report(int argc, char **argv, const struct ctl_opts *o);	/* ctl/report.c */


#endif
