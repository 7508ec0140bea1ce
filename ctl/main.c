// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl: configure the running tlsgated over netlink and read its BPF metrics.
 *
 *   tlsgatectl [-j] [-p] [-s] [-v] [--run-dir DIR] [--pin-dir DIR] [--timeout SEC]
 *              OBJECT COMMAND [ARGS]
 *
 * iproute2 style: OBJECT and COMMAND may be abbreviated to any unique prefix
 * (`tlsgatectl pol sh`); each object has its handler in ctl/OBJECT.c (see ctl.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/runfile.h"
#include "ctl/ctl.h"
#include "control/nlproto.h"

#include "lib/version.h"
#define DEFAULT_TIMEOUT_MS 10000

enum object {
	OBJ_POLICY,
	OBJ_SESSION,
	OBJ_MONITOR,
	OBJ_STATUS,
	OBJ_RELOAD,
	OBJ_LOG,
	OBJ_STATS,
	OBJ_EXPLAIN,
	OBJ_STS,
	OBJ_DANE,
	OBJ_TLSRPT,
	OBJ_REPORT,
	OBJ_HELP,
	OBJ_VERSION,
};

static const struct ctl_word objects[] = {
	{"policy", OBJ_POLICY},
	{"session", OBJ_SESSION},
	{"monitor", OBJ_MONITOR},
	{"status", OBJ_STATUS},
	{"reload", OBJ_RELOAD},
	{"log", OBJ_LOG},
	{"stats", OBJ_STATS},
	{"explain", OBJ_EXPLAIN},
	{"sts", OBJ_STS},
	{"dane", OBJ_DANE},
	{"tlsrpt", OBJ_TLSRPT},
	{"report", OBJ_REPORT},
	{"help", OBJ_HELP},
	{"version", OBJ_VERSION},
	{NULL, 0},
};

static void usage(FILE *f)
{
	static const char text[] =
		"Usage: tlsgatectl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"OBJECT := { policy session monitor status reload log stats explain sts dane tlsrpt }\n"
		"OBJECT := { policy session monitor status reload log stats explain sts dane report }\n"
		"  policy show [inbound|outbound]\n"
		"  policy add [inbound|outbound] KEY LEVEL [ATTR=VALUE...]   (a Postfix line)\n"
		"  policy del [inbound|outbound] KEY\n"
		"  policy import [inbound|outbound] FILE    replace the table, all or nothing\n"
		"  policy check [inbound|outbound] FILE     parse only (offline)\n"
		"  session list | show ID | kill ID\n"
		"  monitor [session|policy|drop]...   live events\n"
		"  status                             version, uptime, kTLS, offload, counts\n"
		"  reload                             re-read configuration and policy files\n"
		"  log level [err|warn|info|debug]\n"
		"  stats [show] [rule ID] [prometheus] BPF metrics (daemon may be down), daemon's counters\n"
		"  explain [FILE | -]                 what a message's Received: headers say\n"
		"  sts show|refresh|purge DOMAIN      MTA-STS: cached policy, fetch now, forget\n"
		"  dane check DOMAIN [--host] [--connect]   what DANE makes the gateway do, and why\n"
		"  tlsrpt status|flush                TLS reports (RFC 8460): counts, spool, send now\n"
		"  report [--since 7d] [--domain D] [--suggest] [--html FILE]   TLS posture per domain\n"
		"                                     (from the files: works with the daemon down)\n"
		"OPTIONS := { -j[son] | -p[retty] | -s[tats] | -v[erbose] | --run-dir DIR |\n"
		"             --pin-dir DIR | --timeout SEC | -V[ersion] | -h[elp] }\n"
		"Any unique prefix of an object or command will do: tlsgatectl pol sh\n";

	fputs(text, f);
}

static int dispatch(int obj, int argc, char **argv, const struct ctl_opts *o)
{
	switch (obj) {
	case OBJ_POLICY:
		return ctl_policy(argc, argv, o);
	case OBJ_SESSION:
		return ctl_session(argc, argv, o);
	case OBJ_MONITOR:
		return ctl_monitor(argc, argv, o);
	case OBJ_STATUS:
		return ctl_status(argc, argv, o);
	case OBJ_RELOAD:
		return ctl_reload(argc, argv, o);
	case OBJ_LOG:
		return ctl_log(argc, argv, o);
	case OBJ_STATS:
		return ctl_stats(argc, argv, o);
	case OBJ_EXPLAIN:
		return ctl_explain(argc, argv, o);
	case OBJ_STS:
		return ctl_sts(argc, argv, o);
	case OBJ_DANE:
		return ctl_dane(argc, argv, o);
	case OBJ_TLSRPT:
		return ctl_tlsrpt(argc, argv, o);
	case OBJ_REPORT:
		return ctl_report(argc, argv, o);
	case OBJ_HELP:
		usage(stdout);
		return 0;
	case OBJ_VERSION:
		printf("tlsgatectl %s (control protocol %d)\n", TLSGATE_VERSION, NLPROTO_VERSION);
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"stats", no_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"run-dir", required_argument, NULL, 'R'},
		{"pin-dir", required_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 'T'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ctl_opts o = {
		.bpf_pin_dir = "/sys/fs/bpf/tlsgate",
		.run_dir = CTL_RUN_DIR,
		.timeout_ms = DEFAULT_TIMEOUT_MS,
	};
	int c, obj;

	/* '+': stop at the first non-option, so OBJECT's own arguments are left alone. */
	while ((c = getopt_long(argc, argv, "+jpsvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'p':
			o.pretty = true;
			break;
		case 's':
			o.stats = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'R':
			o.run_dir = optarg;
			break;
		case 'P':
			o.bpf_pin_dir = optarg;
			break;
		case 'T': {
			char *end;
			double s = strtod(optarg, &end);

			if (*end || !(s > 0 && s <= 3600)) {
				fprintf(stderr,
					"tlsgatectl: --timeout wants seconds (0 < SEC <= 3600)\n");
				return 2;
			}
			o.timeout_ms = (int)(s * 1000);
			o.timeout_set = true;
			break;
		}
		case 'V':
			return dispatch(OBJ_VERSION, 0, NULL, &o);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	obj = ctl_choose(argv[optind], objects, "object");
	if (obj < 0)
		return 2;
	/* Handlers get argv from COMMAND on. */
	return dispatch(obj, argc - optind - 1, argv + optind + 1, &o);
}
