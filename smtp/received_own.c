// SPDX-License-Identifier: GPL-2.0-only
/*
 * The list of the organisation's own mail servers: parsing and matching (received_own.h).
 */
#include "smtp/received_own.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_prefix(const char *s, struct received_own_entry *e)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	e->family = strchr(tmp, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(e->family, tmp, e->addr) != 1)
		return -EINVAL;
	len = e->family == AF_INET ? 32 : 128;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > (e->family == AF_INET ? 32u : 128u))
			return -EINVAL;
	}
	e->len = (uint8_t)len;
	e->is_prefix = true;
	return 0;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int received_own_add(struct received_own *o, const char *item)
{
	struct received_own_entry e = {0};
	size_t n = strlen(item);

	if (!n)
		return -EINVAL;
	if (o->n >= RECEIVED_OWN_MAX)
		return -ENOSPC;
	if (isxdigit((unsigned char)item[0]) &&
	    (strchr(item, ':') || strchr(item, '/') || strspn(item, "0123456789.") == n)) {
		if (parse_prefix(item, &e))
			return -EINVAL;
	} else {
		if (n >= sizeof(e.name) || (item[0] == '.' && n == 1))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (!name_char(item[i]))
				return -EINVAL;
			e.name[i] = (char)tolower((unsigned char)item[i]);
		}
		if (n > 1 && e.name[n - 1] == '.')
			e.name[n - 1] = '\0'; /* "mx.example.org." is the same name */
	}
	o->e[o->n++] = e;
	return 0;
}

int received_own_parse(struct received_own *o, const char *list)
{
	char *dup = strdup(list ? list : ""), *save = NULL, *tok;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	memset(o, 0, sizeof(*o));
	for (tok = strtok_r(dup, ", \t", &save); tok && !rc; tok = strtok_r(NULL, ", \t", &save))
		rc = received_own_add(o, tok);
	free(dup);
	return rc;
}

bool received_own_name(const struct received_own *o, const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	if (!n)
		return false;
	for (unsigned int i = 0; i < o->n; i++) {
		const struct received_own_entry *e = &o->e[i];
		size_t en = strlen(e->name);

		if (e->is_prefix)
			continue;
		if (e->name[0] == '.') {
			/* a domain: every name strictly under it */
			if (n > en && !strncasecmp(name + n - en, e->name, en))
				return true;
		} else if (n == en && !strncasecmp(name, e->name, n)) {
			return true;
		}
	}
	return false;
}

static bool prefix_match(const uint8_t *a, const uint8_t *p, unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;

	if (memcmp(a, p, bytes))
		return false;
	return !bits || !((a[bytes] ^ p[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

bool received_own_addr(const struct received_own *o, const char *addr)
{
	uint8_t a[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	if (!addr[0] || inet_pton(family, addr, a) != 1)
		return false;
	/* an IPv4-mapped IPv6 address is its IPv4 address */
	if (family == AF_INET6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(a, a + 12, 4);
		family = AF_INET;
	}
	for (unsigned int i = 0; i < o->n; i++) {
		const struct received_own_entry *e = &o->e[i];

		if (e->is_prefix && e->family == family && prefix_match(a, e->addr, e->len))
			return true;
	}
	return false;
}

bool received_own_writer(const struct received_own *o, const struct received_hop *h)
{
	return received_own_name(o, h->by);
}

bool received_own_sender(const struct received_own *o, const struct received_hop *h)
{
	return received_own_addr(o, h->from_addr) || received_own_name(o, h->from_rdns);
}
