// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ending a session while the peer is not reading.  We write until the socket is full, then ask
 * for shutdown at once; only then does the peer start to read.  Everything we were told was
 * taken must arrive, followed by close_notify: nothing lost at the end.
 *
 * With kTLS TX the kernel may hold a sealed record that TCP could not take whole; a FIN sent
 * before it overtakes it (and close() frees it).  Here the close_notify send itself returns
 * -EAGAIN while TCP is full, and once it goes it pushes the held record first; the accounting
 * in ktls_tx_flushed() covers the narrower case where the close_notify went out but the push
 * did not complete (not reproduced here: with that check disabled this test still passes).
 * In userspace OpenSSL holds such a record as an unfinished SSL_write, which the caller
 * completes (same buffer) before the shutdown.
 */
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define CHUNK 65536

struct reader {
	struct ktls_ep *ep;
	int go[2]; /* a byte in the pipe: start reading */
	uint64_t got;
	int end;
	unsigned char sha[32];
};

static void *reader(void *p)
{
	struct reader *r = p;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	static unsigned char buf[CHUNK];
	int64_t deadline;

	struct pollfd go = {.fd = r->go[0], .events = POLLIN};

	poll(&go, 1, 60000); /* not a byte read until told: the test wants the path full */
	deadline = kh_now_ms() + 60000;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = ktls_ep_read(r->ep, buf, sizeof(buf));

		if (n > 0) {
			EVP_DigestUpdate(md, buf, (size_t)n);
			r->got += (uint64_t)n;
			continue;
		}
		if (n != -EAGAIN) {
			r->end = (int)n;
			break;
		}
		if (kh_wait(r->ep, ktls_ep_events(r->ep), (int)(deadline - kh_now_ms()))) {
			r->end = -ETIMEDOUT;
			break;
		}
	}
	EVP_DigestFinal_ex(md, r->sha, NULL);
	EVP_MD_CTX_free(md);
	return NULL;
}

static void start(struct reader *r)
{
	if (write(r->go[1], "", 1) < 0)
		tap_bail("pipe write");
}

static void run(const struct kh_suite *s, const struct ktls_caps *caps)
{
	struct ktls_ep *c, *sv;
	struct reader r = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = kh_stream_bytes(7, false, CHUNK), want[32];
	uint64_t taken = 0, st = 1;
	int64_t deadline = kh_now_ms() + 60000;
	bool kernel, pending = false;
	pthread_t th;
	ssize_t n;
	int err;

	if (!tap_ok(kh_tls_pair(s, &c, &sv) == 0, "%s: session", s->label))
		return;
	ktls_ep_offload(c, caps);
	ktls_ep_offload(sv, caps);
	kernel = ktls_ep_tx_mode(c) == KTLS_MODE_KERNEL;
	r.ep = sv;
	if (pipe2(r.go, O_CLOEXEC))
		tap_bail("pipe");
	pthread_create(&th, NULL, reader, &r);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	/* fill: our socket buffer, the peer's receive buffer, then -EAGAIN */
	for (;;) {
		kh_stream_fill(&st, buf, 64); /* vary the chunks a little */
		n = ktls_ep_write(c, buf, CHUNK);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			tap_bail("%s: write %zd %s", s->label, n, ktls_ep_error(c));
		EVP_DigestUpdate(md, buf, (size_t)n);
		taken += (uint64_t)n;
	}
	if (!kernel) {
		/* OpenSSL holds a partly written record of this buffer: finish it, as callers
		 * must, with the same buffer (the peer reads from now on) */
		start(&r);
		while ((n = ktls_ep_write(c, buf, CHUNK)) == -EAGAIN)
			kh_wait(c, ktls_ep_events(c), 1000);
		if (n > 0) {
			EVP_DigestUpdate(md, buf, (size_t)n);
			taken += (uint64_t)n;
		}
	}
	EVP_DigestFinal_ex(md, want, NULL);
	while ((err = ktls_ep_shutdown(c)) == -EAGAIN) {
		pending = true;
		start(&r);
		if (kh_now_ms() > deadline)
			break;
		kh_wait(c, ktls_ep_events(c), 1000);
	}
	start(&r);
	pthread_join(th, NULL);
	close(r.go[0]);
	close(r.go[1]);
	tap_diag("%s: %s, %llu bytes taken before -EAGAIN, shutdown %s", s->label,
		 kernel ? "kernel TX" : "userspace TX", (unsigned long long)taken,
		 pending ? "said -EAGAIN until the peer read" : "completed at once");
	tap_ok(err == 0, "%s: shutdown completed (%d %s)", s->label, err, ktls_ep_error(c));
	tap_ok(r.end == 0 && r.got == taken && !memcmp(r.sha, want, 32),
	       "%s: peer got all %llu bytes, then close_notify (got %llu, end %d %s)", s->label,
	       (unsigned long long)taken, (unsigned long long)r.got, r.end, ktls_ep_error(sv));
	EVP_MD_CTX_free(md);
	free(buf);
	ktls_ep_free(c);
	ktls_ep_free(sv);
}

int main(void)
{
	/* a session costs ~3 s under TCG: once per suite there, three times on the host */
	int reps = getenv("TLSGATE_IN_VM") ? 1 : 3;
	struct ktls_caps caps;

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	if (ktls_caps_unavailable_reason(&caps) && tap_require_ktls())
		tap_ok(false, "kTLS unavailable: %s", ktls_caps_unavailable_reason(&caps));
	for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++)
		for (int rep = 0; rep < reps; rep++)
			run(&kh_suites[i], &caps);
	return tap_done();
}
