// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the envelope address reader the TLS checks depend on (issue 13 item 8) — the
 * input as a MAIL/RCPT argument through smtp_path_parse(), smtp_addr_canon() and
 * smtp_addr_route_domains().  Beyond the sanitizers, it traps when a promise breaks: a
 * canonical address reads back as itself (nothing is left for a second reading to strip), and
 * every routing domain is lower case without a trailing dot.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_domain(const char *dom, void *ctx)
{
	size_t n = strlen(dom);

	(void)ctx;
	if (!n || dom[n - 1] == '.')
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (dom[i] >= 'A' && dom[i] <= 'Z')
			__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char raw[320], canon[320], again[320];

	if (smtp_path_parse((const char *)data, size, "TO:", raw, sizeof(raw)))
		return 0;
	if (smtp_addr_canon(raw, canon, sizeof(canon)))
		return 0;
	if (smtp_addr_canon(canon, again, sizeof(again)) || strcmp(canon, again))
		__builtin_trap();
	smtp_addr_route_domains(canon, check_domain, NULL);
	return 0;
}
