// SPDX-License-Identifier: GPL-2.0-only
/* RFC 8460's names for policy types and result types (policy/rpt.h). */
#include "policy/rpt.h"
#include "policy/policy_int.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char *const policy_names[POLICY_RPT_NPOLICY] = {
	[POLICY_RPT_STS] = "sts",
	[POLICY_RPT_TLSA] = "tlsa",
};

static const char *const result_names[POLICY_RPT_NRESULT] = {
	[POLICY_RPT_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[POLICY_RPT_CERTIFICATE_HOST_MISMATCH] = "certificate-host-mismatch",
	[POLICY_RPT_CERTIFICATE_EXPIRED] = "certificate-expired",
	[POLICY_RPT_CERTIFICATE_NOT_TRUSTED] = "certificate-not-trusted",
	[POLICY_RPT_VALIDATION_FAILURE] = "validation-failure",
	[POLICY_RPT_TLSA_INVALID] = "tlsa-invalid",
	[POLICY_RPT_DNSSEC_INVALID] = "dnssec-invalid",
	[POLICY_RPT_DANE_REQUIRED] = "dane-required",
	[POLICY_RPT_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[POLICY_RPT_STS_POLICY_INVALID] = "sts-policy-invalid",
	[POLICY_RPT_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};

const char *policy_rpt_policy_name(enum policy_rpt_policy p)
{
	return (unsigned int)p < POLICY_RPT_NPOLICY ? policy_names[p] : "unknown";
}

const char *policy_rpt_result_name(enum policy_rpt_result r)
{
	return (unsigned int)r < POLICY_RPT_NRESULT ? result_names[r] : "unknown";
}

struct txt_walk {
	int (*fn)(const char *txt, size_t len, void *arg);
	void *arg;
	bool malformed;
};

static int txt_rr(const struct policy_dns_rr *rr, void *arg)
{
	struct txt_walk *w = arg;
	char rec[65536];
	size_t n;

	/* RDATA: one or more <length><bytes> character-strings, joined (RFC 8460 3) */
	if (policy_dns_txt_join(rr, rec, sizeof(rec), &n)) {
		w->malformed = true;
		return 0;
	}
	return w->fn(rec, n, w->arg);
}

int policy_rpt_txt_answer(const unsigned char *msg, size_t len,
			  int (*fn)(const char *txt, size_t len, void *arg), void *arg)
{
	struct txt_walk w = { .fn = fn, .arg = arg };
	int st = policy_dns_parse_answer(msg, len, ns_t_txt, txt_rr, &w);

	switch (st) {
	case DNS_OK:
		return w.malformed ? -EINVAL : 0;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		return -ENOENT;
	case DNS_TEMPFAIL:
		return -EAGAIN;
	case DNS_FAIL:
		return -EINVAL;
	default:
		return st < 0 ? st : -EINVAL; /* fn's own value */
	}
}
