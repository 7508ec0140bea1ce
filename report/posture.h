/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The posture store: what the gateway learned from every session, per UTC day, direction,
 * domain and host (outbound: recipient domain and MX; inbound: sender domain and client
 * address), bounded, kept on disk in STATE_DIR/posture/ (docs/POSTURE.md: the file format and
 * the JSON of `tlsgatectl report -j`).  Pure: no threads, no sockets; the daemon's sink
 * (daemon/posture_sink.c) feeds it on the main thread and its writer thread
 * (daemon/posture_writer.c) writes it, tlsgatectl reads its files.
 *
 *   posture.c          one day's aggregate: rows, counters, the bounds, merging
 *   posture_file.c     a day's file: write (temp + rename), read (a damaged file is refused)
 *   posture_store.c    the directory: today's day in memory, take/commit (the write off the
 *                      counting thread), rollover, pruning, reading a window
 *   posture_verdict.c  per domain: which level it could be moved to, and why not
 */
#ifndef TLSGATE_REPORT_POSTURE_H
#define TLSGATE_REPORT_POSTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/rpt.h"
#include "report/outcome.h"

#define POSTURE_FORMAT 1		/* the file format's version (first line) */
#define POSTURE_TOP 4			/* TLS versions / ciphers kept by name per row */
#define POSTURE_HOSTS 16		/* hosts kept by name per domain and day */
#define POSTURE_NAMES 256		/* distinct version/cipher names per day */
#define POSTURE_OTHER "(other)"		/* the row, host or name that takes what is over a bound */
#define POSTURE_UNKNOWN "(unknown)"	/* a refusal before the domain was known */
#define POSTURE_DAYS_DEFAULT 30
#define POSTURE_MAX_DOMAINS_DEFAULT 100000

/*
 * The counters of one row.  Session facts (STARTTLS, TLS, kTLS, certificate) count once per
 * session and domain (report_outcome.new_session); messages and recipients per outcome.
 */
enum posture_ctr {
	POSTURE_SESSIONS,
	POSTURE_MESSAGES,		/* transactions whose end of data was answered */
	POSTURE_DELIVERED,		/* ... with a 2xx (WOULD_REFUSE included) */
	POSTURE_PEER_REFUSED,		/* ... refused by the peer (not a TLS matter) */
	POSTURE_RECIPIENTS,		/* accepted recipients */
	POSTURE_STARTTLS,		/* sessions where STARTTLS was offered */
	POSTURE_TLS,			/* sessions with TLS */
	POSTURE_TLS_MESSAGES,		/* messages sent over TLS */
	POSTURE_KTLS_TX_KERNEL,
	POSTURE_KTLS_TX_NIC,
	POSTURE_KTLS_RX_KERNEL,
	POSTURE_KTLS_RX_NIC,
	POSTURE_CERT,			/* + enum report_cert: sessions per certificate status */
	POSTURE_DANE_OK = POSTURE_CERT + REPORT_CERT_N,
	POSTURE_DANE_FAILED,
	POSTURE_STS_OK,
	POSTURE_STS_FAILED,
	POSTURE_REFUSED,		/* outcomes the gateway refused (its policy unmet) */
	POSTURE_REFUSED_RECIPIENTS,
	POSTURE_REFUSED_BY,		/* + enum policy_rpt_result */
	POSTURE_REFUSED_OTHER = POSTURE_REFUSED_BY + POLICY_RPT_NRESULT,	/* no result type */
	POSTURE_WOULD,			/* delivered, but a monitor rule / MTA-STS testing would
					 * have refused */
	POSTURE_WOULD_BY,		/* + enum policy_rpt_result */
	POSTURE_WOULD_OTHER = POSTURE_WOULD_BY + POLICY_RPT_NRESULT,
	POSTURE_NCTR,
};

/* A counter's name: group ("" for top level) and key, e.g. "cert" "self_signed" (the file
 * writes "cert.self_signed", the JSON nests it). */
struct posture_ctr_name {
	const char *group;
	const char *key;
};
const struct posture_ctr_name *posture_ctr_name(enum posture_ctr c);
/* The counter a file key ("cert.self_signed") names, -1 none. */
int posture_ctr_lookup(const char *file_key);

struct posture_named {
	uint16_t name;		/* index into the day's names */
	uint32_t n;
};

/* One (direction, domain, host) row of one day (or of a window, when read back). */
struct posture_row {
	char *host;
	uint32_t c[POSTURE_NCTR];
	struct posture_named ver[POSTURE_TOP], cip[POSTURE_TOP];
	uint8_t nver, ncip;
	uint32_t ver_other, cip_other;	/* sessions whose version/cipher had no slot */
};

struct posture_domain {
	uint8_t dir;			/* enum report_dir */
	char *name;
	struct posture_row *row;	/* at most POSTURE_HOSTS + 1 ((other)) */
	uint32_t nrow;
	struct posture_domain *hnext;	/* hash chain */
};

struct posture_day {
	int64_t day;			/* days since 1970-01-01 (UTC); -1: a window */
	uint32_t max_domains;		/* per direction, (other) not counted */
	uint32_t ndomain[2];		/* per direction, (other) not counted */
	uint64_t overflow;		/* outcomes folded into (other) by max_domains */
	struct posture_domain **dom;	/* in order of first appearance */
	size_t ndom, capdom;
	struct posture_domain **hash;
	size_t nhash;
	char *names[POSTURE_NAMES];
	unsigned int nnames;
	bool dirty;			/* changed since the last write */
};

/* ---- posture.c ---------------------------------------------------------------------------- */
int posture_day_new(int64_t day, uint32_t max_domains, struct posture_day **out);
void posture_day_free(struct posture_day *d);
/* Count one outcome.  0, or -ENOMEM (nothing counted). */
int posture_day_add(struct posture_day *d, const struct report_outcome *o);
/* The row (dir, domain, host), made if need be (bounds apply: the (other) row then).  src's
 * names are in src_names.  Adds src's counters and names to it. */
int posture_day_merge_row(struct posture_day *d, uint8_t dir, const char *domain,
			  const struct posture_row *src, char *const *src_names);
/* Every row of src added to d (a window is the merge of its days). */
int posture_day_merge(struct posture_day *d, const struct posture_day *src);
struct posture_domain *posture_day_find(const struct posture_day *d, uint8_t dir,
					const char *domain);
/* The sum of a domain's rows' counters (names not summed). */
void posture_domain_sum(const struct posture_domain *dom, uint32_t c[POSTURE_NCTR]);
/* The sum of every row of a direction. */
void posture_day_sum(const struct posture_day *d, uint8_t dir, uint32_t c[POSTURE_NCTR]);
/* A name's index in d->names, added if new; -ENOSPC past POSTURE_NAMES. */
int posture_day_name(struct posture_day *d, const char *name);
/* Add n to a row's version (ver=true) or cipher count for a name index (-1: other). */
void posture_row_add_named(struct posture_row *r, bool ver, int name, uint32_t n);
/* Keys of the store: lower case, no white space or '='; empty -> POSTURE_UNKNOWN. */
void posture_key(const char *in, char *out, size_t len);

/* ---- posture_file.c ----------------------------------------------------------------------- */
/* "2024-05-01" <-> days since the epoch */
void posture_day_text(int64_t day, char *buf, size_t len);
int posture_day_parse(const char *s, int64_t *day);
int64_t posture_day_of(int64_t unix_seconds);
/* DIR/YYYY-MM-DD.posture, written to a temporary file, synced and renamed over it. */
int posture_file_write(const char *dir, const struct posture_day *d);
/* Read DIR/YYYY-MM-DD.posture into d (added to what d has, d->day untouched).  -ENOENT when
 * there is none; -EBADMSG for a damaged file (why says where), nothing of it counted. */
int posture_file_read(const char *dir, int64_t day, struct posture_day *d, char *why, size_t len);

/* ---- posture_store.c ---------------------------------------------------------------------- */
struct posture_store;

struct posture_store_opts {
	const char *dir;		/* STATE_DIR/posture: made if missing */
	uint32_t days;			/* days kept (today included) */
	uint32_t max_domains;
};

/* Today's file (by now) is read, so a restart adds to it; a damaged one is renamed to
 * NAME.damaged and logged.  0 or -errno. */
int posture_store_open(const struct posture_store_opts *o, int64_t now,
		       struct posture_store **out);
/* Written out (posture_store_flush) and freed.  No commit may be running. */
void posture_store_close(struct posture_store *s, int64_t now);
/* Counted into its day (in memory: no file is touched).  An outcome older than the day in
 * memory (a session that ended just after midnight) counts into that day. */
int posture_store_add(struct posture_store *s, const struct report_outcome *o);
/*
 * Writing without the counting thread waiting for the disk: take, on the thread that adds,
 * moves what was counted since the last take out of the store (*delta; NULL when there is
 * nothing to write: no change, the day unchanged, the last write went through); commit, on
 * any one thread, merges it into the day as written, writes that (temporary file, fdatasync,
 * rename), rolls over to delta's day first when it is a later one (the old day written out,
 * the new day's file read, files older than the days kept deleted), and frees delta.  Ended
 * days come out of take first, in order, then today.  Between a take and the end of its
 * commit there must be no other take, commit or close (the caller serialises: one write at a
 * time).  A failed write keeps the day in memory (dirty) and the next take hands out a delta
 * even when nothing changed, so it is tried again; a failed rollover counts delta into the old
 * day.  take: 0 or -ENOMEM; commit: 0 or -errno of the write.
 */
int posture_store_take(struct posture_store *s, int64_t now, struct posture_day **delta);
int posture_store_commit(struct posture_store *s, struct posture_day *delta);
/* take and commit on this thread until nothing is left (tests, shutdown).  0 or -errno. */
int posture_store_flush(struct posture_store *s, int64_t now);
/* The day outcomes are counted into now. */
int64_t posture_store_day(const struct posture_store *s);
/* The day as the last commit wrote it (or tried to): only while no commit runs. */
const struct posture_day *posture_store_written(const struct posture_store *s);
/* The files of the days [from, to] merged into win (a day without a file counts nothing; a
 * damaged one is skipped and warn(why) called).  Days read are set in read_days (may be NULL;
 * to - from + 1 entries) */
int posture_store_read(const char *dir, int64_t from, int64_t to, struct posture_day *win,
		       bool *read_days, void (*warn)(const char *why, void *ctx), void *ctx);
/* Delete files of days before `before`. */
int posture_store_prune(const char *dir, int64_t before);

/* ---- posture_verdict.c -------------------------------------------------------------------- */
enum posture_can {
	POSTURE_CAN_NONE,		/* no stricter level without failed deliveries */
	POSTURE_CAN_ENCRYPT,
	POSTURE_CAN_VERIFY,		/* outbound only */
};

struct posture_verdict {
	enum posture_can can;
	char reason[320];		/* why (not) stricter: "all 12 sessions TLS, ..." */
};

void posture_verdict(const uint32_t c[POSTURE_NCTR], uint8_t dir, struct posture_verdict *v);
const char *posture_can_name(enum posture_can can);	/* "none", "encrypt", "verify" */

#endif
