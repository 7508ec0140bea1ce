// SPDX-License-Identifier: GPL-2.0-only
/* ctl/report_html.c: names from the traffic (domains, hosts, cipher names) never become markup;
 * the page is self-contained; numbers carry their place in report -j; a day without mail and
 * a filtered direction draw nothing wrong.  (The numbers against report -j, in a browser:
 * tests/e2e/test_report_html.sh.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/report.h"

#define DAY0 19844 /* 2024-05-01 */

#define HOSTILE "<script>alert(\"x\")</script>'&.example"
#define HOSTILE_HTML "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;.example"
#define HOSTILE_CIPHER "TLS_<b>\"bold\""

static struct report_outcome out(const char *dom, bool tls, const char *cipher)
{
	struct report_outcome o = {
		.time = (int64_t)DAY0 * 86400, .dir = REPORT_OUTBOUND, .result = REPORT_DELIVERED,
		.cert = tls ? REPORT_CERT_VERIFIED : REPORT_CERT_NONE, .rpt_result = -1,
		.new_session = true, .starttls_offered = tls, .tls = tls, .messages = 1,
		.recipients = 1,
	};

	snprintf(o.domain, sizeof(o.domain), "%s", dom);
	snprintf(o.mx, sizeof(o.mx), "mx.%s", dom);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "203.0.113.25");
	if (tls) {
		snprintf(o.tls_version, sizeof(o.tls_version), "TLSv1.3");
		snprintf(o.cipher, sizeof(o.cipher), "%s", cipher);
	}
	return o;
}

/* The page of a one-day window holding d (dir: -1 both). */
static char *page(struct posture_day *d, int dir, const char *only, int ndays)
{
	struct ctl_report_daysum days[3] = { { 0 } };
	struct ctl_report_view v = { .win = d, .days = days, .ndays = ndays,
				     .from = DAY0 - ndays + 1, .posture_dir = "/var/lib/<tg>/posture",
				     .dir = dir, .domain = only };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_true(ndays <= 3);
	days[ndays - 1].data = true;
	posture_day_sum(d, REPORT_OUTBOUND, days[ndays - 1].c[REPORT_OUTBOUND]);
	posture_day_sum(d, REPORT_INBOUND, days[ndays - 1].c[REPORT_INBOUND]);
	assert_non_null(f);
	assert_int_equal(ctl_report_html(f, &v), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static struct posture_day *sample(void)
{
	struct posture_day *d;
	struct report_outcome o;

	assert_int_equal(posture_day_new(DAY0, 100, &d), 0);
	o = out("example.net", true, "TLS_AES_256_GCM_SHA384");
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out(HOSTILE, true, HOSTILE_CIPHER);
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out(HOSTILE, false, "");
	assert_int_equal(posture_day_add(d, &o), 0);
	return d;
}

static void test_hostile_names_stay_text(void **state)
{
	struct posture_day *d = sample();
	char *html = page(d, -1, NULL, 1);

	(void)state;
	/* the raw names nowhere; escaped as text and inside attributes */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>"));
	assert_null(strstr(html, "<tg>"));
	assert_non_null(strstr(html, ">" HOSTILE_HTML "</td>"));
	assert_non_null(strstr(html, "data-domain=\"" HOSTILE_HTML "\""));
	assert_non_null(strstr(html, "TLS_&lt;b&gt;&quot;bold&quot;"));
	/* a name inside a data-j path: JSON-escaped, then HTML-escaped */
	assert_non_null(strstr(html, "&quot;ciphers&quot;,&quot;TLS_&lt;b&gt;\\&quot;bold\\&quot;"
				     "&quot;]"));
	assert_non_null(strstr(html, "/var/lib/&lt;tg&gt;/posture"));
	free(html);
	posture_day_free(d);
}

/* " onload=" and the like: an event handler attribute (text may say " one" or " on") */
static bool has_event_attr(const char *s)
{
	for (const char *p = strstr(s, " on"); p; p = strstr(p + 1, " on")) {
		const char *q = p + 3;

		while (*q >= 'a' && *q <= 'z')
			q++;
		if (q > p + 3 && *q == '=')
			return true;
	}
	return false;
}

static void test_self_contained(void **state)
{
	struct posture_day *d = sample();
	char *html = page(d, -1, NULL, 1);

	(void)state;
	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"));
	/* nothing fetched, nothing run */
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href="));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_false(has_event_attr(html));
	assert_non_null(strstr(html, "</body></html>\n"));
	free(html);
	posture_day_free(d);
}

static void test_numbers_tagged(void **state)
{
	struct posture_day *d = sample();
	char *html = page(d, -1, NULL, 1);

	(void)state;
	/* sorted as -j: the hostile domain has 2 messages, example.net 1 */
	assert_non_null(strstr(html, "data-j=\"[&quot;outbound&quot;,0,&quot;messages&quot;]\">2<"));
	assert_non_null(strstr(html, "data-j=\"[&quot;outbound&quot;,1,&quot;messages&quot;]\">1<"));
	assert_non_null(strstr(html, "data-j=\"[&quot;outbound&quot;,&quot;*&quot;,"
				     "&quot;messages&quot;]\">3<"));
	/* share per day and overall: 2 of 3 */
	assert_non_null(strstr(html, ">66.7%<"));
	/* the day's bar: 140 * 2 / 3 */
	assert_non_null(strstr(html, "height=\"93.3\" data-full=\"140\""));
	/* example.net can be verify: its suggested line, tab and all */
	assert_non_null(strstr(html, ">example.net\tverify</td>"));
	/* the plaintext session of the hostile domain: encrypt would refuse 1 */
	assert_non_null(strstr(html, "{&quot;sub&quot;:[[&quot;outbound&quot;,0,&quot;sessions"
				     "&quot;],[&quot;outbound&quot;,0,&quot;tls&quot;]]}\">1<"));
	free(html);
	posture_day_free(d);
}

static void test_filters_and_empty_days(void **state)
{
	struct posture_day *d = sample();
	char *html = page(d, REPORT_INBOUND, NULL, 3);

	(void)state;
	assert_null(strstr(html, "id=\"outbound\""));
	/* no inbound traffic at all: one line, not empty charts */
	assert_non_null(strstr(html, "id=\"inbound\" data-dir=\"inbound\" class=\"empty\""));
	assert_non_null(strstr(html, "No inbound sessions in the window."));
	assert_null(strstr(html, "<svg"));
	free(html);
	html = page(d, REPORT_OUTBOUND, NULL, 3);
	/* the days before: no posture file, a grey stub; one bar with a share, today's */
	assert_non_null(strstr(html, ": no posture file</title>"));
	assert_non_null(strstr(html, "data-bar"));
	assert_null(strstr(strstr(html, "data-bar") + 1, "data-bar"));
	free(html);
	html = page(d, REPORT_OUTBOUND, "example.net", 1);
	assert_null(strstr(html, "&lt;script"));
	assert_non_null(strstr(html, "only the domain <span class=\"dom\">example.net</span>"));
	free(html);
	posture_day_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_names_stay_text),
		cmocka_unit_test(test_self_contained),
		cmocka_unit_test(test_numbers_tagged),
		cmocka_unit_test(test_filters_and_empty_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
