// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl explain [-j] [FILE | -]
 *
 * Reads a message (a .eml file, an mbox file's first message, or standard input), and tells hop
 * by hop whether it travelled encrypted.  Only the header section is read: the body, however
 * large, is never loaded.  Works without the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/received_explain.h"
#include "smtp/received_parse.h"

/* Real header sections are kilobytes; this only stops a runaway input. */
#define EXPLAIN_HEADER_MAX (8u << 20)

static void explain_usage(FILE *f)
{
	fputs("Usage: tlsgatectl [-j [-p]] explain [-j] [FILE | -]\n"
	      "Tells, hop by hop, whether the message in FILE (an .eml file; \"-\" or no FILE:\n"
	      "standard input) travelled encrypted, from its Received: headers.\n",
	      f);
}

/* Read lines up to and including the empty line that ends the header section (or EOF). */
static int read_header_section(FILE *in, char **out, size_t *out_len)
{
	char *buf = NULL, *line = NULL;
	size_t len = 0, cap = 0, line_cap = 0;
	ssize_t n;
	int err = 0;

	while ((n = getline(&line, &line_cap, in)) > 0) {
		if (len + (size_t)n > EXPLAIN_HEADER_MAX) {
			err = -EFBIG;
			goto out;
		}
		if (len + (size_t)n > cap) {
			size_t ncap = cap ? cap : 16384;
			char *b;

			while (ncap < len + (size_t)n)
				ncap *= 2;
			b = realloc(buf, ncap);
			if (!b) {
				err = -ENOMEM;
				goto out;
			}
			buf = b;
			cap = ncap;
		}
		memcpy(buf + len, line, (size_t)n);
		len += (size_t)n;
		if (!strcmp(line, "\n") || !strcmp(line, "\r\n"))
			break;
	}
	if (ferror(in))
		err = -EIO;
out:
	free(line);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int ctl_explain(int argc, char **argv, const struct ctl_opts *o)
{
	bool json = o && o->json, pretty = o && o->pretty;
	struct received_chain chain;
	const char *path = NULL;
	char *hdr = NULL;
	size_t len = 0;
	FILE *in;
	int err;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
			pretty = true;
		} else if (!strcmp(a, "help") || !strcmp(a, "-h") || !strcmp(a, "--help")) {
			explain_usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "tlsgatectl: explain: unknown option \"%s\"\n", a);
			explain_usage(stderr);
			return 2;
		} else if (path) {
			fprintf(stderr, "tlsgatectl: explain: one message at a time (\"%s\")\n", a);
			explain_usage(stderr);
			return 2;
		} else {
			path = a;
		}
	}
	/* A bare "explain" at a terminal would wait silently for input: say what it wants. */
	if (!path && isatty(STDIN_FILENO)) {
		explain_usage(stderr);
		return 2;
	}

	if (!path || !strcmp(path, "-")) {
		in = stdin;
		path = "standard input";
	} else if (!(in = fopen(path, "r"))) {
		fprintf(stderr, "tlsgatectl: explain: %s: %s\n", path, strerror(errno));
		return 1;
	}
	err = read_header_section(in, &hdr, &len);
	if (in != stdin)
		fclose(in);
	if (err) {
		fprintf(stderr, "tlsgatectl: explain: %s: %s\n", path,
			err == -EFBIG ? "header section larger than 8 MiB" : strerror(-err));
		return 1;
	}

	err = received_chain_parse(hdr ? hdr : "", len, &chain);
	free(hdr);
	if (err) {
		fprintf(stderr, "tlsgatectl: explain: %s: %s\n", path, strerror(-err));
		return 1;
	}
	err = json ? received_explain_json(stdout, &chain, pretty)
		   : received_explain_text(stdout, &chain);
	received_chain_free(&chain);
	if (err) {
		fprintf(stderr, "tlsgatectl: explain: writing the explanation: %s\n",
			strerror(-err));
		return 1;
	}
	return 0;
}
