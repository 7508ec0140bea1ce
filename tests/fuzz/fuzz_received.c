// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the Received: parser on a field and on a whole message (header walker, explanation
 * in text and JSON), and the generator with the input as the client-supplied HELO and
 * recipient.  Beyond the sanitizers, it traps when a promise breaks: parsed text is printable
 * ASCII; a generated header is CRLF-terminated lines of at most 998 octets, continuation lines
 * start with a TAB, and no bare CR or LF gets through.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "smtp/received.h"
#include "ctl/received_explain.h"
#include "smtp/received_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		__builtin_trap();	/* not NUL-terminated inside its array */
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			__builtin_trap();
}

static void check_hop(const struct received_hop *h)
{
	check_text(h->from, sizeof(h->from));
	check_text(h->from_rdns, sizeof(h->from_rdns));
	check_text(h->from_addr, sizeof(h->from_addr));
	check_text(h->by, sizeof(h->by));
	check_text(h->protocol, sizeof(h->protocol));
	check_text(h->id, sizeof(h->id));
	check_text(h->date, sizeof(h->date));
	check_text(h->tls_version, sizeof(h->tls_version));
	check_text(h->cipher, sizeof(h->cipher));
}

static void check_header(const char *buf, int n)
{
	const char *line = buf;

	if (n <= 0)
		return;
	for (const char *p = buf; p < buf + n; p++) {
		if (*p == '\n' && (p == buf || p[-1] != '\r'))
			__builtin_trap();
		if (*p == '\r' && p[1] != '\n')
			__builtin_trap();
		if (*p != '\n')
			continue;
		if (p - 1 - line > RECEIVED_LINE_MAX)
			__builtin_trap();
		line = p + 1;
		if (line < buf + n && *line != '\t')
			__builtin_trap();
	}
	if (buf[n - 1] != '\n')
		__builtin_trap();
}

static void fuzz_generator(const uint8_t *data, size_t size)
{
	static const struct received_tls tls = {
		.version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .bits = 256,
		.alg_bits = 256,
	};
	char *s = malloc(size + 1), buf[RECEIVED_HEADER_MAX];
	const char *rcpt[1];
	struct received_info ri = {
		.addr = "192.0.2.1", .family = AF_INET, .esmtp = true, .tls = &tls,
		.by_host = "gw.example.org", .queue_id = "4jcTwJ1wWSz42FqjGJ", .nrcpt = 1,
		.rcpts = rcpt, .when = 1795915488,
	};

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	ri.helo = s;
	rcpt[0] = s;
	check_header(buf, received_format(&ri, buf, sizeof(buf)));
	check_header(buf, received_tls_summary(&ri, buf, sizeof(buf)));
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct received_chain c;
	struct received_hop h;

	if (!null && !(null = fopen("/dev/null", "w")))
		return 0;
	received_parse_field((const char *)data, size, &h);
	check_hop(&h);
	if (received_chain_parse((const char *)data, size, &c) == 0) {
		if (c.n > RECEIVED_MAX_HOPS)
			__builtin_trap();
		for (size_t i = 0; i < c.n; i++)
			check_hop(&c.hop[i]);
		received_explain_text(null, &c);
		received_explain_json(null, &c, false);
		received_chain_free(&c);
	}
	if (size < 2048)
		fuzz_generator(data, size);
	return 0;
}
