/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The body of fuzz_policy_outbound.c and fuzz_policy_inbound.c: parse the input as a table of
 * that direction.  Beyond the sanitizers it traps when a promise breaks:
 *   - an error message names the table ("fuzz:LINE:COL: ...") and is printable;
 *   - every parsed rule formats to a line that parses back to an equal rule (but a rule tlsgate
 *     applies at another level than written -- dane, dane-only, a refused entry -- which a
 *     single rule from the CLI may not be);
 *   - a snapshot built from the rules finds every rule by its own key, and a domain, host or
 *     address lookup never answers with a rule of the other direction.
 */
#ifndef TLSGATE_FUZZ_POLICY_TABLE_H
#define TLSGATE_FUZZ_POLICY_TABLE_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *msg)
{
	if (strncmp(msg, "fuzz:", 5) && strncmp(msg, "out of memory", 13))
		__builtin_trap();
	for (const char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			__builtin_trap();
}

static void check_rule(enum policy_dir dir, const struct policy_rule *r)
{
	struct policy_error err;
	struct policy_rule back;
	char line[8192];
	int n = policy_rule_format(r, line, sizeof(line));

	if (r->written || r->level == POLICY_DEFER)
		return;
	if (n < 0 || (size_t)n >= sizeof(line))
		return;		/* longer than any sane rule: the parser allowed it, skip */
	if (policy_rule_parse(dir, "fuzz", line, &back, &err))
		__builtin_trap();
	if (!policy_rule_equal(r, &back))
		__builtin_trap();
	policy_rule_clear(&back);
}

static void check_snapshot(enum policy_dir dir, struct policy *p)
{
	for (size_t i = 0; i < policy_rule_count(p, dir); i++) {
		const struct policy_rule *r = policy_rule_at(p, dir, i);
		struct policy_match m;

		if (policy_rule_find(p, dir, r->key) != r || policy_rule_by_id(p, r->id) != r)
			__builtin_trap();
		if (r->key_type == POLICY_KEY_DOMAIN) {
			m = dir == POLICY_OUTBOUND ? policy_match_domain(p, r->key)
						   : policy_inbound(p, NULL, r->key);
			if (m.rule != r)
				__builtin_trap();
		}
		if (r->key_type == POLICY_KEY_HOST) {
			m = policy_match_host(p, r->host, r->port);
			if (m.rule != r)
				__builtin_trap();
		}
		if (r->key_type == POLICY_KEY_ADDR) {
			struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
			struct sockaddr_in s4 = { .sin_family = AF_INET };
			struct sockaddr *sa = (struct sockaddr *)&s6;

			if (r->family == AF_INET) {
				memcpy(&s4.sin_addr, r->addr, 4);
				sa = (struct sockaddr *)&s4;
			} else {
				memcpy(&s6.sin6_addr, r->addr, 16);
			}
			m = dir == POLICY_OUTBOUND ? policy_match_addr(p, sa)
						   : policy_inbound(p, sa, NULL);
			/* The network address itself: this rule or a longer prefix inside it. */
			if (m.rule->dir != dir || m.rule->key_type != POLICY_KEY_ADDR ||
			    m.rule->prefix_len < r->prefix_len)
				__builtin_trap();
		}
	}
}

static int fuzz_table(enum policy_dir dir, const uint8_t *data, size_t size)
{
	struct policy_rule *rules = NULL;
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	size_t n = 0;
	int rc;

	rc = policy_parse_table(dir, "fuzz", (const char *)data, size, &rules, &n, &err);
	if (rc) {
		check_message(err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		check_rule(dir, &rules[i]);
	if (dir == POLICY_OUTBOUND)
		rc = policy_build(rules, n, NULL, 0, &p, &err);
	else
		rc = policy_build(NULL, 0, rules, n, &p, &err);
	if (rc)
		return 0;
	check_snapshot(dir, p);
	policy_put(p);
	return 0;
}

#endif
