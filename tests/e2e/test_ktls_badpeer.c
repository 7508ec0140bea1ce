// SPDX-License-Identifier: GPL-2.0-only
/*
 * A peer that misbehaves after the handshake, against our endpoint in each role and TLS version:
 * garbage instead of a record, a record that fails authentication, a record cut short by the
 * FIN, a fatal alert, a FIN without close_notify, and (TLS 1.3) a KeyUpdate.  Each must end the
 * read side with its own error and reason, without a crash or a hang; the data before it must
 * arrive intact.  The peer is plain OpenSSL in userspace, driven by hand so that it can send
 * what a well-behaved library would not.
 *
 * Our end is in kernel mode where the kernel has kTLS (vm tier) and in userspace elsewhere; the
 * kernel runs also check the kernel's own counters: a forged record raises TlsDecryptError by
 * one, nothing else raises it (a KeyUpdate is stopped before the kernel tries the old key on
 * the new records), and a TLS 1.3 server's NewSessionTickets were consumed in kernel RX.
 */
#include "ktls/endpoint.h"
#include "ktls/hkdf.h"
#include "ktls/ktls.h"
#include "ktls/record.h"
#include "ktls/stat.h"
#include "lib/sockutil.h"
#include "tests/lib/ktls_harness.h"
#include "tests/lib/tap.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TMO 20000

/* The peer's own TLS 1.3 write secret, from its keylog (to seal records by hand). */
static unsigned char peer_secret[48];
static size_t peer_secret_len;
static bool peer_is_server;

static void peer_keylog(const SSL *ssl, const char *line)
{
	const char *want = peer_is_server ? "SERVER_TRAFFIC_SECRET_0 " : "CLIENT_TRAFFIC_SECRET_0 ";
	const char *hex = strrchr(line, ' ');
	unsigned int v;

	(void)ssl;
	if (strncmp(line, want, strlen(want)) || !hex)
		return;
	for (peer_secret_len = 0; peer_secret_len < sizeof(peer_secret) &&
				  sscanf(hex + 1 + 2 * peer_secret_len, "%2x", &v) == 1;
	     peer_secret_len++)
		peer_secret[peer_secret_len] = (unsigned char)v;
}

struct session {
	const struct kh_suite *suite;
	bool we_serve;
	struct ktls_ep *ep;
	SSL *peer;
	int peer_fd;
	bool kernel; /* our endpoint is tx=kernel rx=kernel */
	char label[96];
};

static bool session_open(struct session *s, const struct kh_suite *suite, bool we_serve,
			 const struct ktls_caps *caps)
{
	struct tls_fixture_opts o = {.version = suite->version, .cipher = suite->cipher};
	SSL_CTX *ours = kh_ctx(suite, we_serve);
	SSL_CTX *theirs = we_serve ? tls_fixture_client_ctx(&o) : tls_fixture_server_ctx(&o);
	int cfd, sfd, pdone = 0, err = -EAGAIN;
	int64_t deadline = kh_now_ms() + TMO;
	char st[128];

	memset(s, 0, sizeof(*s));
	s->suite = suite;
	s->we_serve = we_serve;
	snprintf(s->label, sizeof(s->label), "%s we=%s", suite->label,
		 we_serve ? "server" : "client");
	if (!ours || !theirs || tg_tcp_loopback_pair(&cfd, &sfd))
		tap_bail("%s: setup", s->label);
	peer_is_server = !we_serve;
	peer_secret_len = 0;
	SSL_CTX_set_keylog_callback(theirs, peer_keylog);
	s->ep = ktls_ep_new(we_serve ? sfd : cfd);
	s->peer_fd = we_serve ? cfd : sfd;
	s->peer = SSL_new(theirs);
	if (!s->ep || !s->peer || ktls_ep_start_tls(s->ep, SSL_new(ours), we_serve))
		tap_bail("%s: setup", s->label);
	SSL_set_fd(s->peer, s->peer_fd);
	if (we_serve)
		SSL_set_connect_state(s->peer);
	else
		SSL_set_accept_state(s->peer);
	tg_set_nonblock(s->peer_fd, true);
	while (err == -EAGAIN || !pdone) {
		struct pollfd pfd[2] = {{.fd = ktls_ep_fd(s->ep)}, {.fd = s->peer_fd}};

		if (err == -EAGAIN) {
			err = ktls_ep_handshake(s->ep);
			if (err == -EAGAIN)
				pfd[0].events =
					(ktls_ep_events(s->ep) & EPOLLOUT) ? POLLOUT : POLLIN;
		}
		if (!pdone &&
		    (pdone = tls_fixture_step(s->peer, SSL_do_handshake, &pfd[1].events)) < 0)
			break;
		if (err && err != -EAGAIN)
			break;
		if ((err == -EAGAIN || !pdone) && poll(pfd, 2, (int)(deadline - kh_now_ms())) <= 0)
			break;
	}
	SSL_CTX_free(ours);
	SSL_CTX_free(theirs);
	if (!tap_ok(err == 0 && pdone == 1, "%s: handshake with a raw OpenSSL peer (%d %s)",
		    s->label, err, ktls_ep_error(s->ep)))
		return false;
	tg_set_nonblock(s->peer_fd, false);
	ktls_ep_offload(s->ep, caps);
	ktls_ep_state(s->ep, st, sizeof(st));
	s->kernel = !strcmp(st, "tx=kernel rx=kernel");
	if (!ktls_caps_unavailable_reason(caps))
		tap_ok(s->kernel, "%s: our end is %s", s->label, st);
	/* as tlsgated does: KeyUpdate, alerts and close_notify must be handled without OpenSSL */
	if (s->kernel)
		tap_ok(ktls_ep_release_ssl(s->ep), "%s: SSL released", s->label);
	return true;
}

static void session_close(struct session *s)
{
	ktls_ep_free(s->ep);
	SSL_free(s->peer);
	close(s->peer_fd);
}

/*
 * The peer says hello through TLS; we must get it intact before the trouble starts.  Peeked
 * first: as client in TLS 1.3 the peer's NewSessionTickets are at the head of the stream, and
 * a peek must take them (kernel RX) and show the data without consuming it.
 */
static bool hello(struct session *s)
{
	int64_t deadline = kh_now_ms() + TMO;
	char buf[5] = {0};
	ssize_t n;

	if (SSL_write(s->peer, "hello", 5) != 5)
		return tap_ok(false, "%s: peer wrote hello", s->label);
	while ((n = ktls_ep_peek(s->ep, buf, sizeof(buf))) == -EAGAIN || (n > 0 && n < 5))
		if (kh_wait(s->ep, EPOLLIN, (int)(deadline - kh_now_ms())))
			break;
	if (!tap_ok(n == 5 && !memcmp(buf, "hello", 5), "%s: peek shows hello (%zd %s)", s->label,
		    n, ktls_ep_error(s->ep)))
		return false;
	memset(buf, 0, sizeof(buf));
	return tap_ok(kh_read_full(s->ep, buf, 5, TMO) == 5 && !memcmp(buf, "hello", 5),
		      "%s: and the read still gets hello", s->label);
}

/* Read to the end: the error must be want_err and the reason must say want_why. */
static void expect_end(struct session *s, const char *what, int want_err, const char *want_why)
{
	size_t got = 0;
	int err = kh_read_to_end(s->ep, &got, TMO);
	char buf[8];

	tap_ok(err == want_err && strstr(ktls_ep_error(s->ep), want_why),
	       "%s: %s -> %s \"%s\" (got %d \"%s\", %zu bytes before)", s->label, what,
	       strerrorname_np(-want_err), want_why, err, ktls_ep_error(s->ep), got);
	tap_ok(ktls_ep_read(s->ep, buf, sizeof(buf)) == err, "%s: %s: the read side stays failed",
	       s->label, what);
}

static void case_garbage(struct session *s)
{
	static const char junk[] = "GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE\r\n";

	if (!hello(s))
		return;
	if (write(s->peer_fd, junk, sizeof(junk) - 1) < 0)
		tap_bail("write");
	expect_end(s, "garbage after the handshake", -EPROTO, "malformed TLS record from peer");
}

static void case_bad_mac(struct session *s)
{
	unsigned char rec[5 + 64] = {23, 3, 3, 0, 64};

	if (!hello(s))
		return;
	RAND_bytes(rec + 5, 64);
	if (write(s->peer_fd, rec, sizeof(rec)) < 0)
		tap_bail("write");
	expect_end(s, "forged record", -EBADMSG, "failed authentication (bad_record_mac)");
}

static void case_truncated(struct session *s)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;

	if (!hello(s))
		return;
	/* the peer's next record goes to memory; only its beginning reaches us */
	SSL_set0_wbio(s->peer, mem);
	if (SSL_write(s->peer, "this record is cut short", 24) != 24)
		tap_bail("%s: SSL_write to memory", s->label);
	len = BIO_get_mem_data(mem, &data);
	if (len < 20 || write(s->peer_fd, data, (size_t)len - 7) < 0)
		tap_bail("%s: write", s->label);
	shutdown(s->peer_fd, SHUT_WR);
	expect_end(s, "record cut short by the FIN", -ECONNABORTED, "middle of a TLS record");
}

static void case_fatal_alert(struct session *s)
{
	unsigned char bogus[5 + 32] = {23, 3, 3, 0, 32};
	BIO *mem = BIO_new(BIO_s_mem());
	char buf[8];

	if (!hello(s))
		return;
	/* feed the peer a forged record: OpenSSL answers with a fatal bad_record_mac alert */
	BIO_write(mem, bogus, sizeof(bogus));
	SSL_set0_rbio(s->peer, mem);
	if (SSL_read(s->peer, buf, sizeof(buf)) > 0)
		tap_bail("%s: peer accepted a forged record", s->label);
	ERR_clear_error();
	expect_end(s, "fatal alert", -ECONNRESET, "fatal alert bad_record_mac from peer");
}

static void case_no_close_notify(struct session *s)
{
	size_t got = 0;
	int err;

	if (!hello(s))
		return;
	if (SSL_write(s->peer, "bye", 3) != 3)
		tap_bail("%s: SSL_write", s->label);
	shutdown(s->peer_fd, SHUT_WR); /* FIN, no close_notify */
	err = kh_read_to_end(s->ep, &got, TMO);
	tap_ok(got == 3 && err == -ECONNABORTED &&
		       strstr(ktls_ep_error(s->ep), "without close_notify"),
	       "%s: FIN without close_notify -> ECONNABORTED after the data (%zu bytes, %d \"%s\")",
	       s->label, got, err, ktls_ep_error(s->ep));
}

static bool kernel_rekey; /* the probe saw the kernel take new TLS 1.3 keys (>= 6.14) */

static void case_keyupdate(struct session *s)
{
	struct ktls_counters k0, k1;
	struct ktls_stat st0, st1;
	size_t got = 0;
	char buf[16];
	int err;

	if (!hello(s))
		return;
	ktls_counters_get(&k0);
	ktls_stat_read(&st0);
	if (SSL_key_update(s->peer, SSL_KEY_UPDATE_REQUESTED) != 1 ||
	    SSL_write(s->peer, "after-update", 12) != 12)
		tap_bail("%s: peer KeyUpdate", s->label);
	if (s->kernel && !kernel_rekey) {
		err = kh_read_to_end(s->ep, &got, TMO);
		ktls_counters_get(&k1);
		tap_ok(err == -EKEYEXPIRED && strstr(ktls_ep_error(s->ep), "KeyUpdate") && got == 0,
		       "%s: KeyUpdate on a kernel that cannot rekey -> EKEYEXPIRED, nothing "
		       "misread (%d \"%s\")",
		       s->label, err, ktls_ep_error(s->ep));
		tap_ok(k1.keyupdate_unsupported - k0.keyupdate_unsupported == 1,
		       "%s: counted as keyupdate_unsupported", s->label);
		return;
	}
	/*
	 * Userspace: OpenSSL follows it and answers the request with our next write.  Kernel
	 * >= 6.14: we install the next RX key, send our own KeyUpdate, install the next TX key.
	 */
	tap_ok(kh_read_full(s->ep, buf, 12, TMO) == 12 && !memcmp(buf, "after-update", 12),
	       "%s: data after the peer's KeyUpdate arrives intact (%s)", s->label,
	       ktls_ep_error(s->ep));
	tap_ok(kh_write_all(s->ep, "answer", 6, TMO) == 6 && SSL_read(s->peer, buf, 6) == 6 &&
		       !memcmp(buf, "answer", 6),
	       "%s: our reply (under our updated keys) reaches the peer", s->label);
	ktls_counters_get(&k1);
	tap_ok(k1.keyupdate_followed - k0.keyupdate_followed == 1,
	       "%s: counted as keyupdate_followed", s->label);
	if (s->kernel && ktls_stat_read(&st1) == 0)
		tap_ok(st1.rx_rekey_ok - st0.rx_rekey_ok == 1 &&
			       st1.tx_rekey_ok - st0.tx_rekey_ok == 1,
		       "%s: the kernel took new RX and TX keys (TlsRxRekeyOk +%llu TlsTxRekeyOk "
		       "+%llu)",
		       s->label, (unsigned long long)(st1.rx_rekey_ok - st0.rx_rekey_ok),
		       (unsigned long long)(st1.tx_rekey_ok - st0.tx_rekey_ok));
}

/* A TLS 1.3 ChaCha20-Poly1305 record sealed under the peer's key at sequence seq. */
static size_t seal13(uint64_t seq, uint8_t type, const void *data, size_t len, unsigned char *rec)
{
	unsigned char key[32], iv[12], nonce[12];
	unsigned char inner[64];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	if (ktls_tls13_key_iv(EVP_sha256(), peer_secret, peer_secret_len, key, 32, iv) ||
	    len + 1 > sizeof(inner))
		tap_bail("seal13: keys");
	memcpy(inner, data, len);
	inner[len] = type;
	rec[0] = KTLS_RT_APPLICATION_DATA;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = (unsigned char)((len + 1 + 16) >> 8);
	rec[4] = (unsigned char)(len + 1 + 16);
	memcpy(nonce, iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (unsigned char)(seq >> (8 * (7 - i)));
	if (!EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce) ||
	    !EVP_EncryptUpdate(c, NULL, &n, rec, 5) ||
	    !EVP_EncryptUpdate(c, rec + 5, &n, inner, (int)len + 1) ||
	    !EVP_EncryptFinal_ex(c, rec + 5 + n, &m) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, rec + 5 + len + 1))
		tap_bail("seal13: encrypt");
	EVP_CIPHER_CTX_free(c);
	return 5 + len + 1 + 16;
}

/*
 * TLS 1.3 lets a peer send an empty application-data record (RFC 8446 §5.4): not an end of
 * stream.  Then a close_notify, both sealed by hand after the peer's hello; the peer's OpenSSL
 * server had sent two tickets before it.
 */
static void case_empty_record(struct session *s)
{
	static const uint8_t notify[2] = {KTLS_ALERT_WARNING, KTLS_ALERT_CLOSE_NOTIFY};
	unsigned char rec[128];
	uint64_t seq = s->we_serve ? 1 : 3;
	size_t got = 0, n;
	int err;

	if (!hello(s))
		return;
	if (!tap_ok(peer_secret_len == 32, "%s: peer's traffic secret logged", s->label))
		return;
	n = seal13(seq, KTLS_RT_APPLICATION_DATA, "", 0, rec);
	n += seal13(seq + 1, KTLS_RT_ALERT, notify, sizeof(notify), rec + n);
	if (write(s->peer_fd, rec, n) != (ssize_t)n)
		tap_bail("write");
	err = kh_read_to_end(s->ep, &got, TMO);
	tap_ok(err == 0 && got == 0,
	       "%s: empty record skipped, then a clean end at close_notify (%d \"%s\")", s->label,
	       err, ktls_ep_error(s->ep));
}

struct bad_case {
	const char *name;
	void (*run)(struct session *s);
	bool tls13_only;
	int decrypt_errors; /* TlsDecryptError rise expected in kernel mode */
};

static const struct bad_case cases[] = {
	{"garbage", case_garbage, false, 0},
	{"bad-mac", case_bad_mac, false, 1},
	{"truncated", case_truncated, false, 0},
	{"fatal-alert", case_fatal_alert, false, 0},
	{"no-close-notify", case_no_close_notify, false, 0},
	{"keyupdate", case_keyupdate, true, 0},
	{"empty-record", case_empty_record, true, 0},
};

int main(void)
{
	const char *why;
	struct ktls_caps caps;
	struct ktls_counters k0, k1;
	char line[256];
	/* one cipher per version: the error paths do not depend on the cipher */
	const struct kh_suite *suites[] = {&kh_suites[0], &kh_suites[5]};

	if (ktls_probe(&caps))
		tap_bail("ktls probe could not run");
	ktls_caps_format(&caps, line, sizeof(line));
	tap_diag("ktls: %s", line);
	why = ktls_caps_unavailable_reason(&caps);
	kernel_rekey = caps.tls13_rekey;
	if (why && tap_require_ktls())
		tap_ok(false, "kTLS unavailable: %s", why);
	ktls_counters_get(&k0);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t v = 0; v < 2; v++) {
			if (cases[c].tls13_only && suites[v]->version != TLS1_3_VERSION)
				continue;
			for (int role = 0; role < 2; role++) {
				struct ktls_stat st0, st1;
				struct session s;
				bool have = ktls_stat_read(&st0) == 0;

				if (!session_open(&s, suites[v], role, &caps))
					continue;
				cases[c].run(&s);
				if (s.kernel && have && ktls_stat_read(&st1) == 0)
					tap_ok(st1.decrypt_error - st0.decrypt_error ==
						       (uint64_t)cases[c].decrypt_errors,
					       "%s: %s: TlsDecryptError +%llu (want +%d)", s.label,
					       cases[c].name,
					       (unsigned long long)(st1.decrypt_error -
								    st0.decrypt_error),
					       cases[c].decrypt_errors);
				session_close(&s);
			}
		}
	}
	ktls_counters_get(&k1);
	tap_diag("counters: nst_consumed +%llu alerts +%llu truncations +%llu decrypt_errors +%llu "
		 "protocol_errors +%llu keyupdate unsupported +%llu followed +%llu",
		 (unsigned long long)(k1.nst_consumed - k0.nst_consumed),
		 (unsigned long long)(k1.alerts_received - k0.alerts_received),
		 (unsigned long long)(k1.truncations - k0.truncations),
		 (unsigned long long)(k1.decrypt_errors - k0.decrypt_errors),
		 (unsigned long long)(k1.protocol_errors - k0.protocol_errors),
		 (unsigned long long)(k1.keyupdate_unsupported - k0.keyupdate_unsupported),
		 (unsigned long long)(k1.keyupdate_followed - k0.keyupdate_followed));
	if (!why)
		/* our client met an OpenSSL server's two tickets in every TLS 1.3 session */
		tap_ok(k1.nst_consumed - k0.nst_consumed >= 2,
		       "NewSessionTickets consumed in kernel RX (%llu)",
		       (unsigned long long)(k1.nst_consumed - k0.nst_consumed));
	return tap_done();
}
