// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table keys: what a rule applies to, validated and normalised so that equal keys compare equal
 * byte for byte (duplicates, lookups, ids):
 *   example.org           exact domain         lower case, no trailing dot
 *   .example.org          every name below     (not example.org itself, as in Postfix)
 *   [mx.example.org]:25   a server, no MX      also [192.0.2.1], [ipv6:2001:db8::1]
 *   192.0.2.0/24          addresses            canonical network, /32 and /128 not written
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

#define DOMAIN_MAX 253

bool policy_name_fold(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);

	if (n && in[n - 1] == '.')
		n--;
	if (!n || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return true;
}

/* Letters, digits, '-' and '_' (Postfix's valid_hostname also allows '_'), labels of 1-63. */
int policy_domain_norm(const char *s, size_t len, char *out, size_t *bad, char *why,
		       size_t whylen)
{
	size_t label = 0, i;

	if (len && s[len - 1] == '.')
		len--;		/* "example.org." is the same name */
	if (len == 0) {
		*bad = 0;
		snprintf(why, whylen, "empty domain name");
		return -EINVAL;
	}
	if (len > DOMAIN_MAX) {
		*bad = 0;
		snprintf(why, whylen, "domain name longer than %d characters", DOMAIN_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0) {
				*bad = i;
				snprintf(why, whylen, "empty label in domain name '%.*s'", (int)len,
					 s);
				return -EINVAL;
			}
			if (s[i - 1] == '-') {
				*bad = i - 1;
				snprintf(why, whylen, "a label ends with '-' in '%.*s'", (int)len,
					 s);
				return -EINVAL;
			}
			label = 0;
			out[i] = '.';
			continue;
		}
		if (c >= 0x80) {
			*bad = i;
			snprintf(why, whylen, "non-ASCII byte in domain name (expected the "
				 "A-label form, xn--...)");
			return -EINVAL;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			*bad = i;
			if (isprint(c))
				snprintf(why, whylen, "invalid character '%c' in domain name "
					 "(expected letters, digits, '-', '.')", c);
			else
				snprintf(why, whylen, "invalid byte 0x%02x in domain name "
					 "(expected letters, digits, '-', '.')", c);
			return -EINVAL;
		}
		if (c == '-' && label == 0) {
			*bad = i;
			snprintf(why, whylen, "a label starts with '-' in '%.*s'", (int)len, s);
			return -EINVAL;
		}
		if (++label > 63) {
			*bad = i;
			snprintf(why, whylen, "label longer than 63 characters");
			return -EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0) {	/* "example.org.." */
		*bad = len - 1;
		snprintf(why, whylen, "empty label in domain name '%.*s'", (int)len, s);
		return -EINVAL;
	}
	if (s[len - 1] == '-') {
		*bad = len - 1;
		snprintf(why, whylen, "a label ends with '-' in '%.*s'", (int)len, s);
		return -EINVAL;
	}
	out[len] = '\0';
	return 0;
}

/* An all-digit last label cannot be a domain (RFC 3696 2): such keys are meant as addresses. */
static bool looks_numeric(const char *s, size_t len)
{
	size_t i;

	if (len && s[len - 1] == '.')
		len--;		/* "192.0.2." is as numeric as "192.0.2" */
	i = len;
	while (i > 0 && s[i - 1] != '.')
		i--;
	if (i == len)
		return false;
	for (size_t j = i; j < len; j++)
		if (!isdigit((unsigned char)s[j]))
			return false;
	return true;
}

static int parse_u(const char *s, size_t len, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

/* "192.0.2.0/24", "2001:db8::1": family, address bytes, prefix, canonical text. */
static int parse_addr(const char *s, size_t len, struct policy_rule *r, char *canon,
		      size_t canonlen, size_t *bad, char *why, size_t whylen)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	char abuf[INET6_ADDRSTRLEN + 8], ntop[INET6_ADDRSTRLEN];
	unsigned long plen;
	unsigned int maxp;

	if (alen >= sizeof(abuf)) {
		*bad = 0;
		snprintf(why, whylen, "invalid address '%.*s'", (int)alen, s);
		return -EINVAL;
	}
	memcpy(abuf, s, alen);
	abuf[alen] = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, abuf, r->addr) == 1) {
		r->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, abuf, r->addr) == 1) {
		static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (!memcmp(r->addr, v4mapped, sizeof(v4mapped))) {
			*bad = 0;
			snprintf(why, whylen, "IPv4-mapped address '%s' (write the IPv4 form)",
				 abuf);
			return -EINVAL;
		}
		r->family = AF_INET6;
		maxp = 128;
	} else {
		*bad = 0;
		snprintf(why, whylen, "invalid %s address '%s'",
			 strchr(abuf, ':') ? "IPv6" : "IPv4", abuf);
		return -EINVAL;
	}
	plen = maxp;
	if (slash && parse_u(slash + 1, len - alen - 1, maxp, &plen)) {
		*bad = alen + 1;
		snprintf(why, whylen, "invalid prefix length '%.*s' (expected 0-%u)",
			 (int)(len - alen - 1), slash + 1, maxp);
		return -EINVAL;
	}
	r->prefix_len = (uint8_t)plen;
	for (unsigned int bit = (unsigned int)plen; bit < maxp; bit++) {
		if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			uint8_t net[16];

			memcpy(net, r->addr, sizeof(net));
			for (unsigned int b = (unsigned int)plen; b < maxp; b++)
				net[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			inet_ntop(r->family, net, ntop, sizeof(ntop));
			*bad = 0;
			snprintf(why, whylen, "host bits set in '%.*s' (expected %s/%lu)", (int)len,
				 s, ntop, plen);
			return -EINVAL;
		}
	}
	inet_ntop(r->family, r->addr, ntop, sizeof(ntop));
	if (plen == maxp)
		snprintf(canon, canonlen, "%s", ntop);
	else
		snprintf(canon, canonlen, "%s/%lu", ntop, plen);
	r->key_type = POLICY_KEY_ADDR;
	return 0;
}

/* "[name]", "[name]:port", "[192.0.2.1]", "[ipv6:2001:db8::1]:25" (Postfix's IPv6 form). */
static int parse_host(const char *s, size_t len, struct policy_rule *r, char *canon,
		      size_t canonlen, size_t *bad, char *why, size_t whylen)
{
	const char *close = memchr(s, ']', len);
	size_t inner, ilen;
	char host[DOMAIN_MAX + 16];
	unsigned long port = 0;
	int rc;

	if (!close) {
		*bad = len;
		snprintf(why, whylen, "missing ']' in '%.*s' (expected [host] or [host]:port)",
			 (int)len, s);
		return -EINVAL;
	}
	inner = 1;
	ilen = (size_t)(close - s) - 1;
	if ((size_t)(close - s) + 1 < len) {
		const char *ps = close + 1;
		size_t plen = len - (size_t)(ps - s);

		if (*ps != ':' || parse_u(ps + 1, plen - 1, 65535, &port) || port == 0) {
			*bad = (size_t)(ps - s);
			snprintf(why, whylen,
				 "invalid port '%.*s' after '%.*s' (expected :1-65535)", (int)plen,
				 ps, (int)(close - s + 1), s);
			return -EINVAL;
		}
	}
	if (ilen >= 5 && !strncasecmp(s + inner, "ipv6:", 5)) {
		struct policy_rule tmp = { 0 };
		char a[INET6_ADDRSTRLEN + 8];

		rc = parse_addr(s + inner + 5, ilen - 5, &tmp, a, sizeof(a), bad, why, whylen);
		if (rc || tmp.family != AF_INET6 || tmp.prefix_len != 128) {
			*bad = inner + 5;
			snprintf(why, whylen, "invalid IPv6 address in '%.*s'", (int)len, s);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "ipv6:%s", a);
	} else if (looks_numeric(s + inner, ilen)) {
		struct policy_rule tmp = { 0 };
		char a[INET6_ADDRSTRLEN + 8];

		rc = parse_addr(s + inner, ilen, &tmp, a, sizeof(a), bad, why, whylen);
		if (rc || tmp.prefix_len != 32) {
			*bad = inner;
			snprintf(why, whylen, "invalid IPv4 address in '%.*s'", (int)len, s);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%s", a);
	} else {
		rc = policy_domain_norm(s + inner, ilen, host, bad, why, whylen);
		if (rc) {
			*bad += inner;
			return rc;
		}
	}
	r->host = strdup(host);
	if (!r->host)
		return -ENOMEM;
	r->port = (uint16_t)port;
	if (port)
		snprintf(canon, canonlen, "[%s]:%u", host, (unsigned int)r->port);
	else
		snprintf(canon, canonlen, "[%s]", host);
	r->key_type = POLICY_KEY_HOST;
	return 0;
}

int policy_key_parse(enum policy_dir dir, const char *s, size_t len, struct policy_rule *r,
		     size_t *bad, char *why, size_t whylen)
{
	char canon[DOMAIN_MAX + 64];
	int rc;

	if (len == 0) {
		*bad = 0;
		snprintf(why, whylen, "empty key");
		return -EINVAL;
	}
	if (s[0] == '[') {
		if (dir == POLICY_INBOUND) {
			*bad = 0;
			snprintf(why, whylen, "[host] keys are for the outbound table (expected an "
				 "address, CIDR, domain or .domain)");
			return -EINVAL;
		}
		rc = parse_host(s, len, r, canon, sizeof(canon), bad, why, whylen);
	} else if (memchr(s, '/', len) || memchr(s, ':', len) || looks_numeric(s, len)) {
		const char *colon = memchr(s, ':', len);

		/* "example.org:587" is a Postfix next-hop with a port: not a recipient domain. */
		if (colon && !memchr(s, '/', len) && memchr(s, '.', len) &&
		    !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) &&
		    !isdigit((unsigned char)s[0])) {
			*bad = (size_t)(colon - s);
			snprintf(why, whylen, "'%.*s': a domain with a port is a Postfix next-hop "
				 "that tlsgate does not match (expected domain or [host]:port)",
				 (int)len, s);
			return -EINVAL;
		}
		rc = parse_addr(s, len, r, canon, sizeof(canon), bad, why, whylen);
	} else if (s[0] == '.') {
		canon[0] = '.';
		rc = policy_domain_norm(s + 1, len - 1, canon + 1, bad, why, whylen);
		if (rc)
			*bad += 1;
		r->key_type = POLICY_KEY_SUBDOMAINS;
	} else {
		rc = policy_domain_norm(s, len, canon, bad, why, whylen);
		r->key_type = POLICY_KEY_DOMAIN;
	}
	if (rc)
		return rc;
	r->dir = dir;
	r->key = strdup(canon);
	return r->key ? 0 : -ENOMEM;
}
