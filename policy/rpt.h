/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The words of TLS reporting (RFC 8460 4.3, 4.4): which policy a result is about and, for a
 * failure, its result type.  The daemon counts its DANE and MTA-STS verdicts in these terms, so
 * that what `tlsgatectl stats` shows is what a TLS-RPT report will say.
 */
#ifndef TLSGATE_POLICY_RPT_H
#define TLSGATE_POLICY_RPT_H

#include <stddef.h>

enum policy_rpt_policy {
	POLICY_RPT_STS,		/* "sts" */
	POLICY_RPT_TLSA,	/* "tlsa" (DANE) */
	POLICY_RPT_NPOLICY,
};

enum policy_rpt_result {
	/* 4.3.1 negotiation failures */
	POLICY_RPT_STARTTLS_NOT_SUPPORTED,
	POLICY_RPT_CERTIFICATE_HOST_MISMATCH,
	POLICY_RPT_CERTIFICATE_EXPIRED,
	POLICY_RPT_CERTIFICATE_NOT_TRUSTED,
	POLICY_RPT_VALIDATION_FAILURE,
	/* 4.3.2 policy failures: DANE */
	POLICY_RPT_TLSA_INVALID,
	POLICY_RPT_DNSSEC_INVALID,
	POLICY_RPT_DANE_REQUIRED,
	/* 4.3.2 policy failures: MTA-STS */
	POLICY_RPT_STS_POLICY_FETCH_ERROR,
	POLICY_RPT_STS_POLICY_INVALID,
	POLICY_RPT_STS_WEBPKI_INVALID,
	POLICY_RPT_NRESULT,
};

const char *policy_rpt_policy_name(enum policy_rpt_policy p);	/* "sts", "tlsa" */
const char *policy_rpt_result_name(enum policy_rpt_result r);	/* "starttls-not-supported" */

/*
 * The TXT records of a DNS answer (_smtp._tls.DOMAIN), each with its character-strings joined
 * (RFC 8460 3): fn(text, len, arg) per record, non-zero from fn stops the walk with that value.
 * 0, -ENOENT (NXDOMAIN or no TXT), -EAGAIN (SERVFAIL), -EINVAL (malformed or refused answer).
 */
int policy_rpt_txt_answer(const unsigned char *msg, size_t len,
			  int (*fn)(const char *txt, size_t len, void *arg), void *arg);

#endif
