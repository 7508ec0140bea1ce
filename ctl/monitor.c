// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl monitor [session|policy|drop|all...]: a live stream of tlsgated's events, one line
 * each (one JSON object per line with -j), like `ip monitor`.  Runs until interrupted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl/print.h"

enum { F_SESSION = 1, F_POLICY = 2, F_DROP = 4, F_ALL = 7, F_HELP = 8 };

static const struct ctl_word filters[] = {
	{"all", F_ALL},	  {"session", F_SESSION}, {"policy", F_POLICY},
	{"drop", F_DROP}, {"help", F_HELP},	  {NULL, 0},
};

static int filter_of(enum nlproto_event_type t)
{
	switch (t) {
	case NLPROTO_EV_SESSION_START:
	case NLPROTO_EV_SESSION_TLS:
	case NLPROTO_EV_SESSION_END:
		return F_SESSION;
	case NLPROTO_EV_POLICY:
		return F_POLICY;
	case NLPROTO_EV_DROP:
		return F_DROP;
	default:
		return F_ALL; /* newer types: shown unless filtered to known ones */
	}
}

static void type_name(const struct nlproto_event *ev, char *buf, size_t len)
{
	if (ev->type > 0 && ev->type < __NLPROTO_EV_END)
		snprintf(buf, len, "%s", nlproto_event_name(ev->type));
	else
		snprintf(buf, len, "event-%u", (unsigned int)ev->type);
}

static void print_text(const struct nlproto_event *ev)
{
	const struct nlproto_session *s = ev->session;
	char t[40], type[32], a[1200], b[1200];

	ctl_time_str(ev->time_ms, t, sizeof(t));
	type_name(ev, type, sizeof(type));
	printf("%s %s", t, type);
	if (s)
		printf(" session %" PRIu64, s->id);
	if (s && ev->type == NLPROTO_EV_SESSION_START) {
		ctl_endpoint_str(NULL, s->client_addr, s->client_port, a, sizeof(a));
		ctl_endpoint_str(s->dest_name, s->dest_addr, s->dest_port, b, sizeof(b));
		printf(" %s %s -> %s", nlproto_dir_name(s->role), a, b);
	}
	if (s && ev->type == NLPROTO_EV_SESSION_TLS)
		printf(" %s %s ktls tx=%s rx=%s", s->tls_version ? s->tls_version : "-",
		       s->cipher ? s->cipher : "-", s->ktls_tx ? s->ktls_tx : "-",
		       s->ktls_rx ? s->ktls_rx : "-");
	if (s && ev->type == NLPROTO_EV_SESSION_END)
		printf(" c2s %" PRIu64 " s2c %" PRIu64, s->bytes_c2s, s->bytes_s2c);
	if (ev->src || ev->dst)
		printf(" %s -> %s", ev->src ? ev->src : "?", ev->dst ? ev->dst : "?");
	if (ev->rule_id)
		printf(" rule %u", ev->rule_id);
	if (ev->level)
		printf(" %s", ev->level);
	if (ev->subject)
		printf(" %s", ev->subject);
	if (ev->detail)
		printf(" (%s)", ev->detail);
	putchar('\n');
}

static void print_json(const struct ctl_opts *o, const struct nlproto_event *ev)
{
	struct jsonw *w = ctl_json(o);
	char t[40], type[32];

	if (!w)
		return;
	ctl_time_str(ev->time_ms, t, sizeof(t));
	type_name(ev, type, sizeof(type));
	jsonw_start_object(w);
	jsonw_string_field(w, "time", t);
	jsonw_string_field(w, "type", type);
	if (ev->session) {
		jsonw_name(w, "session");
		jsonw_start_object(w);
		ctl_json_session_fields(w, ev->session);
		jsonw_end_object(w);
	}
	if (ev->rule_id)
		jsonw_u64_field(w, "rule", ev->rule_id);
	if (ev->level)
		jsonw_string_field(w, "level", ev->level);
	if (ev->subject)
		jsonw_string_field(w, "subject", ev->subject);
	if (ev->detail)
		jsonw_string_field(w, "detail", ev->detail);
	if (ev->src)
		jsonw_string_field(w, "src", ev->src);
	if (ev->dst)
		jsonw_string_field(w, "dst", ev->dst);
	jsonw_end_object(w);
	jsonw_destroy(&w); /* one object per line (JSON Lines) */
}

int ctl_monitor(int argc, char **argv, const struct ctl_opts *o)
{
	struct control_monitor *m = NULL;
	struct nlproto_session sess;
	struct nlproto_event ev;
	char msg[512];
	int want = 0, err;

	for (int i = 0; i < argc; i++) {
		int f = ctl_choose(argv[i], filters, "monitor object");

		if (f == F_HELP) {
			printf("Usage: tlsgatectl [-j] monitor [all | session | policy | "
			       "drop]...\n");
			return 0;
		}
		if (f < 0)
			return 2;
		want |= f;
	}
	if (!want)
		want = F_ALL;
	err = control_monitor_open(o->run_dir ? o->run_dir : CTL_RUN_DIR, &m, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsgatectl: monitor: %s\n", msg);
		return 1;
	}
	/* Each event as it comes, also into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		err = control_monitor_next(m, -1, &ev, &sess, msg, sizeof(msg));
		if (err == -ENOBUFS) {
			fprintf(stderr, "tlsgatectl: monitor: events lost (reading too slowly)\n");
			continue;
		}
		if (err)
			break;
		if (!(filter_of(ev.type) & want))
			continue;
		if (o->json)
			print_json(o, &ev);
		else
			print_text(&ev);
	}
	fprintf(stderr, "tlsgatectl: monitor: %s\n", msg);
	control_monitor_close(m);
	return 1;
}
