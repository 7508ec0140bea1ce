// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl/stats_daemon.c: the daemon's counters as tlsgatectl prints them, from a METRICS message
 * as the daemon sends it: one line per family in text (several labels: total, then the samples
 * that are not zero), JSON nested by label values, and Prometheus lines with escapes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/msg.h>

#include "ctl/stats.h"

static const struct nlproto_label dir[] = {{"direction", "outbound"}, {"direction", "inbound"}};
static const struct nlproto_label res[][3] = {
	{{"policy", "sts"}, {"result", "certificate-expired"}, {"outcome", "refused"}},
	{{"policy", "sts"}, {"result", "certificate-expired"}, {"outcome", "would_fail"}},
	{{"policy", "sts"}, {"result", "validation-failure"}, {"outcome", "refused"}},
	{{"policy", "tlsa"}, {"result", "dane-required"}, {"outcome", "refused"}},
};
static const struct nlproto_label odd = {"why", "a \"quoted\\\" \nvalue"};

/* The counters as a METRICS message, decoded into d as ctl_stats_daemon_get would. */
static void daemon_with_counters(struct ctl_stats_daemon *d)
{
	const struct nlproto_sample one = {NULL, 0, 3};
	const struct nlproto_sample sess[] = {{&dir[0], 1, 5}, {&dir[1], 1, 0}};
	const struct nlproto_sample fail[] = {
		{res[0], 3, 2}, {res[1], 3, 0}, {res[2], 3, 4}, {res[3], 3, 1}};
	const struct nlproto_sample o = {&odd, 1, 1};
	const struct nlproto_metric mf[] = {
		{"sessions", "counter", "Sessions.", sess, 2},
		{"sessions_active", "gauge", "Open now.", &one, 1},
		{"policy_result", "counter", "Failures\nby result \\ type.", fail, 4},
		{"odd", "summary_of_sorts", NULL, &o, 1},
	};
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 1, 0, 0);
	char msg[256];

	memset(d, 0, sizeof(*d));
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(mf) / sizeof(mf[0]); i++)
		assert_int_equal(nlproto_put_metric(m, &mf[i]), 0);
	d->reply = malloc(nlmsg_hdr(m)->nlmsg_len);
	memcpy(d->reply, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
	assert_int_equal(nlproto_parse_metrics(d->reply, &d->ms, msg, sizeof(msg)), 0);
	d->up = true;
}

/* What fn printed on stdout. */
static char *captured(void (*fn)(const struct ctl_stats_daemon *), const struct ctl_stats_daemon *d)
{
	FILE *f = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char *buf = calloc(1, 16384);

	assert_non_null(f);
	fflush(stdout);
	dup2(fileno(f), STDOUT_FILENO);
	fn(d);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	assert_true(fread(buf, 1, 16383, f) > 0);
	fclose(f);
	return buf;
}

static void json(const struct ctl_stats_daemon *d)
{
	struct jsonw *w = jsonw_new(stdout);

	jsonw_start_object(w);
	ctl_stats_daemon_json(w, d);
	jsonw_end_object(w);
	jsonw_destroy(&w);
}

static void test_text(void **state)
{
	struct ctl_stats_daemon d;
	char *out;

	(void)state;
	daemon_with_counters(&d);
	out = captured(ctl_stats_daemon_text, &d);
	assert_string_equal(out, "daemon:\n"
				 "    sessions                     outbound 5 inbound 0\n"
				 "    sessions_active              3\n"
				 "    policy_result                total 7\n"
				 "        sts certificate-expired refused 2\n"
				 "        sts validation-failure refused 4\n"
				 "        tlsa dane-required refused 1\n"
				 "    odd                          a \"quoted\\\" \nvalue 1\n");
	free(out);
	ctl_stats_daemon_free(&d);

	memset(&d, 0, sizeof(d));
	strcpy(d.why, "not running");
	out = captured(ctl_stats_daemon_text, &d);
	assert_string_equal(out, "daemon: not running\n");
	free(out);
}

static void test_json(void **state)
{
	struct ctl_stats_daemon d;
	char *out;

	(void)state;
	daemon_with_counters(&d);
	out = captured(json, &d);
	assert_string_equal(out, "{\"daemon\":{\"running\":true,\"counters\":{"
				 "\"sessions\":{\"outbound\":5,\"inbound\":0},"
				 "\"sessions_active\":3,"
				 "\"policy_result\":{\"sts\":{"
				 "\"certificate-expired\":{\"refused\":2,\"would_fail\":0},"
				 "\"validation-failure\":{\"refused\":4}},"
				 "\"tlsa\":{\"dane-required\":{\"refused\":1}}},"
				 "\"odd\":{\"a \\\"quoted\\\\\\\" \\nvalue\":1}}}}\n");
	free(out);
	ctl_stats_daemon_free(&d);

	memset(&d, 0, sizeof(d));
	strcpy(d.why, "not running");
	out = captured(json, &d);
	assert_string_equal(out, "{\"daemon\":{\"running\":false,\"error\":\"not running\"}}\n");
	free(out);
}

static void test_prometheus(void **state)
{
	struct ctl_stats_daemon d;
	char *out;

	(void)state;
	daemon_with_counters(&d);
	out = captured(ctl_stats_daemon_prometheus, &d);
	assert_non_null(strstr(out, "tlsgate_daemon_up 1\n"
				    "# HELP tlsgate_daemon_sessions_total Sessions.\n"
				    "# TYPE tlsgate_daemon_sessions_total counter\n"
				    "tlsgate_daemon_sessions_total{direction=\"outbound\"} 5\n"));
	assert_non_null(strstr(out, "# TYPE tlsgate_daemon_sessions_active gauge\n"
				    "tlsgate_daemon_sessions_active 3\n"));
	/* help: \\ and \n escaped */
	assert_non_null(strstr(out, "# HELP tlsgate_daemon_policy_result_total "
				    "Failures\\nby result \\\\ type.\n"));
	assert_non_null(strstr(out, "tlsgate_daemon_policy_result_total{policy=\"tlsa\","
				    "result=\"dane-required\",outcome=\"refused\"} 1\n"));
	/* an unknown type is untyped and keeps its name; label values escaped */
	assert_non_null(strstr(out,
			       "# HELP tlsgate_daemon_odd odd\n"
			       "# TYPE tlsgate_daemon_odd untyped\n"
			       "tlsgate_daemon_odd{why=\"a \\\"quoted\\\\\\\" \\nvalue\"} 1\n"));
	free(out);
	ctl_stats_daemon_free(&d);

	memset(&d, 0, sizeof(d));
	out = captured(ctl_stats_daemon_prometheus, &d);
	assert_string_equal(out, "# HELP tlsgate_daemon_up Whether tlsgated answered with its "
				 "counters (1) or not (0).\n# TYPE tlsgate_daemon_up gauge\n"
				 "tlsgate_daemon_up 0\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
