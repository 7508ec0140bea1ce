// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper: the BPF half driven through the loader API (bpf/loader.h) exactly as tlsgated will
 * drive it, standing in for the daemon in the e2e tests.
 *
 *   helper_bpf_gate attach NETNS PINDIR [OPTIONS]
 *       tg_bpf_open (load, pin, routes, tc), the policy and exclusions; then exit: the daemon
 *       is "down", everything stays attached.
 *   helper_bpf_gate listen NETNS PINDIR PORT COUNT [OPTIONS]
 *       the same, plus the daemon's listeners on 127.0.0.1:PORT and [::1]:PORT (IP_TRANSPARENT)
 *       in tg_listen; prints "ready", then answers COUNT connections with
 *       "220 local=ORIGINAL-DESTINATION peer=CLIENT" and exits.
 *   helper_bpf_gate serve NETNS ADDR PORT COUNT
 *       a plain server (no BPF) answering "220 real-mx local=..." COUNT times: the real MX.
 *   helper_bpf_gate smtp NETNS SERVER MARK FROM TO
 *       a plaintext SMTP transaction from a socket with SO_MARK=MARK (the relay mark); with
 *       MARK = relay:PINDIR[:UID] instead the socket is registered in PINDIR's tg_relay as the
 *       daemon registers its own (as UID, after dropping root, when given); with
 *       MARK = uid:UID plainly as that user.  Exit 0 when the server accepted the message
 *   helper_bpf_gate exclude PINDIR PREFIX          add an exclusion to a running setup
 *   helper_bpf_gate events PINDIR                  print the waiting drop events, one per line
 *   helper_bpf_gate stats PINDIR [ARGS]            `tlsgatectl stats ARGS` (ctl/stats.c);
 *                                                  -j as the first ARG for JSON
 *   helper_bpf_gate detach NETNS PINDIR            tg_bpf_detach
 * OPTIONS: --inside IF, --outside IF, --policy PREFIX=RULE:LEVEL (outbound),
 *          --exclude PREFIX, --relay-mark M, --may-down pass|enforce
 *
 * setns(CLONE_NEWNET) only, unlike `ip netns exec`, so /sys/fs/bpf stays this mount namespace's.
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bpf/loader.h"
#include "policy/policy.h"
#include "ctl/ctl.h"
#include "lib/log.h"


#define MAX_IFS 8
#define MAX_POL 64

struct gate_args {
	const char *inside[MAX_IFS + 1], *outside[MAX_IFS + 1];
	struct tg_bpf_policy_entry pol[MAX_POL];
	size_t ninside, noutside, npol;
	const char *exclude[MAX_POL];
	size_t nexclude;
	struct tg_bpf_opts o;
};

static int enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "helper_bpf_gate: netns %s: %s\n", name, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* "203.0.113.0/24" -> family, address bytes, prefix length. */
static int parse_prefix(const char *s, int *family, uint8_t addr[16], unsigned int *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(addr, 0, 16);
	*family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*family, buf, addr) != 1)
		return -EINVAL;
	*plen = slash ? (unsigned int)atoi(slash) : (*family == AF_INET ? 32 : 128);
	return 0;
}

/* PREFIX=RULE:LEVEL */
static int parse_policy(const char *s, struct tg_bpf_policy_entry *e)
{
	char buf[128], *eq, *colon;
	unsigned int plen;
	enum policy_level level;
	int family;

	snprintf(buf, sizeof(buf), "%s", s);
	eq = strchr(buf, '=');
	colon = eq ? strchr(eq, ':') : NULL;
	if (!colon)
		return -EINVAL;
	*eq++ = 0;
	*colon++ = 0;
	if (parse_prefix(buf, &family, e->addr, &plen) || policy_level_parse(colon, &level))
		return -EINVAL;
	e->level = (uint8_t)level;
	e->dir = TG_DIR_OUTBOUND;
	e->family = family;
	e->prefix_len = (uint8_t)plen;
	e->rule_id = (uint32_t)atoi(eq);
	return 0;
}

static int parse_opts(int argc, char **argv, struct gate_args *a)
{
	static const struct option opts[] = {
		{ "inside", required_argument, NULL, 'i' },
		{ "outside", required_argument, NULL, 'o' },
		{ "policy", required_argument, NULL, 'P' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "relay-mark", required_argument, NULL, 'm' },
		{ "may-down", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->o.sz = sizeof(a->o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (a->ninside < MAX_IFS)
				a->inside[a->ninside++] = optarg;
			break;
		case 'o':
			if (a->noutside < MAX_IFS)
				a->outside[a->noutside++] = optarg;
			break;
		case 'P':
			if (a->npol >= MAX_POL || parse_policy(optarg, &a->pol[a->npol++])) {
				fprintf(stderr, "helper_bpf_gate: bad --policy %s\n", optarg);
				return -1;
			}
			break;
		case 'x':
			if (a->nexclude < MAX_POL)
				a->exclude[a->nexclude++] = optarg;
			break;
		case 'm':
			a->o.relay_mark = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			a->o.may_down = strcmp(optarg, "enforce") ? TG_MAY_DOWN_PASS :
								    TG_MAY_DOWN_ENFORCE;
			break;
		default:
			return -1;
		}
	}
	a->o.inside = a->inside;
	a->o.outside = a->outside;
	return 0;
}

static int exclude_add(struct tg_bpf *h, const char *prefix)
{
	uint8_t addr[16];
	unsigned int plen;
	int family, err = parse_prefix(prefix, &family, addr, &plen);

	if (!err)
		err = tg_bpf_exclude_add(h, family, addr, plen);
	if (err)
		fprintf(stderr, "helper_bpf_gate: exclude %s: %s\n", prefix, strerror(-err));
	return err;
}

/* Open (load, pin, attach) and configure as the daemon does on start. */
static int gate_open(const char *pindir, struct gate_args *a, struct tg_bpf **h)
{
	int err;

	a->o.pin_dir = pindir;
	err = tg_bpf_open(&a->o, h);
	if (err) {
		fprintf(stderr, "helper_bpf_gate: open: %s\n", strerror(-err));
		return err;
	}
	err = tg_bpf_policy_replace(*h, a->pol, a->npol);
	for (size_t i = 0; !err && i < a->nexclude; i++)
		err = exclude_add(*h, a->exclude[i]);
	return err;
}

static int transparent_listener(int family, uint16_t port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    (family == AF_INET ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				 bind(fd, (struct sockaddr *)&s6, sizeof(s6))) ||
	    listen(fd, 16)) {
		perror("helper_bpf_gate: listener");
		return -1;
	}
	return fd;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s->sin6_port));
	}
}

/* Accept count connections on either socket; greet each with where it really went. */
static int serve(int fd4, int fd6, int count, const char *who)
{
	for (int n = 0; n < count; n++) {
		struct sockaddr_storage local, peer;
		socklen_t ll = sizeof(local), pl = sizeof(peer);
		char l[80], p[80], line[256];
		fd_set rd;
		int c, max = fd4 > fd6 ? fd4 : fd6;

		FD_ZERO(&rd);
		if (fd4 >= 0)
			FD_SET(fd4, &rd);
		if (fd6 >= 0)
			FD_SET(fd6, &rd);
		if (select(max + 1, &rd, NULL, NULL, NULL) < 0)
			return 1;
		c = accept4(fd4 >= 0 && FD_ISSET(fd4, &rd) ? fd4 : fd6, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0 || getsockname(c, (struct sockaddr *)&local, &ll) ||
		    getpeername(c, (struct sockaddr *)&peer, &pl))
			return 1;
		addr_str(&local, l, sizeof(l));
		addr_str(&peer, p, sizeof(p));
		snprintf(line, sizeof(line), "220 %slocal=%s peer=%s\r\n", who, l, p);
		if (write(c, line, strlen(line)) < 0)
			perror("helper_bpf_gate: write");
		printf("conn local=%s peer=%s\n", l, p);
		fflush(stdout);
		close(c);
	}
	return 0;
}

static int do_attach(int argc, char **argv, bool listen_too)
{
	struct gate_args a = { 0 };
	struct tg_bpf *h = NULL;
	int fd4 = -1, fd6 = -1, err, base = listen_too ? 5 : 3;

	if (argc < base || parse_opts(argc - base + 1, argv + base - 1, &a) ||
	    enter_netns(argv[1]))
		return 2;
	err = gate_open(argv[2], &a, &h);
	if (!err && listen_too) {
		fd4 = transparent_listener(AF_INET, (uint16_t)atoi(argv[3]));
		fd6 = transparent_listener(AF_INET6, (uint16_t)atoi(argv[3]));
		err = fd4 < 0 || fd6 < 0 ? -EINVAL : tg_bpf_set_listener(h, fd4, fd6);
	}
	if (!err) {
		printf("ready\n");
		fflush(stdout);
		if (listen_too)
			err = serve(fd4, fd6, atoi(argv[4]), "");
	}
	tg_bpf_close(h); /* everything stays attached: the daemon is gone */
	return err ? 1 : 0;
}

static int do_serve(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	int fd, one = 1, family;
	socklen_t sl;

	if (argc != 5 || enter_netns(argv[1]))
		return 2;
	family = strchr(argv[2], ':') ? AF_INET6 : AF_INET;
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)atoi(argv[3]));
		inet_pton(AF_INET, argv[2], &s->sin_addr);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)atoi(argv[3]));
		inet_pton(AF_INET6, argv[2], &s->sin6_addr);
		sl = sizeof(*s);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 16)) {
		perror("helper_bpf_gate: serve");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	return serve(fd, -1, atoi(argv[4]), "real-mx ");
}

/* Read one SMTP reply (all its lines); its code, or -1 on timeout or EOF. */
static int smtp_reply(FILE *in)
{
	char line[512];

	while (fgets(line, sizeof(line), in)) {
		printf("<- %s", line);
		if (strlen(line) >= 4 && line[3] == '-')
			continue;
		return atoi(line);
	}
	printf("<- (no reply: %s)\n", ferror(in) ? strerror(errno) : "closed");
	return -1;
}

static int smtp_send(int fd, FILE *in, const char *cmd, int want)
{
	printf("-> %s", cmd);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	return smtp_reply(in) / 100 == want ? 0 : -1;
}

/*
 * "relay:PINDIR[:UID]" or "uid:UID": the pinned tg_relay is opened as root, then (with a UID) the
 * process becomes that user without capabilities, as tlsgated's workers are, before it makes
 * and registers its socket.
 */
static int smtp_socket_as(const char *spec)
{
	char dir[PATH_MAX], *colon;
	struct tg_bpf *h = NULL;
	uid_t uid = 0;
	bool relay = !strncmp(spec, "relay:", 6);
	int fd = -1, err;

	snprintf(dir, sizeof(dir), "%s", spec + (relay ? 6 : 4));
	colon = strrchr(dir, ':');
	if (!relay) {
		uid = (uid_t)strtoul(dir, NULL, 10);
	} else if (colon) {
		*colon = '\0';
		uid = (uid_t)strtoul(colon + 1, NULL, 10);
	}
	if (relay && (err = tg_bpf_open_pinned(dir, &h))) {
		fprintf(stderr, "helper_bpf_gate: %s: %s\n", dir, strerror(-err));
		return -1;
	}
	if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))) {
		perror("helper_bpf_gate: drop to uid");
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && relay && (err = tg_bpf_relay_socket(h, fd))) {
		fprintf(stderr, "helper_bpf_gate: register in tg_relay (uid %u): %s\n", uid,
			strerror(-err));
		close(fd);
		fd = -1;
	}
out:
	tg_bpf_close(h);
	return fd;
}

static int do_smtp(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(25) };
	struct timeval tv = { .tv_sec = 5 };
	uint32_t mark;
	char cmd[256];
	FILE *in = NULL;
	int fd, err = 1;

	if (argc != 6 || enter_netns(argv[1]) || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1)
		return 2;
	if (!strncmp(argv[3], "relay:", 6) || !strncmp(argv[3], "uid:", 4))
		fd = smtp_socket_as(argv[3]);
	else {
		mark = (uint32_t)strtoul(argv[3], NULL, 0);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || !(in = fdopen(fd, "r"))) {
		perror("helper_bpf_gate: smtp");
		goto out;
	}
	if (smtp_reply(in) / 100 != 2 || smtp_send(fd, in, "EHLO gw.example.net\r\n", 2))
		goto out;
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", argv[4]);
	if (smtp_send(fd, in, cmd, 2))
		goto out;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", argv[5]);
	if (smtp_send(fd, in, cmd, 2) || smtp_send(fd, in, "DATA\r\n", 3) ||
	    smtp_send(fd, in, "Subject: relay-marked plaintext\r\n\r\nbody\r\n.\r\n", 2))
		goto out;
	smtp_send(fd, in, "QUIT\r\n", 2);
	err = 0;
out:
	if (in)
		fclose(in);
	else if (fd >= 0)
		close(fd);
	return err;
}

static void print_event(const struct tg_event *e, void *ctx)
{
	char line[512];

	(void)ctx;
	if (tg_bpf_event_format(e, line, sizeof(line)) > 0)
		printf("%s\n", line);
}

static int do_events(int argc, char **argv)
{
	struct tg_bpf *h;
	int n;

	if (argc != 2 || tg_bpf_open_pinned(argv[1], &h))
		return 2;
	n = tg_bpf_events_poll(h, 0, print_event, NULL);
	tg_bpf_close(h);
	return n < 0 ? 1 : 0;
}

static int do_exclude(int argc, char **argv)
{
	struct tg_bpf *h;
	int err;

	if (argc != 3 || tg_bpf_open_pinned(argv[1], &h))
		return 2;
	err = exclude_add(h, argv[2]);
	tg_bpf_close(h);
	return err ? 1 : 0;
}

static int do_stats(int argc, char **argv)
{
	struct ctl_opts o = { .bpf_pin_dir = argc > 1 ? argv[1] : NULL };
	int first = 2;

	if (argc < 2)
		return 2;
	if (argc > 2 && !strcmp(argv[2], "-j")) {
		o.json = true;
		first = 3;
	}
	return ctl_stats(argc - first, argv + first, &o);
}

static int do_detach(int argc, char **argv)
{
	struct tg_bpf *h;
	int err;

	if (argc != 3 || enter_netns(argv[1]) || tg_bpf_open_pinned(argv[2], &h))
		return 2;
	err = tg_bpf_detach(h);
	tg_bpf_close(h);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	tg_log_init("helper_bpf_gate", 0);
	libbpf_set_print(NULL);
	if (argc < 2)
		goto usage;
	argc--;
	argv++;
	if (!strcmp(argv[0], "attach"))
		return do_attach(argc, argv, false);
	if (!strcmp(argv[0], "listen"))
		return do_attach(argc, argv, true);
	if (!strcmp(argv[0], "serve"))
		return do_serve(argc, argv);
	if (!strcmp(argv[0], "smtp"))
		return do_smtp(argc, argv);
	if (!strcmp(argv[0], "events"))
		return do_events(argc, argv);
	if (!strcmp(argv[0], "exclude"))
		return do_exclude(argc, argv);
	if (!strcmp(argv[0], "stats"))
		return do_stats(argc, argv);
	if (!strcmp(argv[0], "detach"))
		return do_detach(argc, argv);
usage:
	fprintf(stderr, "usage: see the top of tests/e2e/helper_bpf_gate.c\n");
	return 2;
}
