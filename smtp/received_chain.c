// SPDX-License-Identifier: GPL-2.0-only
/*
 * A message's Received: headers: the RFC 5322 header section split into fields (folding, the
 * empty line before the body, an mbox "From " line), each Received: field handed to
 * received_parse_field(); and the names the explain output and JSON use.
 */
#include "smtp/received_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ieq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

static size_t line_end(const char *m, size_t len, size_t pos)
{
	const char *nl = memchr(m + pos, '\n', len - pos);

	return nl ? (size_t)(nl - m) : len;
}

static int add_hop(struct received_chain *c, const char *v, size_t n, size_t *cap)
{
	if (c->n == RECEIVED_MAX_HOPS) {
		c->truncated = true;
		return 0;
	}
	if (c->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct received_hop *h = realloc(c->hop, ncap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		c->hop = h;
		*cap = ncap;
	}
	received_parse_field(v, n, &c->hop[c->n++]);
	return 0;
}

int received_chain_parse(const char *msg, size_t len, struct received_chain *c)
{
	size_t pos = 0, cap = 0;
	int err;

	memset(c, 0, sizeof(*c));
	/* An mbox file's "From sender date" separator line is not a header field. */
	if (len >= 5 && !memcmp(msg, "From ", 5))
		pos = line_end(msg, len, 0) + 1;
	while (pos < len) {
		size_t eol = line_end(msg, len, pos), name_end = pos, colon, end, next;

		if (eol == pos || (eol == pos + 1 && msg[pos] == '\r'))
			break;	/* the empty line: the body follows */
		if (msg[pos] == ' ' || msg[pos] == '\t') {
			pos = eol + 1;	/* a continuation without a field before it */
			continue;
		}
		while (name_end < eol && msg[name_end] > 32 && msg[name_end] < 127 &&
		       msg[name_end] != ':')
			name_end++;
		for (colon = name_end; colon < eol && (msg[colon] == ' ' || msg[colon] == '\t');
		     colon++)
			;
		if (name_end == pos || colon >= eol || msg[colon] != ':')
			break;	/* not a field: the body starts here (no empty line) */
		/* The field goes on over every following line that starts with white space. */
		end = eol;
		next = eol + 1;
		while (next < len && (msg[next] == ' ' || msg[next] == '\t')) {
			end = line_end(msg, len, next);
			next = end + 1;
		}
		if (ieq(msg + pos, name_end - pos, "Received")) {
			err = add_hop(c, msg + colon + 1, end - colon - 1, &cap);
			if (err) {
				received_chain_free(c);
				return err;
			}
		}
		pos = next;
	}
	return 0;
}

void received_chain_free(struct received_chain *c)
{
	free(c->hop);
	c->hop = NULL;
	c->n = 0;
}

bool received_tls_outdated(const struct received_hop *hop)
{
	const char *v = hop->tls_version;

	return !strncasecmp(v, "SSL", 3) || !strcmp(v, "TLSv1.0") || !strcmp(v, "TLSv1.1") ||
	       strstr(v, "SSL") != NULL;
}

const char *received_tls_words(const struct received_hop *hop, char *buf, size_t len)
{
	const char *v = hop->tls_version;

	if (!strncmp(v, "TLSv", 4) && v[4] >= '1' && v[4] <= '9' && !strchr(v, '/'))
		snprintf(buf, len, "TLS %s", v + 4);
	else if (!strncmp(v, "SSLv", 4) && !strchr(v, '/'))
		snprintf(buf, len, "SSL %s", v + 4);
	else
		snprintf(buf, len, "%s", v);
	return buf;
}

const char *received_tls_state_name(enum received_tls_state s)
{
	switch (s) {
	case RECEIVED_TLS_YES:
		return "yes";
	case RECEIVED_TLS_NO:
		return "no";
	default:
		return "unknown";
	}
}

const char *received_style_name(enum received_style s)
{
	static const char *const names[] = {
		[RECEIVED_STYLE_GENERIC] = "generic", [RECEIVED_STYLE_POSTFIX] = "postfix",
		[RECEIVED_STYLE_EXIM] = "exim",	      [RECEIVED_STYLE_MICROSOFT] = "microsoft",
		[RECEIVED_STYLE_GMAIL] = "gmail",     [RECEIVED_STYLE_SENDMAIL] = "sendmail",
		[RECEIVED_STYLE_TLSGATE] = "tlsgate",
	};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "generic";
}

const char *received_local_name(enum received_local l)
{
	switch (l) {
	case RECEIVED_LOCAL_NO_FROM:
		return "no-sending-host";
	case RECEIVED_LOCAL_LOOPBACK:
		return "loopback";
	case RECEIVED_LOCAL_SAME_HOST:
		return "same-host";
	case RECEIVED_LOCAL_PROTOCOL:
		return "local-protocol";
	case RECEIVED_LOCAL_INTERNAL:
		return "internal";
	default:
		return NULL;
	}
}

const char *received_cert_name(enum received_cert c)
{
	switch (c) {
	case RECEIVED_CERT_VERIFIED:
		return "verified";
	case RECEIVED_CERT_NOT_CHECKED:
		return "not-checked";
	case RECEIVED_CERT_FAILED:
		return "failed";
	default:
		return NULL;
	}
}

const char *received_trust_name(enum received_trust t)
{
	switch (t) {
	case RECEIVED_TRUST_OWN:
		return "own";
	case RECEIVED_TRUST_CLAIM:
		return "claim";
	default:
		return NULL;
	}
}

/*
 * A name that is an address literal ("[127.0.0.1]", often not the client's real address) or
 * qmail's "unknown" says less than the address the receiver recorded.
 */
const char *received_sender_name(const struct received_hop *h)
{
	bool useless = h->from[0] == '[' || !strcmp(h->from, "unknown");

	if (h->from_rdns[0])
		return h->from_rdns;
	if (h->from[0] && !(useless && h->from_addr[0]))
		return h->from;
	if (h->from_addr[0])
		return h->from_addr;
	return "an unnamed server";
}

const char *received_receiver_name(const struct received_hop *h)
{
	return h->by[0] ? h->by : "an unnamed server";
}
