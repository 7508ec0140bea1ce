// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drives policy/resolve.c for tests/e2e/test_policy_resolve.sh: one resolver (its cache lives as
 * long as this process) and a policy, commanded line by line on stdin; every answer ends with a
 * line ".".  Time is given by the test (the resolver's clock is an argument), so TTL behaviour is
 * checked without waiting.
 *
 *   helper_policy_resolve [--ns ADDR[:PORT]] [--min-ttl S] [--retry S] [--timeout S]
 *   load PATH          -> "ok rules=N" | "error MESSAGE"
 *   refresh NOW        -> "names=N queried=N ok=N failed=N addrs=N"
 *   lpm                -> "PREFIX LEVEL KEY" per entry of the kernel's LPM list
 *   dest ADDR [MX]     -> "KEY LEVEL HOW" (policy_outbound_for_dest)
 *   mx ADDR            -> the MX name ADDR was resolved from, or "(none)"
 *   status             -> "NAME addrs=N set=0|1 failures=N expires=T error=..." per name
 *   due                -> the next due time, or "never"
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/policy_entry.h"
#include "policy/policy.h"

static struct policy *pol;
static struct policy_resolver *res;

static int to_sa(const char *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(25);
		return inet_pton(AF_INET6, a, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(25);
	return inet_pton(AF_INET, a, &s4->sin_addr) == 1 ? 0 : -1;
}

static int print_status(const struct policy_name_status *st, void *arg)
{
	(void)arg;
	printf("%s%s addrs=%zu set=%d failures=%u expires=%llu error=%s\n",
	       st->is_host ? "[host]" : "", st->name, st->naddrs, st->have_set, st->failures,
	       (unsigned long long)st->expires, st->last_error);
	return 0;
}

static void cmd(char *line)
{
	char *verb = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n");
	struct policy_error err;
	struct sockaddr_storage ss;

	if (!verb)
		return;
	if (!strcmp(verb, "load") && a1) {
		struct policy *p = NULL;

		if (policy_load(a1, NULL, &p, &err)) {
			printf("error %s\n", err.msg);
			return;
		}
		policy_put(pol);
		pol = p;
		printf("ok rules=%zu\n", policy_rule_count(pol, POLICY_OUTBOUND));
	} else if (!strcmp(verb, "refresh") && a1 && pol) {
		struct policy_resolve_stats st;
		int rc = policy_resolver_refresh(res, pol, strtoull(a1, NULL, 10), &st);

		if (rc)
			printf("error %s\n", strerror(-rc));
		else
			printf("names=%zu queried=%zu ok=%zu failed=%zu addrs=%zu\n", st.names,
			       st.queried, st.ok, st.failed, st.addrs);
	} else if (!strcmp(verb, "lpm") && pol) {
		struct tg_bpf_policy_entry *v = NULL;
		size_t n = 0;

		if (policy_lpm_entries(pol, POLICY_OUTBOUND, &v, &n))
			return;
		for (size_t i = 0; i < n; i++) {
			char a[INET6_ADDRSTRLEN];
			const struct policy_rule *r = policy_rule_by_id(pol, v[i].rule_id);

			inet_ntop(v[i].family, v[i].addr, a, sizeof(a));
			printf("%s/%u%s%.0u %s %s\n", a, v[i].prefix_len, v[i].port ? " port " : "",
			       v[i].port, policy_level_name(v[i].level), r ? r->key : "?");
		}
		free(v);
	} else if (!strcmp(verb, "dest") && a1 && pol && !to_sa(a1, &ss)) {
		struct policy_match m = policy_outbound_for_dest(pol, (struct sockaddr *)&ss, a2);

		printf("%s %s %s\n", m.rule->key, policy_level_name(m.rule->level), m.how);
	} else if (!strcmp(verb, "mx") && a1 && pol && !to_sa(a1, &ss)) {
		char name[256];

		if (policy_mx_for_addr(pol, (struct sockaddr *)&ss, name, sizeof(name)))
			printf("(none)\n");
		else
			printf("%s\n", name);
	} else if (!strcmp(verb, "status")) {
		policy_resolver_foreach(res, print_status, NULL);
	} else if (!strcmp(verb, "due")) {
		uint64_t d = policy_resolver_next_due(res);

		if (d == UINT64_MAX)
			printf("never\n");
		else
			printf("%llu\n", (unsigned long long)d);
	} else {
		printf("error bad command\n");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ns", required_argument, NULL, 'n' },
		{ "min-ttl", required_argument, NULL, 'm' },
		{ "retry", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	struct policy_resolver_opts o = { .sz = sizeof(o) };
	char line[1024];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.nameserver = optarg;
			break;
		case 'm':
			o.min_ttl = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.retry_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.timeout_s = (unsigned int)strtoul(optarg, NULL, 10);
			o.attempts = 1;
			break;
		default:
			return 2;
		}
	}
	rc = policy_resolver_new(&o, &res);
	if (rc) {
		fprintf(stderr, "resolver: %s\n", strerror(-rc));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "quit", 4))
			break;
		cmd(line);
		printf(".\n");
	}
	policy_put(pol);
	policy_resolver_free(res);
	return 0;
}
