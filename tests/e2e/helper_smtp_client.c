// SPDX-License-Identifier: GPL-2.0-only
/*
 * A scripted SMTP client for tests that need exact bytes (pipelining, bare LF, NUL, injection
 * after STARTTLS, BDAT).  Reads a script from stdin, one directive per line:
 *
 *   send TEXT        write TEXT; escapes \r \n \0 \\ \xHH; no line end is added
 *   sendfile PATH    write the file's bytes as they are
 *   repeat N TEXT    write TEXT N times (e.g. 1000 pipelined RCPTs)
 *   expect CODE      read one complete reply; fail unless its code is CODE (e.g. 250, 4xx)
 *   starttls [VER [CIPHER]]  TLS handshake as client, no verification; VER tls1.2|tls1.3
 *                    pins the version, CIPHER the TLS 1.2 cipher or TLS 1.3 suite
 *   readall          read until the server closes (or --timeout)
 *   shutdown         half-close: inside TLS a close_notify first (as Exim's TLS_SHUTDOWN_WONLY),
 *                    then SHUT_WR; replies can still be read after it
 *
 * Every reply read is printed to stdout as "S: <line>".  Exit 0 when every expect matched,
 * 1 on a mismatch, 2 on a broken script, 3 when the connection failed or timed out.
 *   helper_smtp_client HOST PORT [--timeout S] [--source-port P] < script
 * --timeout bounds the connect and each read (default 30 s); --source-port binds the local port.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/tls_fixture.h"

static int fd = -1, timeout_ms = 30000;
static SSL *ssl;
static char rbuf[1 << 16];
static size_t rlen;

static ssize_t rd(void *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (ssl && SSL_pending(ssl))
		return SSL_read(ssl, p, (int)n);
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -2;
	return ssl ? SSL_read(ssl, p, (int)n) : read(fd, p, n);
}

static int wr(const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = ssl ? SSL_write(ssl, c, (int)n) : write(fd, c, n);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one complete reply; returns its code, -1 closed, -2 timeout. */
static int reply(void)
{
	size_t off = 0;

	for (;;) {
		char *nl;

		while ((nl = memchr(rbuf + off, '\n', rlen - off))) {
			size_t l = (size_t)(nl - (rbuf + off)) + 1;
			char *line = rbuf + off;
			bool last = l >= 4 && line[3] != '-';

			printf("S: %.*s\n", (int)(l > 1 && line[l - 2] == '\r' ? l - 2 : l - 1), line);
			off += l;
			if (last) {
				int code = atoi(line);

				memmove(rbuf, rbuf + off, rlen - off);
				rlen -= off;
				fflush(stdout);
				return code;
			}
		}
		ssize_t n = rd(rbuf + rlen, sizeof(rbuf) - rlen);
		if (n <= 0)
			return n == -2 ? -2 : -1;
		rlen += (size_t)n;
	}
}

static size_t unescape(const char *s, char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		if (*s != '\\') {
			out[o++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[o++] = '\r'; break;
		case 'n': out[o++] = '\n'; break;
		case '0': out[o++] = '\0'; break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			s += 2;
			break;
		}
		default: out[o++] = *s; break;
		}
	}
	return o;
}

static bool code_matches(int code, const char *want)
{
	char got[16];

	snprintf(got, sizeof(got), "%d", code);
	for (int i = 0; i < 3; i++)
		if (want[i] != 'x' && want[i] != got[i])
			return false;
	return true;
}

/*
 * Connect fd to ai, from source port sport unless 0, within timeout_ms (a SYN the path drops
 * must fail the test in seconds, not after the kernel's minute of retransmissions).
 */
static int open_conn(const struct addrinfo *ai, int sport)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int one = 1, err = 0, fl;
	socklen_t len = sizeof(err);

	if (sport) {
		struct sockaddr_storage ss = { .ss_family = (sa_family_t)ai->ai_family };

		/* the port was ours a moment ago: the previous connection is gone on this side */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
			return -1;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)sport);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)sport);
		if (bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen))
			return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		return -1;
	if (poll(&pfd, 1, timeout_ms) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return fcntl(fd, F_SETFL, fl);
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai;
	char line[1 << 16], *data = malloc(1 << 16);
	int status = 0, sport = 0;

	if (argc < 3)
		return 2;
	for (int i = 3; i < argc; i += 2) {
		if (i + 1 == argc)
			return 2;
		if (!strcmp(argv[i], "--timeout"))
			timeout_ms = atoi(argv[i + 1]) * 1000;
		else if (!strcmp(argv[i], "--source-port"))
			sport = atoi(argv[i + 1]);
		else
			return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getaddrinfo(argv[1], argv[2], &hints, &ai))
		return 2;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || open_conn(ai, sport)) {
		perror("connect");
		return 3;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "send ", 5)) {
			size_t n = unescape(line + 5, data);

			if (wr(data, n))
				return 3;
		} else if (!strncmp(line, "sleep ", 6)) {
			/* the bytes sent so far arrive alone (a split line) */
			usleep((useconds_t)atol(line + 6) * 1000);
		} else if (!strncmp(line, "repeat ", 7)) {
			char *sp = strchr(line + 7, ' ');
			long times = atol(line + 7);
			size_t n = sp ? unescape(sp + 1, data) : 0;

			for (long i = 0; i < times; i++)
				if (wr(data, n))
					return 3;
		} else if (!strncmp(line, "sendfile ", 9)) {
			FILE *f = fopen(line + 9, "rb");
			size_t n;

			if (!f)
				return 2;
			while ((n = fread(data, 1, 1 << 16, f)) > 0)
				if (wr(data, n))
					return 3;
			fclose(f);
		} else if (!strncmp(line, "expect ", 7)) {
			int code = reply();

			if (code < 0) {
				printf("# connection %s while expecting %s\n",
				       code == -2 ? "timed out" : "closed", line + 7);
				return 3;
			}
			if (!code_matches(code, line + 7)) {
				printf("# expected %s, got %d\n", line + 7, code);
				status = 1;
			}
		} else if (!strncmp(line, "starttls", 8)) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			char ver[16] = "", cipher[128] = "";

			sscanf(line + 8, "%15s %127s", ver, cipher);
			if ((!strcmp(ver, "tls1.2") || !strcmp(ver, "tls1.3")) &&
			    tls_fixture_pin(ctx, ver, cipher[0] ? cipher : NULL))
				return 2;
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, fd);
			if (rlen) {
				printf("# %zu bytes arrived in plaintext after the 220\n", rlen);
				rlen = 0;
			}
			if (SSL_connect(ssl) != 1) {
				ERR_print_errors_fp(stdout);
				return 3;
			}
			printf("# TLS %s %s\n", SSL_get_version(ssl), SSL_get_cipher(ssl));
		} else if (!strcmp(line, "readall")) {
			int code;

			while ((code = reply()) > 0)
				;
			if (code == -2)
				printf("# timed out waiting for more\n");
		} else if (!strcmp(line, "shutdown")) {
			/* SSL_shutdown() sends close_notify without waiting for the peer's (it
			 * returns 0); SSL_read() keeps working for what the peer still sends. */
			if (ssl && SSL_shutdown(ssl) < 0)
				return 3;
			shutdown(fd, SHUT_WR);
		} else {
			fprintf(stderr, "bad directive: %s\n", line);
			return 2;
		}
	}
	fflush(stdout);
	return status;
}
