// SPDX-License-Identifier: GPL-2.0-only
/*
 * DNS for policy/resolve.c.  The transport is glibc's own resolver with a private state per
 * refresh (res_ninit/res_nmkquery/res_nsend: thread-safe, retries, TCP fallback on truncation,
 * resolv.conf, answers matched to the question), so we write no UDP client.  Since glibc 2.34
 * these live in libc itself; libresolv's ns_initparse() would need -lresolv for what is a
 * sixty-line walk over the answer section, so we walk it here with libc's dn_expand() and
 * dn_skipname() (and fuzz it: tests/fuzz/fuzz_policy_dns.c).
 *
 * A specific nameserver (tests, or an appliance with a dedicated resolver) is set through the
 * documented res_state fields: nsaddr_list[0] and nscount.  glibc honours a changed list
 * (it notices that the state no longer matches resolv.conf and uses the fields as given).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define ANS_MAX 65536

struct policy_dns_ctx {
	struct __res_state st;
	bool have_state;
	int (*query)(void *arg, const char *name, int type, unsigned char *ans, int anslen);
	void *query_arg;
	unsigned char *buf;
};

static int parse_nameserver(const char *s, struct sockaddr_in *sin)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *colon = strrchr(s, ':');
	unsigned long port = 53;
	size_t hlen;

	if (strchr(s, '[') || (colon && strchr(s, ':') != colon))
		return -EAFNOSUPPORT;	/* IPv6: through resolv.conf (see policy.h) */
	hlen = colon ? (size_t)(colon - s) : strlen(s);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (colon) {
		char *end;

		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
			return -EINVAL;
	}
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

int policy_dns_nameserver_check(const char *s)
{
	struct sockaddr_in sin;

	return parse_nameserver(s, &sin);
}

int policy_dns_ctx_new(const struct policy_resolver_opts *o, struct policy_dns_ctx **out)
{
	struct policy_dns_ctx *c = calloc(1, sizeof(*c));
	struct sockaddr_in sin;
	int rc;

	if (!c)
		return -ENOMEM;
	c->buf = malloc(ANS_MAX);
	if (!c->buf) {
		rc = -ENOMEM;
		goto fail;
	}
	c->query = o->query;
	c->query_arg = o->query_arg;
	if (!c->query) {
		if (o->nameserver) {
			rc = parse_nameserver(o->nameserver, &sin);
			if (rc)
				goto fail;
		}
		if (res_ninit(&c->st)) {
			rc = -EIO;
			goto fail;
		}
		c->have_state = true;
		if (o->nameserver) {
			c->st.nsaddr_list[0] = sin;
			c->st.nscount = 1;
		}
		/* Names in tables are absolute: never append a search domain. */
		c->st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
		c->st.options |= RES_RECURSE;
		c->st.retrans = (int)(o->timeout_s ? o->timeout_s : 2);
		c->st.retry = (int)(o->attempts ? o->attempts : 2);
	}
	*out = c;
	return 0;
fail:
	policy_dns_ctx_free(c);
	return rc;
}

void policy_dns_ctx_free(struct policy_dns_ctx *c)
{
	if (!c)
		return;
	if (c->have_state)
		res_nclose(&c->st);
	free(c->buf);
	free(c);
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int policy_dns_parse_answer(const unsigned char *msg, size_t len, uint16_t qtype, policy_dns_rr_fn fn,
		     void *arg)
{
	const unsigned char *eom = msg + len, *p;
	unsigned int qd, an, rcode, matched = 0;

	if (len < NS_HFIXEDSZ || len > ANS_MAX || !(msg[2] & 0x80))	/* QR: a response */
		return DNS_FAIL;
	rcode = msg[3] & 0x0f;
	if (rcode == ns_r_nxdomain)
		return DNS_NXDOMAIN;
	if (rcode == ns_r_servfail)
		return DNS_TEMPFAIL;
	if (rcode != ns_r_noerror)
		return DNS_FAIL;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	p = msg + NS_HFIXEDSZ;
	while (qd--) {
		int n = dn_skipname(p, eom);

		if (n < 0 || eom - (p + n) < 4)
			return DNS_FAIL;
		p += n + 4;
	}
	while (an--) {
		struct policy_dns_rr rr;
		uint16_t type, class, rdlen;
		int n = dn_skipname(p, eom);

		if (n < 0 || eom - (p + n) < 10)
			return DNS_FAIL;
		p += n;
		type = get16(p);
		class = get16(p + 2);
		memset(&rr, 0, sizeof(rr));
		rr.type = type;
		rr.ttl = get32(p + 4);
		if (rr.ttl > 0x7fffffffu)	/* RFC 2181 8: treated as zero */
			rr.ttl = 0;
		rdlen = get16(p + 8);
		p += 10;
		if (eom - p < rdlen)
			return DNS_FAIL;
		rr.rdata = p;
		rr.rdlen = rdlen;
		if (class == ns_c_in && type == qtype) {
			if (type == ns_t_txt) {
				/* the caller reads the character-strings (policy/sts.c) */
			} else if (type == ns_t_a && rdlen == 4) {
				memcpy(rr.addr, p, 4);
			} else if (type == ns_t_aaaa && rdlen == 16) {
				memcpy(rr.addr, p, 16);
			} else if (type == ns_t_mx && rdlen >= 3) {
				n = dn_expand(msg, eom, p + 2, rr.name, sizeof(rr.name));
				if (n < 0 || n > rdlen - 2)
					return DNS_FAIL;
				rr.pref = get16(p);
				/* dn_expand writes a '.' inside a label as \. and odd bytes as
				 * \DDD; a mail exchanger must be a host name: anything else is a
				 * broken answer, not something to look up. */
				if (rr.name[0]) {
					char norm[sizeof(rr.name)], why[8];
					size_t bad;

					if (policy_domain_norm(rr.name, strlen(rr.name), norm, &bad,
							       why, sizeof(why)))
						return DNS_FAIL;
					memcpy(rr.name, norm, sizeof(norm));
				}
			} else {
				return DNS_FAIL;
			}
			matched++;
			if (fn) {
				int rc = fn(&rr, arg);

				if (rc)
					return rc;
			}
		}
		p += rdlen;
	}
	return matched ? DNS_OK : DNS_NODATA;
}

static const char *type_name(uint16_t type)
{
	return type == ns_t_mx ? "MX" : type == ns_t_a ? "A" : type == ns_t_aaaa ? "AAAA" : "?";
}

int policy_dns_lookup(struct policy_dns_ctx *c, const char *name, uint16_t type, policy_dns_rr_fn fn, void *arg,
	       char *why, size_t whylen)
{
	unsigned char q[NS_PACKETSZ];
	int n, st;

	if (c->query) {
		n = c->query(c->query_arg, name, type, c->buf, ANS_MAX);
		if (n < 0)
			errno = -n;
	} else {
		n = res_nmkquery(&c->st, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q,
				 sizeof(q));
		if (n < 0) {
			snprintf(why, whylen, "%s %s: cannot build the query", type_name(type),
				 name);
			return DNS_FAIL;
		}
		n = res_nsend(&c->st, q, n, c->buf, ANS_MAX);
	}
	if (n < 0) {
		/* res_nsend reports SERVFAIL and REFUSED from every server as ETIMEDOUT too. */
		snprintf(why, whylen, "%s %s: %s", type_name(type), name,
			 errno == ETIMEDOUT ? "no usable answer (timeout, SERVFAIL or REFUSED)"
			 : errno == ECONNREFUSED ? "nameserver unreachable (connection refused)"
						 : strerror(errno));
		return DNS_TEMPFAIL;
	}
	st = policy_dns_parse_answer(c->buf, (size_t)n, type, fn, arg);
	switch (st) {
	case DNS_NXDOMAIN:
		snprintf(why, whylen, "%s %s: NXDOMAIN", type_name(type), name);
		break;
	case DNS_TEMPFAIL:
		snprintf(why, whylen, "%s %s: SERVFAIL", type_name(type), name);
		break;
	case DNS_FAIL:
		snprintf(why, whylen, "%s %s: %s", type_name(type), name,
			 (size_t)n >= NS_HFIXEDSZ && (c->buf[3] & 0x0f) ?
				 ((c->buf[3] & 0x0f) == ns_r_refused ? "REFUSED" : "error rcode") :
				 "malformed answer");
		break;
	case DNS_NODATA:
		snprintf(why, whylen, "%s %s: no records", type_name(type), name);
		break;
	default:
		break;
	}
	return st;
}

int policy_dns_txt_join(const struct policy_dns_rr *rr, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	for (size_t i = 0; i < rr->rdlen;) {
		size_t l = rr->rdata[i++];

		if (l > (size_t)rr->rdlen - i || n + l >= cap)
			return -EINVAL;
		memcpy(out + n, rr->rdata + i, l);
		n += l;
		i += l;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}
