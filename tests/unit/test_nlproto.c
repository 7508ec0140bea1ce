// SPDX-License-Identifier: GPL-2.0-only
/*
 * control/nlproto*.c: every message type encodes and decodes back to the same fields; acks,
 * extended errors and dump ends in both the daemon's and the kernel's layouts; and malformed,
 * truncated, oversized or too-old messages are refused with the reason named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "control/nlproto.h"

static struct nlmsghdr *hdr(struct nl_msg *m)
{
	return nlmsg_hdr(m);
}

static void test_rule_round_trip(void **state)
{
	const char *match[] = {".example.org", "example.org", "mx.example.org"};
	const struct nlproto_rule in = {
		.id = 4711,
		.dir = NLPROTO_DIR_INBOUND,
		.key_type = "host",
		.key = "[mx1.example.net]:587",
		.port = 587,
		.level = "secure",
		.min_version = 0x0303,
		.max_version = 0x0304,
		.protocols = ">=TLSv1.2",
		.text = "[mx1.example.net]:587 secure protocols=>=TLSv1.2",
		.ciphers = "high",
		.exclude = "aNULL:RC4",
		.match = match,
		.nmatch = 3,
		.servername = "mx1.example.net",
		.file = "/etc/tlsgate/tls_policy",
		.line = 12,
	};
	const char *got_match[8];
	struct nlproto_rule out;
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_POLICY, NLM_F_MULTI, 9, 77, 0);
	char msg[256];

	(void)state;
	assert_non_null(m);
	assert_int_equal(nlproto_put_rule(m, &in), 0);
	assert_int_equal(hdr(m)->nlmsg_type, NLPROTO_MSG_POLICY);
	assert_int_equal(hdr(m)->nlmsg_seq, 9);
	assert_int_equal(hdr(m)->nlmsg_pid, 77);
	assert_int_equal(nlproto_parse_rule(hdr(m), &out, got_match, 8, msg, sizeof(msg)), 0);
	assert_int_equal(out.id, 4711);
	assert_int_equal(out.dir, NLPROTO_DIR_INBOUND);
	assert_string_equal(out.key_type, "host");
	assert_string_equal(out.key, "[mx1.example.net]:587");
	assert_int_equal(out.port, 587);
	assert_string_equal(out.level, "secure");
	assert_int_equal(out.min_version, 0x0303);
	assert_int_equal(out.max_version, 0x0304);
	assert_string_equal(out.protocols, ">=TLSv1.2");
	assert_string_equal(out.text, in.text);
	assert_string_equal(out.ciphers, "high");
	assert_string_equal(out.exclude, "aNULL:RC4");
	assert_int_equal(out.nmatch, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(out.match[i], match[i]);
	assert_string_equal(out.servername, "mx1.example.net");
	assert_string_equal(out.file, "/etc/tlsgate/tls_policy");
	assert_int_equal(out.line, 12);
	/* more patterns than room: said, not truncated silently */
	assert_int_equal(nlproto_parse_rule(hdr(m), &out, got_match, 2, msg, sizeof(msg)), -E2BIG);
	assert_non_null(strstr(msg, "more than 2 match patterns"));
	nlmsg_free(m);
}

static void test_rule_minimal_and_required(void **state)
{
	const struct nlproto_rule in = {.id = 16, .key = "example.org", .level = "may"};
	struct nlproto_rule out;
	const char *mb[1];
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	char msg[256];

	(void)state;
	assert_int_equal(nlproto_put_rule(m, &in), 0);
	assert_int_equal(nlproto_parse_rule(hdr(m), &out, mb, 1, msg, sizeof(msg)), 0);
	assert_int_equal(out.dir, NLPROTO_DIR_OUTBOUND);
	assert_null(out.ciphers);
	assert_null(out.key_type);
	assert_int_equal(out.nmatch, 0);
	assert_int_equal(out.min_version, 0);
	nlmsg_free(m);

	/* a rule message without a key is refused, naming what is missing */
	m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	assert_int_equal(nla_put_u32(m, NLPROTO_A_RULE_ID, 3), 0);
	assert_int_equal(nla_put_string(m, NLPROTO_A_RULE_LEVEL, "may"), 0);
	assert_int_equal(nlproto_parse_rule(hdr(m), &out, mb, 1, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "rule key missing");
	nlmsg_free(m);
}

static const struct nlproto_session sess_in = {
	.id = 1ull << 40,
	.role = NLPROTO_DIR_INBOUND,
	.client_addr = "2001:db8:1::10",
	.client_port = 41234,
	.dest_name = "mx.example.org",
	.dest_addr = "203.0.113.25",
	.dest_port = 25,
	.state = "relay",
	.tls_version = "TLSv1.3",
	.cipher = "TLS_AES_256_GCM_SHA384",
	.ktls_tx = "sw",
	.ktls_rx = "hw",
	.rule_id = 17,
	.level = "encrypt",
	.bytes_c2s = 123456789012ull,
	.bytes_s2c = 42,
	.start_ms = 1790000000123ull,
};

static void assert_session(const struct nlproto_session *s)
{
	assert_int_equal(s->id, sess_in.id);
	assert_int_equal(s->role, NLPROTO_DIR_INBOUND);
	assert_string_equal(s->client_addr, "2001:db8:1::10");
	assert_int_equal(s->client_port, 41234);
	assert_string_equal(s->dest_name, "mx.example.org");
	assert_string_equal(s->dest_addr, "203.0.113.25");
	assert_int_equal(s->dest_port, 25);
	assert_string_equal(s->state, "relay");
	assert_string_equal(s->tls_version, "TLSv1.3");
	assert_string_equal(s->cipher, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(s->ktls_tx, "sw");
	assert_string_equal(s->ktls_rx, "hw");
	assert_int_equal(s->rule_id, 17);
	assert_string_equal(s->level, "encrypt");
	assert_int_equal(s->bytes_c2s, 123456789012ull);
	assert_int_equal(s->bytes_s2c, 42);
	assert_int_equal(s->start_ms, 1790000000123ull);
}

static void test_session_round_trip(void **state)
{
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_SESSION, NLM_F_MULTI, 5, 0, 0);
	struct nlproto_session out;
	char msg[256];

	(void)state;
	assert_int_equal(nlproto_put_session(m, &sess_in), 0);
	assert_int_equal(nlproto_parse_session(hdr(m), &out, msg, sizeof(msg)), 0);
	assert_session(&out);
	nlmsg_free(m);
}

static void test_status_round_trip(void **state)
{
	struct nlproto_status in, out;
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_STATUS, 0, 1, 0, 0);
	char msg[256];

	(void)state;
	/* zeroed whole (padding too), so the decoded copy can be compared byte for byte */
	memset(&in, 0, sizeof(in));
	strcpy(in.version, "0.1.0");
	in.pid = 1234;
	in.start = 1790000000;
	in.uptime = 7384;
	in.ktls = true;
	in.ncipher = 2;
	in.nnic = 1;
	in.nlistener = 2;
	in.sessions = 3;
	in.sessions_total = 1ull << 33;
	in.rules_out = 12;
	in.rules_in = 2;
	strcpy(in.log_level, "debug");
	strcpy(in.cipher[0].tls_version, "TLSv1.2");
	strcpy(in.cipher[0].name, "aes-128-gcm");
	in.cipher[0].tx = in.cipher[0].rx = true;
	strcpy(in.cipher[1].tls_version, "TLSv1.3");
	strcpy(in.cipher[1].name, "chacha20-poly1305");
	in.cipher[1].tx = true;
	strcpy(in.nic[0].ifname, "eth0");
	in.nic[0].tx = NLPROTO_OFFLOAD_ON;
	in.nic[0].rx = NLPROTO_OFFLOAD_OFF;
	strcpy(in.listener[0].addr, "127.0.0.1:10025");
	strcpy(in.listener[0].role, "outbound-transparent");
	strcpy(in.listener[1].addr, "[2001:db8::1]:25");
	strcpy(in.listener[1].role, "inbound");
	assert_int_equal(nlproto_put_status(m, &in), 0);
	assert_int_equal(nlproto_parse_status(hdr(m), &out, msg, sizeof(msg)), 0);
	/* the struct holds only copies: equal byte for byte */
	assert_memory_equal(&in, &out, sizeof(in));
	nlmsg_free(m);
}

static void test_event_round_trip(void **state)
{
	const struct nlproto_event in =
					   {
						   .type = NLPROTO_EV_SESSION_TLS,
						   .time_ms = 1790000000999ull,
						   .session = &sess_in,
						   .rule_id = 17,
						   .level = "encrypt",
						   .detail = "ktls tx,rx",
					   },
				   drop = {
					   .type = NLPROTO_EV_DROP,
					   .time_ms = 1,
					   .rule_id = 99,
					   .level = "secure",
					   .src = "192.0.2.10:41236",
					   .dst = "203.0.113.25:25",
					   .detail = "plaintext-data",
					   .subject = "203.0.113.25",
				   };
	struct nlproto_session sess;
	struct nlproto_event out;
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_EVENT, 0, 1, 0, 0);
	char msg[256];

	(void)state;
	assert_int_equal(nlproto_put_event(m, &in), 0);
	assert_int_equal(nlproto_parse_event(hdr(m), &out, &sess, msg, sizeof(msg)), 0);
	assert_int_equal(out.type, NLPROTO_EV_SESSION_TLS);
	assert_int_equal(out.time_ms, 1790000000999ull);
	assert_ptr_equal(out.session, &sess);
	assert_session(&sess);
	assert_string_equal(out.detail, "ktls tx,rx");
	assert_null(out.src);
	nlmsg_free(m);

	m = nlproto_msg_new(NLPROTO_MSG_EVENT, 0, 2, 0, 0);
	assert_int_equal(nlproto_put_event(m, &drop), 0);
	assert_int_equal(nlproto_parse_event(hdr(m), &out, &sess, msg, sizeof(msg)), 0);
	assert_int_equal(out.type, NLPROTO_EV_DROP);
	assert_null(out.session);
	assert_int_equal(out.rule_id, 99);
	assert_string_equal(out.level, "secure");
	assert_string_equal(out.src, "192.0.2.10:41236");
	assert_string_equal(out.dst, "203.0.113.25:25");
	assert_string_equal(out.detail, "plaintext-data");
	assert_string_equal(out.subject, "203.0.113.25");
	assert_string_equal(nlproto_event_name(out.type), "drop");
	nlmsg_free(m);
}

static void assert_metric_equal(const struct nlproto_metric *a, const struct nlproto_metric *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->type, b->type);
	if (a->help)
		assert_string_equal(a->help, b->help);
	else
		assert_null(b->help);
	assert_int_equal(a->nsample, b->nsample);
	for (size_t i = 0; i < a->nsample; i++) {
		assert_int_equal(a->sample[i].value, b->sample[i].value);
		assert_int_equal(a->sample[i].nlabel, b->sample[i].nlabel);
		for (size_t j = 0; j < a->sample[i].nlabel; j++) {
			assert_string_equal(a->sample[i].label[j].name, b->sample[i].label[j].name);
			assert_string_equal(a->sample[i].label[j].value,
					    b->sample[i].label[j].value);
		}
	}
}

/* The daemon's counters: families with 0, 1 and 3 labels and 64-bit values come back whole. */
static void test_metrics_round_trip(void **state)
{
	const struct nlproto_label l1[] = {{"direction", "outbound"}, {"direction", "inbound"}};
	const struct nlproto_label l3[][3] = {
		{{"policy", "sts"}, {"result", "certificate-host-mismatch"}, {"outcome", "refused"}},
		{{"policy", "sts"}, {"result", "certificate-host-mismatch"}, {"outcome", "would_fail"}},
		{{"policy", "tlsa"}, {"result", "dane-required"}, {"outcome", "refused"}},
	};
	const struct nlproto_sample s0 = {NULL, 0, 7};
	const struct nlproto_sample s1[] = {{&l1[0], 1, 1ull << 40}, {&l1[1], 1, 0}};
	const struct nlproto_sample s3[] = {{l3[0], 3, 2}, {l3[1], 3, 0}, {l3[2], 3, 5}};
	const struct nlproto_metric in[] = {
		{"sessions_active", "gauge", "Sessions open now.", &s0, 1},
		{"sessions", "counter", NULL, s1, 2},
		{"policy_result", "counter", "Failures \\ by \"result\".", s3, 3},
		{"empty", "counter", "no samples yet", NULL, 0},
	};
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 1, 0, 0);
	struct nlproto_metrics out;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(nlproto_put_metric(m, &in[i]), 0);
	/* an attribute of some newer kind between families is skipped */
	assert_int_equal(nla_put_u32(m, NLPROTO_A_MAX + 7, 1), 0);
	assert_int_equal(nlproto_parse_metrics(hdr(m), &out, msg, sizeof(msg)), 0);
	assert_int_equal(out.nmetric, 4);
	for (size_t i = 0; i < 4; i++)
		assert_metric_equal(&in[i], &out.metric[i]);
	nlproto_metrics_free(&out);
	assert_null(out.metric);
	nlmsg_free(m);

	/* a message without families is an empty list, not an error */
	m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 2, 0, 0);
	assert_int_equal(nlproto_parse_metrics(hdr(m), &out, msg, sizeof(msg)), 0);
	assert_int_equal(out.nmetric, 0);
	nlproto_metrics_free(&out);
	nlmsg_free(m);
}

/* Names go into a Prometheus exposition as they are: the encoder and the decoder check them. */
static void test_metrics_bad_names(void **state)
{
	const struct nlproto_label bad_label = {"res-ult", "x"};
	const struct nlproto_sample s = {&bad_label, 1, 1};
	const struct nlproto_metric bad_name = {"9lives", "counter", NULL, NULL, 0},
				    bad_lbl = {"ok_name", "counter", NULL, &s, 1};
	struct nlproto_metric no_type = {"ok_name", NULL, NULL, NULL, 0};
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 1, 0, 0);
	struct nlproto_metrics out;
	struct nlattr *nest, *sn, *ln;
	char msg[256];

	(void)state;
	assert_true(nlproto_metric_name_ok("tls_established"));
	assert_true(nlproto_metric_name_ok("_x9"));
	assert_false(nlproto_metric_name_ok(""));
	assert_false(nlproto_metric_name_ok("a b"));
	assert_false(nlproto_metric_name_ok("a{b}"));
	assert_int_equal(nlproto_put_metric(m, &bad_name), -EINVAL);
	assert_int_equal(nlproto_put_metric(m, &bad_lbl), -EINVAL);
	assert_int_equal(nlproto_put_metric(m, &no_type), -EINVAL);
	no_type.type = "a_type_longer_than_the_decoder_takes";
	assert_int_equal(nlproto_put_metric(m, &no_type), -EINVAL);
	nlmsg_free(m);

	/* made by hand, as a broken or hostile sender would: refused with the family named */
	m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 2, 0, 0);
	nest = nla_nest_start(m, NLPROTO_A_METRIC);
	assert_int_equal(nla_put_string(m, NLPROTO_METRIC_NAME, "timeouts"), 0);
	assert_int_equal(nla_put_string(m, NLPROTO_METRIC_TYPE, "counter"), 0);
	sn = nla_nest_start(m, NLPROTO_METRIC_SAMPLE);
	assert_int_equal(nla_put_u64(m, NLPROTO_SAMPLE_VALUE, 3), 0);
	ln = nla_nest_start(m, NLPROTO_SAMPLE_LABEL);
	assert_int_equal(nla_put_string(m, NLPROTO_LABEL_NAME, "bad\"label"), 0);
	assert_int_equal(nla_put_string(m, NLPROTO_LABEL_VALUE, "x"), 0);
	nla_nest_end(m, ln);
	nla_nest_end(m, sn);
	nla_nest_end(m, nest);
	assert_int_equal(nlproto_parse_metrics(hdr(m), &out, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "metric timeouts"));
	nlproto_metrics_free(&out);
	nlmsg_free(m);

	/* a sample without its value (labelled: libnl drops an empty nest) */
	m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, 3, 0, 0);
	nest = nla_nest_start(m, NLPROTO_A_METRIC);
	assert_int_equal(nla_put_string(m, NLPROTO_METRIC_NAME, "timeouts"), 0);
	sn = nla_nest_start(m, NLPROTO_METRIC_SAMPLE);
	ln = nla_nest_start(m, NLPROTO_SAMPLE_LABEL);
	assert_int_equal(nla_put_string(m, NLPROTO_LABEL_NAME, "leg"), 0);
	assert_int_equal(nla_put_string(m, NLPROTO_LABEL_VALUE, "client"), 0);
	nla_nest_end(m, ln);
	nla_nest_end(m, sn);
	nla_nest_end(m, nest);
	assert_int_equal(nlproto_parse_metrics(hdr(m), &out, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "without a value"));
	nlproto_metrics_free(&out);
	nlmsg_free(m);
}

/* Requests: the attributes each carries come back through nlproto_parse. */
static void test_requests(void **state)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct nl_msg *m;
	char msg[256];

	(void)state;
	m = nlproto_msg_new(NLPROTO_MSG_POLICY_ADD, NLM_F_REQUEST | NLM_F_ACK, 3, 0, 0);
	assert_int_equal(nla_put_u8(m, NLPROTO_A_DIR, NLPROTO_DIR_INBOUND), 0);
	assert_int_equal(nla_put_string(m, NLPROTO_A_LINE, "example.org encrypt"), 0);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), 0);
	assert_int_equal(nla_get_u32(tb[NLPROTO_A_VERSION]), NLPROTO_VERSION);
	assert_int_equal(nla_get_u8(tb[NLPROTO_A_DIR]), NLPROTO_DIR_INBOUND);
	assert_string_equal(nlproto_str(tb[NLPROTO_A_LINE]), "example.org encrypt");
	assert_null(nlproto_str(tb[NLPROTO_A_KEY]));
	nlmsg_free(m);

	m = nlproto_msg_new(NLPROTO_MSG_SESSION_KILL, NLM_F_REQUEST, 4, 0, 0);
	assert_int_equal(nla_put_u64(m, NLPROTO_A_SESS_ID, 1ull << 50), 0);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), 0);
	assert_int_equal(nlproto_u64(tb[NLPROTO_A_SESS_ID], 0), 1ull << 50);
	assert_int_equal(nlproto_u64(tb[NLPROTO_A_CURSOR], 7), 7);
	nlmsg_free(m);

	m = nlproto_msg_new(NLPROTO_MSG_LOG_LEVEL, NLM_F_REQUEST, 5, 0, 0);
	assert_int_equal(nla_put_string(m, NLPROTO_A_LOG_LEVEL, "debug"), 0);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), 0);
	assert_string_equal(nlproto_str(tb[NLPROTO_A_LOG_LEVEL]), "debug");
	nlmsg_free(m);
}

/* A file larger than one attribute can hold travels in chunks and arrives identical. */
static void test_import_data_chunks(void **state)
{
	size_t len = 3 * NLPROTO_DATA_CHUNK + 123;
	char *data = malloc(len), *got = NULL;
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_POLICY_IMPORT, NLM_F_REQUEST, 6, 0, 0);
	size_t got_len = 0;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(nla_put_string(m, NLPROTO_A_FILE_NAME, "tls_policy"), 0);
	assert_int_equal(nlproto_put_data(m, data, len), 0);
	assert_true(hdr(m)->nlmsg_len > len);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), 0);
	assert_int_equal(nlproto_get_data(hdr(m), &got, &got_len), 0);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	assert_int_equal(got[len], '\0');
	free(got);
	/* an empty file is no data at all */
	nlmsg_free(m);
	m = nlproto_msg_new(NLPROTO_MSG_POLICY_IMPORT, NLM_F_REQUEST, 7, 0, 0);
	assert_int_equal(nlproto_put_data(m, data, 0), 0);
	assert_int_equal(nlproto_get_data(hdr(m), &got, &got_len), 0);
	assert_int_equal(got_len, 0);
	free(got);
	nlmsg_free(m);
	free(data);
}

static void test_error_and_ack(void **state)
{
	struct nl_msg *req =
		nlproto_msg_new(NLPROTO_MSG_POLICY_DEL, NLM_F_REQUEST | NLM_F_ACK, 41, 1234, 0);
	struct nl_msg *e;
	const char *text;
	int err;

	(void)state;
	e = nlproto_error_new(hdr(req), 1234, -ENOENT, "no outbound rule for key x.org", 20);
	assert_non_null(e);
	assert_int_equal(hdr(e)->nlmsg_type, NLMSG_ERROR);
	assert_int_equal(hdr(e)->nlmsg_seq, 41);
	assert_int_equal(hdr(e)->nlmsg_pid, 1234);
	assert_true(hdr(e)->nlmsg_flags & NLM_F_CAPPED);
	assert_true(hdr(e)->nlmsg_flags & NLM_F_ACK_TLVS);
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), 0);
	assert_int_equal(err, -ENOENT);
	assert_string_equal(text, "no outbound rule for key x.org");
	/* the echoed header is the request's */
	assert_int_equal(((struct nlmsgerr *)nlmsg_data(hdr(e)))->msg.nlmsg_type,
			 NLPROTO_MSG_POLICY_DEL);
	nlmsg_free(e);

	e = nlproto_error_new(hdr(req), 1234, 0, NULL, 0);
	assert_false(hdr(e)->nlmsg_flags & NLM_F_ACK_TLVS);
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), 0);
	assert_int_equal(err, 0);
	assert_null(text);
	/* truncated: shorter than struct nlmsgerr */
	hdr(e)->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), -EBADMSG);
	nlmsg_free(e);

	/* a text longer than the protocol allows is cut, never overflows */
	{
		char *big = malloc(3 * NLPROTO_TEXT_MAX);

		memset(big, 'x', 3 * NLPROTO_TEXT_MAX - 1);
		big[3 * NLPROTO_TEXT_MAX - 1] = '\0';
		e = nlproto_error_new(hdr(req), 1, -EINVAL, big, 0);
		assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), 0);
		assert_int_equal(strlen(text), NLPROTO_TEXT_MAX - 1);
		nlmsg_free(e);
		free(big);
	}
	nlmsg_free(req);
}

/* The kernel's layout without NLM_F_CAPPED echoes the whole request before the TLVs. */
static void test_error_uncapped_kernel_layout(void **state)
{
	struct nl_msg *req = nlproto_msg_new(NLPROTO_MSG_POLICY_ADD, NLM_F_REQUEST, 8, 0, 0);
	struct nl_msg *e = nlmsg_alloc_size(8192);
	struct nlmsgerr *ne;
	const char *text;
	int err;

	(void)state;
	assert_int_equal(nla_put_string(req, NLPROTO_A_LINE, "a.org encrypt"), 0);
	assert_non_null(nlmsg_put(e, 0, 8, NLMSG_ERROR, 0, NLM_F_ACK_TLVS));
	ne = nlmsg_reserve(e, sizeof(int) + hdr(req)->nlmsg_len, NLMSG_ALIGNTO);
	ne->error = -EEXIST;
	memcpy(&ne->msg, hdr(req), hdr(req)->nlmsg_len);
	assert_int_equal(nla_put_string(e, NLMSGERR_ATTR_MSG, "exists"), 0);
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), 0);
	assert_int_equal(err, -EEXIST);
	assert_string_equal(text, "exists");
	/* an echo claiming to be longer than the message itself */
	ne->msg.nlmsg_len = 60000;
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), -EBADMSG);
	/* an error that is not -errno */
	ne->msg.nlmsg_len = hdr(req)->nlmsg_len;
	ne->error = 5;
	assert_int_equal(nlproto_error_parse(hdr(e), &err, &text), -EBADMSG);
	nlmsg_free(e);
	nlmsg_free(req);
}

static void test_done_pages(void **state)
{
	struct nl_msg *d = nlproto_done_new(12, 99, true, 123456789ull);
	struct nl_msg *k = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI);
	uint64_t cursor = 0;
	bool more = false;
	int err = 1, zero = 0;

	(void)state;
	assert_int_equal(hdr(d)->nlmsg_type, NLMSG_DONE);
	assert_true(hdr(d)->nlmsg_flags & NLM_F_MULTI);
	assert_int_equal(nlproto_done_parse(hdr(d), &err, &more, &cursor), 0);
	assert_int_equal(err, 0);
	assert_true(more);
	assert_int_equal(cursor, 123456789ull);
	nlmsg_free(d);

	d = nlproto_done_new(12, 99, false, 5);
	assert_int_equal(nlproto_done_parse(hdr(d), &err, &more, &cursor), 0);
	assert_false(more);
	nlmsg_free(d);

	/* the kernel's bare DONE (an int): a complete dump */
	assert_int_equal(nlmsg_append(k, &zero, sizeof(zero), NLMSG_ALIGNTO), 0);
	assert_int_equal(nlproto_done_parse(hdr(k), &err, &more, &cursor), 0);
	assert_false(more);
	hdr(k)->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(nlproto_done_parse(hdr(k), &err, &more, &cursor), -EBADMSG);
	nlmsg_free(k);
}

static void test_missing_or_old_version(void **state)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct nl_msg *m = nlmsg_alloc_simple(NLPROTO_MSG_STATUS_GET, NLM_F_REQUEST);
	uint32_t off = 1;
	char msg[256];

	(void)state;
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), &off), -EPROTO);
	assert_string_equal(msg, "no protocol version attribute");
	assert_int_equal(off, 0);
	assert_int_equal(nla_put_u32(m, NLPROTO_A_VERSION, 0), 0);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), -EPROTO);
	assert_non_null(strstr(msg, "speaks control protocol 0"));
	nlmsg_free(m);
}

/* A newer peer's attributes are skipped; the ones we know still count. */
static void test_unknown_attributes_ignored(void **state)
{
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	struct nlproto_rule r = {.id = 9, .key = "k.org", .level = "may"}, out;
	const char *mb[1];
	struct nlattr *nest;
	char msg[256];

	(void)state;
	assert_int_equal(nla_put_u32(m, NLPROTO_A_MAX + 1, 0xdead), 0);
	assert_int_equal(nla_put_string(m, 900, "from the future"), 0);
	nest = nla_nest_start(m, NLPROTO_A_MAX + 7);
	assert_non_null(nest);
	assert_int_equal(nla_put_u8(m, 1, 1), 0);
	nla_nest_end(m, nest);
	assert_int_equal(nlproto_put_rule(m, &r), 0);
	assert_int_equal(nlproto_parse_rule(hdr(m), &out, mb, 1, msg, sizeof(msg)), 0);
	assert_int_equal(out.id, 9);
	assert_string_equal(out.key, "k.org");
	nlmsg_free(m);
}

/* Append a raw attribute (bypassing libnl's helpers, which would not build bad ones). */
static void raw_attr(struct nl_msg *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = nlmsg_reserve(m, NLA_ALIGN(sizeof(*a) + len), NLA_ALIGNTO);

	a->nla_type = type;
	a->nla_len = (uint16_t)(sizeof(*a) + len);
	memcpy(a + 1, data, len);
}

static void test_malformed_attributes(void **state)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	char msg[256], big[NLPROTO_STR_MAX + 10];
	uint64_t eight = 8;
	uint32_t off;
	struct nl_msg *m;

	(void)state;
	/* a string without its NUL */
	m = nlproto_msg_new(NLPROTO_MSG_POLICY_DEL, NLM_F_REQUEST, 1, 0, 0);
	raw_attr(m, NLPROTO_A_KEY, "abc", 3);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), &off), -EINVAL);
	assert_non_null(strstr(msg, "invalid attribute key"));
	/* offset of the bad attribute from the message start: header + version attribute */
	assert_int_equal(off, NLMSG_HDRLEN + 8);
	nlmsg_free(m);

	/* a string longer than its maximum */
	m = nlproto_msg_new(NLPROTO_MSG_POLICY_DEL, NLM_F_REQUEST, 1, 0, 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(nla_put_string(m, NLPROTO_A_KEY, big), 0);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), -EINVAL);
	nlmsg_free(m);

	/* an integer of the wrong width */
	m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	raw_attr(m, NLPROTO_A_RULE_ID, &eight, 8);
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "rule-id"));
	nlmsg_free(m);

	/* an attribute whose length runs past the message */
	m = nlproto_msg_new(NLPROTO_MSG_STATUS_GET, NLM_F_REQUEST, 1, 0, 0);
	raw_attr(m, NLPROTO_A_LINE, "x", 1);
	((struct nlattr *)((char *)hdr(m) + NLMSG_HDRLEN + 8))->nla_len = 200;
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), &off), -EBADMSG);
	assert_non_null(strstr(msg, "malformed attribute at offset"));
	assert_int_equal(off, NLMSG_HDRLEN + 8);
	nlmsg_free(m);

	/* a message shorter than its own header */
	m = nlproto_msg_new(NLPROTO_MSG_STATUS_GET, NLM_F_REQUEST, 1, 0, 0);
	hdr(m)->nlmsg_len = 8;
	assert_int_equal(nlproto_parse(hdr(m), tb, msg, sizeof(msg), NULL), -EBADMSG);
	nlmsg_free(m);
}

/* libnl would wrap a 16-bit attribute length silently; the protocol refuses instead. */
static void test_oversized_attribute_refused(void **state)
{
	size_t n = 70000;
	char *s = malloc(n);
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	struct nlproto_rule r = {.id = 1, .level = "may"};
	const char *pats[1];
	uint32_t len0 = hdr(m)->nlmsg_len;

	(void)state;
	memset(s, 'a', n - 1);
	s[n - 1] = '\0';
	r.key = s;
	pats[0] = s;
	assert_int_equal(nlproto_put_rule(m, &r), -EMSGSIZE);
	r.key = "ok.org";
	r.match = pats;
	r.nmatch = 1;
	nlmsg_free(m);
	m = nlproto_msg_new(NLPROTO_MSG_POLICY, 0, 1, 0, 0);
	assert_int_equal(nlproto_put_rule(m, &r), -EMSGSIZE);
	assert_true(hdr(m)->nlmsg_len > len0); /* the fields before it were put */
	nlmsg_free(m);
	free(s);
}

static void test_names(void **state)
{
	enum nlproto_dir d;
	char buf[32];

	(void)state;
	assert_string_equal(nlproto_msg_name(NLPROTO_MSG_POLICY_ADD, buf, sizeof(buf)),
			    "policy add");
	assert_string_equal(nlproto_msg_name(NLPROTO_MSG_METRICS_GET, buf, sizeof(buf)), "stats");
	assert_string_equal(nlproto_msg_name(0x99, buf, sizeof(buf)), "message type 0x99");
	assert_int_equal(nlproto_dir_parse("inbound", &d), 0);
	assert_int_equal(d, NLPROTO_DIR_INBOUND);
	assert_int_equal(nlproto_dir_parse("in", &d), -EINVAL);
	assert_string_equal(nlproto_dir_name(NLPROTO_DIR_OUTBOUND), "outbound");
	assert_string_equal(nlproto_offload_name(NLPROTO_OFFLOAD_ON), "on");
	assert_string_equal(nlproto_offload_name(77), "unsupported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_round_trip),
		cmocka_unit_test(test_rule_minimal_and_required),
		cmocka_unit_test(test_session_round_trip),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_event_round_trip),
		cmocka_unit_test(test_metrics_round_trip),
		cmocka_unit_test(test_metrics_bad_names),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_import_data_chunks),
		cmocka_unit_test(test_error_and_ack),
		cmocka_unit_test(test_error_uncapped_kernel_layout),
		cmocka_unit_test(test_done_pages),
		cmocka_unit_test(test_missing_or_old_version),
		cmocka_unit_test(test_unknown_attributes_ignored),
		cmocka_unit_test(test_malformed_attributes),
		cmocka_unit_test(test_oversized_attribute_refused),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
