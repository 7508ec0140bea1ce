// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark of the relay's data path (bench/bench_ktls.sh runs it; not a test):
 *
 *   sender ==plain==> [pump A: plain -> TLS client] ==TLS==> [pump B: TLS server -> plain] ==> sink
 *
 * one direction, `--mib` MiB, with the TLS session either in the kernel (kTLS, splice) or in
 * OpenSSL (--backend user: SSL_OP_ENABLE_KTLS cleared, so the bounce buffer and SSL_read/write).
 * Prints one JSON object: wall time, CPU of the two pump threads (getrusage RUSAGE_THREAD:
 * user+sys, so the kernel's crypto in our syscalls counts too), the pump counters, and the
 * pumps' thread ids (for strace -ff attribution).  The sender and sink do no hashing: the
 * tests check the bytes, this measures.
 *
 *   helper_ktls_bench --backend kernel|user [--suite tls1.3-aes-128-gcm] [--mib 256]
 */
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "lib/jsonw.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

struct pump_arg {
	struct ktls_ep *a, *b;
	struct kh_pump_result r;
	struct rusage ru;
	pid_t tid;
	int err;
};

static void *pump_thread(void *p)
{
	struct pump_arg *pa = p;

	pa->tid = gettid();
	pa->err = kh_pump(pa->a, pa->b, &pa->r, 3600 * 1000);
	getrusage(RUSAGE_THREAD, &pa->ru);
	return NULL;
}

struct end {
	int fd;
	uint64_t len, done;
	int err;
};

static void *sender(void *p)
{
	struct end *e = p;
	static unsigned char buf[CHUNK];

	memset(buf, 'x', sizeof(buf));
	while (e->done < e->len) {
		size_t n = e->len - e->done < CHUNK ? (size_t)(e->len - e->done) : CHUNK;
		ssize_t w = send(e->fd, buf, n, MSG_NOSIGNAL);

		if (w < 0) {
			e->err = -errno;
			break;
		}
		e->done += (uint64_t)w;
	}
	shutdown(e->fd, SHUT_WR);
	return NULL;
}

static void *sink(void *p)
{
	struct end *e = p;
	static unsigned char buf[CHUNK];
	ssize_t n;

	shutdown(e->fd, SHUT_WR); /* nothing the other way */
	while ((n = recv(e->fd, buf, sizeof(buf), 0)) > 0)
		e->done += (uint64_t)n;
	if (n < 0)
		e->err = -errno;
	return NULL;
}

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: helper_ktls_bench --backend kernel|user [--suite LABEL] [--mib N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *backend = NULL, *label = "tls1.3-aes-128-gcm";
	const struct kh_suite *suite = NULL;
	struct ktls_counters k0, k1;
	struct ktls_ep *c, *sv, *pa, *pb;
	struct pump_arg A = {0}, B = {0};
	struct end snd = {0}, rcv = {0};
	struct ktls_caps caps;
	SSL_CTX *cctx, *sctx;
	char cst[128], sst[128], caps_line[160];
	uint64_t mib = 256;
	int fa, fpa, fpb, fb;
	pthread_t th[4];
	int64_t t0, t1;
	double cpu_user, cpu_sys, gib;
	struct jsonw *w;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			backend = argv[++i];
		else if (!strcmp(argv[i], "--suite") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoull(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!backend || (strcmp(backend, "kernel") && strcmp(backend, "user")))
		usage();
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++)
		if (!strcmp(kh_suites[i].label, label))
			suite = &kh_suites[i];
	if (!suite)
		usage();
	if (ktls_probe(&caps))
		return 1;
	ktls_caps_format(&caps, caps_line, sizeof(caps_line));
	cctx = kh_ctx(suite, false);
	sctx = kh_ctx(suite, true);
	if (!cctx || !sctx)
		return 1;
	if (!strcmp(backend, "user")) {
		SSL_CTX_clear_options(cctx, SSL_OP_ENABLE_KTLS);
		SSL_CTX_clear_options(sctx, SSL_OP_ENABLE_KTLS);
	}
	if (kh_tls_pair_ctx(cctx, sctx, &c, &sv) || ktls_ep_offload(c, &caps) ||
	    ktls_ep_offload(sv, &caps))
		return 1;
	ktls_ep_state(c, cst, sizeof(cst));
	ktls_ep_state(sv, sst, sizeof(sst));
	if (tg_tcp_loopback_pair(&fa, &fpa) || tg_tcp_loopback_pair(&fpb, &fb))
		return 1;
	pa = ktls_ep_new(fpa);
	pb = ktls_ep_new(fpb);
	A.a = pa, A.b = c;
	B.a = sv, B.b = pb;
	snd.fd = fa;
	snd.len = mib << 20;
	rcv.fd = fb;

	ktls_counters_get(&k0);
	t0 = kh_now_ms();
	pthread_create(&th[0], NULL, pump_thread, &A);
	pthread_create(&th[1], NULL, pump_thread, &B);
	pthread_create(&th[2], NULL, sender, &snd);
	pthread_create(&th[3], NULL, sink, &rcv);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	t1 = kh_now_ms();
	ktls_counters_get(&k1);

	cpu_user = secs(A.ru.ru_utime) + secs(B.ru.ru_utime);
	cpu_sys = secs(A.ru.ru_stime) + secs(B.ru.ru_stime);
	gib = (double)snd.len / (1u << 30);
	w = jsonw_new(stdout);
	jsonw_start_object(w);
	jsonw_string_field(w, "backend", backend);
	jsonw_string_field(w, "suite", suite->label);
	jsonw_string_field(w, "kernel", caps_line);
	jsonw_string_field(w, "client_state", cst);
	jsonw_string_field(w, "server_state", sst);
	jsonw_u64_field(w, "bytes", snd.len);
	jsonw_u64_field(w, "received", rcv.done);
	jsonw_bool_field(w, "ok",
			 !A.err && !B.err && !A.r.err[0] && !B.r.err[0] && !snd.err && !rcv.err &&
				 rcv.done == snd.len);
	jsonw_u64_field(w, "wall_ms", (uint64_t)(t1 - t0));
	jsonw_name(w, "mib_per_s");
	jsonw_u64(w, (uint64_t)((double)mib * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1)));
	jsonw_u64_field(w, "pump_cpu_user_ms", (uint64_t)(cpu_user * 1000));
	jsonw_u64_field(w, "pump_cpu_sys_ms", (uint64_t)(cpu_sys * 1000));
	jsonw_u64_field(w, "pump_cpu_ms_per_gib", (uint64_t)((cpu_user + cpu_sys) * 1000 / gib));
	jsonw_u64_field(w, "splice_bytes", k1.splice_bytes - k0.splice_bytes);
	jsonw_u64_field(w, "splice_calls", k1.splice_calls - k0.splice_calls);
	jsonw_u64_field(w, "copy_bytes", k1.copy_bytes - k0.copy_bytes);
	jsonw_u64_field(w, "copy_calls", k1.copy_calls - k0.copy_calls);
	jsonw_u64_field(w, "user_crypto_bytes", k1.user_crypto_bytes - k0.user_crypto_bytes);
	jsonw_name(w, "pump_tids");
	jsonw_start_array(w);
	jsonw_s64(w, A.tid);
	jsonw_s64(w, B.tid);
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	ktls_ep_free(c);
	ktls_ep_free(sv);
	ktls_ep_free(pa);
	ktls_ep_free(pb);
	close(fa);
	close(fb);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return rcv.done == snd.len ? 0 : 1;
}
