// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: policy/sts.c's parsers on arbitrary bytes.  The first byte picks the parser ('T'
 * the policy text, 'X' one TXT record, 'D' a DNS answer to the TXT query, 'H' the HTTP answer,
 * 'R' a cache record; anything else: all of them), the rest is the input.  Beyond the
 * sanitizers it traps when a promise breaks: a parsed policy has its required fields within
 * bounds, mx patterns are lower case without a trailing dot, an id is 1-32 letters or digits,
 * an HTTP body lies inside the input and within 64 KiB, a record serialises back to itself.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > POLICY_STS_ID_MAX)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]))
			__builtin_trap();
}

static void check_policy(const struct policy_sts_policy *p)
{
	if (p->max_age > POLICY_STS_MAX_AGE_MAX || p->nmx > POLICY_STS_MAX_MX ||
	    (p->mode != POLICY_STS_NONE && !p->nmx))
		__builtin_trap();
	for (size_t i = 0; i < p->nmx; i++) {
		size_t n = strlen(p->mx[i]);

		if (!n || p->mx[i][n - 1] == '.')
			__builtin_trap();
		for (size_t j = 0; j < n; j++)
			if (isupper((unsigned char)p->mx[i][j]))
				__builtin_trap();
		/* an exact pattern matches the name it is */
		if (p->mx[i][0] != '*' && !policy_sts_pattern_match(p->mx[i], p->mx[i]))
			__builtin_trap();
	}
}

static void run(char sel, const char *in, size_t len)
{
	char id[POLICY_STS_ID_MAX + 1], why[256];
	struct policy_sts_policy p;
	struct policy_sts_entry *e;
	const char *body;
	size_t blen;

	if (sel == 'T' || !sel) {
		if (!policy_sts_policy_parse(in, len, &p, why, sizeof(why))) {
			check_policy(&p);
			policy_sts_mx_match(&p, "mx1.example.org");
			policy_sts_policy_clear(&p);
		}
	}
	if ((sel == 'X' || !sel) && !policy_sts_txt_parse(in, len, id))
		check_id(id);
	if ((sel == 'D' || !sel) &&
	    !policy_sts_txt_answer((const unsigned char *)in, len, id, why, sizeof(why)))
		check_id(id);
	if (sel == 'H' || !sel) {
		for (int eof = 0; eof < 2; eof++) {
			/* a chunked body is joined in place: a fresh exact-size copy each time */
			char *h = malloc(len ? len : 1);

			if (!h)
				return;
			memcpy(h, in, len);
			if (!policy_sts_http_parse(h, len, eof, &body, &blen, why, sizeof(why)) &&
			    (body < h || body + blen > h + len || blen > POLICY_STS_MAX_BODY))
				__builtin_trap();
			free(h);
		}
	}
	if ((sel == 'R' || !sel) && !policy_sts_record_parse(in, len, &e, why, sizeof(why))) {
		char *rec;
		size_t rlen;

		check_id(e->id);
		check_policy(&e->pol);
		if (policy_sts_record_serialize(e, &rec, &rlen))
			__builtin_trap();
		if (rlen != len || memcmp(rec, in, len))
			__builtin_trap();
		free(rec);
		policy_sts_entry_put(e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sel;
	/* An exact-size copy, so that any read past the end is caught. */
	char *copy;

	if (!size)
		return 0;
	sel = strchr("TXDHR", data[0]) && data[0] ? (char)data[0] : 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	run(sel, copy, size - 1);
	free(copy);
	return 0;
}
