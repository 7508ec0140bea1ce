// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl tlsrpt status|flush: the TLS reporter (RFC 8460) in tlsgated -- what it has counted
 * since the day began, the reports waiting in its spool, how deliveries went; `flush` closes the
 * counts so far into reports and sends everything spooled now.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/msg.h>

#include "ctl/print.h"

enum { CMD_STATUS, CMD_FLUSH, CMD_HELP };

static const struct ctl_word commands[] = {
	{"status", CMD_STATUS}, {"flush", CMD_FLUSH}, {"help", CMD_HELP}, {NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl tlsrpt status   counts so far, reports waiting, deliveries\n"
		   "       tlsgatectl tlsrpt flush    the counts so far into reports, sent now\n");
}

static int status_reply(void *arg, const struct nlmsghdr *nlh)
{
	const struct ctl_opts *o = arg;
	struct nlproto_tlsrpt t;
	char msg[256], when[64];
	int err;

	if (nlh->nlmsg_type != NLPROTO_MSG_TLSRPT)
		return 0;
	err = nlproto_parse_tlsrpt(nlh, &t, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsgatectl: tlsrpt: %s\n", msg);
		return err;
	}
	if (o->json) {
		struct jsonw *w = ctl_json(o);

		if (!w)
			return -ENOMEM;
		jsonw_start_object(w);
		jsonw_string_field(w, "mode", t.mode);
		jsonw_u64_field(w, "since", t.day_start);
		jsonw_u64_field(w, "domains", t.domains);
		jsonw_u64_field(w, "sessions", t.sessions);
		jsonw_u64_field(w, "failures", t.failures);
		jsonw_u64_field(w, "spooled", t.spooled);
		jsonw_u64_field(w, "delivered", t.delivered);
		jsonw_u64_field(w, "given_up", t.given_up);
		jsonw_u64_field(w, "failed_attempts", t.failed_attempts);
		jsonw_u64_field(w, "datagrams", t.datagrams);
		jsonw_u64_field(w, "datagram_errors", t.datagram_errors);
		jsonw_string_field(w, "last_error", t.error ? t.error : "");
		jsonw_end_object(w);
		jsonw_destroy(&w);
		return 0;
	}
	ctl_time_str(t.day_start * 1000, when, sizeof(when));
	printf("mode            %s\n", t.mode);
	if (!strcmp(t.mode, "fleet")) {
		printf("datagrams       %llu sent, %llu not sent\n", (unsigned long long)t.datagrams,
		       (unsigned long long)t.datagram_errors);
	} else {
		printf("counting since  %s\n", when);
		printf("domains         %llu\n", (unsigned long long)t.domains);
		printf("sessions        %llu (%llu failed)\n", (unsigned long long)t.sessions,
		       (unsigned long long)t.failures);
		printf("spooled         %llu\n", (unsigned long long)t.spooled);
		printf("delivered       %llu\n", (unsigned long long)t.delivered);
		printf("failed attempts %llu\n", (unsigned long long)t.failed_attempts);
		printf("given up        %llu\n", (unsigned long long)t.given_up);
	}
	if (t.error && t.error[0])
		printf("last error      %s\n", t.error);
	return 0;
}

int ctl_tlsrpt(int argc, char **argv, const struct ctl_opts *o)
{
	char msg[NLPROTO_TEXT_MAX];
	int cmd = argc ? ctl_choose(argv[0], commands, "tlsrpt command") : CMD_STATUS;
	int rc;

	if (cmd < 0)
		return 2;
	if (cmd == CMD_HELP) {
		usage(stdout);
		return 0;
	}
	if (argc > 1) {
		usage(stderr);
		return 2;
	}
	if (cmd == CMD_STATUS)
		return ctl_request(o, "tlsrpt status", control_client_msg(NLPROTO_MSG_TLSRPT_GET, 0, 0),
				   status_reply, (void *)o, msg, sizeof(msg), NULL);
	rc = ctl_request(o, "tlsrpt flush", control_client_msg(NLPROTO_MSG_TLSRPT_FLUSH, 0, 0),
			 NULL, NULL, msg, sizeof(msg), NULL);
	if (rc)
		return rc;
	if (o->json)
		return ctl_json_ok(o, msg) ? 1 : 0;
	printf("tlsrpt flush: %s\n", msg[0] ? msg : "ok");
	return 0;
}
