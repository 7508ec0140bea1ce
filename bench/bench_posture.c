// SPDX-License-Identifier: GPL-2.0-only
/*
 * The main loop's longest stall from the posture store's write, at the 100 000-domain bound
 * (bench/bench_posture.sh runs it; prints one JSON object).  Not a test: numbers.
 *
 * A day of DOMAINS outbound domains (one row each, as a real day at the bound: ~19 MB of
 * file).  Each round first counts CHANGE outcomes spread over the domains (a minute's worth at
 * a busy gateway), then:
 *   before  what the main loop paid when it wrote the file itself (the code before the writer
 *           thread): posture_store_flush on this thread, timed whole;
 *   after   the main loop as it is now: posture_writer_kick on this thread (the take), then a
 *           loop that counts one outcome per turn, as the outcome sink does, until the writer
 *           thread is done; the longest time between two turns is the stall;
 *   idle    the same loop with no write going on: the machine's own scheduling noise.
 */
#include "daemon/posture_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DOMAINS 100000
#define CHANGE 20000
#define ROUNDS 5
#define DAY0 19844
#define T0 ((int64_t)DAY0 * 86400 + 3600)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static unsigned int next_dom;

static void add_one(struct posture_store *s)
{
	struct report_outcome o = {
		.time = T0, .dir = REPORT_OUTBOUND, .result = REPORT_DELIVERED,
		.cert = REPORT_CERT_VERIFIED, .rpt_result = -1, .new_session = true,
		.starttls_offered = true, .tls = true, .messages = 1, .recipients = 1,
		.ktls_tx = REPORT_KTLS_KERNEL, .ktls_rx = REPORT_KTLS_KERNEL,
	};
	unsigned int d = next_dom++ % DOMAINS;

	snprintf(o.domain, sizeof(o.domain), "domain%u.example", d);
	snprintf(o.mx, sizeof(o.mx), "mx1.domain%u.example", d);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "203.0.113.25");
	snprintf(o.tls_version, sizeof(o.tls_version), "TLSv1.3");
	snprintf(o.cipher, sizeof(o.cipher), "TLS_AES_256_GCM_SHA384");
	if (posture_store_add(s, &o)) {
		fprintf(stderr, "bench_posture: out of memory\n");
		exit(1);
	}
}

/* one outcome per turn for at least min_ms and until the writer (if any) is idle; the
 * longest gap between turns */
static double loop_gap(struct posture_store *s, struct posture_writer *w, double min_ms)
{
	double start = now_ms(), last = start, gap = 0;

	for (;;) {
		double t = now_ms();

		if (t - last > gap)
			gap = t - last;
		last = t;
		if (t - start >= min_ms && (!w || !posture_writer_busy(w)))
			break;
		add_one(s);
	}
	return gap;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void series(const char *name, double *v, int n, bool last)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("\"%s\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f}%s", name, v[n / 2], v[0],
	       v[n - 1], last ? "" : ",");
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_posture.XXXXXX", cmd[100], path[200];
	struct posture_store_opts opts = { .dir = dir, .days = 3 };
	double before[ROUNDS], kick[ROUNDS], after[ROUNDS], idle[ROUNDS], write_ms[ROUNDS];
	struct posture_writer_stats st;
	struct posture_writer *w;
	struct posture_store *s;
	struct stat sb;
	size_t rows = 0;

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir) || posture_store_open(&opts, T0, &s))
		return 1;
	for (unsigned int i = 0; i < DOMAINS; i++)
		add_one(s);
	if (posture_store_flush(s, T0))
		return 1;
	for (size_t i = 0; i < posture_store_written(s)->ndom; i++)
		rows += posture_store_written(s)->dom[i]->nrow;
	snprintf(path, sizeof(path), "%s/2024-05-01.posture", dir);
	if (stat(path, &sb))
		return 1;

	for (int r = 0; r < ROUNDS; r++) {
		double t;

		for (int i = 0; i < CHANGE; i++)
			add_one(s);
		t = now_ms();
		if (posture_store_flush(s, T0))
			return 1;
		before[r] = now_ms() - t;
	}
	if (posture_writer_start(s, NULL, &w))
		return 1;
	for (int r = 0; r < ROUNDS; r++) {
		double t;

		for (int i = 0; i < CHANGE; i++)
			add_one(s);
		idle[r] = loop_gap(s, NULL, 300);
		t = now_ms();
		if (posture_writer_kick(w, T0))
			return 1;
		kick[r] = now_ms() - t;
		after[r] = loop_gap(s, w, 0);
		posture_writer_stats(w, &st);
		write_ms[r] = (double)st.last_ms;
	}
	posture_writer_stop(w);
	posture_store_close(s, T0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;

	printf("{\"domains\":%d,\"rows\":%zu,\"file_bytes\":%lld,\"changed_per_round\":%d,"
	       "\"rounds\":%d,", DOMAINS, rows, (long long)sb.st_size, CHANGE, ROUNDS);
	series("before_stall_ms", before, ROUNDS, false);
	series("after_kick_ms", kick, ROUNDS, false);
	series("after_stall_ms", after, ROUNDS, false);
	series("idle_stall_ms", idle, ROUNDS, false);
	series("writer_thread_write_ms", write_ms, ROUNDS, true);
	printf("}\n");
	return 0;
}
