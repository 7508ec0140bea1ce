// SPDX-License-Identifier: GPL-2.0-only
/* RFC 8460's names for policy types and result types (policy/rpt.h). */
#include "policy/rpt.h"

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
