// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl sts show|refresh|purge DOMAIN: the MTA-STS policy tlsgated has cached for a
 * domain and how its last refresh went.  `refresh` waits for the refresh to end (it runs in the
 * daemon, asynchronously) and prints the outcome like `show`; it exits 1 when the refresh failed
 * (a cached policy stays in force all the same).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl/print.h"

#define STS_MAX_MX 256
#define REFRESH_WAIT_MS 30000
#define POLL_MS 50

enum { CMD_SHOW, CMD_REFRESH, CMD_PURGE, CMD_HELP };

static const struct ctl_word commands[] = {
	{"show", CMD_SHOW}, {"refresh", CMD_REFRESH}, {"purge", CMD_PURGE},
	{"help", CMD_HELP}, {NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl sts show DOMAIN\n"
		   "       tlsgatectl sts refresh DOMAIN [force]   check the TXT id now; fetch the\n"
		   "                                   policy when it changed, is due, or forced\n"
		   "       tlsgatectl sts purge DOMAIN   forget the cached policy (disk too)\n");
}

struct sts_out {
	bool got;
	bool pending;
	bool failed;
	const struct ctl_opts *o;
	bool print;
};

static void print_time(const char *label, uint64_t t)
{
	char buf[64];

	ctl_time_str(t * 1000, buf, sizeof(buf));
	printf("  %-13s %s\n", label, t ? buf : "-");
}

static void print_sts(const struct ctl_opts *o, const struct nlproto_sts *s)
{
	if (o->json) {
		struct jsonw *w = ctl_json(o);

		if (!w)
			return;
		jsonw_start_object(w);
		jsonw_string_field(w, "domain", s->domain);
		jsonw_name(w, "policy");
		if (s->id) {
			jsonw_start_object(w);
			jsonw_string_field(w, "id", s->id);
			jsonw_string_field(w, "mode", s->mode);
			jsonw_name(w, "mx");
			jsonw_start_array(w);
			for (size_t i = 0; i < s->nmx; i++)
				jsonw_string(w, s->mx[i]);
			jsonw_end_array(w);
			jsonw_u64_field(w, "max_age", s->max_age);
			jsonw_u64_field(w, "fetched", s->fetched);
			jsonw_u64_field(w, "expires", s->expires);
			jsonw_bool_field(w, "expired", s->expires <= (uint64_t)time(NULL));
			jsonw_end_object(w);
		} else {
			jsonw_null(w);
		}
		jsonw_bool_field(w, "pending", s->pending);
		jsonw_string_field(w, "error", s->error ? s->error : "");
		jsonw_u64_field(w, "last_attempt", s->last_attempt);
		jsonw_u64_field(w, "last_check", s->last_check);
		jsonw_u64_field(w, "failures", s->failures);
		jsonw_u64_field(w, "fetches", s->fetches);
		jsonw_end_object(w);
		jsonw_destroy(&w);
		return;
	}
	printf("%s\n", s->domain);
	if (s->id) {
		printf("  %-13s %s%s\n", "mode", s->mode,
		       s->expires <= (uint64_t)time(NULL) ? " (expired)" : "");
		printf("  %-13s %s\n", "id", s->id);
		for (size_t i = 0; i < s->nmx; i++)
			printf("  %-13s %s\n", "mx", s->mx[i]);
		printf("  %-13s %u\n", "max_age", s->max_age);
		print_time("fetched", s->fetched);
		print_time("expires", s->expires);
	} else {
		printf("  %-13s %s\n", "policy", "none cached");
	}
	print_time("last attempt", s->last_attempt);
	print_time("last check", s->last_check);
	if (s->pending)
		printf("  %-13s %s\n", "refresh", "under way");
	if (s->error && s->error[0])
		printf("  %-13s %s (%u in a row)\n", "error", s->error, s->failures);
}

static int sts_reply(void *arg, const struct nlmsghdr *nlh)
{
	struct sts_out *out = arg;
	const char *mx[STS_MAX_MX];
	struct nlproto_sts s;
	char msg[256];
	int err;

	if (nlh->nlmsg_type != NLPROTO_MSG_STS)
		return 0;
	err = nlproto_parse_sts(nlh, &s, mx, STS_MAX_MX, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsgatectl: sts: %s\n", msg);
		return err;
	}
	out->got = true;
	out->pending = s.pending;
	out->failed = s.error && s.error[0];
	if (out->print)
		print_sts(out->o, &s);
	return 0;
}

static int show(const struct ctl_opts *o, const char *domain, struct sts_out *out)
{
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_STS_GET, 0, 0);
	char msg[NLPROTO_TEXT_MAX];

	if (req && nla_put_string(req, NLPROTO_A_STS_DOMAIN, domain)) {
		nlmsg_free(req);
		req = NULL;
	}
	return ctl_request(o, "sts show", req, sts_reply, out, msg, sizeof(msg), NULL);
}

static int refresh(const struct ctl_opts *o, const char *domain, bool force)
{
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_STS_REFRESH, 0, 0);
	struct sts_out out = { .o = o };
	char msg[NLPROTO_TEXT_MAX];
	int rc;

	if (req && (nla_put_string(req, NLPROTO_A_STS_DOMAIN, domain) ||
		    (force && nla_put_u8(req, NLPROTO_A_STS_FORCE, 1)))) {
		nlmsg_free(req);
		req = NULL;
	}
	rc = ctl_request(o, "sts refresh", req, NULL, NULL, msg, sizeof(msg), NULL);
	if (rc)
		return rc;
	/* The daemon answers at once; the refresh itself ends within its own deadline. */
	for (int waited = 0; waited < REFRESH_WAIT_MS; waited += POLL_MS) {
		struct timespec ts = { 0, POLL_MS * 1000000L };

		out.got = false;
		rc = show(o, domain, &out);
		if (rc)
			return rc;
		if (out.got && !out.pending)
			break;
		nanosleep(&ts, NULL);
	}
	out.print = true;
	rc = show(o, domain, &out);
	if (rc)
		return rc;
	if (out.pending)
		return ctl_fail("sts refresh", -ETIMEDOUT, "still under way");
	return out.failed ? 1 : 0;
}

int ctl_sts(int argc, char **argv, const struct ctl_opts *o)
{
	struct sts_out out = { .o = o, .print = true };
	char msg[NLPROTO_TEXT_MAX];
	struct nl_msg *req;
	int cmd, rc;

	if (!argc)
		return ctl_usage_error("sts wants a command: tlsgatectl sts show|refresh|purge DOMAIN");
	cmd = ctl_choose(argv[0], commands, "sts command");
	if (cmd < 0)
		return 2;
	if (cmd == CMD_HELP) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || argc > (cmd == CMD_REFRESH ? 3 : 2) ||
	    (argc == 3 && strcmp(argv[2], "force"))) {
		usage(stderr);
		return 2;
	}
	switch (cmd) {
	case CMD_SHOW:
		return show(o, argv[1], &out);
	case CMD_REFRESH:
		return refresh(o, argv[1], argc == 3);
	default:
		req = control_client_msg(NLPROTO_MSG_STS_PURGE, 0, 0);
		if (req && nla_put_string(req, NLPROTO_A_STS_DOMAIN, argv[1])) {
			nlmsg_free(req);
			req = NULL;
		}
		rc = ctl_request(o, "sts purge", req, NULL, NULL, msg, sizeof(msg), NULL);
		if (rc)
			return rc;
		if (o->json)
			return ctl_json_ok(o, msg) ? 1 : 0;
		printf("sts purge: %s\n", msg[0] ? msg : "ok");
		return 0;
	}
}
