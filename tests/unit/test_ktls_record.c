// SPDX-License-Identifier: GPL-2.0-only
/*
 * ktls/record.c: the record-type cmsg as recvmsg() returns it, and what each non-data record
 * means once the kernel owns RX (tickets, KeyUpdate, alerts, the protocol errors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/tls.h>
#include <string.h>
#include <sys/socket.h>

#include "ktls/record.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* ---- cmsg -------------------------------------------------------------------------------- */

static void put_cmsg(struct msghdr *msg, unsigned char *buf, size_t cap, int level, int type,
		     const void *data, size_t len)
{
	struct cmsghdr *cm;
	size_t used = msg->msg_controllen;

	assert_true(used + CMSG_SPACE(len) <= cap);
	msg->msg_control = buf;
	msg->msg_controllen = used + CMSG_SPACE(len);
	/* walk to the free slot */
	cm = (struct cmsghdr *)(buf + used);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

static void test_cmsg_type(void **state)
{
	unsigned char buf[256] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	uint8_t t = KTLS_RT_ALERT, got = 0;

	(void)state;
	memset(buf, 0, sizeof(buf));
	put_cmsg(&msg, buf, sizeof(buf), SOL_TLS, TLS_GET_RECORD_TYPE, &t, 1);
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), 0);
	assert_int_equal(got, KTLS_RT_ALERT);
}

static void test_cmsg_after_other(void **state)
{
	unsigned char buf[256] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	uint8_t t = KTLS_RT_HANDSHAKE, got = 0;
	int other = 7;

	(void)state;
	memset(buf, 0, sizeof(buf));
	put_cmsg(&msg, buf, sizeof(buf), SOL_SOCKET, SCM_RIGHTS + 100, &other, sizeof(other));
	put_cmsg(&msg, buf, sizeof(buf), SOL_TLS, TLS_GET_RECORD_TYPE, &t, 1);
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), 0);
	assert_int_equal(got, KTLS_RT_HANDSHAKE);
}

static void test_cmsg_missing(void **state)
{
	unsigned char buf[256] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	uint8_t t = 22, got = 0;

	(void)state;
	/* no control buffer at all, then one with only a foreign cmsg: data in kernel terms */
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), -ENOMSG);
	memset(buf, 0, sizeof(buf));
	put_cmsg(&msg, buf, sizeof(buf), SOL_SOCKET, TLS_GET_RECORD_TYPE, &t, 1);
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), -ENOMSG);
}

static void test_cmsg_truncated(void **state)
{
	unsigned char buf[256] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	struct cmsghdr *cm;
	uint8_t t = 21, got = 0;

	(void)state;
	memset(buf, 0, sizeof(buf));
	put_cmsg(&msg, buf, sizeof(buf), SOL_TLS, TLS_GET_RECORD_TYPE, &t, 1);
	msg.msg_flags = MSG_CTRUNC; /* the kernel could not fit the type: it says EIO too */
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), -EIO);
	msg.msg_flags = 0;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_len = CMSG_LEN(0); /* a type cmsg without its byte */
	assert_int_equal(ktls_cmsg_record_type(&msg, &got), -EIO);
}

static void test_cmsg_set_roundtrip(void **state)
{
	unsigned char buf[KTLS_CMSG_SPACE] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	struct cmsghdr *cm;

	(void)state;
	ktls_cmsg_set_record_type(&msg, buf, sizeof(buf), KTLS_RT_ALERT);
	cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_level, SOL_TLS);
	assert_int_equal(cm->cmsg_type, TLS_SET_RECORD_TYPE);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(1));
	assert_int_equal(*CMSG_DATA(cm), KTLS_RT_ALERT);
	assert_int_equal(msg.msg_controllen, KTLS_CMSG_SPACE);
}

/* ---- control records --------------------------------------------------------------------- */

static void feed(struct ktls_ctl *c, uint8_t type, const uint8_t *p, size_t n,
		 struct ktls_ctl_event *ev)
{
	ktls_ctl_feed(c, type, p, n, ev);
}

/* A NewSessionTicket of body length 9 (content irrelevant to us). */
static const uint8_t nst[] = {4, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_ticket_consumed(void **state)
{
	struct ktls_ctl c;
	struct ktls_ctl_event ev;
	uint8_t two[2 * sizeof(nst)];

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, nst, sizeof(nst), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
	assert_int_equal(ev.tickets, 1);
	memcpy(two, nst, sizeof(nst));
	memcpy(two + sizeof(nst), nst, sizeof(nst));
	feed(&c, KTLS_RT_HANDSHAKE, two, sizeof(two), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
	assert_int_equal(ev.tickets, 2);
}

static void test_ticket_across_records(void **state)
{
	struct ktls_ctl c;
	struct ktls_ctl_event ev;
	unsigned int tickets = 0;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	/* header split, then body split: one ticket, counted when its last byte comes */
	for (size_t cut[] = {2, 5, sizeof(nst)}, i = 0, off = 0; i < 3; off = cut[i++]) {
		feed(&c, KTLS_RT_HANDSHAKE, nst + off, cut[i] - off, &ev);
		assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
		tickets += ev.tickets;
		assert_int_equal(tickets, i == 2 ? 1 : 0);
	}
}

static void test_ticket_to_server(void **state)
{
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, true);
	feed(&c, KTLS_RT_HANDSHAKE, nst, sizeof(nst), &ev);
	assert_int_equal(ev.what, KTLS_CTL_ERROR);
	assert_int_equal(ev.err, -EPROTO);
	assert_non_null(strstr(ev.why, "unexpected post-handshake message (type 4)"));
}

static void test_keyupdate(void **state)
{
	static const uint8_t ku_not[] = {24, 0, 0, 1, 0}, ku_req[] = {24, 0, 0, 1, 1};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;
	uint8_t both[sizeof(nst) + sizeof(ku_req)];

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, ku_not, sizeof(ku_not), &ev);
	assert_int_equal(ev.what, KTLS_CTL_KEYUPDATE);
	assert_false(ev.requested);
	feed(&c, KTLS_RT_HANDSHAKE, ku_req, sizeof(ku_req), &ev);
	assert_int_equal(ev.what, KTLS_CTL_KEYUPDATE);
	assert_true(ev.requested);
	/* a ticket then a KeyUpdate in one record: both seen */
	memcpy(both, nst, sizeof(nst));
	memcpy(both + sizeof(nst), ku_req, sizeof(ku_req));
	feed(&c, KTLS_RT_HANDSHAKE, both, sizeof(both), &ev);
	assert_int_equal(ev.what, KTLS_CTL_KEYUPDATE);
	assert_int_equal(ev.tickets, 1);
}

static void test_keyupdate_malformed(void **state)
{
	static const uint8_t trailing[] = {24, 0, 0, 1, 0, 4}, badlen[] = {24, 0, 0, 2, 0, 0},
			     badreq[] = {24, 0, 0, 1, 2};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, trailing, sizeof(trailing), &ev);
	assert_int_equal(ev.what, KTLS_CTL_ERROR);
	assert_non_null(strstr(ev.why, "not at the end of its record"));
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, badlen, sizeof(badlen), &ev);
	assert_int_equal(ev.err, -EPROTO);
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, badreq, sizeof(badreq), &ev);
	assert_int_equal(ev.err, -EPROTO);
	/* TLS 1.2 has no KeyUpdate */
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_HANDSHAKE, trailing, 5, &ev);
	assert_int_equal(ev.what, KTLS_CTL_ERROR);
}

static void test_close_notify(void **state)
{
	static const uint8_t cn[] = {1, 0}, cn_fatal[] = {2, 0};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_ALERT, cn, sizeof(cn), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CLOSE);
	assert_int_equal(ev.close_notify, 1);
	ktls_ctl_init(&c, KTLS_TLS12, true);
	feed(&c, KTLS_RT_ALERT, cn_fatal, sizeof(cn_fatal), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CLOSE);
}

static void test_fatal_alert(void **state)
{
	static const uint8_t hf[] = {2, 40}, warn13[] = {1, 10};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_ALERT, hf, sizeof(hf), &ev);
	assert_int_equal(ev.what, KTLS_CTL_ERROR);
	assert_int_equal(ev.err, -ECONNRESET);
	assert_int_equal(ev.alert, 40);
	assert_string_equal(ev.why, "fatal alert handshake_failure from peer");
	/* TLS 1.3: an alert's level does not matter (RFC 8446 §6) */
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_ALERT, warn13, sizeof(warn13), &ev);
	assert_int_equal(ev.err, -ECONNRESET);
	assert_string_equal(ev.why, "fatal alert unexpected_message from peer");
}

static void test_ignorable_alerts(void **state)
{
	static const uint8_t noreneg[] = {1, 100}, canceled[] = {1, 90}, bad[] = {3, 0},
			     badlevel[] = {7, 10};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_ALERT, noreneg, sizeof(noreneg), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
	assert_int_equal(ev.alerts, 1);
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_ALERT, canceled, sizeof(canceled), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
	/* close_notify wins whatever the level byte says; a nonsense level otherwise fails */
	feed(&c, KTLS_RT_ALERT, bad, sizeof(bad), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CLOSE);
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_ALERT, badlevel, sizeof(badlevel), &ev);
	assert_int_equal(ev.err, -EPROTO);
}

static void test_alert_across_records(void **state)
{
	static const uint8_t a[] = {2}, b[] = {20};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_ALERT, a, 1, &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE);
	feed(&c, KTLS_RT_ALERT, b, 1, &ev);
	assert_int_equal(ev.err, -ECONNRESET);
	assert_string_equal(ev.why, "fatal alert bad_record_mac from peer");
}

static void test_interleaving(void **state)
{
	static const uint8_t cn[] = {1, 0};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_HANDSHAKE, nst, 3, &ev);
	feed(&c, KTLS_RT_ALERT, cn, sizeof(cn), &ev);
	assert_int_equal(ev.what, KTLS_CTL_ERROR);
	assert_non_null(strstr(ev.why, "alert inside a fragmented handshake message"));
}

static void test_tls12_hello_request(void **state)
{
	static const uint8_t hr[] = {0, 0, 0, 0}, fin[] = {20, 0, 0, 1, 0};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS12, false);
	feed(&c, KTLS_RT_HANDSHAKE, hr, sizeof(hr), &ev);
	assert_int_equal(ev.what, KTLS_CTL_CONTINUE); /* ignored: we never renegotiate */
	feed(&c, KTLS_RT_HANDSHAKE, fin, sizeof(fin), &ev);
	assert_int_equal(ev.err, -EPROTO);
	/* a client does not send HelloRequest */
	ktls_ctl_init(&c, KTLS_TLS12, true);
	feed(&c, KTLS_RT_HANDSHAKE, hr, sizeof(hr), &ev);
	assert_int_equal(ev.err, -EPROTO);
}

static void test_other_types(void **state)
{
	static const uint8_t one[] = {1};
	struct ktls_ctl c;
	struct ktls_ctl_event ev;

	(void)state;
	ktls_ctl_init(&c, KTLS_TLS13, false);
	feed(&c, KTLS_RT_CHANGE_CIPHER_SPEC, one, 1, &ev);
	assert_int_equal(ev.err, -EPROTO);
	feed(&c, 24, one, 1, &ev); /* heartbeat, or anything unknown */
	assert_int_equal(ev.err, -EPROTO);
	assert_non_null(strstr(ev.why, "unknown record type 24"));
	feed(&c, KTLS_RT_HANDSHAKE, one, 0, &ev);
	assert_int_equal(ev.err, -EPROTO);
	assert_non_null(strstr(ev.why, "empty record"));
	feed(&c, KTLS_RT_APPLICATION_DATA, one, 1, &ev);
	assert_int_equal(ev.err, -EINVAL);
}

static void test_alert_names(void **state)
{
	(void)state;
	assert_string_equal(ktls_alert_name(0), "close_notify");
	assert_string_equal(ktls_alert_name(20), "bad_record_mac");
	assert_string_equal(ktls_alert_name(116), "certificate_required");
	assert_string_equal(ktls_alert_name(255), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmsg_type),
		cmocka_unit_test(test_cmsg_after_other),
		cmocka_unit_test(test_cmsg_missing),
		cmocka_unit_test(test_cmsg_truncated),
		cmocka_unit_test(test_cmsg_set_roundtrip),
		cmocka_unit_test(test_ticket_consumed),
		cmocka_unit_test(test_ticket_across_records),
		cmocka_unit_test(test_ticket_to_server),
		cmocka_unit_test(test_keyupdate),
		cmocka_unit_test(test_keyupdate_malformed),
		cmocka_unit_test(test_close_notify),
		cmocka_unit_test(test_fatal_alert),
		cmocka_unit_test(test_ignorable_alerts),
		cmocka_unit_test(test_alert_across_records),
		cmocka_unit_test(test_interleaving),
		cmocka_unit_test(test_tls12_hello_request),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_alert_names),
	};

	return cmocka_run_group_tests_name("ktls_record", tests, NULL, NULL);
}
