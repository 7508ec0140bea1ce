// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: report/tlsrpt.c's parsers on arbitrary bytes.  The first byte picks the parser ('R'
 * one _smtp._tls TXT record, 'D' a DNS answer to that query, 'F' a day file; anything else: all
 * of them), the rest is the input.  Beyond the sanitizers it traps when a promise breaks: a
 * parsed record has 1..TLSRPT_RUA_MAX URIs, each mailto: or https: without spaces; a day file
 * that loads saves back to bytes that load to the same bytes again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record(const struct tlsrpt_record *r)
{
	if (!r->nrua || r->nrua > TLSRPT_RUA_MAX)
		__builtin_trap();
	for (unsigned int i = 0; i < r->nrua; i++) {
		const char *u = r->rua[i];

		if (strncasecmp(u, "mailto:", 7) && strncasecmp(u, "https://", 8))
			__builtin_trap();
		if (strpbrk(u, " \t\r\n,;"))
			__builtin_trap();
	}
}

static void day_file(const char *in, size_t n)
{
	struct tlsrpt_day d, e;
	char *a = NULL, *b = NULL;
	size_t al, bl;

	tlsrpt_day_init(&d, 0);
	tlsrpt_day_init(&e, 0);
	if (tlsrpt_day_load(&d, in, n))
		goto out;
	if (tlsrpt_day_save(&d, &a, &al) || tlsrpt_day_load(&e, a, al) ||
	    tlsrpt_day_save(&e, &b, &bl) || al != bl || memcmp(a, b, al))
		__builtin_trap();
	/* every domain makes a report */
	for (size_t i = 0; i < e.ndom; i++) {
		struct tlsrpt_meta m = { .org = "o", .contact = "c", .submitter = "s", .end = 86400 };
		char *json;
		size_t jl;

		if (!tlsrpt_json(&m, &e.dom[i], &json, &jl))
			free(json);
	}
out:
	free(a);
	free(b);
	tlsrpt_day_clear(&d);
	tlsrpt_day_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrpt_record r;
	char why[160], txt[1024];
	const char *in = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char which = size ? (char)data[0] : 0;

	if (!size)
		return 0;
	if ((which == 'R' || !strchr("RDF", which)) && !tlsrpt_record_parse(in, n, &r, why, sizeof(why)))
		check_record(&r);
	if ((which == 'D' || !strchr("RDF", which)) &&
	    !tlsrpt_record_answer((const unsigned char *)in, n, &r, txt, sizeof(txt), why, sizeof(why)))
		check_record(&r);
	if (which == 'F' || !strchr("RDF", which))
		day_file(in, n);
	return 0;
}
