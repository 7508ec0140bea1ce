// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl policy show|add|del|import|check: the rules tlsgated enforces.  Lines are Postfix
 * smtp_tls_policy_maps lines; `show` prints them back in the same form (import-able), with the
 * rule id and origin as a comment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl/print.h"
#include "policy/policy.h"

enum { CMD_SHOW, CMD_ADD, CMD_DEL, CMD_IMPORT, CMD_CHECK, CMD_HELP };

static const struct ctl_word commands[] = {
	{"show", CMD_SHOW},   {"list", CMD_SHOW},  {"add", CMD_ADD},
	{"del", CMD_DEL},     {"delete", CMD_DEL}, {"import", CMD_IMPORT},
	{"check", CMD_CHECK}, {"help", CMD_HELP},  {NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tlsgatectl policy show [inbound|outbound]\n"
		   "       tlsgatectl policy add [inbound|outbound] KEY LEVEL [ATTR=VALUE...]\n"
		   "       tlsgatectl policy del [inbound|outbound] KEY\n"
		   "       tlsgatectl policy import [inbound|outbound] FILE   (- for stdin)\n"
		   "       tlsgatectl policy check [inbound|outbound] FILE   (offline; - for stdin)\n"
		   "LEVEL := none | may | encrypt | fingerprint | verify | secure\n"
		   "ATTR  := protocols= ciphers= exclude= match= servername= (Postfix's) |\n"
		   "         mode=monitor|enforce (tlsgate's own: monitor delivers what the level\n"
		   "         would refuse, logged and counted as \"would have been refused\")\n"
		   "e.g.   tlsgatectl policy add example.org encrypt protocols=>=TLSv1.2\n");
}

struct out {
	const struct ctl_opts *o;
	bool json_rules;	/* -j and the answer is rules: a JSON array */
	struct jsonw *w;	/* the array, begun at the first rule */
	unsigned int n;
};

static struct jsonw *start_rules(const struct ctl_opts *o)
{
	struct jsonw *w = ctl_json(o);

	if (w)
		jsonw_start_array(w);
	return w;
}

static int rule_reply(void *arg, const struct nlmsghdr *nlh)
{
	struct out *out = arg;
	const char *match[64];
	struct nlproto_rule r;
	char msg[256];
	int err;

	if (nlh->nlmsg_type != NLPROTO_MSG_POLICY)
		return 0;
	err = nlproto_parse_rule(nlh, &r, match, 64, msg, sizeof(msg));
	if (err) {
		/* One rule this CLI cannot read should not hide the others. */
		fprintf(stderr, "tlsgatectl: policy: skipping a rule: %s\n", msg);
		return 0;
	}
	out->n++;
	if (out->json_rules && !out->w && !(out->w = start_rules(out->o)))
		return -ENOMEM;
	if (out->w)
		ctl_json_rule(out->w, &r);
	else
		ctl_print_rule(&r);
	return 0;
}

/* Optional leading direction word (exact: "in..." could be a key). */
static int take_dir(int *argc, char ***argv, int *dir)
{
	enum nlproto_dir d;

	if (*argc > 0 && nlproto_dir_parse((*argv)[0], &d) == 0) {
		*dir = (int)d;
		(*argc)--;
		(*argv)++;
		return 1;
	}
	return 0;
}

/*
 * Send req and print what comes back.  Commands that answer with rules (show, add) print them
 * (a JSON array with -j); the others print the daemon's summary ({"result", "message"} with -j).
 */
static int run(const struct ctl_opts *o, const char *what, struct nl_msg *req, bool rules)
{
	struct out out = { .o = o, .json_rules = o->json && rules };
	char msg[NLPROTO_TEXT_MAX];
	int rc = ctl_request(o, what, req, rule_reply, &out, msg, sizeof(msg), NULL);

	if (out.json_rules && !rc && !out.w)
		out.w = start_rules(o); /* no rules: an empty array */
	if (out.w) {
		jsonw_end_array(out.w);
		jsonw_destroy(&out.w);
	}
	if (rc)
		return rc;
	if (o->json && !rules)
		return ctl_json_ok(o, msg) ? 1 : 0;
	if (!o->json && (msg[0] || !rules))
		printf("%s\n", msg[0] ? msg : "ok");
	return 0;
}

static int do_show(int argc, char **argv, const struct ctl_opts *o)
{
	struct nl_msg *req;
	int dir = -1;

	take_dir(&argc, &argv, &dir);
	if (argc)
		return ctl_usage_error("policy show: unexpected '%s'", argv[0]);
	req = control_client_msg(NLPROTO_MSG_POLICY_GET, NLM_F_DUMP, 0);
	if (req && dir >= 0 && nla_put_u8(req, NLPROTO_A_DIR, (uint8_t)dir) < 0) {
		nlmsg_free(req);
		req = NULL;
	}
	return run(o, "policy show", req, true);
}

static int do_add(int argc, char **argv, const struct ctl_opts *o)
{
	char line[NLPROTO_LINE_MAX] = "";
	size_t len = 0;
	struct nl_msg *req;
	int dir = NLPROTO_DIR_OUTBOUND;

	take_dir(&argc, &argv, &dir);
	if (argc < 2)
		return ctl_usage_error("policy add wants a policy line: KEY LEVEL [ATTR=VALUE...]");
	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(line) - len)
			return ctl_usage_error("policy add: line longer than %d bytes",
					       NLPROTO_LINE_MAX - 1);
		len += (size_t)n;
	}
	req = control_client_msg(NLPROTO_MSG_POLICY_ADD, 0, len + 64);
	if (req && (nla_put_u8(req, NLPROTO_A_DIR, (uint8_t)dir) < 0 ||
		    nla_put_string(req, NLPROTO_A_LINE, line) < 0)) {
		nlmsg_free(req);
		req = NULL;
	}
	return run(o, "policy add", req, true);
}

static int do_del(int argc, char **argv, const struct ctl_opts *o)
{
	struct nl_msg *req;
	int dir = NLPROTO_DIR_OUTBOUND;

	take_dir(&argc, &argv, &dir);
	if (argc != 1)
		return ctl_usage_error("policy del wants one KEY (e.g. example.org)");
	if (strlen(argv[0]) >= NLPROTO_STR_MAX)
		return ctl_usage_error("policy del: key too long");
	req = control_client_msg(NLPROTO_MSG_POLICY_DEL, 0, 0);
	if (req && (nla_put_u8(req, NLPROTO_A_DIR, (uint8_t)dir) < 0 ||
		    nla_put_string(req, NLPROTO_A_KEY, argv[0]) < 0)) {
		nlmsg_free(req);
		req = NULL;
	}
	return run(o, "policy del", req, false);
}

/* The whole file (or stdin for "-"), at most NLPROTO_MAX_REQUEST bytes. */
static int read_file(const char *path, char **data, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	size_t cap = 65536, n = 0;
	char *buf = NULL;
	ssize_t r;
	int err;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (n == cap || !buf) {
			char *p;

			cap = buf ? cap * 2 : cap;
			p = realloc(buf, cap);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > NLPROTO_MAX_REQUEST - 65536) {
			err = -EFBIG;
			goto out;
		}
	}
	*data = buf;
	*len = n;
	buf = NULL;
	err = 0;
out:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return err;
}

static int do_import(int argc, char **argv, const struct ctl_opts *o)
{
	const char *what = "policy import";
	struct nl_msg *req;
	char *data = NULL;
	size_t len = 0;
	int dir = NLPROTO_DIR_OUTBOUND, err;

	take_dir(&argc, &argv, &dir);
	if (argc != 1)
		return ctl_usage_error("%s wants one FILE (- for stdin)", what);
	if (strlen(argv[0]) >= NLPROTO_STR_MAX)
		return ctl_usage_error("%s: file name too long", what);
	err = read_file(argv[0], &data, &len);
	if (err) {
		fprintf(stderr, "tlsgatectl: %s: %s: %s\n", what, argv[0], strerror(-err));
		return 1;
	}
	req = control_client_msg(NLPROTO_MSG_POLICY_IMPORT, 0, len + len / 1000 + 4096);
	if (req && (nla_put_u8(req, NLPROTO_A_DIR, (uint8_t)dir) < 0 ||
		    nla_put_string(req, NLPROTO_A_FILE_NAME, argv[0]) < 0 ||
		    nlproto_put_data(req, data, len) < 0)) {
		nlmsg_free(req);
		req = NULL;
	}
	free(data);
	return run(o, what, req, false);
}

/* Each diagnostic: text on stderr ("warning: " marks what does not refuse the table), or JSON. */
static void check_print(const struct policy_diags *d, struct jsonw *w)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct policy_diag *g = &d->v[i];

		if (w) {
			jsonw_start_object(w);
			jsonw_string_field(w, "severity", g->error ? "error" : "warning");
			jsonw_string_field(w, "message", g->msg);
			jsonw_end_object(w);
		} else {
			fprintf(stderr, "tlsgatectl: policy check: %s%s\n",
				g->error ? "" : "warning: ", g->msg);
		}
	}
	if (!w && d->nerrors + d->nwarnings > d->n) {
		bool shown = false;

		for (size_t i = 0; i < d->n; i++)
			shown |= d->v[i].error;
		/* the warnings filled the list: the error that refuses the table still shows */
		if (d->nerrors && !shown)
			fprintf(stderr, "tlsgatectl: policy check: %s\n", d->first_error);
		fprintf(stderr, "tlsgatectl: policy check: ... %zu more not shown\n",
			d->nerrors + d->nwarnings - d->n);
	}
}

/*
 * `policy check`: parsed here, with the daemon's own parser (policy/), like `nginx -t` or
 * postmap: it needs no running tlsgated, and it lists every error and warning, not only the
 * first.  It fails only when the daemon would refuse the table.
 */
static int do_check(int argc, char **argv, const struct ctl_opts *o)
{
	struct policy_diags d = { 0 };
	struct policy_rule *rules = NULL;
	struct jsonw *w = NULL;
	int dir = NLPROTO_DIR_OUTBOUND, rc;
	char *data = NULL, mon[64] = "";
	size_t len = 0, n = 0, nmon = 0;

	take_dir(&argc, &argv, &dir);
	if (argc != 1)
		return ctl_usage_error("policy check wants one FILE (- for stdin)");
	rc = read_file(argv[0], &data, &len);
	if (rc) {
		fprintf(stderr, "tlsgatectl: policy check: %s: %s\n", argv[0], strerror(-rc));
		return 1;
	}
	rc = policy_parse_table_diags(dir == NLPROTO_DIR_INBOUND ? POLICY_INBOUND : POLICY_OUTBOUND,
				      argv[0], data, len, &rules, &n, &d);
	free(data);
	/* mode=monitor rules (the table's *_policy_mode is tlsgate.conf's, not the file's) */
	for (size_t i = 0; !rc && i < n; i++)
		nmon += rules[i].monitor;
	if (!rc)
		policy_rules_free(rules, n);
	if (nmon)
		snprintf(mon, sizeof(mon), " (%zu in monitor mode)", nmon);
	if (rc == -ENOMEM) {
		fprintf(stderr, "tlsgatectl: policy check: %s: %s\n", argv[0], strerror(-rc));
		policy_diags_free(&d);
		return 1;
	}
	if (o->json && (w = ctl_json(o))) {
		jsonw_start_object(w);
		jsonw_string_field(w, "file", argv[0]);
		jsonw_name(w, "diagnostics");
		jsonw_start_array(w);
		check_print(&d, w);
		jsonw_end_array(w);
		jsonw_u64_field(w, "rules", n);
		jsonw_u64_field(w, "monitor_rules", nmon);
		jsonw_u64_field(w, "errors", d.nerrors);
		jsonw_u64_field(w, "warnings", d.nwarnings);
		jsonw_string_field(w, "result", rc ? "error" : "ok");
		jsonw_end_object(w);
		jsonw_destroy(&w);
	} else if (!o->json) {
		check_print(&d, NULL);
		if (rc)
			fprintf(stderr, "tlsgatectl: policy check: %s: %zu error%s, %zu warning%s\n",
				argv[0], d.nerrors, d.nerrors == 1 ? "" : "s", d.nwarnings,
				d.nwarnings == 1 ? "" : "s");
		else
			printf("%s: %zu rules%s, no errors, %zu warning%s\n", argv[0], n, mon,
			       d.nwarnings, d.nwarnings == 1 ? "" : "s");
	}
	policy_diags_free(&d);
	return rc ? 1 : 0;
}

int ctl_policy(int argc, char **argv, const struct ctl_opts *o)
{
	int cmd = argc ? ctl_choose(argv[0], commands, "policy command") : CMD_SHOW;

	if (argc) {
		argc--;
		argv++;
	}
	switch (cmd) {
	case CMD_SHOW:
		return do_show(argc, argv, o);
	case CMD_ADD:
		return do_add(argc, argv, o);
	case CMD_DEL:
		return do_del(argc, argv, o);
	case CMD_IMPORT:
		return do_import(argc, argv, o);
	case CMD_CHECK:
		return do_check(argc, argv, o);
	case CMD_HELP:
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
}
