// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl stats [show] [rule ID] [prometheus]
 *
 * The BPF programs' counters, read straight from the pinned maps (bpf/metrics.c), so it works
 * while the daemon is down; then, without `rule`, the daemon's own counters when it answers
 * (stats_daemon.c).  Three renderings of the same numbers: an `ip -s`-like text block per scope
 * (global, then each policy rule, then the daemon), `-j` JSON (lib/jsonw), and the Prometheus
 * text exposition format (`prometheus` or `--prometheus`).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/common.h"
#include "bpf/metrics.h"
#include "ctl/ctl.h"
#include "ctl/stats.h"
#include "lib/jsonw.h"
#include "policy/policy.h"

struct ctr_name {
	unsigned int idx;
	const char *name;
};

static const struct ctr_name flow_ctrs[] = {
	{ TG_CTR_FLOWS_STEERED, "steered" }, { TG_CTR_FLOWS_RELAY, "relay" },
	{ TG_CTR_FLOWS_TRACKED, "tracked" }, { TG_CTR_FLOWS_TLS, "tls" },
	{ TG_CTR_FLOWS_PLAIN, "plaintext" }, { TG_CTR_FLOWS_BLOCKED, "blocked" },
	/* a monitor rule's flows that would have been blocked (they passed) */
	{ TG_CTR_WOULD_BLOCK, "would-block" },
};

static const struct ctr_name byte_ctrs[] = {
	{ TG_CTR_BYTES_RELAY, "relay" },
	{ TG_CTR_BYTES_TLS, "tls" },
	{ TG_CTR_BYTES_PLAIN, "plaintext" },
	{ TG_CTR_BYTES_DROPPED, "dropped" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* __u64 is unsigned long long; PRIu64 wants uint64_t */
static uint64_t ctr(const struct tg_counters *c, unsigned int idx)
{
	return c->v[idx];
}

static uint64_t drops_total(const struct tg_counters *c)
{
	uint64_t n = 0;

	for (unsigned int r = 1; r < TG_DROP_N; r++)
		n += c->v[TG_CTR_DROPS + r];
	return n;
}

/* ---- text ---------------------------------------------------------------------------------- */

static void text_scope(const char *title, const struct tg_counters *c)
{
	printf("%s:\n    flows  ", title);
	for (size_t i = 0; i < N(flow_ctrs); i++)
		printf(" %s %" PRIu64, flow_ctrs[i].name, ctr(c, flow_ctrs[i].idx));
	printf("\n    bytes  ");
	for (size_t i = 0; i < N(byte_ctrs); i++)
		printf(" %s %" PRIu64, byte_ctrs[i].name, ctr(c, byte_ctrs[i].idx));
	printf("\n    drops   total %" PRIu64, drops_total(c));
	for (unsigned int r = 1; r < TG_DROP_N; r++)
		if (c->v[TG_CTR_DROPS + r])
			printf(" %s %" PRIu64, tg_drop_reason_name(r), ctr(c, TG_CTR_DROPS + r));
	printf("\n");
}

static void print_text(const struct tg_metrics *m, long rule)
{
	char title[96];

	if (rule < 0) {
		text_scope("global", &m->global);
		printf("    steer-errors %" PRIu64 "\n", ctr(&m->global, TG_CTR_STEER_ERRORS));
	}
	for (size_t i = 0; i < m->nrules; i++) {
		if (rule >= 0 && m->rules[i].rule_id != (uint32_t)rule)
			continue;
		const char *name = policy_id_reserved_name(m->rules[i].rule_id);

		snprintf(title, sizeof(title), "rule %" PRIu32 "%s%s%s", m->rules[i].rule_id,
			 name ? " (" : "", name ? name : "", name ? ")" : "");
		text_scope(title, &m->rules[i].c);
	}
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_scope(struct jsonw *w, const struct tg_counters *c)
{
	jsonw_name(w, "flows");
	jsonw_start_object(w);
	for (size_t i = 0; i < N(flow_ctrs); i++)
		jsonw_u64_field(w, flow_ctrs[i].name, c->v[flow_ctrs[i].idx]);
	jsonw_end_object(w);
	jsonw_name(w, "bytes");
	jsonw_start_object(w);
	for (size_t i = 0; i < N(byte_ctrs); i++)
		jsonw_u64_field(w, byte_ctrs[i].name, c->v[byte_ctrs[i].idx]);
	jsonw_end_object(w);
	jsonw_name(w, "drops");
	jsonw_start_object(w);
	jsonw_u64_field(w, "total", drops_total(c));
	for (unsigned int r = 1; r < TG_DROP_N; r++)
		jsonw_u64_field(w, tg_drop_reason_name(r), c->v[TG_CTR_DROPS + r]);
	jsonw_end_object(w);
}

/* m NULL: the BPF counters could not be read; d NULL: the daemon was not asked. */
static int print_json(const struct tg_metrics *m, long rule, const struct ctl_opts *o,
		      const char *pin_dir, const struct ctl_stats_daemon *d)
{
	struct jsonw *w = jsonw_new(stdout);

	if (!w)
		return -ENOMEM;
	jsonw_pretty(w, o->pretty);
	jsonw_start_object(w);
	jsonw_string_field(w, "pin_dir", pin_dir);
	if (!m)
		goto daemon;
	if (rule < 0) {
		jsonw_name(w, "global");
		jsonw_start_object(w);
		json_scope(w, &m->global);
		jsonw_u64_field(w, "steer_errors", m->global.v[TG_CTR_STEER_ERRORS]);
		jsonw_end_object(w);
	}
	jsonw_name(w, "rules");
	jsonw_start_array(w);
	for (size_t i = 0; i < m->nrules; i++) {
		if (rule >= 0 && m->rules[i].rule_id != (uint32_t)rule)
			continue;
		jsonw_start_object(w);
		jsonw_u64_field(w, "rule", m->rules[i].rule_id);
		if (policy_id_reserved_name(m->rules[i].rule_id))
			jsonw_string_field(w, "name", policy_id_reserved_name(m->rules[i].rule_id));
		json_scope(w, &m->rules[i].c);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
daemon:
	if (d)
		ctl_stats_daemon_json(w, d);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	return 0;
}

/* ---- Prometheus text exposition format ------------------------------------------------------ */

static void prom_family(const char *name, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

/* One family for the global scope (labels: what) and one per rule (labels: rule, what). */
static void prom_ctrs(const struct tg_metrics *m, const char *what, const char *label,
		      const struct ctr_name *ctrs, size_t n, const char *help)
{
	char fam[64];

	snprintf(fam, sizeof(fam), "tlsgate_bpf_%s_total", what);
	prom_family(fam, help);
	for (size_t i = 0; i < n; i++)
		printf("%s{%s=\"%s\"} %" PRIu64 "\n", fam, label, ctrs[i].name,
		       ctr(&m->global, ctrs[i].idx));
	snprintf(fam, sizeof(fam), "tlsgate_bpf_rule_%s_total", what);
	prom_family(fam, help);
	for (size_t r = 0; r < m->nrules; r++)
		for (size_t i = 0; i < n; i++)
			printf("%s{rule=\"%" PRIu32 "\",%s=\"%s\"} %" PRIu64 "\n", fam,
			       m->rules[r].rule_id, label, ctrs[i].name,
			       ctr(&m->rules[r].c, ctrs[i].idx));
}

static void print_prometheus(const struct tg_metrics *m)
{
	struct ctr_name drops[TG_DROP_N - 1];

	for (unsigned int r = 1; r < TG_DROP_N; r++)
		drops[r - 1] = (struct ctr_name){ TG_CTR_DROPS + r, tg_drop_reason_name(r) };
	prom_ctrs(m, "flows", "kind", flow_ctrs, N(flow_ctrs),
		  "SMTP flows seen by the eBPF programs, by outcome.");
	prom_ctrs(m, "bytes", "kind", byte_ctrs, N(byte_ctrs),
		  "TCP payload bytes of SMTP flows, by kind.");
	prom_ctrs(m, "drops", "reason", drops, N(drops),
		  "Segments dropped by the eBPF enforcer, by reason.");
	prom_family("tlsgate_bpf_steer_errors_total",
		    "Packets the steering program could not assign to a socket.");
	printf("tlsgate_bpf_steer_errors_total %" PRIu64 "\n", ctr(&m->global, TG_CTR_STEER_ERRORS));
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl [-j [-p]] [--pin-dir DIR] stats [show] [rule ID] "
		   "[prometheus]\n");
}

int ctl_stats(int argc, char **argv, const struct ctl_opts *o)
{
	const char *pin_dir = o->bpf_pin_dir ? o->bpf_pin_dir : TG_PIN_DIR_DEFAULT;
	struct ctl_stats_daemon d = {.up = false};
	struct tg_metrics m;
	bool prom = false, bpf;
	long rule = -1;
	char *end;
	int err, rc;

	for (int i = 0; i < argc; i++) {
		if (ctl_matches(argv[i], "show")) {
			continue;
		} else if (ctl_matches(argv[i], "prometheus") || !strcmp(argv[i], "--prometheus")) {
			prom = true;
		} else if (ctl_matches(argv[i], "rule") && i + 1 < argc) {
			errno = 0;
			rule = strtol(argv[++i], &end, 10);
			if (errno || *end || rule < 0 || rule > UINT32_MAX) {
				fprintf(stderr, "tlsgatectl: stats: bad rule id \"%s\"\n", argv[i]);
				return 2;
			}
		} else if (ctl_matches(argv[i], "help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tlsgatectl: stats: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	/* The daemon's counters are global: `rule ID` asks about the BPF rule scope only. */
	if (rule < 0)
		ctl_stats_daemon_get(o, &d);
	err = tg_metrics_read(pin_dir, &m);
	if (err) {
		fprintf(stderr, "tlsgatectl: stats: cannot read the BPF counters in %s: %s%s\n",
			pin_dir, strerror(-err),
			err == -ENOENT ? " (is the BPF half attached? see tlsgated)" : "");
		/* The daemon's part is still shown: it may run without its BPF half. */
		if (rule >= 0)
			return 1;
	}
	bpf = !err;
	err = 0;
	if (prom) {
		if (bpf)
			print_prometheus(&m);
		if (rule < 0)
			ctl_stats_daemon_prometheus(&d);
	} else if (o->json) {
		err = print_json(bpf ? &m : NULL, rule, o, pin_dir, rule < 0 ? &d : NULL);
	} else {
		if (bpf)
			print_text(&m, rule);
		if (rule < 0)
			ctl_stats_daemon_text(&d);
	}
	if (bpf)
		tg_metrics_free(&m);
	/* Fails when nothing could be read, or the output could not be written. */
	rc = err || (!bpf && !d.up) ? 1 : 0;
	ctl_stats_daemon_free(&d);
	return rc;
}
