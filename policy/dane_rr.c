// SPDX-License-Identifier: GPL-2.0-only
/*
 * DANE's pure helpers (see policy/dane.h): how secure an answer is, TLSA and MX rdata, wire
 * names.  Nothing here allocates or does I/O; tests/fuzz/fuzz_policy_dane.c runs the parsers on
 * arbitrary bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/dane.h"

#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

enum policy_dane_sec policy_dane_classify(const struct policy_dane_answer *a)
{
	/* The validator's verdict first: libunbound reports a bogus answer as SERVFAIL too. */
	if (a->bogus)
		return POLICY_DANE_BOGUS;
	if (a->err || (a->rcode != RCODE_NOERROR && a->rcode != RCODE_NXDOMAIN))
		return POLICY_DANE_INDETERMINATE;
	return a->secure ? POLICY_DANE_SECURE : POLICY_DANE_INSECURE;
}

const char *policy_dane_sec_name(enum policy_dane_sec s)
{
	switch (s) {
	case POLICY_DANE_SECURE:
		return "secure";
	case POLICY_DANE_INSECURE:
		return "insecure";
	case POLICY_DANE_BOGUS:
		return "bogus";
	case POLICY_DANE_INDETERMINATE:
		return "indeterminate";
	}
	return "?";
}

const char *policy_dane_state_name(enum policy_dane_state s)
{
	switch (s) {
	case POLICY_DANE_NONE:
		return "none";
	case POLICY_DANE_USABLE:
		return "usable";
	case POLICY_DANE_UNUSABLE_ALL:
		return "unusable-all";
	case POLICY_DANE_FAILED:
		return "failed";
	}
	return "?";
}

enum policy_dane_tlsa_st policy_dane_tlsa_parse(const unsigned char *rdata, size_t len,
						struct policy_dane_tlsa *out)
{
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (len < 4) /* usage, selector, matching type, at least one byte of data */
		return POLICY_DANE_TLSA_MALFORMED;
	dlen = len - 3;
	if (dlen > UINT16_MAX)
		return POLICY_DANE_TLSA_MALFORMED;
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->len = (uint16_t)dlen;
	out->data = (unsigned char *)(uintptr_t)(rdata + 3);
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP; they count as unusable. */
	if (out->usage != POLICY_DANE_TA && out->usage != POLICY_DANE_EE)
		return POLICY_DANE_TLSA_UNUSABLE;
	if (out->selector > 1)
		return POLICY_DANE_TLSA_UNUSABLE;
	switch (out->mtype) {
	case 0:
		return POLICY_DANE_TLSA_USABLE;
	case 1:
		return dlen == 32 ? POLICY_DANE_TLSA_USABLE : POLICY_DANE_TLSA_UNUSABLE;
	case 2:
		return dlen == 64 ? POLICY_DANE_TLSA_USABLE : POLICY_DANE_TLSA_UNUSABLE;
	default:
		return POLICY_DANE_TLSA_UNUSABLE;
	}
}

void policy_dane_tlsa_desc(const struct policy_dane_tlsa *t, char *buf, size_t len)
{
	const char *u = t->usage == 0	? "PKIX-TA"
			: t->usage == 1 ? "PKIX-EE"
			: t->usage == 2 ? "DANE-TA"
			: t->usage == 3 ? "DANE-EE"
					: "usage";

	snprintf(buf, len, "%s(%u) %u %u", u, t->usage, t->selector, t->mtype);
}

static bool name_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int policy_dane_wire_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -EINVAL;
	for (;;) {
		size_t l;

		if (i >= len)
			return -EINVAL;
		l = p[i++];
		if (l == 0)
			break;
		/* Uncompressed only: rdata of MX from the validator is already expanded. */
		if (l > 63 || len - i < l)
			return -EINVAL;
		if (o && o + 1 >= outlen)
			return -EINVAL;
		if (o)
			out[o++] = '.';
		if (o + l >= outlen)
			return -EINVAL;
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];

			if (!name_byte_ok(c))
				return -EINVAL;
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		i += l;
	}
	out[o] = '\0';
	return (int)i;
}

int policy_dane_mx_parse(const unsigned char *rdata, size_t len, uint16_t *pref,
			 char name[POLICY_DANE_NAME_MAX])
{
	int n;

	if (len < 3)
		return -EINVAL;
	*pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
	n = policy_dane_wire_name(rdata + 2, len - 2, name, POLICY_DANE_NAME_MAX);
	if (n < 0 || (size_t)n != len - 2)
		return -EINVAL;
	return 0;
}

int policy_dane_name_norm(const char *in, char out[POLICY_DANE_NAME_MAX])
{
	size_t n = strlen(in), lab = 0;

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= POLICY_DANE_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (lab == 0)
				return -EINVAL;
			lab = 0;
		} else if (!name_byte_ok(c) || ++lab > 63) {
			return -EINVAL;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (lab == 0)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}
