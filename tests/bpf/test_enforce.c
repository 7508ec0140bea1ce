// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf tier: the enforcer on crafted flows (tests/bpf/enforce_fixture.h), loaded through the real
 * loader (bpf/loader.h) into a private pin directory, with a policy of
 *   203.0.113.25/32, 2001:db8:2::25/128   encrypt   rule 7
 *   203.0.113.26/32                       may       rule 8     (default: may, rule 1)
 * Every flow runs in IPv4 and IPv6, untagged and VLAN-tagged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/enforce.h"
#include "bpf/loader.h"
#include "policy/policy.h"
#include "bpf/metrics.h"
#include "tests/bpf/enforce_fixture.h"
#include "tests/lib/bpffs.h"
#include "tests/lib/pkt.h"

/* Steps leave their last field (shape) out unless they need it. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define RELAY_MARK 0x100
#define RULE_ENCRYPT 7
#define RULE_MAY 8
#define RULE_DEFAULT 1
#define RULE_INBOUND 9
#define RULE_MONITOR 10	/* 203.0.113.27: encrypt, mode=monitor */

static struct tg_bpf *h;
static char pin_dir[64];
static uint16_t next_cport = 40000;

static const struct flow_env envs[] = {
	{ AF_INET, 0, "192.0.2.10", "203.0.113.25", 0, 25, 0, 0 },
	{ AF_INET, 100, "192.0.2.10", "203.0.113.25", 0, 25, 0, 0 },
	{ AF_INET6, 0, "2001:db8:1::10", "2001:db8:2::25", 0, 25, 0, 0 },
	{ AF_INET6, 200, "2001:db8:1::10", "2001:db8:2::25", 0, 25, 0, 0 },
};
#define NENVS (sizeof(envs) / sizeof(envs[0]))

static struct tg_counters global_counters(void)
{
	struct tg_metrics m;
	struct tg_counters c;

	assert_int_equal(tg_metrics_read(pin_dir, &m), 0);
	c = m.global;
	tg_metrics_free(&m);
	return c;
}

static uint64_t rule_counter(uint32_t rule, unsigned int idx)
{
	struct tg_metrics m;
	uint64_t v = 0;

	assert_int_equal(tg_metrics_read(pin_dir, &m), 0);
	for (size_t i = 0; i < m.nrules; i++)
		if (m.rules[i].rule_id == rule)
			v = m.rules[i].c.v[idx];
	tg_metrics_free(&m);
	return v;
}

/* Run one frame; what the program made of it goes to out (cap bytes), its length to *outlen. */
static int run_frame_out(enum tg_bpf_prog prog, const void *frame, int len, uint32_t mark,
			 void *out, __u32 cap, __u32 *outlen)
{
	struct __sk_buff ctx = { .mark = mark };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = cap, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(tg_bpf_prog_fd(h, prog), &o), 0);
	*outlen = o.data_size_out;
	return (int)o.retval;
}

static int run_frame(enum tg_bpf_prog prog, const void *frame, int len, uint32_t mark)
{
	static unsigned char out[9000];
	__u32 n;

	return run_frame_out(prog, frame, len, mark, out, sizeof(out), &n);
}

/* A V_RST / V_EMPTY step: the segment came out header-only, flags and sequence as expected,
 * lengths and checksums right. */
static void check_rewritten(const struct step *s, const unsigned char *out, __u32 outlen,
			    uint32_t want_seq, uint32_t want_ack, const char *name, int i)
{
	uint8_t want_flags = s->verdict == V_RST ? (TH_RST | TH_ACK) : TH_ACK;
	struct pkt_tcp t;

	if (pkt_read_tcp(out, outlen, &t) || t.flags != want_flags || t.payload_len ||
	    !t.ip_len_ok || !t.csum_ok || t.seq != want_seq || t.ack != want_ack)
		fail_msg("%s step %d: rewritten segment flags %#x (want %#x) payload %zu seq %u "
			 "(want %u) ack %u (want %u) ip length %s checksums %s",
			 name, i, t.flags, want_flags, t.payload_len, t.seq, want_seq, t.ack,
			 want_ack, t.ip_len_ok ? "ok" : "WRONG", t.csum_ok ? "ok" : "WRONG");
}

/* Run the steps of one flow in env e; the client port is fresh for every flow. */
static void run_flow(const struct flow_env *e, const struct step *steps, const char *name)
{
	const uint32_t cisn = 1000000, sisn = 7000000;
	uint32_t next[2] = { 0, 0 }; /* stream offsets: [0] client, [1] server */
	uint16_t cport = next_cport++;
	unsigned char frame[9000], out[9000];
	__u32 outlen;

	for (int i = 0; steps[i].dir; i++) {
		const struct step *s = &steps[i];
		int srv = s->dir == 's', other_side = s->dir == 'x';
		size_t plen = s->data ? (s->len ? s->len : strlen(s->data)) : 0;
		uint32_t off = s->off == OFF_NEXT ? next[srv] : (uint32_t)s->off;
		struct pkt_spec p = {
			.family = e->family, .vlan = e->vlan, .payload = s->data, .payload_len = plen,
			.saddr = srv ? e->server : e->client, .daddr = srv ? e->client : e->server,
			.sport = srv ? e->sport : cport, .dport = srv ? cport : e->sport,
		};
		struct tg_counters before = global_counters(), after;
		int len, v;

		p.tcp_flags = s->flags ? s->flags : (plen ? TH_ACK | TH_PUSH : TH_ACK);
		p.seq = (srv ? sisn : cisn) + ((p.tcp_flags & TH_SYN) ? 0 : 1) + off;
		p.ack = (srv ? cisn : sisn) + 1 + next[!srv];
		if (s->shape)
			s->shape(&p);
		len = pkt_build(&p, frame, sizeof(frame));
		assert_true(len > 0);
		v = run_frame_out((srv || other_side) == !e->inbound ? TG_PROG_ENFORCE_INGRESS
								      : TG_PROG_ENFORCE_EGRESS,
				  frame, len, srv ? 0 : e->mark, out, sizeof(out), &outlen);
		after = global_counters();
		if (s->verdict == V_RST || s->verdict == V_EMPTY) {
			if (v == V_PASS)
				check_rewritten(s, out, outlen,
						s->verdict == V_RST ? cisn + 1 + next[0] : p.seq,
						p.ack, name, i);
			v = s->verdict; /* checked: compare the counters below */
		}
		if (v != s->verdict || (s->reason && after.v[TG_CTR_DROPS + s->reason] !=
							     before.v[TG_CTR_DROPS + s->reason] + 1))
			fail_msg("%s (family %d vlan %u) step %d: verdict %d want %d, %s drops %llu -> "
				 "%llu",
				 name, e->family, e->vlan, i, v, s->verdict,
				 tg_drop_reason_name((unsigned int)s->reason),
				 (unsigned long long)before.v[TG_CTR_DROPS + s->reason],
				 (unsigned long long)after.v[TG_CTR_DROPS + s->reason]);
		if (s->verdict == V_PASS && !s->reason) {
			/* a pass moves no drop counter */
			for (int r = 1; r < TG_DROP_N; r++)
				assert_int_equal(after.v[TG_CTR_DROPS + r], before.v[TG_CTR_DROPS + r]);
		}
		if (plen && off + plen > next[srv] && (s->verdict == V_PASS || s->off == OFF_NEXT))
			next[srv] = off + (uint32_t)plen;
	}
}

static void run_all_envs(const struct step *steps, const char *name)
{
	for (size_t i = 0; i < NENVS; i++)
		run_flow(&envs[i], steps, name);
}

/* ---- before STARTTLS ---------------------------------------------------------------------- */

static void test_allowed_verbs(void **state)
{
	static const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client.example.org\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "helo client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "NOOP\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "rset\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "NoOp with an argument\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "QUIT\n", 0, V_PASS, 0 },
		{ 'c', TH_FIN | TH_ACK, OFF_NEXT, NULL, 0, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	run_all_envs(s, "allowed verbs");
}

static void forbidden(const char *line, int reason)
{
	const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, line, 0, V_RST, reason },
		/* the client resends it: still dropped, as a blocked flow now */
		{ 'c', 0, 13, line, 0, V_EMPTY, TG_DROP_BLOCKED },
		{ 'c', 0, 13, "QUIT\r\n", 0, V_EMPTY, TG_DROP_BLOCKED },
		/* no data: ACKs and the FIN still pass, so the connection can end */
		{ 'c', TH_ACK, 13, NULL, 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "421 timeout\r\n", 0, V_PASS, 0 },
		{ 'c', TH_FIN | TH_ACK, 13, NULL, 0, V_PASS, 0 },
		END_STEPS,
	};
	struct tg_counters before = global_counters(), after;

	run_all_envs(s, line);
	after = global_counters();
	assert_int_equal(after.v[TG_CTR_FLOWS_BLOCKED] - before.v[TG_CTR_FLOWS_BLOCKED], NENVS);
}

static void test_forbidden_verbs(void **state)
{
	(void)state;
	forbidden("MAIL FROM:<alice@example.org>\r\n", TG_DROP_PLAIN_MAIL);
	forbidden("mail from:<alice@example.org>\r\n", TG_DROP_PLAIN_MAIL);
	forbidden("RCPT TO:<bob@example.net>\r\n", TG_DROP_PLAIN_MAIL);
	forbidden("DATA\r\n", TG_DROP_PLAIN_MAIL);
	forbidden("BDAT 100 LAST\r\n", TG_DROP_PLAIN_MAIL);
	forbidden("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", TG_DROP_PLAIN_AUTH);
	forbidden("auth login\r\n", TG_DROP_PLAIN_AUTH);
	forbidden("VRFY bob\r\n", TG_DROP_BAD_VERB);
	forbidden("EXPN list\r\n", TG_DROP_BAD_VERB);
	forbidden("EHLOX client\r\n", TG_DROP_BAD_VERB);
	forbidden("STARTTLSX\r\n", TG_DROP_BAD_VERB);
	forbidden("\r\n", TG_DROP_BAD_VERB);
	forbidden("Subject: plaintext\r\n", TG_DROP_BAD_VERB);
}

/* The reset keeps every checksum right whatever the payload's size and parity (the checksum
 * share of the payload is taken out in 512-byte steps); past 2048 bytes the segment is dropped. */
static void test_reset_sizes(void **state)
{
	static const size_t sizes[] = { 16, 511, 512, 513, 1401, 2047, 2048, 2049, 3000 };
	static char line[3100];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		const struct step st[] = {
			HANDSHAKE,
			{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
			{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
			{ 'c', 0, OFF_NEXT, line, n, n <= 2048 ? V_RST : V_DROP, TG_DROP_PLAIN_MAIL },
			{ 'c', 0, 13, line, n, n <= 2048 ? V_EMPTY : V_DROP, TG_DROP_BLOCKED },
			END_STEPS,
		};
		char name[32];

		memset(line, 'a', n);
		memcpy(line, "MAIL FROM:<", 11);
		memcpy(line + n - 3, ">\r\n", 3);
		snprintf(name, sizeof(name), "reset, %zu bytes", n);
		run_all_envs(st, name);
	}
}

static void test_pipelined_lines(void **state)
{
	static const struct step ok[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO a\r\nNOOP\r\nRSET\r\nNOOP x\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 a\r\n250 ok\r\n250 ok\r\n250 ok\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step bad[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO a\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\n", 0, V_RST,
		  TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};

	(void)state;
	run_all_envs(ok, "pipelined allowed");
	run_all_envs(bad, "pipelined with MAIL");
}

static void test_command_split_across_segments(void **state)
{
	static const struct step ok[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EH", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "LO client\r", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "\nNO", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "OP\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step bad[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\nMA", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "IL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step bad2[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "R", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "C", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "P", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "T TO:<b@example.net>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};

	(void)state;
	run_all_envs(ok, "split allowed");
	run_all_envs(bad, "split MAIL");
	run_all_envs(bad2, "RCPT one byte at a time");
}

/* ---- STARTTLS and records ----------------------------------------------------------------- */

/* A TLS record header + body of n bytes (body bytes are 'x'). */
static size_t record(unsigned char *buf, uint8_t type, uint16_t ver, uint16_t n)
{
	buf[0] = type;
	buf[1] = (uint8_t)(ver >> 8);
	buf[2] = (uint8_t)ver;
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	memset(buf + 5, 'x', n);
	return 5u + n;
}

static unsigned char ch[5 + 300], recs[3 * 5 + 40 + 1 + 100], big[5 + 3000];
static unsigned char combo[1005 + sizeof(recs)]; /* the end of big, then recs */
static size_t ch_len, recs_len, big_len, combo_len;

static void make_records(void)
{
	ch_len = record(ch, 22, 0x0301, 300);				/* ClientHello */
	recs_len = record(recs, 20, 0x0303, 1);				/* ChangeCipherSpec */
	recs_len += record(recs + recs_len, 23, 0x0303, 40);		/* Finished (1.3) */
	recs_len += record(recs + recs_len, 23, 0x0303, 100);		/* data */
	big_len = record(big, 23, 0x0303, 3000);
	memcpy(combo, big + 2000, big_len - 2000);
	memcpy(combo + big_len - 2000, recs, recs_len);
	combo_len = big_len - 2000 + recs_len;
}

/* Up to STARTTLS and its 220: the client stream is then at offset 34 (20 + 10 + ...). */
#define TO_TLS                                                                    \
	HANDSHAKE, { 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },           \
		{ 's', 0, OFF_NEXT, "250-mx\r\n250 STARTTLS\r\n", 0, V_PASS, 0 },     \
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },                   \
		{ 's', 0, OFF_NEXT, "220 2.0.0 Ready to start TLS\r\n", 0, V_PASS, 0 }
#define TLS_AT 23 /* strlen("EHLO client\r\n") + strlen("STARTTLS\r\n") */

static void test_tls_records(void **state)
{
	struct tg_counters before = global_counters(), after;
	const struct step s[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "\x16\x03\x03\x00\x02hi", 7, V_PASS, 0 },
		/* three records in one segment */
		{ 'c', 0, OFF_NEXT, (const char *)recs, recs_len, V_PASS, 0 },
		/* a record split: header in two pieces, body in three */
		{ 'c', 0, OFF_NEXT, (const char *)big, 3, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)big + 3, 2, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)big + 5, 1000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)big + 1005, 1000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)big + 2005, 1000, V_PASS, 0 },
		/* end of one record and the start of the next in one segment */
		{ 'c', 0, OFF_NEXT, (const char *)big, 2000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)combo, combo_len, V_PASS, 0 },
		/* plaintext now is a malformed record */
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};

	(void)state;
	run_all_envs(s, "TLS records");
	after = global_counters();
	assert_int_equal(after.v[TG_CTR_FLOWS_TLS] - before.v[TG_CTR_FLOWS_TLS], NENVS);
	assert_true(after.v[TG_CTR_BYTES_TLS] - before.v[TG_CTR_BYTES_TLS] >=
		    NENVS * (ch_len + 2 * recs_len + 2 * big_len));
}

static void bad_record(const unsigned char *hdr, const char *name)
{
	const struct step s[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)hdr, 5, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};

	run_all_envs(s, name);
}

static void test_malformed_records(void **state)
{
	static const struct step first_bad[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, "\x16\x03\x02\x00\x10", 5, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};

	(void)state;
	bad_record((const unsigned char *)"\x18\x03\x03\x00\x10", "content type 24");
	bad_record((const unsigned char *)"\x13\x03\x03\x00\x10", "content type 19");
	bad_record((const unsigned char *)"\x17\x03\x02\x00\x10", "version 0x0302");
	bad_record((const unsigned char *)"\x17\x03\x01\x00\x10", "0x0301 after the first record");
	bad_record((const unsigned char *)"\x17\x03\x03\x41\x01", "length 2^14+257");
	run_all_envs(first_bad, "first record version 0x0302");
}

static void test_max_record_length(void **state)
{
	static unsigned char maxrec[5 + TG_TLS_MAX_RECORD];
	size_t n = record(maxrec, 23, 0x0303, TG_TLS_MAX_RECORD);
	const struct step s[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		/* test_run takes at most about 3.5 KB per frame */
		{ 'c', 0, OFF_NEXT, (const char *)maxrec, 3000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)maxrec + 3000, 3000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)maxrec + 6000, 3000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)maxrec + 9000, 3000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)maxrec + 12000, 3000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)maxrec + 15000, n - 15000, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)recs, recs_len, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	run_all_envs(s, "record of 2^14+256");
}

static void test_retransmits(void **state)
{
	const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 0, "EHLO client\r\n", 0, V_PASS, 0 },			/* retransmit */
		{ 's', 0, OFF_NEXT, "250-mx\r\n250 STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, 26, "250-mx\r\n250 STARTTLS\r\n", 0, V_PASS, 0 },	/* server's too */
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "220 go\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 13, "STARTTLS\r\n", 0, V_PASS, 0 },	/* after the 220, still fine */
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', 0, TLS_AT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', 0, TLS_AT + 100, (const char *)ch + 100, 50, V_PASS, 0 }, /* a piece */
		END_STEPS,
	};
	/* A retransmit that carries new bytes too: the new part is judged. */
	const struct step grow[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 0, "EHLO client\r\nMAIL FROM:<a@example.org>\r\n", 0, V_RST,
		  TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};

	(void)state;
	run_all_envs(s, "retransmits");
	run_all_envs(grow, "retransmit with new bytes");
}

static void test_out_of_order(void **state)
{
	const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, 13, "NOOP\r\n", 0, V_DROP, TG_DROP_OOO },	/* before "EHLO client" */
		{ 'c', 0, 0, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 13, "NOOP\r\n", 0, V_PASS, 0 },		/* resent in order */
		{ 's', 0, 40, "250 ok\r\n", 0, V_DROP, TG_DROP_OOO },	/* a gap in replies */
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 ok\r\n220 go\r\n", 0, V_PASS, 0 },
		{ 'c', 0, TLS_AT + 6 + 100, (const char *)ch + 100, 100, V_DROP, TG_DROP_OOO },
		{ 'c', 0, TLS_AT + 6, (const char *)ch, 100, V_PASS, 0 },
		{ 'c', 0, TLS_AT + 6 + 100, (const char *)ch + 100, ch_len - 100, V_PASS, 0 },
		END_STEPS,
	};
	struct tg_counters before = global_counters(), after;

	(void)state;
	run_all_envs(s, "out of order");
	after = global_counters();
	/* dropped out-of-order segments block nothing: every flow reached TLS */
	assert_int_equal(after.v[TG_CTR_FLOWS_BLOCKED], before.v[TG_CTR_FLOWS_BLOCKED]);
	assert_int_equal(after.v[TG_CTR_FLOWS_TLS] - before.v[TG_CTR_FLOWS_TLS], NENVS);
}

static void test_starttls_rules(void **state)
{
	static const struct step refused[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "454 4.7.0 TLS not available\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "RSET\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step early[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 }, /* the EHLO reply, not TLS yet */
		{ 'c', 0, OFF_NEXT, "\x16\x03\x01\x00\x05hello", 10, V_RST, TG_DROP_EARLY_DATA },
		END_STEPS,
	};
	static const struct step piped[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\nSTARTTLS\r\nMAIL FROM:<a@example.org>\r\n", 0,
		  V_RST, TG_DROP_EARLY_DATA },
		END_STEPS,
	};
	/* refused, asked again at once: the second reply's code is read from its first byte */
	static const struct step again[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "454 4.7.0 TLS not available\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "220 2.0.0 go\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "\x16\x03\x01\x00\x01x", 6, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step split_reply[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\nSTART", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "TLS\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250-mx\r\n25", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "0 STARTTLS\r\n22", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "0 go\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "\x16\x03\x01\x00\x01x", 6, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	run_all_envs(refused, "STARTTLS refused, then MAIL");
	run_all_envs(early, "ClientHello before the 220");
	run_all_envs(piped, "commands pipelined after STARTTLS");
	run_all_envs(split_reply, "pipelined STARTTLS, replies split");
	run_all_envs(again, "STARTTLS refused, then accepted");
}

/* ---- policy, relay, state, events --------------------------------------------------------- */

static void test_relay_marked_passes(void **state)
{
	static const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	uint64_t relay0 = rule_counter(RULE_ENCRYPT, TG_CTR_FLOWS_RELAY);
	struct tg_counters b0 = global_counters(), b1;

	(void)state;
	for (size_t i = 0; i < NENVS; i++) {
		struct flow_env e = envs[i];

		e.mark = RELAY_MARK;
		run_flow(&e, s, "relay-marked");
	}
	b1 = global_counters();
	assert_int_equal(rule_counter(RULE_ENCRYPT, TG_CTR_FLOWS_RELAY) - relay0, NENVS);
	assert_int_equal(b1.v[TG_CTR_FLOWS_TRACKED], b0.v[TG_CTR_FLOWS_TRACKED]);
	assert_int_equal(b1.v[TG_CTR_BYTES_RELAY] - b0.v[TG_CTR_BYTES_RELAY],
			 NENVS * (27 + 29));
}

static void test_may_destination_plaintext(void **state)
{
	static const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "DATA\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env e = { AF_INET, 0, "192.0.2.10", "203.0.113.26", 0, 25, 0, 0 };
	struct flow_env d = { AF_INET, 0, "192.0.2.10", "198.51.100.7", 0, 25, 0, 0 };
	uint64_t p8 = rule_counter(RULE_MAY, TG_CTR_FLOWS_PLAIN);
	uint64_t p1 = rule_counter(RULE_DEFAULT, TG_CTR_FLOWS_PLAIN);

	(void)state;
	run_flow(&e, s, "may destination");
	run_flow(&d, s, "default (may) destination");
	assert_int_equal(rule_counter(RULE_MAY, TG_CTR_FLOWS_PLAIN) - p8, 1);
	assert_int_equal(rule_counter(RULE_DEFAULT, TG_CTR_FLOWS_PLAIN) - p1, 1);
}

static void test_no_state_is_dropped(void **state)
{
	static const struct step s[] = {
		{ 'c', TH_ACK, 0, NULL, 0, V_PASS, 0 }, /* a bare ACK carries nothing */
		{ 'c', 0, 0, "EHLO client\r\n", 0, V_RST, TG_DROP_NO_STATE },
		{ 'c', 0, 13, "NOOP\r\n", 0, V_EMPTY, TG_DROP_BLOCKED },
		END_STEPS,
	};
	static const struct step may[] = {
		{ 'c', 0, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env e = { AF_INET, 0, "192.0.2.10", "203.0.113.26", 0, 25, 0, 0 };

	(void)state;
	run_all_envs(s, "mid-flow pickup");
	run_flow(&e, may, "mid-flow pickup, may destination");
}

static void test_other_ports_ignored(void **state)
{
	static const struct step s[] = {
		{ 'c', TH_SYN, 0, NULL, 0, V_PASS, 0 },
		{ 'c', 0, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env e = envs[0];
	struct tg_counters b0 = global_counters(), b1;

	(void)state;
	e.sport = 587;
	run_flow(&e, s, "port 587");
	b1 = global_counters();
	assert_int_equal(b1.v[TG_CTR_FLOWS_TRACKED], b0.v[TG_CTR_FLOWS_TRACKED]);
}

static void test_fragment_dropped(void **state)
{
	unsigned char frame[256];
	struct pkt_spec p = { .family = AF_INET, .saddr = "192.0.2.10", .daddr = "203.0.113.25",
			      .sport = 40999, .dport = 25, .tcp_flags = TH_ACK,
			      .payload = "MAIL", .payload_len = 4 };
	int len = pkt_build(&p, frame, sizeof(frame));
	struct tg_counters b0 = global_counters(), b1;

	(void)state;
	frame[14 + 6] = 0x20; /* IP_MF: the first fragment of a larger datagram */
	assert_int_equal(run_frame(TG_PROG_ENFORCE_EGRESS, frame, len, 0), V_DROP);
	b1 = global_counters();
	assert_int_equal(b1.v[TG_CTR_DROPS + TG_DROP_FRAGMENT] - b0.v[TG_CTR_DROPS + TG_DROP_FRAGMENT],
			 1);
}

struct ev_seen {
	int n;
	struct tg_event last;
};

static void on_event(const struct tg_event *e, void *ctx)
{
	struct ev_seen *s = ctx;

	s->n++;
	s->last = *e;
}

static void test_event_content(void **state)
{
	static const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "mail FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	struct flow_env e = envs[2]; /* IPv6 */
	struct ev_seen seen = { 0 };
	unsigned char want[16];
	char line[256];
	uint16_t cport = next_cport;

	(void)state;
	while (tg_bpf_events_poll(h, 0, on_event, &seen) > 0) /* earlier tests' events */
		;
	seen.n = 0;
	run_flow(&e, s, "event");
	assert_int_equal(tg_bpf_events_poll(h, 100, on_event, &seen), 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.last.reason, TG_DROP_PLAIN_MAIL);
	assert_int_equal(seen.last.rule_id, RULE_ENCRYPT);
	assert_int_equal(seen.last.level, POLICY_ENCRYPT);
	assert_int_equal(seen.last.family, TG_FAM_V6);
	assert_int_equal(seen.last.dir, TG_DIR_OUTBOUND);
	assert_int_equal(seen.last.cport, cport);
	assert_int_equal(seen.last.sport, 25);
	inet_pton(AF_INET6, "2001:db8:2::25", want);
	assert_memory_equal(seen.last.saddr, want, 16);
	inet_pton(AF_INET6, "2001:db8:1::10", want);
	assert_memory_equal(seen.last.caddr, want, 16);
	assert_memory_equal(seen.last.detail, "MAIL\0\0\0\0", 8);
	assert_true(seen.last.time_ns > 0);
	assert_true(tg_bpf_event_format(&seen.last, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "reason=plaintext-mail rule=7 dir=outbound"));
	assert_non_null(strstr(line, "server=[2001:db8:2::25]:25"));
	assert_non_null(strstr(line, "detail=\"MAIL\""));
}

/* Inbound rules: an outside client (198.51.100.7, rule 9: encrypt) sending to an inside MX. */
static void test_inbound_rule(void **state)
{
	static const struct step plain[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO sender.example.com\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<x@example.com>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	const struct step tls[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)recs, recs_len, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step plain_ok[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<x@example.com>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env in = { AF_INET, 0, "198.51.100.7", "192.0.2.25", 0, 25, 0, 1 };
	struct flow_env other = { AF_INET, 0, "198.51.100.8", "192.0.2.25", 0, 25, 0, 1 };
	struct ev_seen seen = { 0 };

	(void)state;
	while (tg_bpf_events_poll(h, 0, on_event, &seen) > 0)
		;
	seen.n = 0;
	run_flow(&in, plain, "inbound, encrypt rule for the client");
	assert_int_equal(tg_bpf_events_poll(h, 100, on_event, &seen), 1);
	assert_int_equal(seen.last.dir, TG_DIR_INBOUND);
	assert_int_equal(seen.last.rule_id, RULE_INBOUND);
	run_flow(&in, tls, "inbound TLS");
	assert_int_equal(rule_counter(RULE_INBOUND, TG_CTR_FLOWS_TLS), 1);
	/* a client without an inbound rule: the inbound default (none) lets plaintext through */
	run_flow(&other, plain_ok, "inbound, no rule");
}

static void frag_later(struct pkt_spec *p);

/*
 * Monitor mode (issue 15): an encrypt rule with mode=monitor lets what it would reset pass,
 * counts it once per flow as would-block and tells it in an event flagged monitor; the same
 * flow to the enforced rule is reset.  What cannot be read toward such a peer passes too.
 */
static void test_monitor_rule(void **state)
{
	static const struct step plain[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 ok\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "RCPT TO:<b@example.gov.uk>\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "DATA\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step enforced[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	const struct step tls[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env mon = { AF_INET, 0, "192.0.2.10", "203.0.113.27", 0, 25, 0, 0 };
	struct flow_env enf = { AF_INET, 0, "192.0.2.10", "203.0.113.25", 0, 25, 0, 0 };
	struct tg_counters g0 = global_counters(), g1;
	uint64_t wb = rule_counter(RULE_MONITOR, TG_CTR_WOULD_BLOCK);
	uint64_t bl = rule_counter(RULE_MONITOR, TG_CTR_FLOWS_BLOCKED);
	uint64_t pl = rule_counter(RULE_MONITOR, TG_CTR_FLOWS_PLAIN);
	uint64_t ewb = rule_counter(RULE_ENCRYPT, TG_CTR_WOULD_BLOCK);
	unsigned char frame[256];
	struct pkt_spec p = { .family = AF_INET, .saddr = "192.0.2.10", .daddr = "203.0.113.27",
			      .sport = 40999, .dport = 25, .tcp_flags = TH_ACK,
			      .payload = "MAIL", .payload_len = 4 };
	struct ev_seen seen = { 0 };
	char line[256];
	int len;

	(void)state;
	while (tg_bpf_events_poll(h, 0, on_event, &seen) > 0)
		;
	seen.n = 0;
	run_flow(&mon, plain, "monitor rule: plaintext mail passes");
	assert_int_equal(rule_counter(RULE_MONITOR, TG_CTR_WOULD_BLOCK) - wb, 1); /* once */
	assert_int_equal(rule_counter(RULE_MONITOR, TG_CTR_FLOWS_BLOCKED), bl);
	assert_int_equal(rule_counter(RULE_MONITOR, TG_CTR_FLOWS_PLAIN) - pl, 1);
	assert_int_equal(tg_bpf_events_poll(h, 100, on_event, &seen), 1);
	assert_int_equal(seen.last.rule_id, RULE_MONITOR);
	assert_int_equal(seen.last.reason, TG_DROP_PLAIN_MAIL);
	assert_true(seen.last.flags & TG_EV_F_MONITOR);
	assert_true(tg_bpf_event_format(&seen.last, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "bpf-would-drop mode=monitor reason=plaintext-mail rule=10"));
	/* a TLS flow under the monitor rule: nothing would have been blocked */
	run_flow(&mon, tls, "monitor rule: TLS");
	assert_int_equal(rule_counter(RULE_MONITOR, TG_CTR_WOULD_BLOCK) - wb, 1);
	assert_int_equal(rule_counter(RULE_MONITOR, TG_CTR_FLOWS_TLS), 1);
	/* the same conversation to the enforced rule is reset, and counted as blocked only */
	seen.n = 0;
	run_flow(&enf, enforced, "enforced rule: plaintext mail reset");
	assert_int_equal(rule_counter(RULE_ENCRYPT, TG_CTR_WOULD_BLOCK), ewb);
	assert_int_equal(tg_bpf_events_poll(h, 100, on_event, &seen), 1);
	assert_false(seen.last.flags & TG_EV_F_MONITOR);
	/* a later fragment (no ports) toward the monitor peer is not dropped: it is not policed */
	frag_later(&p);
	len = pkt_build(&p, frame, sizeof(frame));
	assert_true(len > 0);
	g0 = global_counters();
	assert_int_equal(run_frame(TG_PROG_ENFORCE_EGRESS, frame, len, 0), V_PASS);
	g1 = global_counters();
	assert_int_equal(g1.v[TG_CTR_DROPS + TG_DROP_FRAGMENT], g0.v[TG_CTR_DROPS + TG_DROP_FRAGMENT]);
	/* and the same fragment toward the enforced peer is */
	p.daddr = "203.0.113.25";
	len = pkt_build(&p, frame, sizeof(frame));
	assert_int_equal(run_frame(TG_PROG_ENFORCE_EGRESS, frame, len, 0), V_DROP);
}

/* Policy swap: the new trie applies at once, flows already followed keep their verdicts. */
static void test_policy_replace(void **state);

/* ---- an on-path attacker (issue 13) ------------------------------------------------------- */

/* Run a flow in the outbound envs and in an inbound one (an outside client under rule 9). */
static void run_both_roles(const struct step *steps, const char *name)
{
	const struct flow_env in = { AF_INET, 0, "198.51.100.7", "192.0.2.25", 0, 25, 0, 1 };

	run_all_envs(steps, name);
	run_flow(&in, steps, name);
}

/* A SYN is a flow's start only on the client's own side, and never moves a live flow. */
static void test_spoofed_syn(void **state)
{
	/* the client's 4-tuple, sent on the server's side: another flow, this one untouched */
	static const struct step other_side[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'x', TH_SYN, 0, NULL, 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	/* a SYN ahead of the real sequence: dropped, the real segments are judged as before */
	static const struct step ahead[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', TH_SYN, 1000000, NULL, 0, V_DROP, TG_DROP_SYN },
		{ 's', 0, OFF_NEXT, "250 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	/* the same in TLS: the real records stay records, plaintext is still caught */
	const struct step ahead_tls[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', TH_SYN, 1000000, NULL, 0, V_DROP, TG_DROP_SYN },
		{ 'c', 0, OFF_NEXT, (const char *)recs, recs_len, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};
	/* a SYN behind it: the same */
	static const struct step behind[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', TH_SYN, -1000000, NULL, 0, V_DROP, TG_DROP_SYN },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	/* the client's own retransmitted SYN changes nothing */
	static const struct step resent[] = {
		{ 'c', TH_SYN, 0, NULL, 0, V_PASS, 0 },
		{ 'c', TH_SYN, 0, NULL, 0, V_PASS, 0 },
		{ 's', TH_SYN | TH_ACK, 0, NULL, 0, V_PASS, 0 },
		{ 'c', TH_ACK, 0, NULL, 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "220 mx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', TH_SYN, 0, NULL, 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	/* a SYN|ACK in the server's direction does not move the replies' sequence either */
	const struct step synack[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', TH_SYN | TH_ACK, 1000000, NULL, 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "250-mx\r\n250 STARTTLS\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 's', TH_SYN | TH_ACK, 1000000, NULL, 0, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "220 go\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	run_both_roles(other_side, "client's SYN on the server's side");
	run_both_roles(ahead, "SYN 10^6 ahead");
	run_both_roles(ahead_tls, "SYN 10^6 ahead, in TLS");
	run_both_roles(behind, "SYN 10^6 behind");
	run_both_roles(resent, "retransmitted SYN");
	run_both_roles(synack, "SYN|ACK 10^6 ahead");
}

/* A flow that ended may start again on the same ports (the port is reused). */
static void test_syn_after_end(void **state)
{
	static const struct step after_rst[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', TH_RST | TH_ACK, OFF_NEXT, NULL, 0, V_PASS, 0 },
		{ 'c', TH_SYN, 5000, NULL, 0, V_PASS, 0 },
		{ 'c', 0, 5000, "EHLO again\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 5012, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step after_block[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "VRFY x\r\n", 0, V_RST, TG_DROP_BAD_VERB },
		{ 'c', TH_SYN, 5000, NULL, 0, V_PASS, 0 },
		{ 'c', 0, 5000, "EHLO again\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};

	const struct step after_server_fin[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 's', TH_FIN | TH_ACK, 34, NULL, 0, V_PASS, 0 },
		{ 'c', TH_SYN, 9000, NULL, 0, V_PASS, 0 },
		{ 'c', 0, 9000, "EHLO again\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	run_both_roles(after_server_fin, "SYN after the server's FIN");
	run_both_roles(after_rst, "SYN after the client's RST");
	run_both_roles(after_block, "SYN after a block");
}

/* TCP Fast Open: the SYN's payload is judged like any other. */
static void test_syn_payload(void **state)
{
	static const struct step mail[] = {
		{ 'c', TH_SYN, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step ehlo[] = {
		{ 'c', TH_SYN, 0, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', TH_SYN | TH_ACK, 0, NULL, 0, V_PASS, 0 },
		{ 'c', TH_ACK, 13, NULL, 0, V_PASS, 0 },
		{ 's', 0, 0, "220 mx\r\n250 mx\r\n", 0, V_PASS, 0 },
		/* a retransmitted SYN must carry the same bytes */
		{ 'c', TH_SYN, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_RETRANSMIT },
		END_STEPS,
	};
	static const struct step ehlo_then_mail[] = {
		{ 'c', TH_SYN, 0, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 's', TH_SYN | TH_ACK, 0, NULL, 0, V_PASS, 0 },
		{ 'c', 0, 13, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};

	(void)state;
	run_both_roles(mail, "MAIL in the SYN");
	run_both_roles(ehlo, "EHLO in the SYN, then another SYN with MAIL");
	run_both_roles(ehlo_then_mail, "EHLO in the SYN, then MAIL");
}

static void frag_first(struct pkt_spec *p)
{
	p->frag = 1;
	p->frag_at = 8; /* ports and sequence number only */
}

static void frag_first_full(struct pkt_spec *p)
{
	p->frag = 1;
	p->frag_at = 24; /* the whole TCP header and 4 bytes */
}

static void frag_later(struct pkt_spec *p)
{
	p->frag = 2;
	p->frag_at = 8;
}

/* IP fragments: a first fragment without the whole TCP header is never passed; the fragments of
 * an SMTP segment, and later fragments toward a TLS-required peer, are dropped. */
static void test_fragments(void **state)
{
	static const struct step tiny[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_FRAGMENT,
		  frag_first },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_FRAGMENT,
		  frag_later },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_FRAGMENT,
		  frag_first_full },
		{ 'c', 0, 13, "NOOP\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	/* a `may` destination: later fragments pass, first ones of port 25 do not */
	static const struct step may[] = {
		{ 'c', 0, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0, frag_later },
		{ 'c', 0, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_FRAGMENT,
		  frag_first_full },
		END_STEPS,
	};
	/* the tiny first fragment goes whatever its ports (RFC 1858) */
	static const struct step other_port[] = {
		{ 'c', 0, 0, "GET / HTTP/1.0\r\n\r\n", 0, V_DROP, TG_DROP_FRAGMENT, frag_first },
		END_STEPS,
	};
	struct flow_env e = { AF_INET, 0, "192.0.2.10", "203.0.113.26", 0, 25, 0, 0 };
	struct flow_env e6 = envs[2];

	(void)state;
	run_both_roles(tiny, "fragments");
	run_flow(&e, may, "fragments, may destination");
	e.sport = 80;
	run_flow(&e, other_port, "tiny first fragment, port 80");
	e6.sport = 80;
	run_flow(&e6, other_port, "tiny first fragment, port 80, IPv6");
}

static void five_dest_opts(struct pkt_spec *p)
{
	static unsigned char ext[5 * 8];

	for (int i = 0; i < 5; i++) {
		ext[i * 8] = i < 4 ? 60 : 6; /* next header: DestOpts, then TCP */
		ext[i * 8 + 1] = 0;
		ext[i * 8 + 2] = 1; /* PadN over the rest */
		ext[i * 8 + 3] = 4;
	}
	if (p->family != AF_INET6)
		return;
	p->ext = ext;
	p->ext_len = sizeof(ext);
	p->ext_first = 60;
}

static void ah_v6(struct pkt_spec *p)
{
	static unsigned char ext[16] = { 6, 2 }; /* AH: next TCP, (2 + 2) * 4 bytes */

	p->ext = ext;
	p->ext_len = sizeof(ext);
	p->ext_first = 51;
}

static void three_tags(struct pkt_spec *p)
{
	p->vlan = 300;
	p->vlans = 3;
}

static void tot_len_zero(struct pkt_spec *p)
{
	if (p->family == AF_INET)
		p->tot_len_zero = 1;
}

/* What the enforcer cannot read does not go to a TLS-required peer. */
static void test_unparsable(void **state)
{
	static const struct step v4[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_UNPARSABLE,
		  three_tags },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_UNPARSABLE,
		  tot_len_zero },
		{ 'c', 0, 13, "NOOP\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	static const struct step v6[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_UNPARSABLE,
		  three_tags },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_UNPARSABLE,
		  five_dest_opts },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_DROP, TG_DROP_UNPARSABLE,
		  ah_v6 },
		{ 'c', 0, 13, "NOOP\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	/* toward a `may` destination the same packets are not the enforcer's business */
	static const struct step may[] = {
		{ 'c', 0, 0, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0, five_dest_opts },
		END_STEPS,
	};
	struct flow_env m6 = { AF_INET6, 0, "2001:db8:1::10", "2001:db8:3::26", 0, 25, 0, 0 };

	(void)state;
	run_flow(&envs[0], v4, "three VLAN tags, IPv4 total length 0");
	run_flow(&envs[1], v4, "three VLAN tags, IPv4 total length 0 (VLAN)");
	run_flow(&envs[2], v6, "three VLAN tags, 5 destination options headers, AH");
	run_flow(&envs[3], v6, "three VLAN tags, 5 destination options headers, AH (VLAN)");
	run_flow(&m6, may, "5 destination options headers, may destination");
}

/* A retransmit must carry the bytes judged the first time (the receiver may never have taken
 * those: a bad checksum, a loss behind the enforcer). */
static void test_retransmit_differs(void **state)
{
	static const struct step same_seq[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		/* as long as the next line: the same sequence numbers */
		{ 'c', 0, OFF_NEXT, "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 0,
		  V_PASS, 0 },
		{ 'c', 0, 13, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n", 0, V_RST,
		  TG_DROP_RETRANSMIT },
		END_STEPS,
	};
	static const struct step inside[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 0, V_PASS,
		  0 },
		{ 'c', 0, 20, "\r\nMAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_RETRANSMIT },
		END_STEPS,
	};
	/* after the 220 to STARTTLS, the plaintext part of the stream is still checked */
	const struct step tls[] = {
		TO_TLS,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 'c', 0, 13, "STARTTLS\r\n", 0, V_PASS, 0 },
		{ 'c', 0, 13, "MAIL FRO\r\n", 0, V_RST, TG_DROP_RETRANSMIT },
		END_STEPS,
	};

	(void)state;
	run_both_roles(same_seq, "NOOP, then MAIL at its sequence number");
	run_both_roles(inside, "a retransmit that differs inside");
	run_both_roles(tls, "a different STARTTLS line after the 220");
}

static void urgent(struct pkt_spec *p)
{
	p->tcp_flags |= TH_URG;
	p->urg = 4;
}

/* A command line that some MX could read as two: refused before TLS. */
static void test_ambiguous_lines(void **state)
{
	static char longline[540];
	const struct step bare_cr[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "NOOP\rMAIL FROM:<a@example.org>\r\n", 0, V_RST,
		  TG_DROP_BAD_LINE },
		END_STEPS,
	};
	const struct step bare_cr_split[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "RCPT TO:<b@example.net>\r\n", 0, V_RST, TG_DROP_BAD_LINE },
		END_STEPS,
	};
	const struct step nul[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "NOOP \0MAIL FROM:<a@example.org>\r\n", 33, V_RST,
		  TG_DROP_BAD_LINE },
		END_STEPS,
	};
	const struct step too_long[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, longline, 0, V_RST, TG_DROP_BAD_LINE },
		END_STEPS,
	};
	const struct step urg[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "NOOP\r\nNOOP\r\n", 0, V_RST, TG_DROP_BAD_LINE, urgent },
		END_STEPS,
	};
	const struct step ok[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\tx\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "NOOP \xc3\xa9\n", 0, V_PASS, 0 },
		END_STEPS,
	};

	(void)state;
	memset(longline, 'x', sizeof(longline) - 1);
	memcpy(longline, "NOOP ", 5);
	/* an MX that cuts lines at 512 bytes would read a MAIL command */
	memcpy(longline + 512, "MAIL FROM:<a@example.org>\r\n", 27);
	run_both_roles(bare_cr, "bare CR");
	run_both_roles(bare_cr_split, "bare CR at a segment's end");
	run_both_roles(nul, "NUL in a line");
	run_both_roles(too_long, "a line over 512 bytes");
	run_both_roles(urg, "urgent data");
	run_both_roles(ok, "tab, 8-bit, bare LF");
}

/* ---- setup -------------------------------------------------------------------------------- */

static int load(enum tg_may_down may_down)
{
	struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir, .relay_mark = RELAY_MARK,
				 .may_down = may_down, .default_rule = { RULE_DEFAULT, 0 } };
	struct tg_bpf_policy_entry pol[5] = {
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 25 }, 32, RULE_ENCRYPT, POLICY_ENCRYPT },
		{ POLICY_OUTBOUND, AF_INET6, { 0 }, 128, RULE_ENCRYPT, POLICY_ENCRYPT },
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 26 }, 32, RULE_MAY, POLICY_MAY },
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 27 }, 32, RULE_MONITOR, POLICY_ENCRYPT, 0,
		  TG_POL_F_MONITOR },
		{ POLICY_INBOUND, AF_INET, { 198, 51, 100, 7 }, 32, RULE_INBOUND, POLICY_ENCRYPT },
	};
	int err;

	inet_pton(AF_INET6, "2001:db8:2::25", pol[1].addr);
	tg_bpf_close(h);
	h = NULL;
	err = tg_bpf_open(&o, &h);
	if (err)
		return err;
	return tg_bpf_policy_replace(h, pol, 5);
}

static void test_policy_replace(void **state)
{
	static const struct step s[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct tg_bpf_policy_entry none = { POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 0 }, 24, 99,
					    POLICY_NONE };

	(void)state;
	assert_int_equal(tg_bpf_policy_replace(h, &none, 1), 0);
	run_flow(&envs[0], s, "after replace: 203.0.113.0/24 none");
	assert_int_equal(rule_counter(99, TG_CTR_FLOWS_TRACKED), 1);
	assert_int_equal(load(TG_MAY_DOWN_PASS), 0); /* back to the fixture policy */
}

/*
 * Issue 13.5: a [host]:587 rule is enforced on 587 (not a steered port) and only there; an
 * address rule applies on every policed port; 465 (implicit TLS) carries records from the first
 * byte, so a TLS client passes and plaintext does not.
 */
static void test_port_scoped_rules(void **state)
{
	static const uint16_t tls_ports[] = { 465 };
	struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir, .relay_mark = RELAY_MARK,
				 .default_rule = { RULE_DEFAULT, 0 }, .tls_ports = tls_ports,
				 .ntls_ports = 1 };
	/* sorted by prefix; a prefix's port entries follow its any-port entry */
	struct tg_bpf_policy_entry pol[] = {
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 25 }, 32, RULE_ENCRYPT, POLICY_ENCRYPT, 0 },
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 40 }, 32, RULE_MAY, POLICY_MAY, 0 },
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 40 }, 32, 20, POLICY_ENCRYPT, 587 },
	};
	static const struct step plain_refused[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step plain_passes[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	const struct step implicit_tls[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, (const char *)ch, ch_len, V_PASS, 0 },
		{ 's', 0, OFF_NEXT, "\x16\x03\x03\x00\x02hi", 7, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, (const char *)recs, recs_len, V_PASS, 0 },
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};
	static const struct step implicit_plain[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "EHLO client\r\n", 0, V_RST, TG_DROP_BAD_RECORD },
		END_STEPS,
	};
	struct flow_env host = { AF_INET, 0, "192.0.2.10", "203.0.113.40", 0, 587, 0, 0 };
	struct flow_env addr = envs[0];
	uint64_t t20;

	(void)state;
	tg_bpf_close(h);
	h = NULL;
	assert_int_equal(tg_bpf_open(&o, &h), 0);
	assert_int_equal(tg_bpf_policy_replace(h, pol, 3), 0);
	t20 = rule_counter(20, TG_CTR_FLOWS_TRACKED);
	run_flow(&host, plain_refused, "[host]:587 encrypt, plaintext on 587");
	assert_int_equal(rule_counter(20, TG_CTR_FLOWS_TRACKED) - t20, 1);
	host.sport = 25;
	run_flow(&host, plain_passes, "[host]:587 encrypt, plaintext on 25 (may there)");
	addr.sport = 587;
	run_flow(&addr, plain_refused, "address rule encrypt, plaintext on 587");
	addr.sport = 465;
	run_flow(&addr, implicit_tls, "address rule encrypt, implicit TLS on 465");
	run_flow(&addr, implicit_plain, "address rule encrypt, plaintext on 465");
	host.sport = 465;
	run_flow(&host, plain_passes, "may address, plaintext on 465: not policed");
	/* more port rules for one address than a trie value holds: refused, not truncated */
	{
		struct tg_bpf_policy_entry many[1 + TG_POLICY_PORTS + 1];

		for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
			many[i] = pol[2];
		many[0].port = 0;
		for (size_t i = 1; i < sizeof(many) / sizeof(many[0]); i++)
			many[i].port = (uint16_t)(600 + i);
		assert_int_equal(tg_bpf_policy_replace(h, many, sizeof(many) / sizeof(many[0])),
				 -E2BIG);
	}
	assert_int_equal(load(TG_MAY_DOWN_PASS), 0);
}

/* With may_down=enforce and no listener, `may` destinations need TLS; with one they do not. */
static void test_may_when_daemon_down(void **state)
{
	static const struct step drop[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_RST, TG_DROP_PLAIN_MAIL },
		END_STEPS,
	};
	static const struct step pass[] = {
		HANDSHAKE,
		{ 'c', 0, OFF_NEXT, "MAIL FROM:<a@example.org>\r\n", 0, V_PASS, 0 },
		END_STEPS,
	};
	struct flow_env e = { AF_INET, 0, "192.0.2.10", "203.0.113.26", 0, 25, 0, 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ls;

	(void)state;
	assert_int_equal(load(TG_MAY_DOWN_ENFORCE), 0);
	run_flow(&e, drop, "may, daemon down, may_down=enforce");
	/* a daemon: a listener in tg_listen */
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(tg_bpf_set_listener(h, ls, -1), 0);
	run_flow(&e, pass, "may, daemon up");
	/* the daemon dies: its socket leaves the SOCKMAP by itself */
	close(ls);
	run_flow(&e, drop, "may, daemon gone");
	assert_int_equal(load(TG_MAY_DOWN_PASS), 0);
	run_flow(&e, pass, "may, daemon down, may_down=pass");
}

/* An upgrade over the pins of an older version: its tg_flows (another value size) is replaced. */
static void test_stale_flows_pin(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	struct tg_bpf_opts o = { .sz = sizeof(o), .relay_mark = RELAY_MARK };
	struct tg_bpf *h2 = NULL;
	char dir[96], path[128];
	int fd, err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s-stale", pin_dir);
	snprintf(path, sizeof(path), "%s/tg_flows", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "tg_flows", sizeof(struct tg_flow_key) - 4, 64,
			    TG_FLOWS_MAX, &mo);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	o.pin_dir = dir;
	err = tg_bpf_open(&o, &h2);
	if (err) {
		unlink(path);
		rmdir(dir);
	}
	assert_int_equal(err, 0);
	tg_bpf_detach(h2);
	tg_bpf_close(h2);
}

/* A restarted loader reuses the pinned maps: the counters go on. */
static void test_restart_keeps_counters(void **state)
{
	struct tg_counters b0 = global_counters(), b1;

	(void)state;
	assert_true(b0.v[TG_CTR_FLOWS_TRACKED] > 0);
	assert_int_equal(load(TG_MAY_DOWN_PASS), 0);
	b1 = global_counters();
	assert_memory_equal(&b0, &b1, sizeof(b0));
}

static int setup(void **state)
{
	int err;

	(void)state;
	if (!getenv("TG_BPF_VERBOSE"))
		libbpf_set_print(NULL);
	make_records();
	err = tg_test_bpffs();
	if (err) {
		print_error("enforce: no bpffs: %s\n", strerror(-err));
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tlsgate-test-enf-%d", (int)getpid());
	err = load(TG_MAY_DOWN_PASS);
	if (err) {
		print_error("enforce: load failed: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (h) {
		tg_bpf_detach(h);
		tg_bpf_close(h);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_verbs),
		cmocka_unit_test(test_forbidden_verbs),
		cmocka_unit_test(test_reset_sizes),
		cmocka_unit_test(test_pipelined_lines),
		cmocka_unit_test(test_command_split_across_segments),
		cmocka_unit_test(test_tls_records),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_max_record_length),
		cmocka_unit_test(test_retransmits),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_starttls_rules),
		cmocka_unit_test(test_port_scoped_rules),
		cmocka_unit_test(test_relay_marked_passes),
		cmocka_unit_test(test_may_destination_plaintext),
		cmocka_unit_test(test_no_state_is_dropped),
		cmocka_unit_test(test_other_ports_ignored),
		cmocka_unit_test(test_fragment_dropped),
		cmocka_unit_test(test_event_content),
		cmocka_unit_test(test_monitor_rule),
		cmocka_unit_test(test_inbound_rule),
		cmocka_unit_test(test_policy_replace),
		cmocka_unit_test(test_may_when_daemon_down),
		cmocka_unit_test(test_spoofed_syn),
		cmocka_unit_test(test_syn_after_end),
		cmocka_unit_test(test_syn_payload),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_unparsable),
		cmocka_unit_test(test_retransmit_differs),
		cmocka_unit_test(test_ambiguous_lines),
		cmocka_unit_test(test_stale_flows_pin),
		cmocka_unit_test(test_restart_keeps_counters),
	};

	return cmocka_run_group_tests_name("bpf_enforce", tests, setup, teardown);
}
