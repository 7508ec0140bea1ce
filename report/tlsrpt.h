/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS reporting (RFC 8460), the pure part: no sockets, no clock, no files of its own.
 *
 *   - the policy domain's _smtp._tls TXT record (§3): exactly one "v=TLSRPTv1" among the
 *     domain's TXT records, its rua= list of mailto: and https: URIs;
 *   - one UTC day's aggregate per policy domain, fed from outcomes (report/outcome.h): per
 *     policy (type, policy-string) the session counts, and per failure the rows of
 *     failure-details (result type, sending-mta-ip, receiving-mx-hostname, receiving-ip);
 *   - the aggregate as text (the day file in STATE_DIR/tlsrpt/, so a restart loses nothing)
 *     and back;
 *   - one domain's report as RFC 8460 §4 JSON, gzip-compressed (§5.3);
 *   - one outcome as a datagram in libtlsrpt's format for sys4's tlsrpt-collectd (fleet mode).
 *
 * The daemon side (spool, discovery, delivery, the day's clock) is daemon/tlsrpt*.c.
 */
#ifndef TLSGATE_REPORT_TLSRPT_H
#define TLSGATE_REPORT_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/rpt.h"
#include "report/outcome.h"

#define TLSRPT_RUA_MAX 8	 /* rua URIs kept of one record (more are ignored, logged) */
#define TLSRPT_URI_MAX 512
#define TLSRPT_DAY_S 86400

struct tlsrpt_record {
	unsigned int nrua;
	char rua[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
};

/*
 * One TXT record's text (its strings concatenated, RFC 8460 §3): 0, -ENOENT (not a TLSRPTv1
 * record: v= missing or another), -EINVAL (a TLSRPTv1 record that is malformed: no rua, a URI
 * that is neither mailto: nor https:); why says what.
 */
int tlsrpt_record_parse(const char *txt, size_t len, struct tlsrpt_record *r, char *why,
			size_t whylen);

/*
 * A DNS answer to TXT _smtp._tls.DOMAIN: exactly one TLSRPTv1 record among the TXT records
 * (§3: more than one, or none, is no record).  0 with *r and the record's text in txt (for the
 * fleet datagram's "pr"), -ENOENT (none, NXDOMAIN, or more than one), -EAGAIN (SERVFAIL, a
 * failure worth retrying), -EINVAL (malformed answer or record).
 */
int tlsrpt_record_answer(const unsigned char *msg, size_t len, struct tlsrpt_record *r,
			 char *txt, size_t txtlen, char *why, size_t whylen);

/* ---- one day's aggregate ------------------------------------------------------------------ */

struct tlsrpt_fail {
	uint8_t result;			/* enum policy_rpt_result */
	char sending_ip[64];
	char receiving_ip[64];
	char mx[REPORT_NAME_MAX];	/* "" unknown */
	uint64_t count;
};

struct tlsrpt_policy {
	uint8_t type;			/* enum policy_rpt_policy (NPOLICY: "no-policy-found") */
	char *string;			/* policy-string lines joined by '\n'; "" none */
	uint64_t ok, failed;
	struct tlsrpt_fail *fail;
	size_t nfail;
};

struct tlsrpt_domain {
	char name[REPORT_NAME_MAX];
	struct tlsrpt_policy *pol;
	size_t npol;
};

struct tlsrpt_day {
	int64_t start;			/* 00:00:00 UTC of the day, unix seconds */
	struct tlsrpt_domain *dom;
	size_t ndom;
	size_t max_domains;		/* bound; 0: 100000 */
};

/* The start of the UTC day that holds t. */
int64_t tlsrpt_day_start(int64_t t);
void tlsrpt_day_init(struct tlsrpt_day *d, int64_t start);
void tlsrpt_day_clear(struct tlsrpt_day *d);	/* frees; start kept */

/*
 * Count one outcome (outbound, with a domain; others are ignored: 0 and nothing counted).
 * policy_string is the applied policy's text (MTA-STS: the policy file; DANE: the TLSA records
 * one a line) or NULL.  0, -ENOMEM, -ENOSPC (max_domains reached: not counted).
 */
int tlsrpt_day_add(struct tlsrpt_day *d, const struct report_outcome *o,
		   const char *policy_string);
struct tlsrpt_domain *tlsrpt_day_find(struct tlsrpt_day *d, const char *domain);
/* Take one domain out (its report is made): *out owns it, tlsrpt_domain_free it. */
int tlsrpt_day_take(struct tlsrpt_day *d, size_t i, struct tlsrpt_domain *out);
void tlsrpt_domain_free(struct tlsrpt_domain *dom);

/* The day as text and back (the day file).  save: a malloc'd buffer.  load: 0 or -EINVAL on
 * anything malformed (nothing half-loaded), -ENOMEM. */
int tlsrpt_day_save(const struct tlsrpt_day *d, char **buf, size_t *len);
int tlsrpt_day_load(struct tlsrpt_day *d, const char *buf, size_t len);

/* ---- the report --------------------------------------------------------------------------- */

struct tlsrpt_meta {
	const char *org;		/* organization-name */
	const char *contact;		/* contact-info */
	const char *submitter;		/* our domain, for report-id and TLS-Report-Submitter */
	int64_t start, end;		/* date-range, unix seconds (end exclusive: start + 1 day) */
};

/* "2026-12-04T00:00:00Z" */
void tlsrpt_time_rfc3339(int64_t t, char *buf, size_t len);
/* report-id: "<start>_<domain>@<submitter>" (unique per domain, day and gateway) */
void tlsrpt_report_id(const struct tlsrpt_meta *m, const char *domain, char *buf, size_t len);
/* The JSON report for one domain (a malloc'd NUL-terminated buffer).  0 or -ENOMEM. */
int tlsrpt_json(const struct tlsrpt_meta *m, const struct tlsrpt_domain *dom, char **json,
		size_t *len);
/* gzip (RFC 1952) of buf. 0 or -ENOMEM/-EIO. */
int tlsrpt_gzip(const void *buf, size_t len, unsigned char **out, size_t *outlen);
/* §5.3 file name: "submitter!domain!start!end.json.gz" (end: the last second of the range) */
void tlsrpt_filename(const struct tlsrpt_meta *m, const char *domain, char *buf, size_t len);

/* ---- the report by mail (§5.3, report/tlsrpt_mail.c) ------------------------------------ */

struct tlsrpt_mail {
	const char *from;		/* header From: (the configured sender) */
	const char *to;			/* the rua's address (mailto: stripped, no ?hfields) */
	const char *domain;		/* the policy domain */
	const char *submitter;
	const char *report_id;
	const char *filename;		/* tlsrpt_filename() */
	int64_t date;			/* Date:, unix seconds */
};

/* "mailto:a@b.example?subject=x" -> "a@b.example" (percent-decoded); -EINVAL if not an
 * address with one @ and no spaces or angle brackets. */
int tlsrpt_mailto_addr(const char *uri, char *addr, size_t len);
/*
 * The message (CRLF line ends, no DKIM signature yet): multipart/report; report-type="tlsrpt",
 * a text/plain part and the gzip'd report as application/tlsrpt+gzip in base64, with the
 * TLS-Report-Domain and TLS-Report-Submitter headers.  malloc'd; 0 or -ENOMEM.
 */
int tlsrpt_mail_build(const struct tlsrpt_mail *m, const unsigned char *gz, size_t gzlen,
		      char **msg, size_t *len);
/* The header fields a report's DKIM signature covers (h=). */
#define TLSRPT_DKIM_HEADERS \
	"from:to:subject:date:message-id:mime-version:content-type:tls-report-domain:" \
	"tls-report-submitter"

/* ---- fleet: libtlsrpt's datagram ---------------------------------------------------------- */

/*
 * One outcome as libtlsrpt (sys4) sends it to tlsrpt-collectd: a JSON object
 *   {"d":DOMAIN,"pr":RECORD,"policies":[{"policy-type":1|2|9,"policy-domain":DOMAIN,
 *    "policy-string":[...],"failure-details":[{"c":CODE,"s":IP,"n":MX,"r":IP}],"t":N,"f":0|1}]}
 * with libtlsrpt's numeric codes (policy type 1 tlsa, 2 sts, 9 no-policy-found; failure codes
 * 201..205, 301..306; f 0 success, 1 failure).  record is the domain's TLSRPT TXT record.
 * A malloc'd buffer; 0 or -ENOMEM, -EINVAL (not an outbound outcome with a domain).
 */
int tlsrpt_datagram(const struct report_outcome *o, const char *record, const char *policy_string,
		    char **buf, size_t *len);
/* libtlsrpt's failure code for a result type (201...) */
int tlsrpt_datagram_code(enum policy_rpt_result r);

#endif
