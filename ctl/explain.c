// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl explain [-j] [--own LIST | --config FILE] [--html OUT] [FILE | -]
 *
 * Reads a message (a .eml file, an mbox file's first message, or standard input), and tells hop
 * by hop whether it travelled encrypted.  Only the header section is read: the body, however
 * large, is never loaded.  Works without the daemon.  With the organisation's own mail servers
 * (--own, else own_mail_servers from --config or /etc/tlsgate/tlsgate.conf when it exists) the
 * hops before the first one they received are marked as the sender's claims.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/conf.h"
#include "ctl/ctl.h"
#include "ctl/received_explain.h"
#include "smtp/received_own.h"
#include "smtp/received_parse.h"
#include "smtp/received_verdict.h"

/* Real header sections are kilobytes; this only stops a runaway input. */
#define EXPLAIN_HEADER_MAX (8u << 20)

static void explain_usage(FILE *f)
{
	fputs("Usage: tlsgatectl [-j [-p]] explain [-j] [--own LIST | --config FILE]\n"
	      "                  [--html OUT] [FILE | -]\n"
	      "Tells, hop by hop, whether the message in FILE (an .eml file; \"-\" or no FILE:\n"
	      "standard input) travelled encrypted, from its Received: headers.\n"
	      "  --own LIST     the organisation's own mail servers (names, .domains, address\n"
	      "                 prefixes): hops before the first one they received are the\n"
	      "                 sender's claims (default: own_mail_servers of the configuration)\n"
	      "  --config FILE  read own_mail_servers from FILE (default /etc/tlsgate/tlsgate.conf)\n"
	      "  --html OUT     write the hop chain as a picture, one self-contained HTML page\n",
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
	static const char *const conf_keys[] = { "own_mail_servers", NULL };
	const char *path = NULL, *own_list = NULL, *config = NULL, *html = NULL;
	char *conf_own[1] = { NULL };
	struct received_own own;
	struct received_chain chain;
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
		} else if ((!strcmp(a, "--own") || !strcmp(a, "--config") || !strcmp(a, "--html")) &&
			   i + 1 >= argc) {
			fprintf(stderr, "tlsgatectl: explain: %s needs an argument\n", a);
			explain_usage(stderr);
			return 2;
		} else if (!strcmp(a, "--own")) {
			own_list = argv[++i];
		} else if (!strcmp(a, "--config")) {
			config = argv[++i];
		} else if (!strcmp(a, "--html")) {
			html = argv[++i];
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
	if (!own_list) {
		if (ctl_conf_read(config, conf_keys, conf_own))
			return 1;
		own_list = conf_own[0];
	}
	err = received_own_parse(&own, own_list);
	if (err) {
		fprintf(stderr, "tlsgatectl: explain: %s: %s: \"%s\"\n",
			conf_own[0] ? "own_mail_servers" : "--own",
			err == -ENOSPC ? "more than 64 entries" : "not a name, address or prefix",
			own_list);
		free(conf_own[0]);
		return 2;
	}
	free(conf_own[0]);

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
	received_chain_walk(&chain, &own);
	err = 0;
	if (html) {
		FILE *h = strcmp(html, "-") ? fopen(html, "we") : stdout;

		if (!h) {
			fprintf(stderr, "tlsgatectl: explain: %s: %s\n", html, strerror(errno));
			received_chain_free(&chain);
			return 1;
		}
		err = received_explain_html(h, &chain);
		if (h != stdout && fclose(h) && !err)
			err = -errno;
	}
	if (!err && json)
		err = received_explain_json(stdout, &chain, pretty);
	else if (!err && !html)
		err = received_explain_text(stdout, &chain);
	received_chain_free(&chain);
	if (err) {
		fprintf(stderr, "tlsgatectl: explain: writing the explanation: %s\n",
			strerror(-err));
		return 1;
	}
	return 0;
}
