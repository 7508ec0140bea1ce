// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl: configure the running tlsgated over netlink and read its BPF metrics.
 */
#include <stdio.h>
#include <string.h>

#define TLSGATE_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		   "       tlsgatectl version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version")) {
		printf("tlsgatectl %s\n", TLSGATE_VERSION);
		return 0;
	}
	fprintf(stderr, "tlsgatectl: unknown object \"%s\"; try \"tlsgatectl help\"\n", argv[1]);
	usage(stderr);
	return 2;
}
