// SPDX-License-Identifier: GPL-2.0-only
/* report/posture*.c: aggregation, the bounds, the file format (round trip, damage), the day
 * rollover with the caller's clock, the verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/posture.h"
#include "tests/lib/tmpdir.h"

#define DAY0 19844 /* 2024-05-01 */
#define T0 ((int64_t)DAY0 * 86400 + 3600)

static char dir[256];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(tg_tmpdir_new(dir, sizeof(dir), "test_posture"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tg_tmpdir_remove(dir), 0);
	return 0;
}

static struct report_outcome out(const char *dom, const char *mx, bool tls, enum report_cert cert)
{
	struct report_outcome o = {
		.time = T0, .dir = REPORT_OUTBOUND, .result = REPORT_DELIVERED, .cert = cert,
		.rpt_result = -1, .new_session = true, .starttls_offered = tls, .tls = tls,
		.messages = 1, .recipients = 1,
	};

	snprintf(o.domain, sizeof(o.domain), "%s", dom);
	snprintf(o.mx, sizeof(o.mx), "%s", mx);
	snprintf(o.peer_ip, sizeof(o.peer_ip), "203.0.113.25");
	if (tls) {
		snprintf(o.tls_version, sizeof(o.tls_version), "TLSv1.3");
		snprintf(o.cipher, sizeof(o.cipher), "TLS_AES_256_GCM_SHA384");
		o.ktls_tx = o.ktls_rx = REPORT_KTLS_KERNEL;
	}
	return o;
}

static void test_aggregate(void **state)
{
	struct posture_day *d;
	struct posture_domain *e;
	struct report_outcome o;
	uint32_t c[POSTURE_NCTR];

	(void)state;
	assert_int_equal(posture_day_new(DAY0, 10, &d), 0);
	o = out("Example.NET", "mx1.example.net", true, REPORT_CERT_VERIFIED);
	assert_int_equal(posture_day_add(d, &o), 0);
	/* a second domain of the same session: no new session, two recipients */
	o.new_session = false;
	o.recipients = 2;
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("example.net", "", false, REPORT_CERT_NONE); /* no MX name: the address */
	o.starttls_offered = false;
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("example.net", "mx1.example.net", true, REPORT_CERT_VERIFIED);
	o.result = REPORT_POLICY_REFUSED;
	o.rpt_result = POLICY_RPT_CERTIFICATE_EXPIRED;
	o.policy = REPORT_POLICY_DANE;
	o.messages = 0;
	o.new_session = false;
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("sender.example", "", true, REPORT_CERT_NONE);
	o.dir = REPORT_INBOUND;
	assert_int_equal(posture_day_add(d, &o), 0);

	e = posture_day_find(d, REPORT_OUTBOUND, "example.net");
	assert_non_null(e);
	assert_int_equal(e->nrow, 2);
	assert_string_equal(e->row[0].host, "mx1.example.net");
	assert_string_equal(e->row[1].host, "203.0.113.25");
	assert_null(posture_day_find(d, REPORT_OUTBOUND, "sender.example"));
	assert_non_null(posture_day_find(d, REPORT_INBOUND, "sender.example"));
	posture_domain_sum(e, c);
	assert_int_equal(c[POSTURE_SESSIONS], 2);
	assert_int_equal(c[POSTURE_MESSAGES], 3);
	assert_int_equal(c[POSTURE_DELIVERED], 3);
	assert_int_equal(c[POSTURE_RECIPIENTS], 4);
	assert_int_equal(c[POSTURE_TLS], 1);
	assert_int_equal(c[POSTURE_TLS_MESSAGES], 2);
	assert_int_equal(c[POSTURE_STARTTLS], 1);
	assert_int_equal(c[POSTURE_CERT + REPORT_CERT_VERIFIED], 1);
	assert_int_equal(c[POSTURE_CERT + REPORT_CERT_NONE], 1);
	assert_int_equal(c[POSTURE_KTLS_TX_KERNEL], 1);
	assert_int_equal(c[POSTURE_REFUSED], 1);
	assert_int_equal(c[POSTURE_REFUSED_RECIPIENTS], 1);
	assert_int_equal(c[POSTURE_REFUSED_BY + POLICY_RPT_CERTIFICATE_EXPIRED], 1);
	assert_int_equal(c[POSTURE_DANE_FAILED], 1);
	assert_int_equal(e->row[0].nver, 1);
	assert_string_equal(d->names[e->row[0].ver[0].name], "TLSv1.3");
	assert_int_equal(e->row[0].ver[0].n, 1);
	posture_day_free(d);
}

/* More names than slots: the rest in other; more hosts than POSTURE_HOSTS: the (other) host. */
static void test_row_bounds(void **state)
{
	struct posture_day *d;
	struct posture_domain *e;
	uint32_t total = 0;

	(void)state;
	assert_int_equal(posture_day_new(DAY0, 10, &d), 0);
	for (int i = 0; i < POSTURE_TOP + 3; i++) {
		struct report_outcome o = out("a.example", "mx.a.example", true, REPORT_CERT_VERIFIED);

		snprintf(o.cipher, sizeof(o.cipher), "CIPHER-%d", i);
		assert_int_equal(posture_day_add(d, &o), 0);
	}
	e = posture_day_find(d, REPORT_OUTBOUND, "a.example");
	assert_int_equal(e->row[0].ncip, POSTURE_TOP);
	assert_int_equal(e->row[0].cip_other, 3);
	assert_int_equal(e->row[0].nver, 1);
	assert_int_equal(e->row[0].ver[0].n, POSTURE_TOP + 3);
	for (int i = 0; i < POSTURE_HOSTS + 5; i++) {
		char mx[64];
		struct report_outcome o;

		snprintf(mx, sizeof(mx), "mx%d.b.example", i);
		o = out("b.example", mx, true, REPORT_CERT_VERIFIED);
		assert_int_equal(posture_day_add(d, &o), 0);
	}
	e = posture_day_find(d, REPORT_OUTBOUND, "b.example");
	assert_int_equal(e->nrow, POSTURE_HOSTS + 1);
	assert_string_equal(e->row[POSTURE_HOSTS].host, POSTURE_OTHER);
	assert_int_equal(e->row[POSTURE_HOSTS].c[POSTURE_SESSIONS], 5);
	for (uint32_t i = 0; i < e->nrow; i++)
		total += e->row[i].c[POSTURE_SESSIONS];
	assert_int_equal(total, POSTURE_HOSTS + 5);
	posture_day_free(d);
}

/* max_domains per direction: the rest in one (other) row, counted; nothing lost. */
static void test_domain_bound(void **state)
{
	struct posture_day *d, *back;
	struct posture_domain *other;
	uint32_t c[POSTURE_NCTR];
	char why[200];
	const int n = 100000, max = 1000;

	(void)state;
	assert_int_equal(posture_day_new(DAY0, max, &d), 0);
	for (int i = 0; i < n; i++) {
		char dom[64];
		struct report_outcome o;

		snprintf(dom, sizeof(dom), "d%d.example", i);
		o = out(dom, "mx.example", true, REPORT_CERT_VERIFIED);
		assert_int_equal(posture_day_add(d, &o), 0);
	}
	assert_int_equal(d->ndomain[REPORT_OUTBOUND], max);
	assert_int_equal(d->ndom, max + 1);
	other = posture_day_find(d, REPORT_OUTBOUND, POSTURE_OTHER);
	assert_non_null(other);
	assert_int_equal(other->nrow, 1);
	assert_int_equal(other->row[0].c[POSTURE_SESSIONS], n - max);
	assert_int_equal(d->overflow, n - max);
	posture_day_sum(d, REPORT_OUTBOUND, c);
	assert_int_equal(c[POSTURE_MESSAGES], n);
	/* the file of a bounded day stays bounded, and reads back the same */
	assert_int_equal(posture_file_write(dir, d), 0);
	assert_int_equal(posture_day_new(DAY0, max, &back), 0);
	assert_int_equal(posture_file_read(dir, DAY0, back, why, sizeof(why)), 0);
	assert_int_equal(back->ndom, max + 1);
	assert_int_equal(back->overflow, n - max);
	posture_day_sum(back, REPORT_OUTBOUND, c);
	assert_int_equal(c[POSTURE_MESSAGES], n);
	posture_day_free(back);
	posture_day_free(d);
}

static void assert_days_equal(const struct posture_day *a, const struct posture_day *b)
{
	assert_int_equal(a->ndom, b->ndom);
	assert_int_equal(a->overflow, b->overflow);
	for (size_t i = 0; i < a->ndom; i++) {
		const struct posture_domain *x = a->dom[i];
		const struct posture_domain *y = posture_day_find(b, x->dir, x->name);

		assert_non_null(y);
		assert_int_equal(x->nrow, y->nrow);
		for (uint32_t j = 0; j < x->nrow; j++) {
			const struct posture_row *r = &x->row[j], *s = &y->row[j];

			assert_string_equal(r->host, s->host);
			assert_memory_equal(r->c, s->c, sizeof(r->c));
			assert_int_equal(r->nver, s->nver);
			assert_int_equal(r->ncip, s->ncip);
			assert_int_equal(r->ver_other, s->ver_other);
			assert_int_equal(r->cip_other, s->cip_other);
			for (uint8_t k = 0; k < r->ncip; k++) {
				assert_string_equal(a->names[r->cip[k].name], b->names[s->cip[k].name]);
				assert_int_equal(r->cip[k].n, s->cip[k].n);
			}
		}
	}
}

static struct posture_day *sample_day(void)
{
	struct posture_day *d;
	struct report_outcome o;

	assert_int_equal(posture_day_new(DAY0, 100, &d), 0);
	o = out("example.net", "mx1.example.net", true, REPORT_CERT_VERIFIED);
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("self.example", "mx.self.example", true, REPORT_CERT_SELF_SIGNED);
	snprintf(o.cipher, sizeof(o.cipher), "ECDHE-RSA-AES256-GCM-SHA384");
	snprintf(o.tls_version, sizeof(o.tls_version), "TLSv1.2");
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("", "", false, REPORT_CERT_NONE);
	o.result = REPORT_POLICY_REFUSED;
	o.rpt_result = POLICY_RPT_STARTTLS_NOT_SUPPORTED;
	o.messages = o.recipients = 0;
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("weird domain=x", "mx", false, REPORT_CERT_NONE);
	o.result = REPORT_WOULD_REFUSE;
	o.rpt_result = POLICY_RPT_STS_WEBPKI_INVALID;
	o.policy = REPORT_POLICY_STS;
	assert_int_equal(posture_day_add(d, &o), 0);
	o = out("sender.example", "", true, REPORT_CERT_NONE);
	o.dir = REPORT_INBOUND;
	o.ktls_rx = REPORT_KTLS_NIC;
	assert_int_equal(posture_day_add(d, &o), 0);
	return d;
}

static void test_file_round_trip(void **state)
{
	struct posture_day *d = sample_day(), *back;
	char why[200];

	(void)state;
	assert_non_null(posture_day_find(d, REPORT_OUTBOUND, POSTURE_UNKNOWN));
	assert_non_null(posture_day_find(d, REPORT_OUTBOUND, "weird_domain_x"));
	assert_int_equal(posture_file_write(dir, d), 0);
	assert_int_equal(posture_day_new(DAY0, 100, &back), 0);
	assert_int_equal(posture_file_read(dir, DAY0, back, why, sizeof(why)), 0);
	assert_days_equal(d, back);
	/* twice: added to what is there */
	assert_int_equal(posture_file_read(dir, DAY0, back, why, sizeof(why)), 0);
	assert_int_equal(posture_day_find(back, REPORT_OUTBOUND, "example.net")->row[0]
				 .c[POSTURE_SESSIONS], 2);
	assert_int_equal(posture_file_read(dir, DAY0 + 1, back, why, sizeof(why)), -ENOENT);
	posture_day_free(back);
	posture_day_free(d);
}

static void write_text(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_file_damaged(void **state)
{
	static const char *const bad[] = {
		"", /* empty */
		"tlsgate-posture 2\nday 2024-05-01\nend 0\n",	/* a future version */
		"tlsgate-posture 1\nday 2024-05-02\nend 0\n",	/* another day's */
		"tlsgate-posture 1\nday 2024-05-01\nrow out a.example mx sessions=1\n", /* cut */
		"tlsgate-posture 1\nday 2024-05-01\nrow out a.example mx sessions=1\nend 2\n",
		"tlsgate-posture 1\nday 2024-05-01\nrow out a.example mx sessions=x\nend 1\n",
		"tlsgate-posture 1\nday 2024-05-01\nrow out a.example mx sessions=99999999999\nend 1\n",
		"tlsgate-posture 1\nday 2024-05-01\nrow sideways a.example mx\nend 1\n",
		"tlsgate-posture 1\nday 2024-05-01\nrow out a.example\nend 1\n",
		"tlsgate-posture 1\nday 2024-05-01\nbogus\nend 0\n",
		"tlsgate-posture 1\nday 2024-05-01\nend 0\nrow out a.example mx sessions=1\n",
	};
	struct posture_day *d;
	char why[200];

	(void)state;
	assert_int_equal(posture_day_new(DAY0, 100, &d), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text("2024-05-01.posture", bad[i]);
		assert_int_equal(posture_file_read(dir, DAY0, d, why, sizeof(why)), -EBADMSG);
		assert_true(why[0] != '\0');
		assert_int_equal(d->ndom, 0); /* nothing of a damaged file counted */
	}
	/* an unknown counter of a newer writer is no damage */
	write_text("2024-05-01.posture", "tlsgate-posture 1\nday 2024-05-01\noverflow 0\n"
					 "row out a.example mx sessions=2 future.thing=7 "
					 "ver:TLSv1.3=2 cip:(other)=2\nend 1\n");
	assert_int_equal(posture_file_read(dir, DAY0, d, why, sizeof(why)), 0);
	assert_int_equal(d->dom[0]->row[0].c[POSTURE_SESSIONS], 2);
	assert_int_equal(d->dom[0]->row[0].cip_other, 2);
	posture_day_free(d);
}

static bool exists(const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The store: restart adds to today's file, midnight rolls over, old days go, a damaged file
 * is put aside. */
static void test_store_days(void **state)
{
	struct posture_store_opts opts = { .dir = dir, .days = 3, .max_domains = 100 };
	struct posture_store *s;
	struct report_outcome o = out("example.net", "mx1.example.net", true, REPORT_CERT_VERIFIED);
	struct posture_day *win;
	bool seen[5];
	int64_t now = T0;

	(void)state;
	assert_int_equal(posture_store_open(&opts, now, &s), 0);
	assert_int_equal(posture_store_add(s, &o), 0);
	assert_int_equal(posture_store_flush(s, now), 0);
	assert_true(exists("2024-05-01.posture"));
	posture_store_close(s, now);
	/* restart: today's file is loaded and added to */
	assert_int_equal(posture_store_open(&opts, now, &s), 0);
	assert_int_equal(posture_store_written(s)->dom[0]->row[0].c[POSTURE_SESSIONS], 1);
	assert_false(posture_store_written(s)->dirty);
	assert_int_equal(posture_store_add(s, &o), 0);
	/* an outcome of the next day: the old day is written first */
	o.time = T0 + 86400;
	assert_int_equal(posture_store_add(s, &o), 0);
	assert_int_equal(posture_store_day(s), DAY0 + 1);
	/* the flush at midnight of the next day with nothing new: rollover, the file written */
	now = T0 + 2 * 86400;
	assert_int_equal(posture_store_flush(s, now), 0);
	assert_true(exists("2024-05-02.posture"));
	assert_int_equal(posture_store_day(s), DAY0 + 2);
	assert_int_equal(posture_store_written(s)->day, DAY0 + 2);
	/* an outcome from before midnight counts into the day in memory */
	o.time = T0 + 86400;
	assert_int_equal(posture_store_add(s, &o), 0);
	posture_store_close(s, now);
	assert_true(exists("2024-05-03.posture"));
	/* the window reads all three */
	assert_int_equal(posture_day_new(-1, 100, &win), 0);
	assert_int_equal(posture_store_read(dir, DAY0, DAY0 + 4, win, seen, NULL, NULL), 0);
	assert_true(seen[0] && seen[1] && seen[2] && !seen[3] && !seen[4]);
	assert_int_equal(win->dom[0]->row[0].c[POSTURE_SESSIONS], 4);
	posture_day_free(win);
	/* three days kept: on the 4th day's rollover the 1st goes */
	assert_int_equal(posture_store_open(&opts, T0 + 3 * 86400, &s), 0);
	o.time = T0 + 3 * 86400;
	assert_int_equal(posture_store_add(s, &o), 0);
	assert_int_equal(posture_store_flush(s, T0 + 4 * 86400), 0);
	assert_false(exists("2024-05-01.posture"));
	assert_false(exists("2024-05-02.posture"));
	assert_true(exists("2024-05-03.posture"));
	assert_true(exists("2024-05-04.posture"));
	posture_store_close(s, T0 + 4 * 86400);
	/* a damaged today: renamed aside, the day starts again, later written whole */
	write_text("2024-05-05.posture", "tlsgate-posture 1\nday 2024-05-05\nrow out x y sessions=1\n");
	assert_int_equal(posture_store_open(&opts, T0 + 4 * 86400, &s), 0);
	assert_true(exists("2024-05-05.posture.damaged"));
	assert_int_equal(posture_store_written(s)->ndom, 0);
	posture_store_close(s, T0 + 4 * 86400);
}

static void warn_count(const char *why, void *ctx)
{
	(void)why;
	(*(int *)ctx)++;
}

static void test_read_skips_damaged(void **state)
{
	struct posture_day *d = sample_day(), *win;
	int warned = 0;

	(void)state;
	assert_int_equal(posture_file_write(dir, d), 0);
	write_text("2024-05-02.posture", "garbage\n");
	assert_int_equal(posture_day_new(-1, 100, &win), 0);
	assert_int_equal(posture_store_read(dir, DAY0, DAY0 + 1, win, NULL, warn_count, &warned), 0);
	assert_int_equal(warned, 1);
	assert_int_equal(win->ndom, d->ndom);
	posture_day_free(win);
	posture_day_free(d);
}

static void test_verdict(void **state)
{
	uint32_t c[POSTURE_NCTR] = { 0 };
	struct posture_verdict v;

	(void)state;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_NONE);
	c[POSTURE_SESSIONS] = 5;
	c[POSTURE_MESSAGES] = 7;
	c[POSTURE_TLS] = 5;
	c[POSTURE_STARTTLS] = 5;
	c[POSTURE_TLS_MESSAGES] = 7;
	c[POSTURE_CERT + REPORT_CERT_VERIFIED] = 5;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_VERIFY);
	assert_string_equal(posture_can_name(v.can), "verify");
	/* inbound: encrypt at most */
	posture_verdict(c, REPORT_INBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_ENCRYPT);
	c[POSTURE_CERT + REPORT_CERT_VERIFIED] = 3;
	c[POSTURE_CERT + REPORT_CERT_SELF_SIGNED] = 2;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_ENCRYPT);
	assert_non_null(strstr(v.reason, "self-signed in 2"));
	c[POSTURE_TLS] = 4;
	c[POSTURE_STARTTLS] = 4;
	c[POSTURE_TLS_MESSAGES] = 5;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_NONE);
	assert_string_equal(v.reason, "no: 2 messages in plaintext (MX did not offer STARTTLS in 1 "
				      "of 5 sessions)");
	c[POSTURE_STARTTLS] = 5;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_non_null(strstr(v.reason, "STARTTLS offered, TLS not used in 1 of 5"));
	c[POSTURE_TLS] = 5;
	c[POSTURE_REFUSED] = 1;
	c[POSTURE_REFUSED_BY + POLICY_RPT_CERTIFICATE_EXPIRED] = 1;
	posture_verdict(c, REPORT_OUTBOUND, &v);
	assert_int_equal(v.can, POSTURE_CAN_NONE);
	assert_non_null(strstr(v.reason, "certificate-expired"));
}

static void test_names(void **state)
{
	int64_t day;
	char buf[16];

	(void)state;
	assert_int_equal(posture_ctr_lookup("sessions"), POSTURE_SESSIONS);
	assert_int_equal(posture_ctr_lookup("cert.self_signed"), POSTURE_CERT + REPORT_CERT_SELF_SIGNED);
	assert_int_equal(posture_ctr_lookup("refused.starttls-not-supported"),
			 POSTURE_REFUSED_BY + POLICY_RPT_STARTTLS_NOT_SUPPORTED);
	assert_int_equal(posture_ctr_lookup("nope"), -1);
	assert_int_equal(posture_ctr_lookup("cert.nope"), -1);
	for (int i = 0; i < POSTURE_NCTR; i++) {
		const struct posture_ctr_name *n = posture_ctr_name(i);
		char key[80];

		/* every counter has a name, and its file key names it back */
		assert_non_null(n->key);
		snprintf(key, sizeof(key), "%s%s%s", n->group, n->group[0] ? "." : "", n->key);
		assert_int_equal(posture_ctr_lookup(key), i);
	}
	assert_int_equal(posture_day_parse("2024-05-01", &day), 0);
	assert_int_equal(day, DAY0);
	posture_day_text(DAY0, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01");
	assert_int_equal(posture_day_parse("2024-02-31", &day), -EINVAL);
	assert_int_equal(posture_day_parse("2024-5-1x", &day), -EINVAL);
	assert_int_equal(posture_day_of(-1), -1);
	assert_int_equal(posture_day_of(86399), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_row_bounds),
		cmocka_unit_test_setup_teardown(test_domain_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_skips_damaged, setup, teardown),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
