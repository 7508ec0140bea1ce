// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl stats, the daemon's part: tlsgated's own counters (sessions, messages, refusals,
 * RFC 8460 verdicts), asked over the control socket and printed as they come: the daemon names
 * and labels them (control/nlproto.h, NLPROTO_MSG_METRICS), so this file knows no counter.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "control/client.h"
#include "ctl/stats.h"

#define NAME_WIDTH 28

static int metrics_reply(void *arg, const struct nlmsghdr *nlh)
{
	struct ctl_stats_daemon *d = arg;
	int err;

	if (nlh->nlmsg_type != NLPROTO_MSG_METRICS || d->reply)
		return 0;
	/* The client's receive buffer is reused: keep the message the families point into. */
	d->reply = malloc(nlh->nlmsg_len);
	if (!d->reply)
		return -ENOMEM;
	memcpy(d->reply, nlh, nlh->nlmsg_len);
	err = nlproto_parse_metrics(d->reply, &d->ms, d->why, sizeof(d->why));
	if (err)
		return err;
	d->up = true;
	return 0;
}

void ctl_stats_daemon_get(const struct ctl_opts *o, struct ctl_stats_daemon *d)
{
	struct control_client *c = NULL;
	struct nl_msg *req = NULL;
	char msg[NLPROTO_TEXT_MAX];
	int err;

	memset(d, 0, sizeof(*d));
	err = control_client_open(o->run_dir ? o->run_dir : CTL_RUN_DIR, o->timeout_ms, &c, msg,
				  sizeof(msg));
	if (err) {
		/* Said plainly: stats is often run to see why the daemon is down. */
		snprintf(d->why, sizeof(d->why), "%.*s", (int)sizeof(d->why) - 1,
			 err == -ENOENT || err == -ESRCH ? "not running" : msg);
		return;
	}
	d->running = true;
	req = control_client_msg(NLPROTO_MSG_METRICS_GET, 0, 0);
	err = req ? control_client_call(c, req, metrics_reply, d, msg, sizeof(msg)) : -ENOMEM;
	if (!err && !d->up)
		snprintf(msg, sizeof(msg), "tlsgated answered without counters");
	if (err || !d->up) {
		if (!d->why[0])
			snprintf(d->why, sizeof(d->why), "%.*s", (int)sizeof(d->why) - 1,
				 msg[0] ? msg : strerror(-err));
		d->up = false;
	}
	nlmsg_free(req);
	control_client_close(c);
}

void ctl_stats_daemon_free(struct ctl_stats_daemon *d)
{
	nlproto_metrics_free(&d->ms);
	free(d->reply);
	d->reply = NULL;
}

static uint64_t family_sum(const struct nlproto_metric *mf)
{
	uint64_t n = 0;

	for (size_t i = 0; i < mf->nsample; i++)
		n += mf->sample[i].value;
	return n;
}

/* ---- text ---------------------------------------------------------------------------------- */

/*
 * One line per family: "name value" without labels, "name  a 1 b 2" with one label (as the
 * BPF block above it); with more, the total and a line per sample that is not zero (most of
 * RFC 8460's policy/result pairs never happen).
 */
static void text_family(const struct nlproto_metric *mf)
{
	size_t nl = mf->nsample ? mf->sample[0].nlabel : 0;

	printf("    %-*s", NAME_WIDTH, mf->name);
	if (nl == 0) {
		printf(" %" PRIu64 "\n", family_sum(mf));
		return;
	}
	if (nl == 1) {
		for (size_t i = 0; i < mf->nsample; i++)
			printf(" %s %" PRIu64,
			       mf->sample[i].nlabel ? mf->sample[i].label[0].value : "-",
			       mf->sample[i].value);
		printf("\n");
		return;
	}
	printf(" total %" PRIu64 "\n", family_sum(mf));
	for (size_t i = 0; i < mf->nsample; i++) {
		if (!mf->sample[i].value)
			continue;
		printf("        ");
		for (size_t j = 0; j < mf->sample[i].nlabel; j++)
			printf("%s ", mf->sample[i].label[j].value);
		printf("%" PRIu64 "\n", mf->sample[i].value);
	}
}

void ctl_stats_daemon_text(const struct ctl_stats_daemon *d)
{
	if (!d->up) {
		printf("daemon: %s\n", d->why);
		return;
	}
	printf("daemon:\n");
	for (size_t i = 0; i < d->ms.nmetric; i++)
		text_family(&d->ms.metric[i]);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static bool same_prefix(const struct nlproto_sample *a, const struct nlproto_sample *b, size_t i)
{
	return a && i < a->nlabel && i < b->nlabel && !strcmp(a->label[i].value, b->label[i].value);
}

/*
 * A family is a number without labels, else objects keyed by its label values in order:
 * "policy_result": {"sts": {"certificate-host-mismatch": {"refused": 2, ...}}}.  Samples come
 * grouped by label values (nlproto.h), so an object is opened once per value prefix.
 */
static void json_family(struct jsonw *w, const struct nlproto_metric *mf)
{
	const struct nlproto_sample *prev = NULL;
	size_t open = 0;

	if (mf->nsample == 1 && !mf->sample[0].nlabel) {
		jsonw_u64_field(w, mf->name, mf->sample[0].value);
		return;
	}
	jsonw_name(w, mf->name);
	jsonw_start_object(w);
	for (size_t i = 0; i < mf->nsample; i++) {
		const struct nlproto_sample *s = &mf->sample[i];
		size_t common = 0;

		if (!s->nlabel)
			continue; /* a label-less sample among labelled ones has no key */
		while (common < open && common + 1 < s->nlabel && same_prefix(prev, s, common))
			common++;
		for (; open > common; open--)
			jsonw_end_object(w);
		for (; open + 1 < s->nlabel; open++) {
			jsonw_name(w, s->label[open].value);
			jsonw_start_object(w);
		}
		jsonw_u64_field(w, s->label[s->nlabel - 1].value, s->value);
		prev = s;
	}
	for (; open > 0; open--)
		jsonw_end_object(w);
	jsonw_end_object(w);
}

void ctl_stats_daemon_json(struct jsonw *w, const struct ctl_stats_daemon *d)
{
	jsonw_name(w, "daemon");
	jsonw_start_object(w);
	jsonw_bool_field(w, "running", d->up);
	if (!d->up) {
		jsonw_string_field(w, "error", d->why);
	} else {
		jsonw_name(w, "counters");
		jsonw_start_object(w);
		for (size_t i = 0; i < d->ms.nmetric; i++)
			json_family(w, &d->ms.metric[i]);
		jsonw_end_object(w);
	}
	jsonw_end_object(w);
}

/* ---- Prometheus text exposition format ------------------------------------------------------ */

/* Escapes of the exposition format: \\ and \n in help; \\, \" and \n in label values. */
static void prom_escaped(const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (quote && *s == '"')
			fputs("\\\"", stdout);
		else
			putchar(*s);
	}
}

static void prom_family(const struct nlproto_metric *mf)
{
	bool counter = mf->type && !strcmp(mf->type, "counter");
	const char *type =
		counter || (mf->type && !strcmp(mf->type, "gauge")) ? mf->type : "untyped";
	size_t len = strlen(mf->name);
	const char *total =
		counter && !(len > 6 && !strcmp(mf->name + len - 6, "_total")) ? "_total" : "";

	printf("# HELP tlsgate_daemon_%s%s ", mf->name, total);
	prom_escaped(mf->help ? mf->help : mf->name, false);
	printf("\n# TYPE tlsgate_daemon_%s%s %s\n", mf->name, total, type);
	for (size_t i = 0; i < mf->nsample; i++) {
		const struct nlproto_sample *s = &mf->sample[i];

		printf("tlsgate_daemon_%s%s", mf->name, total);
		for (size_t j = 0; j < s->nlabel; j++) {
			printf("%s%s=\"", j ? "," : "{", s->label[j].name);
			prom_escaped(s->label[j].value, true);
			printf("\"");
		}
		printf("%s %" PRIu64 "\n", s->nlabel ? "}" : "", s->value);
	}
}

void ctl_stats_daemon_prometheus(const struct ctl_stats_daemon *d)
{
	printf("# HELP tlsgate_daemon_up Whether tlsgated answered with its counters (1) or not "
	       "(0).\n# TYPE tlsgate_daemon_up gauge\ntlsgate_daemon_up %d\n",
	       d->up);
	for (size_t i = 0; d->up && i < d->ms.nmetric; i++)
		prom_family(&d->ms.metric[i]);
}
