// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which level a domain could be moved to without one failed delivery in the window, from its
 * counters: `verify` when every session was TLS with a certificate verified for the MX name,
 * `encrypt` when every session was TLS, else none -- with the reason in words.  A domain the
 * gateway already refused something for is never suggested stricter: the refusals say its
 * posture falls short of what some policy asks today.
 */
#include "report/posture.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const cert_words[REPORT_CERT_N] = {
	[REPORT_CERT_NONE] = "no certificate",
	[REPORT_CERT_VERIFIED] = "verified",
	[REPORT_CERT_NAME_MISMATCH] = "name mismatch",
	[REPORT_CERT_NO_NAME] = "no MX name to check",
	[REPORT_CERT_EXPIRED] = "expired",
	[REPORT_CERT_SELF_SIGNED] = "self-signed",
	[REPORT_CERT_UNTRUSTED] = "untrusted",
};

const char *posture_can_name(enum posture_can can)
{
	switch (can) {
	case POSTURE_CAN_ENCRYPT:
		return "encrypt";
	case POSTURE_CAN_VERIFY:
		return "verify";
	default:
		return "none";
	}
}

/* The most frequent refusal type, for the reason. */
static const char *top_refusal(const uint32_t c[POSTURE_NCTR])
{
	int best = -1;
	uint32_t n = 0;

	for (int i = 0; i < POLICY_RPT_NRESULT; i++) {
		if (c[POSTURE_REFUSED_BY + i] > n) {
			n = c[POSTURE_REFUSED_BY + i];
			best = i;
		}
	}
	return best >= 0 ? policy_rpt_result_name((enum policy_rpt_result)best) : "TLS policy not met";
}

void posture_verdict(const uint32_t c[POSTURE_NCTR], uint8_t dir, struct posture_verdict *v)
{
	uint32_t sessions = c[POSTURE_SESSIONS], tls = c[POSTURE_TLS];
	uint32_t verified = c[POSTURE_CERT + REPORT_CERT_VERIFIED];
	size_t off;

	v->can = POSTURE_CAN_NONE;
	v->reason[0] = '\0';
	if (c[POSTURE_REFUSED]) {
		snprintf(v->reason, sizeof(v->reason),
			 "no: %" PRIu32 " refused by the gateway already (%s)", c[POSTURE_REFUSED],
			 top_refusal(c));
		return;
	}
	if (!sessions) {
		snprintf(v->reason, sizeof(v->reason), "no: no sessions in the window");
		return;
	}
	if (tls < sessions) {
		uint32_t plain = c[POSTURE_MESSAGES] - c[POSTURE_TLS_MESSAGES];
		uint32_t offered = c[POSTURE_STARTTLS];

		if (dir == REPORT_INBOUND)
			snprintf(v->reason, sizeof(v->reason),
				 "no: %" PRIu32 " messages in plaintext (no STARTTLS in %" PRIu32
				 " of %" PRIu32 " sessions)",
				 plain, sessions - tls, sessions);
		else if (offered < sessions)
			snprintf(v->reason, sizeof(v->reason),
				 "no: %" PRIu32 " messages in plaintext (MX did not offer STARTTLS in "
				 "%" PRIu32 " of %" PRIu32 " sessions)",
				 plain, sessions - offered, sessions);
		else
			snprintf(v->reason, sizeof(v->reason),
				 "no: %" PRIu32 " messages in plaintext (STARTTLS offered, TLS not used "
				 "in %" PRIu32 " of %" PRIu32 " sessions)",
				 plain, sessions - tls, sessions);
		return;
	}
	if (dir == REPORT_INBOUND) {
		/* inbound levels are none, may, encrypt: a client certificate is not asked for */
		v->can = POSTURE_CAN_ENCRYPT;
		snprintf(v->reason, sizeof(v->reason), "all %" PRIu32 " sessions TLS", sessions);
		return;
	}
	if (verified == sessions) {
		v->can = POSTURE_CAN_VERIFY;
		snprintf(v->reason, sizeof(v->reason),
			 "all %" PRIu32 " sessions TLS, certificate verified for the MX name",
			 sessions);
		return;
	}
	v->can = POSTURE_CAN_ENCRYPT;
	off = (size_t)snprintf(v->reason, sizeof(v->reason),
			       "all %" PRIu32 " sessions TLS; not verify:", sessions);
	for (int i = 0; i < REPORT_CERT_N; i++) {
		uint32_t n = c[POSTURE_CERT + i];

		if (i == REPORT_CERT_VERIFIED || !n || off >= sizeof(v->reason))
			continue;
		off += (size_t)snprintf(v->reason + off, sizeof(v->reason) - off, " %s in %" PRIu32,
					cert_words[i], n);
	}
}
