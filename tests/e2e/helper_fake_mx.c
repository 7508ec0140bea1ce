// SPDX-License-Identifier: GPL-2.0-only
/*
 * A deliberately misbehaving SMTP server for failure tests that a real MTA cannot be made to do.
 * One connection at a time, blocking I/O, OpenSSL for STARTTLS.
 *
 *   helper_fake_mx --listen ADDR:PORT --mode MODE [--cert F --key F] [--store DIR]
 *                  [--ready FILE]
 *
 * Modes (per connection; --store gets one file per accepted message, body as received):
 *   ok                normal server; STARTTLS offered when --cert is given
 *   inject            after "220 Ready" to STARTTLS, also sends "250 injected" in plaintext
 *                     before the handshake (a relay must discard it)
 *   tls-garbage       answers STARTTLS with 220 then garbage instead of a handshake, and
 *                     closes; the NEXT connection does not offer STARTTLS (may-fallback test)
 *   drop-mid-data     after 354 reads 1000 bytes of the body and closes the connection
 *   plain-after-tls   after the TLS handshake, refuses nothing but logs each command
 *   stall-data        after 354 reads nothing more and never answers (a next hop that stalls
 *                     mid-message: the relay's writes to it fill the socket buffers and block)
 *   refuse-tls        offers STARTTLS (with or without --cert) and answers it with
 *   (starttls-454)       "454 4.7.0 TLS not available due to local problem"
 *   quit-abrupt       inside TLS, answers QUIT with 221 and closes the TCP connection without
 *                     TLS's close_notify (as some MTAs do)
 *   ehlo-once         as OpenSMTPD: a second EHLO/HELO in a session (STARTTLS starts a new
 *                     one) gets "503 5.5.1 Invalid command: Already identified"
 *   idle-close        (with --idle-ms MS) a connection idle MS after a message's 250 is closed
 *                     without a word and without close_notify (an MX's silent idle timeout)
 *   idle-421          ... gets "421 4.4.2 fake.example.net Error: timeout exceeded", then closed
 *   idle-junk         ... gets a line of junk, and stays open
 *   rset-close        a RSET after a message on the same connection: closed without a reply
 *   rset-421          ... answered "421 4.3.0 closing" and closed
 *   rset-554          ... answered "554 5.5.0 RSET refused", and the connection stays open
 *                     (connection-reuse races: the next session must not lose its message)
 * Each TLS handshake is noted in --store/tls.log ("N resumed|full TLSv1.3": sessions resume
 * across connections, by ticket or id, as long as the process lives).
 * Every command received is appended to --store/commands.log (one line each, "C<n>: ..."); a
 * connection that ended without QUIT (either side closing) ends with "C<n>: <closed without
 * QUIT>".
 * --ready FILE is created once listening (readiness for the test, no sleeps).
 * --fork: serve each connection in its own process (many at once; commands.log lines interleave).
 * --tls VER [--cipher C]: pin the TLS version (tls1.2|tls1.3) and the cipher (1.2) or suite (1.3).
 * --chunking: offer CHUNKING; "BDAT n [LAST]" reads n bytes as the chunk (stored in msg.N.M,
 * logged as "C: BDAT n [LAST]"), whatever they hold.
 * In every mode a MAIL FROM containing "refuse-me" gets a 550, and the RCPTs after it (until
 * the next MAIL or RSET) "503 need MAIL", as a real MX answers them.
 * --dot-delay MS: wait MS after a message's end before the 250; each 250 sent for a message
 * also creates --store/accepted.PID.C.N (what the MX took responsibility for: process,
 * connection, message).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/tls_fixture.h"

static const char *mode = "ok", *store, *cert, *key;
static SSL_CTX *ctx;
static int conn_no, chunking;
static int dot_delay_ms, idle_ms;

struct conn {
	int fd;
	SSL *ssl;
	char buf[65536];
	size_t len;
};

/* --store/tls.log: one line per handshake, "N resumed|full VERSION" (N: the connection). */
static void note_tls(SSL *ssl)
{
	char path[512];
	FILE *f;

	if (!store)
		return;
	snprintf(path, sizeof(path), "%s/tls.log", store);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%d %s %s\n", conn_no, SSL_session_reused(ssl) ? "resumed" : "full",
		SSL_get_version(ssl));
	fclose(f);
}

static ssize_t c_read(struct conn *c, void *p, size_t n)
{
	return c->ssl ? SSL_read(c->ssl, p, (int)n) : read(c->fd, p, n);
}

static int c_write(struct conn *c, const char *s, size_t n)
{
	ssize_t w = c->ssl ? SSL_write(c->ssl, s, (int)n) : write(c->fd, s, n);

	return w == (ssize_t)n ? 0 : -1;
}

static int say(struct conn *c, const char *s)
{
	return c_write(c, s, strlen(s));
}

/* One line (without CRLF) into line; 0 ok, -1 closed. */
static int get_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl) {
			size_t n = (size_t)(nl - c->buf) + 1, l = n - 1;

			if (l && c->buf[l - 1] == '\r')
				l--;
			if (l >= cap)
				l = cap - 1;
			memcpy(line, c->buf, l);
			line[l] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t r = c_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static void log_cmd(const char *line)
{
	char path[512];
	FILE *f;

	if (!store)
		return;
	snprintf(path, sizeof(path), "%s/commands.log", store);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "C%d: %s\n", conn_no, line);
		fclose(f);
	}
}

/* The body up to the end mark, stored byte for byte as it arrived (line ends included). */
static int read_body(struct conn *c, FILE *out, long limit)
{
	long total = 0;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (!nl) {
			ssize_t r;

			if (c->len == sizeof(c->buf))
				return -1;
			r = c_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r <= 0)
				return -1;
			c->len += (size_t)r;
			continue;
		}
		size_t n = (size_t)(nl - c->buf) + 1;
		bool end = (n == 3 && !memcmp(c->buf, ".\r\n", 3)) || (n == 2 && c->buf[0] == '.');

		if (!end && out)
			fwrite(c->buf, 1, n, out);
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
		if (end)
			return 0;
		total += (long)n;
		if (limit >= 0 && total >= limit)
			return 1;
	}
}

/* n bytes of a BDAT chunk, whatever they are, appended to out.  0 ok, -1 closed. */
static int read_chunk(struct conn *c, FILE *out, unsigned long n)
{
	while (n) {
		size_t take = c->len < n ? c->len : (size_t)n;

		if (!take) {
			ssize_t r = c_read(c, c->buf, sizeof(c->buf));

			if (r <= 0)
				return -1;
			c->len = (size_t)r;
			continue;
		}
		if (out)
			fwrite(c->buf, 1, take, out);
		memmove(c->buf, c->buf + take, c->len - take);
		c->len -= take;
		n -= take;
	}
	return 0;
}

static void serve(int fd)
{
	struct conn c = { .fd = fd };
	bool refuse_tls = !strcmp(mode, "refuse-tls") || !strcmp(mode, "starttls-454"), ehlo_once = !strcmp(mode, "ehlo-once");
	bool identified = false;
	bool mail_refused = false;
	bool tls_offer =
		refuse_tls || (ctx != NULL && !(conn_no > 1 && !strcmp(mode, "tls-garbage")));
	bool quit = false, after_msg = false, silent = false;
	char line[4096];
	int msgs = 0;
	FILE *bdat_out = NULL;

	say(&c, "220 fake.example.net ESMTP fake\r\n");
	for (;;) {
		if (idle_ms && after_msg && !c.len && !(c.ssl && SSL_pending(c.ssl))) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			after_msg = false;
			if (poll(&pfd, 1, idle_ms) == 0) {
				if (!strcmp(mode, "idle-close")) {
					log_cmd("<idle: closed>");
					silent = true;
					break;
				}
				if (!strcmp(mode, "idle-421")) {
					say(&c, "421 4.4.2 fake.example.net Error: timeout exceeded\r\n");
					log_cmd("<idle: 421 sent, closed>");
					break;
				}
				if (!strcmp(mode, "idle-junk")) {
					say(&c, "junk while idle\r\n");
					log_cmd("<idle: junk sent>");
				}
			}
		}
		if (get_line(&c, line, sizeof(line)))
			break;
		log_cmd(line);
		if (!strncasecmp(line, "RSET", 4) && msgs && !strncmp(mode, "rset-", 5)) {
			if (!strcmp(mode, "rset-554")) {
				say(&c, "554 5.5.0 RSET refused\r\n");
				continue;
			}
			if (!strcmp(mode, "rset-421"))
				say(&c, "421 4.3.0 closing\r\n");
			else
				silent = true;
			log_cmd("<rset: closed>");
			break;
		}
		if (!strncasecmp(line, "STARTTLS", 8) && refuse_tls) {
			say(&c, "454 4.7.0 TLS not available due to local problem\r\n");
			continue;
		}
		if ((!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) && ehlo_once) {
			if (identified) {
				say(&c, "503 5.5.1 Invalid command: Already identified\r\n");
				continue;
			}
			identified = true;
		}
		if (!strncasecmp(line, "EHLO", 4)) {
			say(&c, "250-fake.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n");
			if (tls_offer && !c.ssl)
				say(&c, "250-STARTTLS\r\n");
			if (chunking)
				say(&c, "250-CHUNKING\r\n");
			say(&c, "250 SIZE 104857600\r\n");
		} else if (!strncasecmp(line, "BDAT ", 5) && chunking) {
			unsigned long n = strtoul(line + 5, NULL, 10);
			char path[512];

			if (!bdat_out && store) {
				snprintf(path, sizeof(path), "%s/msg.%d.%d", store, conn_no,
					 ++msgs);
				bdat_out = fopen(path, "w");
			}
			if (read_chunk(&c, bdat_out, n))
				break;
			if (strcasestr(line + 5, "LAST")) {
				if (bdat_out)
					fclose(bdat_out);
				bdat_out = NULL;
				say(&c, "250 2.0.0 Ok: queued\r\n");
				after_msg = true;
			} else {
				say(&c, "250 2.0.0 Ok: chunk\r\n");
			}
		} else if (!strncasecmp(line, "STARTTLS", 8) && tls_offer && !c.ssl) {
			if (!strcmp(mode, "tls-garbage")) {
				say(&c, "220 2.0.0 Ready\r\nthis is not a TLS handshake\r\n");
				break;
			}
			if (!strcmp(mode, "inject"))
				say(&c, "220 2.0.0 Ready\r\n250 injected\r\n");
			else
				say(&c, "220 2.0.0 Ready\r\n");
			c.len = 0; /* what the client pipelined in plaintext is not TLS */
			identified = false; /* RFC 3207 4.2: a new session, EHLO again */
			c.ssl = SSL_new(ctx);
			SSL_set_fd(c.ssl, fd);
			if (SSL_accept(c.ssl) != 1) {
				ERR_print_errors_fp(stderr);
				break;
			}
			note_tls(c.ssl);
		} else if (!strncasecmp(line, "MAIL", 4) && strstr(line, "refuse-me")) {
			/* a sender this MX refuses: its recipients then get "need MAIL" */
			say(&c, "550 5.7.1 Sender refused by this MX\r\n");
			mail_refused = true;
		} else if (!strncasecmp(line, "RCPT", 4) && mail_refused) {
			say(&c, "503 5.5.1 Error: need MAIL command\r\n");
		} else if (!strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RCPT", 4) ||
			   !strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4) ||
			   !strncasecmp(line, "HELO", 4)) {
			if (!strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RSET", 4))
				mail_refused = false;
			say(&c, "250 2.0.0 Ok\r\n");
		} else if (!strncasecmp(line, "DATA", 4)) {
			char path[512];
			FILE *out = NULL;
			int rc;

			say(&c, "354 End data with <CR><LF>.<CR><LF>\r\n");
			if (!strcmp(mode, "stall-data")) {
				pause(); /* until the test ends and kills us */
				break;
			}
			if (store) {
				snprintf(path, sizeof(path), "%s/msg.%d.%d", store, conn_no, ++msgs);
				out = fopen(path, "w");
			}
			rc = read_body(&c, out, !strcmp(mode, "drop-mid-data") ? 1000 : -1);
			if (out)
				fclose(out);
			if (rc)
				break; /* dropped on purpose, or the client went away */
			if (dot_delay_ms)
				usleep((useconds_t)dot_delay_ms * 1000u);
			if (store) { /* taken: as an MTA commits the message before its 250 */
				snprintf(path, sizeof(path), "%s/accepted.%d.%d.%d", store,
					 (int)getpid(), conn_no, msgs);
				out = fopen(path, "w");
				if (out)
					fclose(out);
			}
			say(&c, "250 2.0.0 Ok: queued\r\n");
			after_msg = true;
		} else if (!strncasecmp(line, "QUIT", 4)) {
			say(&c, "221 2.0.0 Bye\r\n");
			quit = true;
			break;
		} else {
			say(&c, "502 5.5.2 Error: command not recognized\r\n");
		}
	}
	if (!quit)
		log_cmd("<closed without QUIT>");
	if (bdat_out)
		fclose(bdat_out);
	if (c.ssl) {
		if (!(quit && !strcmp(mode, "quit-abrupt")) && !silent)
			SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "mode", required_argument, NULL, 'm' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "store", required_argument, NULL, 's' },  { "ready", required_argument, NULL, 'r' },
		{ "tls", required_argument, NULL, 't' },    { "cipher", required_argument, NULL, 'x' },
		{ "fork", no_argument, NULL, 'f' },
		{ "chunking", no_argument, NULL, 'C' },
		{ "dot-delay", required_argument, NULL, 'D' },
		{ "idle-ms", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_at = NULL, *ready = NULL, *tls_ver = NULL, *cipher = NULL;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai;
	char host[128], *port;
	int c, lfd, one = 1, forking = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case 'm': mode = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 's': store = optarg; break;
		case 'r': ready = optarg; break;
		case 't': tls_ver = optarg; break;
		case 'x': cipher = optarg; break;
		case 'f': forking = 1; break;
		case 'C': chunking = 1; break;
		case 'D': dot_delay_ms = atoi(optarg); break;
		case 'I': idle_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!listen_at)
		return 2;
	snprintf(host, sizeof(host), "%s", listen_at);
	port = strrchr(host, ':');
	if (!port)
		return 2;
	*port++ = '\0';
	if (getaddrinfo(host, port, &hints, &ai))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (cert) {
		ctx = SSL_CTX_new(TLS_server_method());
		if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		if (tls_ver && tls_fixture_pin(ctx, tls_ver, cipher))
			return 1;
		/* as an MX would: no tickets after the handshake is fine, but keep the default */
	}
	lfd = socket(ai->ai_family, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, ai->ai_addr, ai->ai_addrlen) || listen(lfd, 1024)) {
		perror("fake_mx: listen");
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		/* Replies go out in several writes: without NODELAY, Nagle holds each one back for
		 * the peer's delayed ACK (40 ms a round trip), which no real MTA does. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_no++;
		if (forking) {
			pid_t pid = fork();

			if (pid == 0) {
				close(lfd);
				serve(fd);
				_exit(0);
			}
			close(fd);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		serve(fd);
	}
}
