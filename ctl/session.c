// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl session list|show ID|kill ID: the relay's live SMTP sessions, a table like ss(8)
 * (-s adds bytes, age and cipher), one session in detail, or ending one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl/print.h"

enum { CMD_LIST, CMD_SHOW, CMD_KILL, CMD_HELP };

static const struct ctl_word commands[] = {
	{"list", CMD_LIST}, {"ls", CMD_LIST},	{"show", CMD_SHOW},
	{"kill", CMD_KILL}, {"help", CMD_HELP}, {NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl [-s] session list\n"
		   "       tlsgatectl session show ID\n"
		   "       tlsgatectl session kill ID\n");
}

struct out {
	const struct ctl_opts *o;
	struct jsonw *w;
	unsigned int n;
	bool detail;
};

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void age_str(uint64_t start_ms, char *buf, size_t len)
{
	uint64_t now = now_ms();

	if (!start_ms) {
		snprintf(buf, len, "-");
		return;
	}
	ctl_duration_str(now > start_ms ? (now - start_ms) / 1000 : 0, buf, len);
}

static void print_header(const struct ctl_opts *o)
{
	printf("%-6s %-8s %-24s %-40s %-10s %-8s %-9s %-12s", "ID", "Role", "Client", "Destination",
	       "State", "TLS", "kTLS", "Rule");
	if (o->stats)
		printf(" %-12s %-12s %-10s %s", "Bytes-c2s", "Bytes-s2c", "Age", "Cipher");
	putchar('\n');
}

static void print_row(const struct ctl_opts *o, const struct nlproto_session *s)
{
	char client[96], dest[1200], ktls[64], rule[48], age[32];

	ctl_endpoint_str(NULL, s->client_addr, s->client_port, client, sizeof(client));
	ctl_endpoint_str(s->dest_name, s->dest_addr, s->dest_port, dest, sizeof(dest));
	snprintf(ktls, sizeof(ktls), "%s/%s", or_dash(s->ktls_tx), or_dash(s->ktls_rx));
	if (s->rule_id)
		snprintf(rule, sizeof(rule), "%u/%s", s->rule_id, or_dash(s->level));
	else
		snprintf(rule, sizeof(rule), "%s", or_dash(s->level));
	printf("%-6" PRIu64 " %-8s %-24s %-40s %-10s %-8s %-9s %-12s", s->id,
	       nlproto_dir_name(s->role), client, dest, or_dash(s->state), or_dash(s->tls_version),
	       ktls, rule);
	if (o->stats) {
		age_str(s->start_ms, age, sizeof(age));
		printf(" %-12" PRIu64 " %-12" PRIu64 " %-10s %s", s->bytes_c2s, s->bytes_s2c, age,
		       or_dash(s->cipher));
	}
	putchar('\n');
}

static void print_detail(const struct nlproto_session *s)
{
	char client[96], dest[1200], start[40], age[32];

	ctl_endpoint_str(NULL, s->client_addr, s->client_port, client, sizeof(client));
	ctl_endpoint_str(s->dest_name, s->dest_addr, s->dest_port, dest, sizeof(dest));
	ctl_time_str(s->start_ms, start, sizeof(start));
	age_str(s->start_ms, age, sizeof(age));
	printf("session %" PRIu64 "\n", s->id);
	printf("  role         %s\n", nlproto_dir_name(s->role));
	printf("  client       %s\n", client);
	printf("  destination  %s\n", dest);
	printf("  state        %s\n", or_dash(s->state));
	printf("  tls          %s %s%s\n", or_dash(s->tls_version), or_dash(s->cipher),
	       s->tls_resumed ? " resumed" : "");
	printf("  ktls         tx %s rx %s\n", or_dash(s->ktls_tx), or_dash(s->ktls_rx));
	if (s->ktls_conf)
		printf("  kernel       %s\n", s->ktls_conf);
	if (s->conn_uses > 1)
		printf("  connection   reused (use %u of the connection to the destination)\n",
		       s->conn_uses);
	if (s->rule_id)
		printf("  policy       rule %u (%s)\n", s->rule_id, or_dash(s->level));
	else
		printf("  policy       %s\n", or_dash(s->level));
	printf("  bytes        client->destination %" PRIu64 ", destination->client %" PRIu64 "\n",
	       s->bytes_c2s, s->bytes_s2c);
	printf("  started      %s (%s ago)\n", start, age);
}

static int session_reply(void *arg, const struct nlmsghdr *nlh)
{
	struct out *out = arg;
	struct nlproto_session s;
	char msg[256];

	if (nlh->nlmsg_type != NLPROTO_MSG_SESSION)
		return 0;
	if (nlproto_parse_session(nlh, &s, msg, sizeof(msg))) {
		fprintf(stderr, "tlsgatectl: session: skipping an entry: %s\n", msg);
		return 0;
	}
	/* session show -j: an object, written only once there is one to write. */
	if (out->o->json && out->detail && !out->w)
		out->w = ctl_json(out->o);
	if (out->w) {
		jsonw_start_object(out->w);
		ctl_json_session_fields(out->w, &s);
		jsonw_end_object(out->w);
	} else if (out->detail) {
		print_detail(&s);
	} else {
		if (!out->n)
			print_header(out->o);
		print_row(out->o, &s);
	}
	out->n++;
	return 0;
}

static int parse_id(const char *s, uint64_t *id)
{
	char *end;

	errno = 0;
	*id = strtoull(s, &end, 10);
	return errno || end == s || *end || *id == 0 || s[0] == '-' ? -EINVAL : 0;
}

static int call(const struct ctl_opts *o, const char *what, struct nl_msg *req, struct out *out)
{
	char msg[NLPROTO_TEXT_MAX];
	int rc = ctl_request(o, what, req, session_reply, out, msg, sizeof(msg), NULL);

	if (!rc && msg[0] && !o->json)
		printf("%s\n", msg);
	return rc;
}

static int do_list(int argc, char **argv, const struct ctl_opts *o)
{
	struct out out = {.o = o};
	int rc;

	if (argc)
		return ctl_usage_error("session list: unexpected '%s'", argv[0]);
	if (o->json) {
		out.w = ctl_json(o);
		jsonw_start_array(out.w);
	}
	rc = call(o, "session list", control_client_msg(NLPROTO_MSG_SESSION_GET, NLM_F_DUMP, 0), &out);
	if (out.w) {
		jsonw_end_array(out.w);
		jsonw_destroy(&out.w);
	}
	return rc;
}

static int do_one(int argc, char **argv, const struct ctl_opts *o, bool kill)
{
	const char *what = kill ? "session kill" : "session show";
	struct out out = {.o = o, .detail = true};
	struct nl_msg *req;
	uint64_t id;
	int rc;

	if (argc != 1 || parse_id(argv[0], &id))
		return ctl_usage_error("%s wants a session ID (a number from session list)", what);
	req = control_client_msg(kill ? NLPROTO_MSG_SESSION_KILL : NLPROTO_MSG_SESSION_GET, 0, 0);
	if (req && nla_put_u64(req, NLPROTO_A_SESS_ID, id) < 0) {
		nlmsg_free(req);
		req = NULL;
	}
	rc = call(o, what, req, &out);
	if (out.w)
		jsonw_destroy(&out.w);
	return rc;
}

int ctl_session(int argc, char **argv, const struct ctl_opts *o)
{
	int cmd = argc ? ctl_choose(argv[0], commands, "session command") : CMD_LIST;

	if (argc) {
		argc--;
		argv++;
	}
	switch (cmd) {
	case CMD_LIST:
		return do_list(argc, argv, o);
	case CMD_SHOW:
		return do_one(argc, argv, o, false);
	case CMD_KILL:
		return do_one(argc, argv, o, true);
	case CMD_HELP:
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
}
