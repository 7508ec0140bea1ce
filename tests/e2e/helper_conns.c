// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many SMTP clients at once from one process, for the overload and slow-client tests: N
 * connections (one poll loop, non-blocking), each reads its greeting; then they either hold
 * (idle clients) or drip (slowloris: one byte of TEXT per connection every interval).
 *
 *   helper_conns --connect ADDR:PORT --count N [--source ADDR] [--timeout S]
 *                [--hold [--ready FILE]] [--drip TEXT --interval MS]
 *
 * Prints key=value lines:
 *   greeting n=N 220=A 421=B other=C none=D           the first line of each connection
 *   first421 text="..."                                 one of the 421 lines, as received
 *   drip n=N closed=A closed_421=B open=C max_ms=M      dripping connections (each starts
 *                                                       with its greeting): how many the
 *                                                       server closed, how many with a 421 as
 *                                                       the last line, the longest time from
 *                                                       greeting to close (ms)
 * --hold: after the greeting line, create FILE and keep the connections until SIGTERM.  --timeout bounds each phase (default 30 s).  Exit status 0 unless something local
 * failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	bool connected, eof, greeted;
	int first_code;
	char first[256];
	char last[256];	/* the last complete line */
	char line[256];	/* the line being read */
	size_t llen;
	size_t drip_pos;
	uint64_t greeted_ms, next_drip_ms, closed_ms;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
	char host[128], *port = NULL;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (size_t)(rb - s) > sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
		port = rb[1] == ':' ? (char *)rb + 2 : NULL;
	} else {
		snprintf(host, sizeof(host), "%s", s);
		if ((port = strrchr(host, ':')))
			*port++ = '\0';
	}
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Read what is there; keep the first and the last complete line. */
static void conn_read(struct conn *c, uint64_t now)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				c->line[c->llen] = '\0';
				if (c->llen && c->line[c->llen - 1] == '\r')
					c->line[c->llen - 1] = '\0';
				snprintf(c->last, sizeof(c->last), "%s", c->line);
				if (!c->greeted) {
					c->greeted = true;
					c->greeted_ms = now;
					c->next_drip_ms = now;
					snprintf(c->first, sizeof(c->first), "%s", c->line);
					c->first_code = atoi(c->line);
				}
				c->llen = 0;
			} else if (c->llen < sizeof(c->line) - 1) {
				c->line[c->llen++] = buf[i];
			}
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		c->eof = true;
		c->closed_ms = now;
		close(c->fd);
		c->fd = -1;
	}
}

/* One byte of the drip text into a greeted connection when its time has come. */
static void drip_one(struct conn *c, const char *drip, unsigned long interval, uint64_t now)
{
	char ch;

	if (!drip || c->fd < 0 || !c->greeted || c->first_code != 220 || now < c->next_drip_ms)
		return;
	ch = drip[c->drip_pos++ % strlen(drip)];
	if (write(c->fd, &ch, 1) < 0 && errno != EAGAIN)
		conn_read(c, now); /* it is gone: read what it said */
	c->next_drip_ms = now + interval;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' }, { "source", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },   { "timeout", required_argument, NULL, 't' },
		{ "hold", no_argument, NULL, 'h' },	     { "ready", required_argument, NULL, 'r' },
		{ "drip", required_argument, NULL, 'd' },    { "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage dst, src;
	socklen_t dst_len = 0, src_len = 0;
	const char *ready = NULL, *drip = NULL;
	unsigned long count = 1, timeout_s = 30, interval = 1000;
	bool hold = false, have_src = false;
	struct conn *cs;
	struct pollfd *pfd;
	struct rlimit rl;
	uint64_t t0, start;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (parse_addr(optarg, &dst, &dst_len))
				return 2;
			break;
		case 's':
			if (parse_addr(optarg, &src, &src_len))
				return 2;
			have_src = true;
			break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 't': timeout_s = strtoul(optarg, NULL, 10); break;
		case 'h': hold = true; break;
		case 'r': ready = optarg; break;
		case 'd': drip = optarg; break;
		case 'i': interval = strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!dst_len || !count)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	cs = calloc(count, sizeof(*cs));
	pfd = calloc(count + 1, sizeof(*pfd));
	if (!cs || !pfd)
		return 1;
	for (unsigned long i = 0; i < count; i++) {
		int one = 1;

		cs[i].fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (cs[i].fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(cs[i].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (have_src) {
			((struct sockaddr_in *)&src)->sin_port = 0; /* same offset for v6 */
			if (bind(cs[i].fd, (struct sockaddr *)&src, src_len)) {
				perror("bind");
				return 1;
			}
		}
		if (connect(cs[i].fd, (struct sockaddr *)&dst, dst_len) && errno != EINPROGRESS) {
			cs[i].eof = true;
			close(cs[i].fd);
			cs[i].fd = -1;
		}
	}

	/* phase 1: every connection's first line (or its end) */
	t0 = now_ms();
	for (;;) {
		unsigned long waiting = 0;
		uint64_t now = now_ms();

		for (unsigned long i = 0; i < count; i++) {
			/* dripping starts with each connection's greeting */
			drip_one(&cs[i], drip, interval, now);
			pfd[i].fd = cs[i].fd >= 0 && (!cs[i].greeted || drip) ? cs[i].fd : -1;
			pfd[i].events = POLLIN;
			waiting += cs[i].fd >= 0 && !cs[i].greeted;
		}
		if (!waiting || now - t0 > timeout_s * 1000u || stop)
			break;
		if (poll(pfd, count, drip ? 50 : 100) < 0 && errno != EINTR)
			return 1;
		for (unsigned long i = 0; i < count; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents)
				conn_read(&cs[i], now_ms());
	}
	{
		unsigned long c220 = 0, c421 = 0, other = 0, none = 0;
		const char *a421 = NULL;

		for (unsigned long i = 0; i < count; i++) {
			if (!cs[i].greeted)
				none++;
			else if (cs[i].first_code == 220)
				c220++;
			else if (cs[i].first_code == 421)
				c421++, a421 = a421 ? a421 : cs[i].first;
			else
				other++;
		}
		printf("greeting n=%lu 220=%lu 421=%lu other=%lu none=%lu\n", count, c220, c421,
		       other, none);
		if (a421)
			printf("first421 text=\"%s\"\n", a421);
		fflush(stdout);
	}
	if (hold) {
		if (ready) {
			FILE *f = fopen(ready, "w");

			if (f)
				fclose(f);
		}
		while (!stop)
			pause();
		return 0;
	}
	if (!drip || !*drip)
		return 0;

	/* phase 2: drip one byte at a time into every greeted connection until the server
	 * closes them all, or the timeout */
	start = now_ms();
	for (;;) {
		unsigned long open = 0;
		uint64_t now = now_ms();

		for (unsigned long i = 0; i < count; i++) {
			struct conn *c = &cs[i];

			pfd[i].fd = -1;
			if (c->fd < 0 || !c->greeted || c->first_code != 220)
				continue;
			open++;
			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN;
			drip_one(c, drip, interval, now);
		}
		if (!open || now - start > timeout_s * 1000u || stop)
			break;
		if (poll(pfd, count, 50) < 0 && errno != EINTR)
			return 1;
		for (unsigned long i = 0; i < count; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents && cs[i].fd >= 0)
				conn_read(&cs[i], now_ms());
	}
	{
		unsigned long n = 0, closed = 0, closed421 = 0, open = 0;
		uint64_t max = 0;

		for (unsigned long i = 0; i < count; i++) {
			if (!cs[i].greeted || cs[i].first_code != 220)
				continue;
			n++;
			if (cs[i].fd >= 0) {
				open++;
				continue;
			}
			closed++;
			closed421 += atoi(cs[i].last) == 421;
			if (cs[i].closed_ms - cs[i].greeted_ms > max)
				max = cs[i].closed_ms - cs[i].greeted_ms;
		}
		printf("drip n=%lu closed=%lu closed_421=%lu open=%lu max_ms=%llu\n", n, closed,
		       closed421, open, (unsigned long long)max);
	}
	return 0;
}
