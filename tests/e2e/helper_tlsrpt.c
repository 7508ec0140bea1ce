// SPDX-License-Identifier: GPL-2.0-only
/*
 * For tests/e2e/test_tlsrpt_format.sh: report/tlsrpt.c's output for a fixed set of outcomes,
 * to be checked by other implementations (python3-jsonschema, Python's email parser, dkimpy).
 *   helper_tlsrpt report DIR               DIR/DOMAIN.json and DIR/DOMAIN.json.gz per domain
 *   helper_tlsrpt mail KEY SELECTOR FILE   one report as signed mail (for r.example)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/dkim.h"
#include "report/tlsrpt.h"

#define DAY0 1796428800

static const struct tlsrpt_meta meta = {
	.org = "Example \"Org\"", .contact = "mailto:postmaster@example.org",
	.submitter = "gw.example.org", .start = DAY0, .end = DAY0 + 86400,
};

static void add(struct tlsrpt_day *d, const char *dom, uint8_t policy, int rpt, const char *mx,
		const char *ps, int n)
{
	struct report_outcome o;

	memset(&o, 0, sizeof(o));
	o.dir = REPORT_OUTBOUND;
	o.policy = policy;
	o.rpt_result = (int8_t)rpt;
	o.result = rpt >= 0 ? REPORT_POLICY_REFUSED : REPORT_DELIVERED;
	snprintf(o.domain, sizeof(o.domain), "%s", dom);
	snprintf(o.mx, sizeof(o.mx), "%s", mx);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "203.0.113.25");
	snprintf(o.local_ip, sizeof(o.local_ip), "2001:db8::1");
	for (int i = 0; i < n; i++)
		if (tlsrpt_day_add(d, &o, ps))
			exit(2);
}

static void fill(struct tlsrpt_day *d)
{
	const char *sts = "version: STSv1\nmode: enforce\nmx: mx.r.example\nmax_age: 604800";

	tlsrpt_day_init(d, DAY0);
	add(d, "r.example", REPORT_POLICY_STS, -1, "mx.r.example", sts, 7);
	add(d, "r.example", REPORT_POLICY_STS, POLICY_RPT_CERTIFICATE_EXPIRED, "mx.r.example", sts, 2);
	add(d, "r.example", REPORT_POLICY_TABLE, -1, "", NULL, 1);
	add(d, "dane.example", REPORT_POLICY_DANE, POLICY_RPT_TLSA_INVALID, "mx.dane.example",
	    "3 1 1 0123abcd", 3);
	add(d, "dane.example", REPORT_POLICY_DANE, POLICY_RPT_STARTTLS_NOT_SUPPORTED, "",
	    "3 1 1 0123abcd", 1);
	add(d, "none.example", REPORT_POLICY_TABLE, -1, "", NULL, 4);
}

static int put(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tlsrpt_day d;
	char path[4096], *json, *msg, *sig, fn[512], id[512];
	unsigned char *gz;
	size_t jl, gl, ml;

	fill(&d);
	if (argc == 3 && !strcmp(argv[1], "report")) {
		for (size_t i = 0; i < d.ndom; i++) {
			if (tlsrpt_json(&meta, &d.dom[i], &json, &jl) || tlsrpt_gzip(json, jl, &gz, &gl))
				return 2;
			snprintf(path, sizeof(path), "%s/%s.json", argv[2], d.dom[i].name);
			if (put(path, json, jl))
				return 2;
			snprintf(path, sizeof(path), "%s/%s.json.gz", argv[2], d.dom[i].name);
			if (put(path, gz, gl))
				return 2;
			free(json);
			free(gz);
		}
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "mail")) {
		struct dkim_opts o = { .domain = "example.org", .selector = argv[3],
				       .headers = TLSRPT_DKIM_HEADERS, .time = time(NULL) };
		struct tlsrpt_mail m = { .from = "tlsrpt@example.org", .to = "tlsrpt@r.example",
					 .domain = "r.example", .submitter = meta.submitter,
					 .date = time(NULL) };
		char why[256];

		if (dkim_key_load(argv[2], &o.key, why, sizeof(why))) {
			fprintf(stderr, "%s\n", why);
			return 2;
		}
		tlsrpt_report_id(&meta, "r.example", id, sizeof(id));
		tlsrpt_filename(&meta, "r.example", fn, sizeof(fn));
		m.report_id = id;
		m.filename = fn;
		if (tlsrpt_json(&meta, tlsrpt_day_find(&d, "r.example"), &json, &jl) ||
		    tlsrpt_gzip(json, jl, &gz, &gl) || tlsrpt_mail_build(&m, gz, gl, &msg, &ml) ||
		    dkim_sign(&o, msg, ml, &sig))
			return 2;
		snprintf(path, sizeof(path), "%s", argv[4]);
		{
			FILE *f = fopen(path, "wb");

			if (!f || fputs(sig, f) < 0 || fwrite(msg, 1, ml, f) != ml || fclose(f))
				return 2;
		}
		return 0;
	}
	fprintf(stderr, "usage: helper_tlsrpt report DIR | mail KEY SELECTOR FILE\n");
	return 2;
}
