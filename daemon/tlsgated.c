// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgated: the SMTP-aware TLS relay.  For now: start-up probes (`tlsgated --probe`).
 */
#include "ktls/ktls.h"
#include "lib/log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define TLSGATE_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgated [-d] [--probe] [--version]\n"
		   "  --probe    report what the kernel offers (kTLS) and exit\n"
		   "  -d         debug logging\n");
}

static int do_probe(void)
{
	struct ktls_caps caps;
	char line[256];
	int err;

	err = ktls_probe(&caps);
	if (err) {
		log_err("ktls probe failed: %s", strerror(-err));
		return 1;
	}
	ktls_caps_format(&caps, line, sizeof(line));
	printf("ktls: %s\n", line);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", no_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, probe = 0;

	tg_log_init("tlsgated", 0);
	while ((c = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			tg_log_set_level(TG_LOG_DEBUG);
			break;
		case 'P':
			probe = 1;
			break;
		case 'V':
			printf("tlsgated %s\n", TLSGATE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (probe)
		return do_probe();
	fprintf(stderr, "tlsgated: the relay is not implemented yet; try --probe\n");
	return 2;
}
