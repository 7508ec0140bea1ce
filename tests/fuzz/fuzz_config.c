// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: tlsgated's configuration reader (daemon/config.c) on an arbitrary tlsgate.conf
 * and -o overrides.  The input up to its first NUL is the file (handed over as a memfd, read
 * through /proc/self/fd like any path), each NUL-separated piece after it one -o override.
 * Beyond the sanitizers it traps when a promise breaks:
 *   - an error names where it is ("FILE:LINE: ..." or "-o:0: ...");
 *   - every value stays in its bounds (counts, durations, addresses of a real family);
 *   - loading the same text twice gives the same result (nothing depends on what came before);
 *   - each line's value, read by config_parse_duration and config_parse_addr directly, is
 *     what a reference reading says: digits with an optional unit and no overflow, a numeric
 *     host and a port that is all digits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                             \
	do {                                                                                 \
		if (!(x)) {                                                                  \
			fprintf(stderr, "fuzz_config: %s:%d: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                    \
		}                                                                            \
	} while (0)

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void check_duration(const char *s)
{
	size_t n = strlen(s), digits = n;
	unsigned __int128 v = 0, mult = 1;
	unsigned int got = 12345;
	int rc = config_parse_duration(s, &got);

	if (n && (s[n - 1] == 's' || s[n - 1] == 'm' || s[n - 1] == 'h')) {
		digits = n - 1;
		mult = s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 1;
	}
	if (!all_digits(s, digits)) {
		check(rc == -EINVAL || rc == -ERANGE);
		check(got == 12345);
		return;
	}
	for (size_t i = 0; i < digits; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX)
			v = (unsigned __int128)UINT64_MAX +
			    1; /* saturate: "too big" is all we need */
	}
	v *= mult;
	if (v > 7 * 86400) {
		check(rc == -ERANGE || rc == -EINVAL);
	} else {
		check(rc == 0 && got == (unsigned int)v);
	}
}

static void check_addr(const char *s)
{
	struct config_addr a;
	const char *colon;
	unsigned long port;
	int rc = config_parse_addr(s, &a);

	if (rc) {
		check(rc == -EINVAL);
		return;
	}
	colon = strrchr(s, ':');
	check(colon && all_digits(colon + 1, strlen(colon + 1)));
	port = strtoul(colon + 1, NULL, 10);
	check(port && port <= 65535);
	if (a.ss.ss_family == AF_INET) {
		check(a.len == sizeof(struct sockaddr_in));
		check(ntohs(((struct sockaddr_in *)&a.ss)->sin_port) == port);
	} else {
		check(a.ss.ss_family == AF_INET6 && a.len == sizeof(struct sockaddr_in6));
		check(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port) == port);
	}
	check(!strncmp(a.text, s, sizeof(a.text) - 1));
}

static void check_bounds(const struct config *c)
{
	const unsigned int t[] = {c->connect_timeout,	c->helo_timeout,      c->mail_timeout,
				  c->rcpt_timeout,	c->data_init_timeout, c->data_xfer_timeout,
				  c->data_done_timeout, c->starttls_timeout,  c->server_timeout,
				  c->quit_timeout,	c->shutdown_timeout};

	check(c->n_outbound_listen <= CONFIG_MAX_ADDRS && c->n_inbound_listen <= CONFIG_MAX_ADDRS);
	check(c->n_certs <= CONFIG_MAX_CERTS);
	check(c->workers <= 1000000 && c->max_sessions <= 1000000);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check(t[i] <= 7 * 86400);
	for (unsigned int i = 0; i < c->n_outbound_listen; i++)
		check(c->outbound_listen[i].ss.ss_family == AF_INET ||
		      c->outbound_listen[i].ss.ss_family == AF_INET6);
	for (unsigned int i = 0; i < c->n_inbound_listen; i++)
		check(c->inbound_listen[i].ss.ss_family == AF_INET ||
		      c->inbound_listen[i].ss.ss_family == AF_INET6);
	for (unsigned int i = 0; i < c->n_certs; i++)
		check(c->certs[i].cert_file && c->certs[i].key_file);
	if (c->has_outbound_forward)
		check(c->outbound_forward.ss.ss_family == AF_INET ||
		      c->outbound_forward.ss.ss_family == AF_INET6);
	if (c->has_inbound_next_hop)
		check(c->inbound_next_hop.ss.ss_family == AF_INET ||
		      c->inbound_next_hop.ss.ss_family == AF_INET6);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool addr_eq(const struct config_addr *a, const struct config_addr *b)
{
	return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len) && !strcmp(a->text, b->text);
}

static void check_same(const struct config *a, const struct config *b)
{
	check(str_eq(a->hostname, b->hostname) && str_eq(a->outbound_policy, b->outbound_policy));
	check(str_eq(a->inbound_policy, b->inbound_policy) && str_eq(a->run_dir, b->run_dir));
	check(str_eq(a->inbound_require_tls_reply, b->inbound_require_tls_reply));
	check(str_eq(a->steer_exclude, b->steer_exclude) && str_eq(a->ctl_group, b->ctl_group));
	check(a->workers == b->workers && a->ktls == b->ktls && a->relay_mark == b->relay_mark);
	check(a->helo_timeout == b->helo_timeout && a->data_done_timeout == b->data_done_timeout);
	check(a->n_outbound_listen == b->n_outbound_listen && a->n_certs == b->n_certs);
	for (unsigned int i = 0; i < a->n_outbound_listen; i++)
		check(addr_eq(&a->outbound_listen[i], &b->outbound_listen[i]));
	for (unsigned int i = 0; i < a->n_certs; i++)
		check(str_eq(a->certs[i].cert_file, b->certs[i].cert_file) &&
		      str_eq(a->certs[i].key_file, b->certs[i].key_file));
	check(a->has_inbound_next_hop == b->has_inbound_next_hop);
	if (a->has_inbound_next_hop)
		check(addr_eq(&a->inbound_next_hop, &b->inbound_next_hop));
}

static int load(const char *path, const char *const *ov, struct config *c, char *err, size_t errlen)
{
	int rc;

	config_defaults(c);
	err[0] = '\0';
	rc = config_load(c, path, ov, err, errlen);
	if (rc) {
		check(rc < 0);
		/* where the problem is comes first */
		check(!strncmp(err, path, strlen(path)) || !strncmp(err, "-o:0: ", 6));
		check(strlen(err) < errlen);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	char path[64], err[256], err2[256], *rest = NULL, *line, *save = NULL, *dup;
	const char *ov[9] = {NULL};
	struct config a, b;
	int fd, rc, rc2;
	size_t nov = 0;

	fd = memfd_create("tlsgate.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, flen) != (ssize_t)flen) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* the overrides: NUL-separated pieces after the file */
	if (nul) {
		size_t rlen = size - flen - 1;

		rest = malloc(rlen + 1);
		if (!rest)
			goto out;
		memcpy(rest, nul + 1, rlen);
		rest[rlen] = '\0';
		for (char *p = rest; p < rest + rlen && nov < 8; p += strlen(p) + 1)
			ov[nov++] = p;
	}
	rc = load(path, ov, &a, err, sizeof(err));
	if (!rc)
		check_bounds(&a);
	rc2 = load(path, ov, &b, err2, sizeof(err2));
	check(rc == rc2);
	if (rc)
		check(!strcmp(err, err2));
	else
		check_same(&a, &b);
	config_free(&a);
	config_free(&b);

	/* every value of the file, through the value parsers directly */
	dup = strndup((const char *)data, flen);
	if (!dup)
		goto out;
	for (line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		eq++;
		while (*eq == ' ')
			eq++;
		check_duration(eq);
		check_addr(eq);
	}
	free(dup);
out:
	free(rest);
	close(fd);
	return 0;
}
