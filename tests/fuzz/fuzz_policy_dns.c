// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: policy/dns.c's answer walker on arbitrary bytes as a DNS response, for each record
 * type the resolver asks (MX, A, AAAA).  Beyond the sanitizers it traps when a promise breaks:
 * the status is one of the policy_dns_status values; an MX name is NUL-terminated, lower case, without
 * a trailing dot.
 */
#include <arpa/nameser.h>
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_rr(const struct policy_dns_rr *rr, void *arg)
{
	size_t n = strnlen(rr->name, sizeof(rr->name));

	(void)arg;
	if (n == sizeof(rr->name) || (n && rr->name[n - 1] == '.'))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)rr->name[i]))
			__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { ns_t_mx, ns_t_a, ns_t_aaaa };
	/* An exact-size copy, so that any read past the end is caught. */
	unsigned char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int st = policy_dns_parse_answer(copy, size, types[i], check_rr, NULL);

		if (st < DNS_OK || st > DNS_FAIL)
			__builtin_trap();
	}
	free(copy);
	return 0;
}
