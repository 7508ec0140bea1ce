// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interoperability with unmodified third-party TLS: OpenSSL's `openssl s_server` / `s_client`
 * and GnuTLS's `gnutls-serv` / `gnutls-cli` as the peer, our endpoint in each role behind the
 * relay pump (plain <-> TLS with ktls_xfer_splice, as the daemon runs it), for TLS 1.2 and 1.3
 * with each kernel cipher.  Data both ways is compared; our end must be tx=kernel rx=kernel
 * where the kernel has kTLS (vm tier), userspace elsewhere.  Last, `openssl s_client` sends a
 * TLS 1.3 KeyUpdate: followed in userspace, EKEYEXPIRED (and counted) on a kernel that cannot
 * rekey.
 *
 *   openssl s_server -quiet: its stdout is exactly what we sent, its stdin what it sends us
 *   openssl s_client -quiet: the same, as client
 *   gnutls-serv --echo: line echo, so a text stream that must come back whole
 *   gnutls-cli: stdin is sent; stdout has its own status lines around what we sent
 *
 * TLSGATE_KTLS_INTEROP_KIB: KiB each way (default 1024; 256 in the VM, where the peers' own
 * userspace crypto runs at ~20 MB/s).
 *
 * On the host every tool meets every suite (24 sessions).  In the VM a peer process takes ~8 s
 * to start and finish under TCG, so there each tool meets two suites, chosen so that each
 * library still covers both roles, both versions and all three ciphers (8 sessions);
 * TLSGATE_KTLS_INTEROP_ALL=1 runs all 24 there too.
 */
#include "ktls/endpoint.h"
#include "ktls/ktls.h"
#include "ktls/stat.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMO 120000

static char dir[] = "/tmp/ktls-interop.XXXXXX";
static struct ktls_caps caps;

/* ---- peer processes ---------------------------------------------------------------------- */

struct peer {
	pid_t pid;
	int in_fd;    /* its stdin */
	pthread_t th; /* collects its stdout */
	int out_fd;
	unsigned char *out;
	size_t out_len, out_cap;
	char errlog[128];
};

static void *collect(void *p)
{
	struct peer *pr = p;

	for (;;) {
		ssize_t n;

		if (pr->out_len == pr->out_cap) {
			pr->out_cap = pr->out_cap ? 2 * pr->out_cap : 1 << 20;
			pr->out = realloc(pr->out, pr->out_cap);
			if (!pr->out)
				return NULL;
		}
		n = read(pr->out_fd, pr->out + pr->out_len, pr->out_cap - pr->out_len);
		if (n <= 0)
			return NULL;
		pr->out_len += (size_t)n;
	}
}

static void peer_spawn(struct peer *pr, char *const argv[])
{
	int in[2], out[2], err;

	memset(pr, 0, sizeof(*pr));
	snprintf(pr->errlog, sizeof(pr->errlog), "%s/%s.stderr", dir, argv[0]);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		tap_bail("pipe");
	pr->pid = fork();
	if (pr->pid < 0)
		tap_bail("fork");
	if (pr->pid == 0) {
		err = open(pr->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (err >= 0)
			dup2(err, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	pr->in_fd = in[1];
	pr->out_fd = out[0];
	pthread_create(&pr->th, NULL, collect, pr);
}

/* Stop it (if it has not ended by itself) and collect its stdout. Exit status, or -1. */
static int peer_end(struct peer *pr, int wait_ms)
{
	int64_t deadline = kh_now_ms() + wait_ms;
	int st = 0;

	close(pr->in_fd);
	while (waitpid(pr->pid, &st, WNOHANG) == 0) {
		if (kh_now_ms() > deadline) {
			kill(pr->pid, SIGTERM);
			waitpid(pr->pid, &st, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	pthread_join(pr->th, NULL);
	close(pr->out_fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void peer_stderr_tail(const struct peer *pr)
{
	char line[256];
	FILE *f = fopen(pr->errlog, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		tap_diag("  peer: %s", strtok(line, "\n") ? line : "");
	fclose(f);
}

static void *feed_stdin(void *p)
{
	struct {
		int fd;
		const unsigned char *buf;
		size_t len;
	} *a = p;
	size_t off = 0;

	while (off < a->len) {
		ssize_t n = write(a->fd, a->buf + off, a->len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	return NULL;
}

static void remove_dir(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* ---- sockets ----------------------------------------------------------------------------- */

static int listen_any(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len))
		tap_bail("listen: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A free port for a peer server: bound and released (the peer binds it right after). */
static uint16_t free_port(void)
{
	uint16_t port;
	int fd = listen_any(&port);

	close(fd);
	return port;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Connect to a peer server that is starting up: retry until it listens (or exits). */
static int connect_peer(uint16_t port, struct peer *pr, int ms)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int64_t deadline = kh_now_ms() + ms;

	while (kh_now_ms() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
		close(fd);
		if (waitpid(pr->pid, NULL, WNOHANG) != 0)
			return -1;
		poll(NULL, 0, 50); /* the peer is not listening yet: nothing to wait on but time */
	}
	return -1;
}

/* ---- one session ------------------------------------------------------------------------- */

enum tool { OPENSSL_SERVER, OPENSSL_CLIENT, GNUTLS_SERVER, GNUTLS_CLIENT };

static const char *const tool_names[] = {"openssl s_server", "openssl s_client", "gnutls-serv",
					 "gnutls-cli"};

static void build_argv(enum tool t, const struct kh_suite *s, uint16_t port, char **argv,
		       char bufs[][256])
{
	int n = 0;

#define ARG(...) (snprintf(bufs[n], 256, __VA_ARGS__), argv[n] = bufs[n], n++)
	switch (t) {
	case OPENSSL_SERVER:
		ARG("openssl");
		ARG("s_server");
		ARG("-accept");
		ARG("127.0.0.1:%u", port);
		ARG("-naccept");
		ARG("1");
		ARG("-quiet");
		ARG("-cert");
		ARG("%s/cert.pem", dir);
		ARG("-key");
		ARG("%s/key.pem", dir);
		break;
	case OPENSSL_CLIENT:
		ARG("openssl");
		ARG("s_client");
		ARG("-connect");
		ARG("127.0.0.1:%u", port);
		ARG("-quiet");
		break;
	case GNUTLS_SERVER:
		ARG("gnutls-serv");
		ARG("--echo");
		ARG("--crlf");
		ARG("--port=%u", port);
		ARG("--x509certfile=%s/cert.pem", dir);
		ARG("--x509keyfile=%s/key.pem", dir);
		ARG("--priority=%s", s->gnutls);
		break;
	case GNUTLS_CLIENT:
		ARG("gnutls-cli");
		ARG("--insecure");
		ARG("--port=%u", port);
		ARG("--priority=%s", s->gnutls);
		ARG("127.0.0.1");
		break;
	}
	if (t == OPENSSL_SERVER || t == OPENSSL_CLIENT) {
		if (s->version == TLS1_3_VERSION) {
			ARG("-tls1_3");
			ARG("-ciphersuites");
		} else {
			ARG("-tls1_2");
			ARG("-cipher");
		}
		ARG("%s", s->cipher);
	}
	argv[n] = NULL;
#undef ARG
}

struct pump_arg {
	struct ktls_ep *a, *b;
	struct kh_pump_result r;
	int err;
};

static void *pump_thread(void *p)
{
	struct pump_arg *pa = p;

	pa->err = kh_pump(pa->a, pa->b, &pa->r, TMO);
	return NULL;
}

static void *stream_thread(void *p)
{
	kh_stream_run(p);
	return NULL;
}

static void run(enum tool t, const struct kh_suite *s, size_t len)
{
	bool we_serve = t == OPENSSL_CLIENT || t == GNUTLS_CLIENT;
	bool text = t == GNUTLS_SERVER || t == GNUTLS_CLIENT, echo = t == GNUTLS_SERVER;
	const char *why = ktls_caps_unavailable_reason(&caps);
	char label[128], bufs[24][256], *argv[24], st[128], h1[17], h2[17];
	unsigned char *to_peer = kh_stream_bytes(10, text, len), *from_peer = NULL;
	unsigned char want_back[32], got_sha[32];
	struct {
		int fd;
		const unsigned char *buf;
		size_t len;
	} feed = {0};
	struct kh_stream end = {.seed = 10, .text = text, .send_len = len, .timeout_ms = TMO};
	struct pump_arg P = {0};
	struct ktls_ep *tls = NULL, *plain = NULL;
	struct peer pr;
	pthread_t th[3];
	uint16_t port;
	int lfd = -1, fd, pa, pb, rc;
	SSL_CTX *ctx;
	bool feeding = false;

	snprintf(label, sizeof(label), "%s %s (we are %s)", tool_names[t], s->label,
		 we_serve ? "server" : "client");
	if (we_serve)
		lfd = listen_any(&port);
	else
		port = free_port();
	build_argv(t, s, port, argv, bufs);
	peer_spawn(&pr, argv);
	fd = we_serve ? accept_within(lfd, 30000) : connect_peer(port, &pr, 30000);
	if (lfd >= 0)
		close(lfd);
	if (!tap_ok(fd >= 0, "%s: connected", label)) {
		peer_end(&pr, 0);
		peer_stderr_tail(&pr);
		goto out;
	}
	ctx = kh_ctx(s, we_serve);
	tls = ktls_ep_new(fd);
	if (!ctx || !tls || ktls_ep_start_tls(tls, SSL_new(ctx), we_serve))
		tap_bail("%s: endpoint", label);
	SSL_CTX_free(ctx);
	rc = kh_handshake(tls, 30000);
	if (!tap_ok(rc == 0, "%s: handshake (%d %s)", label, rc, ktls_ep_error(tls))) {
		peer_end(&pr, 0);
		peer_stderr_tail(&pr);
		goto out;
	}
	ktls_ep_offload(tls, &caps);
	ktls_ep_state(tls, st, sizeof(st));
	tap_diag("%s: %s, %s %s", label, st, SSL_get_version(ktls_ep_ssl(tls)),
		 SSL_get_cipher(ktls_ep_ssl(tls)));
	if (why)
		tap_ok(!strcmp(st, "tx=user(no-tls-ulp) rx=user(no-tls-ulp)"),
		       "%s: userspace, reason given", label);
	else
		tap_ok(!strcmp(st, "tx=kernel rx=kernel"), "%s: tx=kernel rx=kernel", label);

	/* what the peer sends us: its stdin (none from an echo server: the echo is the data) */
	if (!echo) {
		from_peer = kh_stream_bytes(11, text, len);
		feed.fd = pr.in_fd;
		feed.buf = from_peer;
		feed.len = len;
		pthread_create(&th[2], NULL, feed_stdin, &feed);
		feeding = true;
		kh_stream_sha(11, text, len, want_back);
	} else {
		kh_stream_sha(10, text, len, want_back);
	}
	if (tg_tcp_loopback_pair(&pa, &pb))
		tap_bail("loopback");
	plain = ktls_ep_new(pb);
	end.fd = pa;
	end.shut_after = len; /* the peer ends when we close: first take all it sends */
	P.a = plain;
	P.b = tls;
	pthread_create(&th[0], NULL, pump_thread, &P);
	pthread_create(&th[1], NULL, stream_thread, &end);
	pthread_join(th[1], NULL);
	pthread_join(th[0], NULL);
	if (feeding)
		pthread_join(th[2], NULL);
	/* gnutls-serv serves on until stopped; the others end with the session */
	rc = peer_end(&pr, echo ? 0 : 20000);

	if (t == GNUTLS_CLIENT) {
		/*
		 * gnutls-cli leaves on our close_notify without sending its own: after all its
		 * data, that is a truncation by the book, and reported as one.
		 */
		tap_ok(P.err == 0 && !P.r.err[0] && P.r.err[1] == -ECONNABORTED &&
			       strstr(P.r.why[1], "without close_notify") && end.err == 0,
		       "%s: relay ended; the peer's missing close_notify reported (%d %d/%d %d: "
		       "%s)",
		       label, P.err, P.r.err[0], P.r.err[1], end.err, P.r.why[1]);
	} else {
		tap_ok(P.err == 0 && !P.r.err[0] && !P.r.err[1] && end.err == 0,
		       "%s: relay ended cleanly (%d %d/%d %d: %s%s)", label, P.err, P.r.err[0],
		       P.r.err[1], end.err, P.r.why[0], P.r.why[1]);
	}
	tap_ok(end.received == len && !memcmp(end.recv_sha, want_back, 32),
	       "%s: %s %zu bytes intact (SHA-256 %s... = %s...)", label,
	       echo ? "echo of" : "peer sent", (size_t)end.received, kh_hex8(end.recv_sha, h1),
	       kh_hex8(want_back, h2));
	if (echo) {
		tap_ok(rc != 127, "%s: peer ran", label);
	} else if (t == GNUTLS_CLIENT) {
		/* its stdout wraps our bytes in status lines: they must be there, contiguous */
		tap_ok(pr.out && memmem(pr.out, pr.out_len, to_peer, len),
		       "%s: peer received our %zu bytes intact (in %zu bytes of its output)", label,
		       len, pr.out_len);
	} else {
		EVP_Digest(pr.out, pr.out_len, got_sha, NULL, EVP_sha256(), NULL);
		EVP_Digest(to_peer, len, want_back, NULL, EVP_sha256(), NULL);
		tap_ok(pr.out_len == len && !memcmp(got_sha, want_back, 32),
		       "%s: peer received our %zu bytes intact (SHA-256 %s...)", label, pr.out_len,
		       kh_hex8(got_sha, h1));
	}
	if (P.err || P.r.err[0] || P.r.err[1] || end.received != len)
		peer_stderr_tail(&pr);
out:
	ktls_ep_free(tls);
	ktls_ep_free(plain);
	if (end.fd)
		close(end.fd);
	free(pr.out);
	free(to_peer);
	free(from_peer);
}

/* Read until the peer's KeyUpdate has been handled: -EAGAIN then, or the read's error. */
static int await_keyupdate(struct ktls_ep *tls, const struct ktls_counters *k0)
{
	int64_t deadline = kh_now_ms() + 30000;
	struct ktls_counters k;
	char buf[64];
	ssize_t n;

	for (;;) {
		n = ktls_ep_read(tls, buf, sizeof(buf));
		if (n != -EAGAIN)
			return n < 0 ? (int)n : -EPROTO;
		ktls_counters_get(&k);
		if (k.keyupdate_followed != k0->keyupdate_followed ||
		    k.keyupdate_unsupported != k0->keyupdate_unsupported)
			return -EAGAIN;
		if (kh_wait(tls, ktls_ep_events(tls), (int)(deadline - kh_now_ms())))
			return -ETIMEDOUT;
	}
}

/* `openssl s_client` types "K": a KeyUpdate with update_requested, then a line of data. */
static void keyupdate(void)
{
	const struct kh_suite *s = &kh_suites[3];
	char bufs[24][256], *argv[24], line[64];
	struct ktls_counters k0, k1;
	struct ktls_ep *tls = NULL;
	struct peer pr;
	uint16_t port;
	int lfd = listen_any(&port), fd, rc;
	SSL_CTX *ctx = kh_ctx(s, true);
	ssize_t n;

	build_argv(OPENSSL_CLIENT, s, port, argv, bufs);
	/* drop -quiet: it turns the command letters off */
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], "-quiet"))
			for (int j = i; argv[j]; j++)
				argv[j] = argv[j + 1];
	peer_spawn(&pr, argv);
	fd = accept_within(lfd, 30000);
	close(lfd);
	tls = fd >= 0 ? ktls_ep_new(fd) : NULL;
	if (!tls || ktls_ep_start_tls(tls, SSL_new(ctx), true) || kh_handshake(tls, 30000)) {
		tap_ok(false, "s_client KeyUpdate: session set up");
		goto out;
	}
	ktls_ep_offload(tls, &caps);
	ktls_counters_get(&k0);
	if (write(pr.in_fd, "K\n", 2) != 2)
		tap_bail("write to s_client");
	/* s_client reads a command per read(): the data line only once the KeyUpdate is here */
	rc = await_keyupdate(tls, &k0);
	if (rc == -EAGAIN && write(pr.in_fd, "after-key-update\n", 17) != 17)
		tap_bail("write to s_client");
	if (ktls_ep_rx_mode(tls) == KTLS_MODE_KERNEL && !caps.tls13_rekey) {
		size_t got = 0;

		if (rc == -EAGAIN)
			rc = kh_read_to_end(tls, &got, 30000);
		ktls_counters_get(&k1);
		tap_ok(rc == -EKEYEXPIRED && got == 0 && strstr(ktls_ep_error(tls), "KeyUpdate") &&
			       k1.keyupdate_unsupported - k0.keyupdate_unsupported == 1,
		       "s_client KeyUpdate: kernel RX cannot rekey -> EKEYEXPIRED, counted, "
		       "nothing "
		       "misread (%d \"%s\")",
		       rc, ktls_ep_error(tls));
	} else {
		n = kh_read_full(tls, line, 17, 30000);
		ktls_counters_get(&k1);
		tap_ok(n == 17 && !memcmp(line, "after-key-update\n", 17),
		       "s_client KeyUpdate: followed, data after it intact (%zd %s)", n,
		       ktls_ep_error(tls));
		tap_ok(k1.keyupdate_followed - k0.keyupdate_followed == 1,
		       "s_client KeyUpdate: counted as followed");
	}
out:
	ktls_ep_free(tls);
	peer_end(&pr, 0);
	free(pr.out);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const char *kib = getenv("TLSGATE_KTLS_INTEROP_KIB");
	size_t len = (size_t)(kib ? atoi(kib) : getenv("TLSGATE_IN_VM") ? 256 : 1024) << 10;
	bool all = !getenv("TLSGATE_IN_VM") || getenv("TLSGATE_KTLS_INTEROP_ALL");
	/*
	 * kh_suites: 0 1.2-aes128 1 1.2-aes256 2 1.2-chacha 3 1.3-aes128 4 1.3-aes256 5 1.3-chacha.
	 * OpenSSL: aes128/1.2 + aes256/1.3 as server, chacha/1.2 + aes128/1.3 as client; GnuTLS:
	 * aes256/1.2 + chacha/1.3 as server, chacha/1.2 + aes128/1.3 as client.
	 */
	static const unsigned int vm_pairs[] = {1u << 0 | 1u << 4, 1u << 2 | 1u << 3,
						1u << 1 | 1u << 5, 1u << 2 | 1u << 3};
	uint64_t sessions = 0;
	char line[256];
	struct ktls_stat st0, st1;
	bool have;

	signal(SIGPIPE, SIG_IGN);
	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	ktls_caps_format(&caps, line, sizeof(line));
	tap_diag("ktls: %s", line);
	if (ktls_caps_unavailable_reason(&caps) && tap_require_ktls())
		tap_ok(false, "kTLS unavailable: %s", ktls_caps_unavailable_reason(&caps));
	if (!mkdtemp(dir) || tls_fixture_write_pem(dir))
		tap_bail("certificate files in %s", dir);
	have = ktls_stat_read(&st0) == 0;
	for (int t = OPENSSL_SERVER; t <= GNUTLS_CLIENT; t++) {
		for (size_t i = 0; i < sizeof(kh_suites) / sizeof(kh_suites[0]); i++) {
			if (!all && !(vm_pairs[t] & (1u << i)))
				continue;
			run((enum tool)t, &kh_suites[i], len);
			sessions++;
		}
	}
	keyupdate();
	if (ktls_caps_unavailable_reason(&caps)) {
		tap_skip(ktls_caps_unavailable_reason(&caps),
			 "the kernel did TX and RX of every session, without TlsDecryptError");
	} else if (tap_ok(have && ktls_stat_read(&st1) == 0, "/proc/net/tls_stat readable")) {
		tap_diag("TlsTxSw +%llu TlsRxSw +%llu TlsDecryptError +%llu",
			 (unsigned long long)(st1.tx_sw - st0.tx_sw),
			 (unsigned long long)(st1.rx_sw - st0.rx_sw),
			 (unsigned long long)(st1.decrypt_error - st0.decrypt_error));
		tap_ok(st1.decrypt_error == st0.decrypt_error, "no TlsDecryptError in any session");
		/* every session, both directions, plus the KeyUpdate session */
		tap_ok(st1.tx_sw - st0.tx_sw == sessions + 1 &&
			       st1.rx_sw - st0.rx_sw == sessions + 1,
		       "the kernel did TX and RX of all %llu sessions",
		       (unsigned long long)sessions + 1);
	}
	remove_dir();
	return tap_done();
}
