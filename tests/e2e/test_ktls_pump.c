// SPDX-License-Identifier: GPL-2.0-only
/*
 * The relay's data path end to end, for TLS 1.2 and 1.3 with each kernel cipher:
 *
 *   end A ==plain==> [pump A: plain <-> TLS client] ==TLS==> [pump B: TLS server <-> plain] ==> end
 * B
 *         <========                                  <=====                               <==
 *
 * Both ends send a generated stream at once and hash what they receive; the pumps are
 * ktls_xfer_splice() both ways, as the daemon runs them.  One session covers both roles (pump A's
 * endpoint is the client, pump B's the server).
 *
 * On a kernel with kTLS (the vm tier) every TLS endpoint must be tx=kernel rx=kernel, the kernel
 * must have counted the sessions (/proc/net/tls_stat TlsTxSw/TlsRxSw) without a decrypt error,
 * and every payload byte must have gone by splice() with none copied through userspace.  On the
 * build host (no tls ULP) the same runs in userspace, the state says why, and the kernel checks
 * are skipped with that reason.
 *
 * Size: 64 MiB each way per session, every suite, on the host and in the VM (TCG: 8-20 s a
 * suite on an idle machine, up to ~45 s on a loaded one).  TLSGATE_KTLS_MIB=N sets N.
 * TLSGATE_KTLS_SUITES: substring filter on the suite labels ("tls1.3", "chacha").
 */
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "ktls/stat.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pump_arg {
	struct ktls_ep *a, *b;
	struct kh_pump_result r;
	int err;
	int timeout_ms;
};

static void *pump_thread(void *p)
{
	struct pump_arg *pa = p;

	pa->err = kh_pump(pa->a, pa->b, &pa->r, pa->timeout_ms);
	return NULL;
}

static void *stream_thread(void *p)
{
	kh_stream_run(p);
	return NULL;
}

static void report_pump(const char *label, const char *name, const struct pump_arg *p)
{
	tap_ok(p->err == 0 && p->r.err[0] == 0 && p->r.err[1] == 0,
	       "%s: pump %s ran both directions to a clean end (err %d/%d/%d %s%s)", label, name,
	       p->err, p->r.err[0], p->r.err[1], p->r.why[0], p->r.why[1]);
}

/* SHA-256 of the two streams (seeds 1 and 2), computed once for all suites. */
static unsigned char sha_a[32], sha_b[32];

static void run_suite(const struct kh_suite *s, const struct ktls_caps *caps, uint64_t bytes,
		      int timeout_ms)
{
	const char *why = ktls_caps_unavailable_reason(caps);
	struct ktls_ep *c = NULL, *sv = NULL, *pa = NULL, *pb = NULL;
	struct pump_arg A = {.timeout_ms = timeout_ms}, B = {.timeout_ms = timeout_ms};
	struct kh_stream ea = {.send_len = bytes, .seed = 1, .timeout_ms = timeout_ms};
	struct kh_stream eb = {.send_len = bytes, .seed = 2, .timeout_ms = timeout_ms};
	struct ktls_counters k0, k1;
	struct ktls_stat st0, st1;
	char cst[128], sst[128], want[128], h1[17], h2[17];
	pthread_t th[4];
	int fa = -1, fpa = -1, fpb = -1, fb = -1, err;
	bool have_stat;
	int64_t t0;

	have_stat = ktls_stat_read(&st0) == 0;
	err = kh_tls_pair(s, &c, &sv);
	if (!tap_ok(err == 0, "%s: handshake over loopback (%d)", s->label, err))
		return;
	tap_ok(ktls_ep_offload(c, caps) == 0 && ktls_ep_offload(sv, caps) == 0,
	       "%s: offload returns 0 on both ends", s->label);
	ktls_ep_state(c, cst, sizeof(cst));
	ktls_ep_state(sv, sst, sizeof(sst));
	tap_diag("%s: client %s / server %s (%s %s)", s->label, cst, sst,
		 SSL_get_version(ktls_ep_ssl(c)), SSL_get_cipher(ktls_ep_ssl(c)));
	if (why)
		snprintf(want, sizeof(want), "tx=user(no-tls-ulp) rx=user(no-tls-ulp)");
	else
		snprintf(want, sizeof(want), "tx=kernel rx=kernel");
	tap_ok(!strcmp(cst, want) && !strcmp(sst, want), "%s: both ends report \"%s\"", s->label,
	       want);
	/* With both directions in the kernel the SSL goes (as tlsgated does): everything below,
	 * close_notify included, must work without it. */
	tap_ok(ktls_ep_release_ssl(c) == !why && ktls_ep_release_ssl(sv) == !why &&
		       (ktls_ep_ssl(c) == NULL) == !why,
	       "%s: the SSL objects are %s", s->label, why ? "kept (userspace)" : "released");
	ktls_ep_state(c, cst, sizeof(cst));
	tap_ok(!strcmp(cst, want), "%s: still \"%s\" after that", s->label, cst);

	if (tg_tcp_loopback_pair(&fa, &fpa) || tg_tcp_loopback_pair(&fpb, &fb))
		tap_bail("%s: loopback pairs", s->label);
	pa = ktls_ep_new(fpa);
	pb = ktls_ep_new(fpb);
	if (!pa || !pb)
		tap_bail("%s: plain endpoints", s->label);
	ea.fd = fa;
	eb.fd = fb;
	A.a = pa, A.b = c;
	B.a = sv, B.b = pb;

	ktls_counters_get(&k0);
	t0 = kh_now_ms();
	pthread_create(&th[0], NULL, pump_thread, &A);
	pthread_create(&th[1], NULL, pump_thread, &B);
	pthread_create(&th[2], NULL, stream_thread, &ea);
	pthread_create(&th[3], NULL, stream_thread, &eb);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ktls_counters_get(&k1);
	tap_diag("%s: %llu MiB each way in %lld ms", s->label, (unsigned long long)(bytes >> 20),
		 (long long)(kh_now_ms() - t0));

	report_pump(s->label, "A (plain<->client)", &A);
	report_pump(s->label, "B (server<->plain)", &B);
	tap_ok(ea.err == 0 && eb.err == 0 && ea.sent == bytes && eb.sent == bytes,
	       "%s: both ends sent %llu bytes (err %d/%d)", s->label, (unsigned long long)bytes,
	       ea.err, eb.err);
	tap_ok(eb.received == bytes && !memcmp(sha_a, eb.recv_sha, 32),
	       "%s: A->B %llu bytes, SHA-256 sent %s... received %s...", s->label,
	       (unsigned long long)eb.received, kh_hex8(sha_a, h1), kh_hex8(eb.recv_sha, h2));
	tap_ok(ea.received == bytes && !memcmp(sha_b, ea.recv_sha, 32),
	       "%s: B->A %llu bytes, SHA-256 sent %s... received %s...", s->label,
	       (unsigned long long)ea.received, kh_hex8(sha_b, h1), kh_hex8(ea.recv_sha, h2));
	tap_ok(k1.close_notify_received - k0.close_notify_received >= 2,
	       "%s: each TLS end received the other's close_notify (%llu)", s->label,
	       (unsigned long long)(k1.close_notify_received - k0.close_notify_received));

	if (why) {
		tap_ok(A.r.copied[0] && A.r.copied[1] && B.r.copied[0] && B.r.copied[1],
		       "%s: userspace backend copied through the bounce buffer", s->label);
		/* each TLS end sealed what it sent and opened what it received */
		tap_ok(k1.user_crypto_bytes - k0.user_crypto_bytes == 4 * bytes,
		       "%s: OpenSSL sealed and opened all 4x%llu bytes", s->label,
		       (unsigned long long)bytes);
		if (tap_require_ktls())
			tap_ok(false, "%s: kTLS unavailable: %s", s->label, why);
		else
			tap_skip(why, "%s: kernel did the crypto, splice carried the bytes",
				 s->label);
		goto out;
	}
	if (!tap_ok(have_stat && ktls_stat_read(&st1) == 0, "%s: /proc/net/tls_stat readable",
		    s->label))
		goto out;
	tap_diag("%s: TlsTxSw +%llu TlsRxSw +%llu TlsDecryptError +%llu; splice %llu bytes in "
		 "%llu calls, copy %llu bytes in %llu calls, control records %llu",
		 s->label, (unsigned long long)(st1.tx_sw - st0.tx_sw),
		 (unsigned long long)(st1.rx_sw - st0.rx_sw),
		 (unsigned long long)(st1.decrypt_error - st0.decrypt_error),
		 (unsigned long long)(k1.splice_bytes - k0.splice_bytes),
		 (unsigned long long)(k1.splice_calls - k0.splice_calls),
		 (unsigned long long)(k1.copy_bytes - k0.copy_bytes),
		 (unsigned long long)(k1.copy_calls - k0.copy_calls),
		 (unsigned long long)(k1.ctl_records - k0.ctl_records));
	tap_ok(st1.tx_sw - st0.tx_sw == 2 && st1.rx_sw - st0.rx_sw == 2,
	       "%s: the kernel took TX and RX of both ends (TlsTxSw +%llu, TlsRxSw +%llu)",
	       s->label, (unsigned long long)(st1.tx_sw - st0.tx_sw),
	       (unsigned long long)(st1.rx_sw - st0.rx_sw));
	tap_ok(st1.decrypt_error == st0.decrypt_error, "%s: no TlsDecryptError", s->label);
	tap_ok(A.r.spliced[0] && A.r.spliced[1] && B.r.spliced[0] && B.r.spliced[1] &&
		       k1.splice_bytes - k0.splice_bytes == 4 * bytes,
	       "%s: all 4x%llu payload bytes went by splice()", s->label,
	       (unsigned long long)bytes);
	tap_ok(k1.copy_bytes == k0.copy_bytes, "%s: no payload byte copied through userspace",
	       s->label);
	tap_ok(k1.user_crypto_bytes == k0.user_crypto_bytes,
	       "%s: no payload byte sealed or opened by OpenSSL", s->label);
out:
	ktls_ep_free(c);
	ktls_ep_free(sv);
	ktls_ep_free(pa);
	ktls_ep_free(pb);
	close(fa);
	close(fb);
}

int main(void)
{
	const char *mib = getenv("TLSGATE_KTLS_MIB"), *filter = getenv("TLSGATE_KTLS_SUITES");
	uint64_t bytes = (uint64_t)(mib ? atoi(mib) : 64) << 20;
	struct ktls_caps caps;
	struct ktls_stat st0, st1;
	char line[256];
	bool have_stat;

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	ktls_caps_format(&caps, line, sizeof(line));
	tap_diag("ktls: %s", line);
	kh_stream_sha(1, false, bytes, sha_a);
	kh_stream_sha(2, false, bytes, sha_b);
	have_stat = ktls_stat_read(&st0) == 0;
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++) {
		if (filter && !strstr(kh_suites[i].label, filter))
			continue;
		run_suite(&kh_suites[i], &caps, bytes, 600000);
	}
	if (have_stat && ktls_stat_read(&st1) == 0)
		tap_diag("all suites: TlsTxSw +%llu TlsRxSw +%llu TlsDecryptError +%llu",
			 (unsigned long long)(st1.tx_sw - st0.tx_sw),
			 (unsigned long long)(st1.rx_sw - st0.rx_sw),
			 (unsigned long long)(st1.decrypt_error - st0.decrypt_error));
	return tap_done();
}
