// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the session state machine (daemon/session*.c) between a scripted client and a
 * scripted next hop, all in this process over loopback TCP: the worker's loop, the client and
 * the next hop take turns until the client's script is done.  The input is the script:
 *   byte 0     role (bit 0: inbound), the next hop offers STARTTLS (bit 1; outbound takes it
 *              at level may) and writes plaintext after its 220 (bit 2);
 *   bytes 1..16 the next hop's reply codes; then client steps
 *              (EHLO, HELO, MAIL, RCPT, DATA + body, BDAT + chunk, RSET, NOOP, other verbs and
 *              raw lines, a pipelining boundary, QUIT), pipelined until DATA or a boundary.
 * The next hop answers each command, body or chunk it receives with "[k]" in the reply's first
 * line, k its position in what it received.  Beyond the sanitizers it traps when:
 *   - a reply the client gets for its i-th command names a k whose bytes at the next hop are not
 *     that command as the client sent it (so the bytes relayed are the bytes sent, and replies
 *     come in order: any reordering pairs a reply with the wrong command);
 *     modulo the documented rewrites: a body's bare LF is CRLF at the next hop (the client
 *     dot-stuffs by the relay's line rule), and inbound, a Received: header opens each message
 *     (in the body after the 354, or as a BDAT chunk of its own whose reply is the relay's),
 *     and after the client's STARTTLS the relay sends the next hop a RSET of its own;
 *   - the k named go backwards, or the next hop got something between them that no reply
 *     names (a command both answered locally and relayed, or relayed twice);
 *   - the relay closes on the client without a 421/554/221 first, or stops making progress
 *     while the client waits for a reply;
 *   - inbound STARTTLS (we have a certificate: the client does TLS in this process too) gets
 *     anything but the relay's own 220, or a command pipelined after it in the same write
 *     reaches the next hop (CVE-2011-0411), or plaintext follows the 220;
 *   - the next hop's plaintext after its 220 to the relay's STARTTLS reaches the client.
 * The relay's own EHLO/HELO/STARTTLS toward the next hop are the unnamed commands it may send
 * at any time; outbound, the client's MAIL is answered by the relay and sent up with the first
 * recipient let through (unnamed when accepted; a refusal of it names it on the recipients).  Certificates are not verified (level may).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon/gateway.h"
#include "daemon/loop.h"
#include "daemon/session.h"
#include "daemon/tls_client.h"
#include "daemon/tls_server.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "smtp/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                              \
	do {                                                                                  \
		if (!(x)) {                                                                   \
			fprintf(stderr, "fuzz_session: %s:%d: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                     \
		}                                                                             \
	} while (0)

/* ---- byte strings ---- */

struct bytes {
	char *p;
	size_t len, cap;
};

static void b_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		check(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void b_str(struct bytes *b, const char *s)
{
	b_add(b, s, strlen(s));
}

static void b_consume(struct bytes *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void b_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the world: one gateway, one worker, two listeners ---- */

/* FUZZ_SESSION_DEBUG=1: the transcript on stderr, to read a reproducer */
static bool debug;
static struct gateway gw;
static struct loop *loop;
static struct session_host host;
static int mx_listen = -1, client_listen = -1;
static struct sockaddr_in mx_addr, client_addr;
static char tmpdir[64], out_path[96], in_path[96], cert_path[96], key_path[96];
static SSL_CTX *client_ctx, *mx_ctx;

static int listen_any(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	check(fd >= 0 && !bind(fd, (struct sockaddr *)a, sizeof(*a)) && !listen(fd, 16) &&
	      !getsockname(fd, (struct sockaddr *)a, &len));
	return fd;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	check(f && fputs(text, f) >= 0 && !fclose(f));
}

static void cleanup(void)
{
	unlink(out_path);
	unlink(in_path);
	unlink(cert_path);
	unlink(key_path);
	rmdir(tmpdir);
}

/* A self-signed P-256 certificate for the inbound STARTTLS server. */
static void make_cert(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	check(pkey && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	check(X509_set_pubkey(x, pkey));
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"relay.example.org", -1, -1, 0);
	check(X509_set_issuer_name(x, name) && X509_sign(x, pkey, EVP_sha256()));
	f = fopen(cert_path, "w");
	check(f && PEM_write_X509(f, x) && !fclose(f));
	f = fopen(key_path, "w");
	check(f && PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) && !fclose(f));
	X509_free(x);
	EVP_PKEY_free(pkey);
}

static void setup(void)
{
	struct policy_error perr;
	char err[256], addr[64];

	debug = getenv("FUZZ_SESSION_DEBUG") != NULL;
	signal(SIGPIPE, SIG_IGN);
	tg_log_init("fuzz_session", 0);
	tg_log_set_level(TG_LOG_ERR);
	mx_listen = listen_any(&mx_addr);
	client_listen = listen_any(&client_addr);
	config_defaults(&gw.cfg);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(mx_addr.sin_port));
	check(!config_set(&gw.cfg, "outbound_forward", addr, err, sizeof(err)));
	check(!config_set(&gw.cfg, "inbound_next_hop", addr, err, sizeof(err)));
	check(!config_set(&gw.cfg, "hostname", "relay.example.org", err, sizeof(err)));
	check(!config_set(&gw.cfg, "relay_mark", "0", err, sizeof(err)));
	check(!config_set(&gw.cfg, "ktls", "no", err, sizeof(err)));
	/* The inbound verdict header (on by default) edits the header section, which this
	 * model does not follow (its streaming is fed in pieces by test_received_verdict.c and
	 * played by test_inbound_security_header.sh); off here, CHUNKING comes back with it. */
	check(!config_set(&gw.cfg, "inbound_security_header", "no", err, sizeof(err)));
	/* Outbound connection reuse (on by default) would keep a TLS leg to one input's next hop
	 * for the next input's session, whose script this model could not pair its replies
	 * with: off, as with outbound_connection_reuse = no (test_outbound_reuse.sh plays it). */
	check(!config_set(&gw.cfg, "outbound_connection_reuse", "no", err, sizeof(err)));
	/* a recipient domain that needs TLS (outbound: 450 at RCPT on this plaintext leg) and a
	 * sender domain that does (inbound: 530 at MAIL without TLS): local replies in between */
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz_session.XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	check(mkdtemp(tmpdir));
	snprintf(out_path, sizeof(out_path), "%s/tls_policy", tmpdir);
	snprintf(in_path, sizeof(in_path), "%s/inbound_policy", tmpdir);
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	make_cert();
	{
		char certs[200];

		snprintf(certs, sizeof(certs), "%s:%s", cert_path, key_path);
		check(!config_set(&gw.cfg, "inbound_cert", certs, err, sizeof(err)));
	}
	gw.server_ctx = tls_server_ctx_new(&gw.cfg, err, sizeof(err));
	if (!gw.server_ctx)
		fprintf(stderr, "fuzz_session: tls_server_ctx_new: %s\n", err);
	check(gw.server_ctx);
	/* trust our own certificate, not whatever CA bundle this machine has (or lacks) */
	check(!config_set(&gw.cfg, "tls_ca_file", cert_path, err, sizeof(err)));
	gw.client_ctx = tls_client_ctx_new(&gw.cfg, err, sizeof(err));
	if (!gw.client_ctx)
		fprintf(stderr, "fuzz_session: tls_client_ctx_new: %s\n", err);
	check(gw.client_ctx);
	/* the next hop's own STARTTLS, with the same certificate */
	mx_ctx = SSL_CTX_new(TLS_server_method());
	check(mx_ctx && SSL_CTX_use_certificate_file(mx_ctx, cert_path, SSL_FILETYPE_PEM) == 1 &&
	      SSL_CTX_use_PrivateKey_file(mx_ctx, key_path, SSL_FILETYPE_PEM) == 1);
	SSL_CTX_set_mode(mx_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	client_ctx = SSL_CTX_new(TLS_client_method());
	check(client_ctx);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(client_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	put(out_path, "secure.example encrypt\n");
	put(in_path, "bank.example encrypt\n");
	check(!policy_load(out_path, in_path, &gw.policy, &perr));
	/* all read: nothing is left behind, even when a run ends in a trap */
	cleanup();
	pthread_mutex_init(&gw.policy_lock, NULL);
	check(!loop_new(&loop));
	check(!session_host_init(&host, &gw, loop, 0));
}

/* ---- the script ---- */

enum item_kind { IT_CMD, IT_DATA, IT_BODY, IT_BDAT, IT_QUIT, IT_STARTTLS };

/* Pipelined after STARTTLS in the same write: must never be executed, inside TLS or not.  No
 * other command of the script is this line. */
#define INJECTED "NOOP t-injected\r\n"

struct item {
	enum item_kind kind;
	struct bytes sent; /* as the client sends it */
	struct bytes want; /* as the next hop must see it */
	bool boundary;	   /* wait for all replies before what follows */
	bool body_follows; /* DATA: the body item comes next, sent after a 354 */
	bool inject;	   /* STARTTLS: INJECTED follows in the same write */
};

struct script {
	struct item *it;
	size_t n, cap;
};

static struct item *add_item(struct script *sc, enum item_kind kind)
{
	struct item *it;

	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->it = realloc(sc->it, sc->cap * sizeof(*sc->it));
		check(sc->it);
	}
	it = &sc->it[sc->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

static void add_line(struct script *sc, enum item_kind kind, const char *line)
{
	struct item *it = add_item(sc, kind);

	b_str(&it->sent, line);
	b_str(&it->sent, "\r\n");
	b_add(&it->want, it->sent.p, it->sent.len);
}

/* Dot-stuff by the relay's line rule (a line starts after any LF), then end the data; the next
 * hop sees bare LF as CRLF. */
static void body(struct item *it, const uint8_t *p, size_t n)
{
	bool bol = true;
	struct bytes *s = &it->sent;

	for (size_t i = 0; i < n; i++) {
		if (bol && p[i] == '.')
			b_add(s, ".", 1);
		b_add(s, p + i, 1);
		bol = p[i] == '\n';
	}
	b_str(s, s->len && s->p[s->len - 1] == '\n' ? ".\r\n" : "\r\n.\r\n");
	for (size_t i = 0; i < s->len; i++) {
		if (s->p[i] == '\n' && (!i || s->p[i - 1] != '\r'))
			b_add(&it->want, "\r\n", 2);
		else
			b_add(&it->want, s->p + i, 1);
	}
}

static void build(struct script *sc, const uint8_t *d, size_t n)
{
	static const char *const dom[] = {"example.org", "example.net", "secure.example",
					  "bank.example"};
	static const char *const verbs[] = {"VRFY",    "HELP",	   "EXPN", "ETRN", "XSOMETHING",
					    "XCLIENT", "STARTTLS", "9BAD", "AUTH"};
	size_t i = 0;
	unsigned int t = 0;
	char line[600];

	while (i < n && sc->n < 64) {
		uint8_t op = d[i++], a = i < n ? d[i] : 0;
		struct item *it;
		size_t len;

		t++;
		switch (op % 12) {
		case 0:
			snprintf(line, sizeof(line), "EHLO t%u.example.org", t);
			add_line(sc, IT_CMD, line);
			break;
		case 1:
			snprintf(line, sizeof(line), "HELO t%u.example.org", t);
			add_line(sc, IT_CMD, line);
			break;
		case 2:
			snprintf(line, sizeof(line), "MAIL FROM:<t%u@%s>%s", t, dom[op >> 6],
				 op & 0x20 ? " BODY=8BITMIME" : "");
			add_line(sc, IT_CMD, line);
			break;
		case 3:
			snprintf(line, sizeof(line), "RCPT TO:<t%u@%s>", t, dom[op >> 6]);
			add_line(sc, IT_CMD, line);
			break;
		case 4: /* DATA, then (after a 354) the body */
			i++;
			len = a < n - (i < n ? i : n) ? a : n - (i < n ? i : n);
			add_line(sc, IT_DATA, "DATA");
			sc->it[sc->n - 1].body_follows = true;
			it = add_item(sc, IT_BODY);
			body(it, d + (i < n ? i : n), len);
			i += len;
			break;
		case 5: /* BDAT, pipelined with its chunk */
			i++;
			len = a < n - (i < n ? i : n) ? a : n - (i < n ? i : n);
			snprintf(line, sizeof(line), "BDAT %zu%s\r\n", len,
				 op & 0x80 ? " LAST" : "");
			it = add_item(sc, IT_BDAT);
			b_str(&it->sent, line);
			b_add(&it->sent, d + (i < n ? i : n), len);
			b_add(&it->want, it->sent.p, it->sent.len);
			i += len;
			break;
		case 6:
			add_line(sc, IT_CMD, "RSET");
			break;
		case 7:
			snprintf(line, sizeof(line), "NOOP t%u", t);
			add_line(sc, IT_CMD, line);
			break;
		case 8: { /* another verb with raw arguments (no line ends in them) */
			struct smtp_cmd cmd;
			size_t k = 0, o;

			i++;
			o = (size_t)snprintf(line, sizeof(line), "%s", verbs[(op >> 4) % 9]);
			if (a & 1)
				line[o++] = ' ';
			for (; k < (a >> 1) % 64 && i < n; k++, i++)
				if (d[i] != '\r' && d[i] != '\n')
					line[o++] = (char)d[i];
			line[o] = '\0';
			/* a STARTTLS the relay accepts is followed by a handshake ("STARTTLSX" is
			 * just an unknown verb) */
			it = add_item(sc,
				      !smtp_cmd_parse(line, o, &cmd) && cmd.verb == SMTP_STARTTLS
					      ? IT_STARTTLS
					      : IT_CMD);
			it->boundary = it->kind == IT_STARTTLS;
			b_add(&it->sent, line, o);
			b_str(&it->sent, "\r\n");
			b_add(&it->want, it->sent.p, it->sent.len);
			break;
		}
		case 9:
			if (sc->n)
				sc->it[sc->n - 1].boundary = true;
			break;
		case 10:
			add_line(sc, IT_STARTTLS, op & 0x40 ? "STARTTLS now" : "STARTTLS");
			sc->it[sc->n - 1].boundary = true;
			sc->it[sc->n - 1].inject = op & 0x80;
			break;
		case 11:
			add_line(sc, IT_QUIT, "QUIT");
			return;
		}
	}
}

static void script_free(struct script *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		b_free(&sc->it[i].sent);
		b_free(&sc->it[i].want);
	}
	free(sc->it);
}

/* ---- TLS or plain I/O for both peers: >0 bytes, 0 end, -EAGAIN, or another -errno ---- */

static ssize_t ep_err(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -ECONNRESET;
	}
}

static ssize_t ep_recv(int fd, SSL *ssl, bool *handshaking, void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (!ssl) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		return n < 0 ? -errno : n;
	}
	if (*handshaking) {
		rc = SSL_do_handshake(ssl);
		if (rc != 1) {
			n = ep_err(ssl, rc);
			return n ? n : -ECONNRESET;
		}
		*handshaking = false;
	}
	rc = SSL_read(ssl, buf, (int)len);
	return rc > 0 ? rc : ep_err(ssl, rc);
}

static ssize_t ep_send(int fd, SSL *ssl, bool handshaking, const void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (!ssl) {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		return n < 0 ? -errno : n;
	}
	if (handshaking)
		return -EAGAIN;
	rc = SSL_write(ssl, buf, (int)len);
	return rc > 0 ? rc : ep_err(ssl, rc);
}

/* ---- the next hop ---- */

/* What the relay says on its own (its hostname is ours): never named by a client reply. */
static bool relay_own(const struct bytes *g)
{
	return (g->len == 24 && (!memcmp(g->p, "EHLO relay.example.org\r\n", 24) ||
				 !memcmp(g->p, "HELO relay.example.org\r\n", 24))) ||
	       (g->len == 10 && !memcmp(g->p, "STARTTLS\r\n", 10));
}

struct mx {
	int fd;
	struct bytes in, out;
	struct bytes got[160]; /* what it received, item by item (0: the relay's EHLO) */
	size_t ngot;
	enum { MX_CMD, MX_BODY, MX_CHUNK } state;
	uint64_t chunk_left;
	const uint8_t *codes; /* 16 bytes of the input */
	bool quit, closed, eof;
	bool offer_tls; /* STARTTLS to the relay (outbound: it takes it at level may) */
	bool inject;	/* plaintext after our 220 to STARTTLS: the relay must drop it */
	bool tls_next;	/* the 220 is queued: TLS once it is out */
	bool handshaking;
	SSL *ssl;
};

static void mx_reply(struct mx *m, const char *verb)
{
	size_t k = m->ngot - 1;
	uint8_t c = m->codes[k % 16];
	char r[256];

	if (relay_own(&m->got[k]) &&
	    m->got[k].p[0] != 'S') { /* its EHLO/HELO, at start or in TLS */
		snprintf(r, sizeof(r),
			 "250-mx.example.net [%zu]\r\n%s250-SIZE 10240000\r\n"
			 "250-CHUNKING\r\n250 8BITMIME\r\n",
			 k, m->offer_tls && !m->ssl ? "250-STARTTLS\r\n" : "");
		b_str(&m->out, r);
		return;
	}
	if (relay_own(&m->got[k])) { /* STARTTLS: only the relay sends it up */
		if (!m->offer_tls || m->ssl) {
			snprintf(r, sizeof(r), "454 4.7.0 not now [%zu]\r\n", k);
			b_str(&m->out, r);
			return;
		}
		check(!m->in.len); /* nothing pipelined after it */
		snprintf(r, sizeof(r), "220 2.0.0 Ready [%zu]\r\n%s", k,
			 m->inject ? "250 injected\r\n" : "");
		b_str(&m->out, r);
		m->tls_next = true;
		return;
	}
	if (!strcasecmp(verb, "QUIT")) {
		snprintf(r, sizeof(r), "221 2.0.0 bye [%zu]\r\n", k);
		m->quit = true;
	} else if (!strcasecmp(verb, "EHLO")) {
		snprintf(r, sizeof(r),
			 "250-mx.example.net [%zu]\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
			 "250-XCLIENT ADDR\r\n250 CHUNKING\r\n",
			 k);
	} else if (!strcasecmp(verb, "DATA")) {
		snprintf(r, sizeof(r), "%s [%zu]\r\n", c & 0x80 ? "554 5.5.1 no" : "354 go on", k);
		if (!(c & 0x80)) {
			/* the body is an item of its own */
			check(m->ngot < sizeof(m->got) / sizeof(m->got[0]));
			m->ngot++;
			m->state = MX_BODY;
		}
	} else {
		static const char *const codes[] = {"250 2.0.0 ok",    "250 2.1.5 fine",
						    "451 4.3.0 later", "550 5.1.1 no",
						    "252 2.0.0 maybe", "503 5.5.1 order"};

		if (c & 0x40)
			snprintf(r, sizeof(r), "%.3s-first [%zu]\r\n%.3s-more\r\n%s\r\n",
				 codes[c % 6], k, codes[c % 6], codes[c % 6]);
		else
			snprintf(r, sizeof(r), "%s [%zu]\r\n", codes[c % 6], k);
	}
	b_str(&m->out, r);
}

static bool mx_step(struct mx *m)
{
	bool progress = false;
	char buf[8192];
	ssize_t n;

	bool was_handshaking = m->handshaking;

	while (!m->eof && !m->tls_next &&
	       (n = ep_recv(m->fd, m->ssl, &m->handshaking, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			check(n == -EAGAIN || n == -ECONNRESET);
			if (n == -ECONNRESET)
				m->eof = true;
			break;
		}
		b_add(&m->in, buf, (size_t)n);
		progress = true;
	}
	if (!m->eof && !m->tls_next && n == 0)
		m->eof = true;
	if (was_handshaking && !m->handshaking)
		progress = true;
	for (;;) {
		struct bytes *g;

		if (m->state == MX_CMD) {
			char *nl = m->in.len ? memchr(m->in.p, '\n', m->in.len) : NULL, verb[16];
			size_t len;
			uint64_t size;
			bool last;
			struct smtp_cmd c;

			if (!nl || m->quit)
				break;
			check(m->ngot < sizeof(m->got) / sizeof(m->got[0]));
			len = (size_t)(nl - m->in.p) + 1;
			g = &m->got[m->ngot++];
			b_add(g, m->in.p, len);
			b_consume(&m->in, len);
			snprintf(verb, sizeof(verb), "%.*s", (int)strcspn(g->p, " \r\n"), g->p);
			if (!smtp_cmd_parse(g->p, len - 2, &c) && c.verb == SMTP_BDAT &&
			    !smtp_bdat_parse(c.args, c.args_len, &size, &last)) {
				m->chunk_left = size;
				m->state = MX_CHUNK;
				continue;
			}
			mx_reply(m, verb);
		} else if (m->state == MX_BODY) {
			/* a body grows its own item, up to the first CRLF.CRLF */
			size_t i;

			if (!m->in.len)
				break;
			g = &m->got[m->ngot - 1];
			for (i = 0; i < m->in.len; i++) {
				b_add(g, m->in.p + i, 1);
				if ((g->len == 3 && !memcmp(g->p, ".\r\n", 3)) ||
				    (g->len >= 5 && !memcmp(g->p + g->len - 5, "\r\n.\r\n", 5)))
					break;
			}
			if (i == m->in.len) {
				b_consume(&m->in, i);
				break;
			}
			b_consume(&m->in, i + 1);
			m->state = MX_CMD;
			mx_reply(m, "BODY");
		} else {
			size_t take = m->in.len < m->chunk_left ? m->in.len : (size_t)m->chunk_left;

			g = &m->got[m->ngot - 1];
			b_add(g, m->in.p, take);
			b_consume(&m->in, take);
			m->chunk_left -= take;
			if (m->chunk_left)
				break;
			m->state = MX_CMD;
			mx_reply(m, "BDAT");
		}
		progress = true;
	}
	while (m->out.len && !m->closed) {
		n = ep_send(m->fd, m->ssl, m->handshaking, m->out.p, m->out.len);
		if (n < 0) {
			check(n == -EAGAIN || n == -EPIPE || n == -ECONNRESET);
			if (n != -EAGAIN)
				m->closed = true;
			break;
		}
		b_consume(&m->out, (size_t)n);
		progress = true;
	}
	if (m->tls_next && !m->out.len) {
		m->tls_next = false;
		m->ssl = SSL_new(mx_ctx);
		check(m->ssl && SSL_set_fd(m->ssl, m->fd));
		SSL_set_accept_state(m->ssl);
		m->handshaking = true;
		progress = true;
	}
	if (m->quit && !m->out.len && !m->closed) {
		if (m->ssl && !m->handshaking)
			SSL_shutdown(m->ssl); /* close_notify, as Postfix after its 221 */
		shutdown(m->fd, SHUT_WR);
		m->closed = true;
		progress = true;
	}
	return progress;
}

/* ---- the client ---- */

struct client {
	int fd;
	struct bytes in, out;
	size_t next;	 /* next item to send */
	size_t answered; /* items with their reply */
	long last_k;	 /* the last next-hop position a reply named */
	bool *named;	 /* next-hop positions named by a reply */
	bool greeted, eof, done;
	int last_code;
	bool inbound;
	SSL *ssl; /* after our STARTTLS got its 220 */
	bool handshaking;
};

/* The i-th reply belongs to the i-th item: check what the next hop got for it. */
static void client_reply(struct client *c, struct script *sc, struct mx *m, const char *r,
			 size_t len, int code)
{
	struct item *it = &sc->it[c->answered];
	const char *lb = memchr(r, '[', strcspn(r, "\n")), *end;
	long k;

	if (debug)
		fprintf(stderr, "client item %zu got: %.*s", c->answered, (int)len, r);
	c->last_code = code;
	c->answered++;
	if (it->kind == IT_DATA && code != 354) {
		/* no body: skip its item (it is never sent) */
		c->answered++;
		if (c->next == c->answered - 1)
			c->next++;
	}
	if (it->kind == IT_STARTTLS) {
		/* always the relay's own answer: 220 inbound (we have a certificate) before TLS */
		check(!lb);
		if (c->inbound && !c->ssl && it->sent.len == 10)
			check(code == 220);
		if (code == 220) {
			c->ssl = SSL_new(client_ctx);
			check(c->ssl && SSL_set_fd(c->ssl, c->fd));
			SSL_set_connect_state(c->ssl);
			c->handshaking = true;
		}
		return;
	}
	/* What EHLO lists: inbound our STARTTLS until TLS is up (whether or not the next hop
	 * offers its own), never what the inside MTA trusts us for; outbound never STARTTLS. */
	if (it->kind == IT_CMD && code == 250 && !strncmp(it->sent.p, "EHLO ", 5)) {
		check(smtp_ehlo_has(r, len, "STARTTLS") == (c->inbound && !c->ssl));
		if (c->inbound)
			check(!smtp_ehlo_has(r, len, "XCLIENT") &&
			      !smtp_ehlo_has(r, len, "XFORWARD"));
	}
	/* the next hop's plaintext after its 220 to STARTTLS went nowhere */
	check(!memmem(r, len, "injected", 8));
	/* The client's EHLO/HELO is answered here from the next hop's reply to the relay's own
	 * EHLO (a second EHLO upstream may be refused): a replay, which names that EHLO's
	 * position, not a command of this client's. */
	if (it->kind == IT_CMD &&
	    (!strncasecmp(it->sent.p, "EHLO ", 5) || !strncasecmp(it->sent.p, "HELO ", 5)))
		return;
	if (!lb)
		return; /* a local reply: completeness is checked at the end */
	k = strtol(lb + 1, (char **)&end, 10);
	/* Outbound the sender is held and goes up with the first recipient let through; a
	 * refusal of it (naming the MAIL's position) is the reply to each recipient of the
	 * transaction, in place of the next hop's "need MAIL". */
	if (!c->inbound && it->kind == IT_CMD && !strncasecmp(it->sent.p, "RCPT ", 5) &&
	    code >= 400 && *end == ']' && k >= 0 && (size_t)k < m->ngot &&
	    !strncasecmp(m->got[k].p, "MAIL ", 5)) {
		size_t j;

		c->named[k] = true;
		/* the recipient itself went up as sent, after that MAIL: its reply is the one
		 * replaced */
		for (j = (size_t)k + 1; j < m->ngot; j++)
			if (!c->named[j] && m->got[j].len == it->want.len &&
			    !memcmp(m->got[j].p, it->want.p, it->want.len))
				break;
		check(j < m->ngot);
		c->named[j] = true;
		return;
	}
	check(*end == ']' && k > c->last_k && (size_t)k < m->ngot);
	c->last_k = k;
	c->named[k] = true;
	{
		const struct bytes *g = &m->got[k];
		bool same = g->len == it->want.len && !memcmp(g->p, it->want.p, g->len);

		/*
		 * Inbound: our Received: header opens each message body.  It ends with the line
		 * of its "; date" (RFC 5322, the date maybe folded to the next line), the first
		 * ';' in it (what the client controls in it, HELO name and recipient, has none
		 * here).  Not by its continuation lines: a
		 * body whose first line starts with a space gets X-Tlsgate-Leading-Fold:
		 * before it, so that it does not continue our header.
		 */
		if (!same && c->inbound && it->kind == IT_BODY && g->len > 9 &&
		    !strncmp(g->p, "Received:", 9)) {
			const char *e = g->p + g->len, *semi = memchr(g->p, ';', g->len), *p;

			check(semi);
			/* the date may be folded onto a line of its own */
			for (p = semi + 1; p < e && (*p == ' ' || *p == '\t' || *p == '\r'); p++)
				;
			if (p < e && *p == '\n')
				p++;
			p = memchr(p, '\n', (size_t)(e - p));
			check(p);
			p++;
			/* a body whose first line would continue our header gets a field name
			 * of its own first */
			if (it->want.len && (it->want.p[0] == ' ' || it->want.p[0] == '\t')) {
				static const char lead[] = "X-Tlsgate-Leading-Fold:";

				check((size_t)(e - p) >= sizeof(lead) - 1 &&
				      !memcmp(p, lead, sizeof(lead) - 1));
				p += sizeof(lead) - 1;
			}
			same = (size_t)(e - p) == it->want.len &&
			       !memcmp(p, it->want.p, it->want.len);
		}
		if (!same)
			fprintf(stderr,
				"item %zu: client sent %zu bytes \"%.*s\", next hop got %zu "
				"\"%.*s\"\n",
				c->answered - 1, it->want.len, (int)it->want.len, it->want.p,
				g->len, (int)g->len, g->p);
		check(same);
	}
}

static ssize_t cli_recv(struct client *c, void *buf, size_t len)
{
	return ep_recv(c->fd, c->ssl, &c->handshaking, buf, len);
}

static ssize_t cli_send(struct client *c, const void *buf, size_t len)
{
	return ep_send(c->fd, c->ssl, c->handshaking, buf, len);
}

static bool client_step(struct client *c, struct script *sc, struct mx *m)
{
	bool progress = false, was_handshaking = c->handshaking;
	char buf[8192];
	ssize_t n;

	while (!c->eof && (n = cli_recv(c, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			check(n == -EAGAIN || n == -ECONNRESET || n == -EPIPE);
			if (n != -EAGAIN)
				c->eof = true;
			break;
		}
		b_add(&c->in, buf, (size_t)n);
		progress = true;
	}
	if (n == 0)
		c->eof = true;
	if (was_handshaking && !c->handshaking)
		progress = true;
	for (;;) {
		size_t rlen;
		int code, rc = smtp_reply_scan(c->in.p, c->in.len, &code, &rlen);

		check(rc >= 0); /* the relay sends well-formed replies */
		if (!rc)
			break;
		if (!c->greeted) {
			check(code == 220 || code == 421 || code == 554);
			c->greeted = true;
			c->last_code = code;
		} else if (c->answered >= c->next) {
			/* a reply nobody asked for: only the 421 before a close (the hard error
			 * limit, a timeout, shutdown) may come unasked */
			check(code == 421);
			c->last_code = code;
		} else {
			client_reply(c, sc, m, c->in.p, rlen, code);
		}
		b_consume(&c->in, rlen);
		progress = true;
		if (c->handshaking) /* nothing may follow the 220 in plaintext */
			check(!c->in.len);
	}
	/* send: pipelined up to a boundary, DATA or QUIT; a body only after its 354 */
	while (c->greeted && !c->eof && !c->handshaking && c->next < sc->n && c->last_code != 421) {
		struct item *it = &sc->it[c->next];

		if (it->kind == IT_BODY && (c->answered < c->next || c->last_code != 354))
			break;
		if (c->next && c->answered < c->next) {
			const struct item *prev = &sc->it[c->next - 1];

			if (prev->boundary || prev->kind == IT_DATA || prev->kind == IT_BODY)
				break;
		}
		b_add(&c->out, it->sent.p, it->sent.len);
		/* only where the 220 is certain: a refused STARTTLS leaves them commands */
		if (it->kind == IT_STARTTLS && it->inject && c->inbound && !c->ssl &&
		    it->sent.len == 10) {
			b_str(&c->out, INJECTED);
		}
		c->next++;
		if (it->kind == IT_QUIT || it->kind == IT_STARTTLS)
			break;
	}
	while (c->out.len && !c->handshaking) {
		n = cli_send(c, c->out.p, c->out.len);
		if (n < 0) {
			check(n == -EAGAIN || n == -EPIPE || n == -ECONNRESET);
			if (n != -EAGAIN)
				c->eof = true;
			break;
		}
		b_consume(&c->out, (size_t)n);
		progress = true;
	}
	if (c->greeted && c->answered >= sc->n)
		c->done = true;
	if (c->eof)
		c->done = true;
	return progress;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc = {0};
	struct mx m = {.fd = -1};
	struct client c = {.fd = -1, .last_k = 0};
	struct sockaddr_storage local, peer;
	socklen_t slen = sizeof(local);
	uint64_t moved = loop_now_ms();
	int fd;

	if (size < 17)
		return 0;
	if (!loop)
		setup();
	build(&sc, data + 17, size - 17);
	m.codes = data + 1;
	m.offer_tls = data[0] & 2;
	m.inject = data[0] & 4;
	c.inbound = data[0] & 1;
	c.named = calloc(sizeof(m.got) / sizeof(m.got[0]), sizeof(bool));
	check(c.named);

	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	check(c.fd >= 0);
	check(!connect(c.fd, (struct sockaddr *)&client_addr, sizeof(client_addr)) ||
	      errno == EINPROGRESS);
	{
		struct pollfd p = {.fd = client_listen, .events = POLLIN};

		check(poll(&p, 1, 1000) == 1);
	}
	fd = accept4(client_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	check(fd >= 0 && !getsockname(fd, (struct sockaddr *)&local, &slen));
	slen = sizeof(peer);
	check(!getpeername(fd, (struct sockaddr *)&peer, &slen));
	check(!session_start(&host, c.inbound ? ROLE_INBOUND : ROLE_OUTBOUND, fd, &peer, &local,
			     false));

	while (!c.done) {
		bool progress = loop_run_once(loop, 0) > 0;

		if (m.fd < 0) {
			m.fd = accept4(mx_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (m.fd >= 0) {
				b_str(&m.out, "220 mx.example.net ESMTP\r\n");
				m.ngot = 0;
				progress = true;
			}
		}
		if (m.fd >= 0)
			progress |= mx_step(&m);
		progress |= client_step(&c, &sc, &m);
		session_reap(&host);
		if (progress) {
			moved = loop_now_ms();
			continue;
		}
		/* Nothing moved: wait a little (loopback is immediate, but the machine may be
		 * busy); two seconds of nothing is a stall. */
		if (loop_now_ms() - moved > 2000) {
			fprintf(stderr,
				"stall: client sent %zu of %zu items, %zu answered; next hop "
				"has %zu\n",
				c.next, sc.n, c.answered, m.ngot);
			check(!"the relay stopped while the client waits for a reply");
		}
		loop_run_once(loop, 2);
	}
	if (debug)
		for (size_t k = 0; k < m.ngot; k++)
			fprintf(stderr, "next hop item %zu: %.*s\n", k, (int)m.got[k].len,
				m.got[k].p);
	/* A close without all replies must have been announced. */
	if (c.answered < c.next)
		check(c.last_code == 421 || c.last_code == 554 || c.last_code == 221);
	/* Between the positions replies named, the next hop got nothing unnamed but the relay's
	 * own: inbound, Received: chunks (BDAT); the RSET that stands for a client's repeated
	 * EHLO/HELO (either role) or follows the client's STARTTLS. */
	for (long k = 1; k < c.last_k; k++) {
		const struct bytes *g = &m.got[k];
		const char *nl;

		if (c.named[k])
			continue;
		nl = g->len ? memchr(g->p, '\n', g->len) : NULL;
		check(nl);
		if (relay_own(g) || (g->len == 6 && !memcmp(g->p, "RSET\r\n", 6)))
			continue;
		/* outbound: a held MAIL the next hop accepted (its reply is the relay's) */
		if (!c.inbound && !strncasecmp(g->p, "MAIL ", 5))
			continue;
		check(c.inbound);
		check(!strncasecmp(g->p, "BDAT ", 5) && !strncmp(nl + 1, "Received:", 9));
	}

	/* what was pipelined after STARTTLS never reached the next hop */
	for (size_t k = 0; k < m.ngot; k++)
		check(m.got[k].len != strlen(INJECTED) ||
		      memcmp(m.got[k].p, INJECTED, m.got[k].len));

	/* tear down: the client goes, the session ends, the next hop goes */
	if (c.ssl)
		SSL_free(c.ssl);
	close(c.fd);
	for (int i = 0; host.nsessions && i < 1000; i++) {
		loop_run_once(loop, 1);
		if (m.fd >= 0)
			mx_step(&m);
		session_reap(&host);
	}
	check(!host.nsessions);
	session_reap(&host);
	/* What the worker's pools kept is not this input's leak: give it back, as an idle worker
	 * does (under ASan a kept object's link is poisoned, and LeakSanitizer does not follow it). */
	session_host_trim(&host);
	if (m.ssl)
		SSL_free(m.ssl);
	if (m.fd >= 0)
		close(m.fd);
	/* a connection the relay made but we never accepted */
	while ((fd = accept4(mx_listen, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(m.got) / sizeof(m.got[0]); i++)
		b_free(&m.got[i]);
	b_free(&m.in);
	b_free(&m.out);
	b_free(&c.in);
	b_free(&c.out);
	free(c.named);
	script_free(&sc);
	return 0;
}
