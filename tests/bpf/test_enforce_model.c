// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf tier: the enforcer against a plain-C model of its rules (the top of bpf/enforce.h), on
 * fuzzed sessions.  Each session is a random walk over what a client, its server and an
 * attacker send: lines and TLS records in order, retransmits (some with other bytes), gaps,
 * SYNs and SYN|ACKs at any sequence number, FIN and RST, the client's segments on the other
 * side, and packets the parser must refuse (a third VLAN tag, five extension headers, AH,
 * fragments, IPv4 total length 0, urgent data).  Every frame goes through BPF_PROG_TEST_RUN and
 * through the model; the verdicts (pass, drop, reset, emptied) must agree.
 *
 * Bounded in time: TG_MODEL_SESSIONS sessions (default 1500, a few seconds); the seed is random
 * unless TG_MODEL_SEED is set, and printed, so that a failure can be replayed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bpf/enforce.h"
#include "bpf/loader.h"
#include "policy/policy.h"
#include "tests/lib/bpffs.h"
#include "tests/lib/pkt.h"

#define RULE_ENCRYPT 7
#define RULE_MAY 8
#define RULE_DEFAULT 1
#define RULE_INBOUND 9

enum verdict { M_PASS, M_DROP, M_RST, M_EMPTY };
static const char *const verdict_names[] = { "pass", "drop", "reset", "emptied" };

/* ---- the model ---------------------------------------------------------------------------- */

#define SEQ_BEFORE(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)

enum { S_CMD, S_STARTTLS, S_TLS, S_BLOCKED, S_PASS };

struct m_flow {
	int used;
	char caddr[48], saddr[48];
	uint16_t cport;
	int dir;			/* 0 outbound, 1 inbound */
	int police, closed, first_rec, s_seen, state;
	uint32_t c_isn1, c_nxt, c_plain, c_rec, s_nxt;
	uint16_t cmds, replies, starttls_cmd;
	/* the current command line */
	char verb[9];
	int vlen, vdone, stls_line, cr, lpos;
	/* the current reply line */
	int s_lpos;
	char s_code, s_sep;
	/* a TLS record header split across segments */
	uint8_t hdr[5];
	int have;
	uint8_t plain[TG_PLAIN_MAX];
};

/* One frame as the model sees it: the spec it was built from. */
struct m_frame {
	const struct pkt_spec *p;
	int ingress;
};

static struct m_flow flows[64];
static unsigned long tls_flows, records_seen;	/* how far the walk got */

/* The fixture's policy: must a flow (or an unreadable packet) in direction dir be policed? */
static int m_police(int dir, const char *peer)
{
	if (dir == 1)
		return !strcmp(peer, "198.51.100.7");
	return !strcmp(peer, "203.0.113.25") || !strcmp(peer, "2001:db8:2::25");
}

static struct m_flow *m_lookup(const char *c, const char *s, uint16_t cport, int dir)
{
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
		if (flows[i].used && flows[i].cport == cport && flows[i].dir == dir &&
		    !strcmp(flows[i].caddr, c) && !strcmp(flows[i].saddr, s))
			return &flows[i];
	return NULL;
}

static struct m_flow *m_insert(const char *c, const char *s, uint16_t cport, int dir)
{
	struct m_flow *f = m_lookup(c, s, cport, dir);

	for (size_t i = 0; !f && i < sizeof(flows) / sizeof(flows[0]); i++)
		if (!flows[i].used)
			f = &flows[i];
	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	f->used = 1;
	snprintf(f->caddr, sizeof(f->caddr), "%s", c);
	snprintf(f->saddr, sizeof(f->saddr), "%s", s);
	f->cport = cport;
	f->dir = dir;
	return f;
}

static enum verdict m_violation(struct m_flow *f)
{
	if (!f->police) {
		f->state = S_PASS;
		return M_PASS;
	}
	f->state = S_BLOCKED;
	return M_RST;
}

static int m_classify(struct m_flow *f)
{
	static const char *const ok[] = { "EHLO", "HELO", "NOOP", "RSET", "QUIT", "STARTTLS" };

	f->vdone = 1;
	if (f->vlen > 8)
		return 1;
	f->verb[f->vlen] = 0;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(f->verb, ok[i])) {
			f->stls_line = i == 5;
			return 0;
		}
	return 1;
}

/* The new bytes of a command segment: -1 fine, 0 STARTTLS ended at *stop, 1 a violation. */
static int m_commands(struct m_flow *f, const uint8_t *b, uint32_t n, uint32_t *stop)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		*stop = i + 1;
		if (f->cr && c != '\n')
			return 1;
		if (c == '\n') {
			f->lpos = 0;
			if (!f->vdone && m_classify(f))
				return 1;
			f->cmds++;
			if (f->stls_line)
				return 0;
			f->vlen = f->vdone = f->stls_line = f->cr = 0;
			continue;
		}
		if (f->lpos >= TG_CMD_LINE_MAX - 1 || (c < 0x20 && c != '\t' && c != '\r') ||
		    c == 0x7f)
			return 1;
		f->lpos++;
		if (c == '\r')
			f->cr = 1;
		if (f->vdone)
			continue;
		if (c == ' ' || c == '\r') {
			if (m_classify(f))
				return 1;
			continue;
		}
		if (f->vlen < 8)
			f->verb[f->vlen] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		if (f->vlen < 9)
			f->vlen++;
	}
	return -1;
}

/* Compare with / keep in the plaintext store: 0, or 1 for a violation. */
static int m_plain(struct m_flow *f, uint32_t seq, const uint8_t *b, uint32_t n)
{
	uint32_t rel = seq - f->c_isn1, judged = f->c_plain - f->c_isn1;

	if (!n)
		return 0;
	if (rel >= TG_PLAIN_MAX || n > TG_PLAIN_MAX - rel)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		if (rel + i < judged) {
			if (f->plain[rel + i] != b[i])
				return 1;
		} else {
			f->plain[rel + i] = b[i];
		}
	}
	if (SEQ_BEFORE(f->c_plain, seq + n))
		f->c_plain = seq + n;
	return 0;
}

static enum verdict m_records(struct m_flow *f, uint32_t seq, const uint8_t *b, uint32_t len,
			      uint32_t skip)
{
	uint32_t pos = seq + skip, end = seq + len;

	for (;;) {
		if (!f->have && SEQ_BEFORE(pos, f->c_rec)) {
			if (!SEQ_BEFORE(f->c_rec, end))
				break;
			pos = f->c_rec;
		}
		if (pos == end)
			break;
		while (f->have < 5 && pos != end)
			f->hdr[f->have++] = b[pos++ - seq];
		if (f->have < 5)
			break;
		{
			uint8_t type = f->hdr[0];
			uint16_t ver = (uint16_t)(f->hdr[1] << 8 | f->hdr[2]);
			uint16_t rl = (uint16_t)(f->hdr[3] << 8 | f->hdr[4]);

			if (type < 20 || type > 23 ||
			    (ver != 0x0303 && !(ver == 0x0301 && type == 22 && f->first_rec)) ||
			    rl > TG_TLS_MAX_RECORD)
				return m_violation(f);
			f->c_rec = pos + rl;
			f->have = 0;
			records_seen++;
			f->first_rec = 0;
		}
	}
	f->c_nxt = end;
	return M_PASS;
}

static enum verdict m_client_data(struct m_flow *f, uint32_t seq, const uint8_t *b, uint32_t len,
				  uint8_t flags)
{
	uint32_t end = seq + len, skip, stop = 0, n;
	int r;

	if (f->state == S_BLOCKED)
		return M_EMPTY;
	if (f->state == S_PASS)
		return M_PASS;
	if (f->police && (flags & TH_URG))
		return m_violation(f);
	if (f->police && SEQ_BEFORE(seq, f->c_isn1))
		return m_violation(f);
	if (SEQ_BEFORE(f->c_nxt, seq)) {
		if (!f->police) {
			f->state = S_PASS;
			return M_PASS;
		}
		return M_DROP;
	}
	if (f->police && SEQ_BEFORE(seq, f->c_plain)) {
		n = f->c_plain - seq;
		if (m_plain(f, seq, b, n < len ? n : len))
			return m_violation(f);
	}
	if (!SEQ_BEFORE(f->c_nxt, end))
		return M_PASS;
	skip = f->c_nxt - seq;
	if (f->state == S_STARTTLS)
		return m_violation(f);
	if (f->state == S_TLS)
		return m_records(f, seq, b, len, skip);
	r = m_commands(f, b + skip, len - skip, &stop);
	if (r == 1 || (r == 0 && stop < len - skip))
		return m_violation(f);
	if (f->police && m_plain(f, f->c_nxt, b + skip, len - skip))
		return m_violation(f);
	if (r == 0) {
		f->state = S_STARTTLS;
		f->starttls_cmd = f->cmds;
		f->vlen = f->vdone = f->stls_line = f->cr = f->lpos = 0;
	}
	f->c_nxt = end;
	return M_PASS;
}

static enum verdict m_new_flow(const struct pkt_spec *p, int dir, uint32_t seq, const uint8_t *b,
			       int syn)
{
	int police = m_police(dir, dir ? p->saddr : p->daddr);
	struct m_flow *f;

	if (!syn && (!police || !p->payload_len || (p->tcp_flags & TH_RST)))
		return M_PASS;
	f = m_insert(p->saddr, p->daddr, p->sport, dir);
	f->police = police;
	f->first_rec = 1;
	f->c_isn1 = f->c_nxt = f->c_plain = seq;
	if (!syn)
		return m_violation(f);
	if (!p->payload_len)
		return M_PASS;
	return m_client_data(f, seq, b, (uint32_t)p->payload_len, p->tcp_flags);
}

static enum verdict m_client(const struct pkt_spec *p, int dir, uint32_t seq)
{
	int syn = (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN;
	struct m_flow *f = m_lookup(p->saddr, p->daddr, p->sport, dir);
	const uint8_t *b = p->payload;

	if (!f)
		return m_new_flow(p, dir, seq, b, syn);
	if (syn && seq != f->c_isn1) {
		if (f->police && !f->closed && f->state != S_BLOCKED)
			return M_DROP;
		return m_new_flow(p, dir, seq, b, syn);
	}
	if (p->tcp_flags & (TH_FIN | TH_RST))
		f->closed = 1;
	if (!p->payload_len || (p->tcp_flags & TH_RST))
		return M_PASS;
	return m_client_data(f, seq, b, (uint32_t)p->payload_len, p->tcp_flags);
}

static enum verdict m_server(const struct pkt_spec *p, int dir, uint32_t seq)
{
	struct m_flow *f = m_lookup(p->daddr, p->saddr, p->dport, dir);
	const uint8_t *b = p->payload;
	uint32_t len = (uint32_t)p->payload_len, end = seq + len, skip;
	uint16_t want;

	if (!f)
		return M_PASS;
	if (p->tcp_flags & (TH_FIN | TH_RST))
		f->closed = 1;
	if (f->state != S_CMD && f->state != S_STARTTLS)
		return M_PASS;
	if ((p->tcp_flags & TH_SYN) && !f->s_seen) {
		f->s_nxt = seq;
		f->s_seen = 1;
	}
	if (!len || (p->tcp_flags & TH_RST))
		return M_PASS;
	if (!f->s_seen) {
		f->s_nxt = seq;
		f->s_seen = 1;
	}
	if (!SEQ_BEFORE(f->s_nxt, end))
		return M_PASS;
	if (SEQ_BEFORE(f->s_nxt, seq)) {
		if (!f->police) {
			f->state = S_PASS;
			return M_PASS;
		}
		return M_DROP;
	}
	skip = f->s_nxt - seq;
	want = f->state == S_STARTTLS ? (uint16_t)(f->starttls_cmd + 1) : 0;
	f->s_nxt = end;
	for (uint32_t i = skip; i < len; i++) {
		if (b[i] == '\n') {
			if (f->s_lpos >= 3 && !(f->s_lpos >= 4 && f->s_sep == '-')) {
				f->replies++;
				if (want && f->replies == want) {
					if (f->s_code == '2') {
						f->c_rec = f->c_nxt;
						f->have = 0;
						tls_flows++;
						f->state = f->police ? S_TLS : S_PASS;
					} else {
						f->state = S_CMD;
					}
					f->s_lpos = 0;
					return M_PASS;
				}
			}
			f->s_lpos = 0;
			continue;
		}
		if (f->s_lpos == 0)
			f->s_code = (char)b[i];
		else if (f->s_lpos == 3)
			f->s_sep = (char)b[i];
		if (f->s_lpos < 4)
			f->s_lpos++;
	}
	return M_PASS;
}

/* The whole enforcer: parse, then the flow rules. */
static enum verdict m_enforce(const struct m_frame *fr)
{
	const struct pkt_spec *p = fr->p;
	int ingress = fr->ingress, v6 = p->family == AF_INET6, nhdr;
	const char *peer = ingress ? p->saddr : p->daddr;
	uint32_t seq = p->seq;

	/* what the parser refuses */
	if (p->vlan && p->vlans > 2)
		return M_DROP; /* not even the addresses can be read */
	nhdr = (p->frag ? 1 : 0) + (int)(p->ext_len / 8);
	if ((v6 && p->ext_first == 51) || (v6 && nhdr > 4) || (!v6 && p->tot_len_zero))
		return m_police(ingress, peer) ? M_DROP : M_PASS;
	if (p->frag == 1)
		return p->frag_at < 20 || p->sport == 25 || p->dport == 25 ? M_DROP : M_PASS;
	if (p->frag == 2)
		return m_police(ingress, peer) ? M_DROP : M_PASS;
	if (p->tcp_flags & TH_SYN)
		seq++;
	if (p->dport == 25) {
		enum verdict v = m_client(p, ingress, seq);

		return (v == M_RST || v == M_EMPTY) && (p->tcp_flags & TH_SYN) ? M_DROP : v;
	}
	if (p->sport == 25)
		return m_server(p, !ingress, seq);
	return M_PASS;
}

/* ---- the fuzzer --------------------------------------------------------------------------- */

static struct tg_bpf *h;
static char pin_dir[64];
static unsigned int seed, seed0;
static unsigned long seen[4];	/* verdicts, to show the walk reached them all */

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)rand_r(&seed) % n : 0;
}

struct side {
	const char *client, *server;
	int family, inbound;
};

static const struct side sides[] = {
	{ "192.0.2.10", "203.0.113.25", AF_INET, 0 },	/* encrypt */
	{ "192.0.2.10", "203.0.113.26", AF_INET, 0 },	/* may: followed, never dropped */
	{ "2001:db8:1::10", "2001:db8:2::25", AF_INET6, 0 },
	{ "198.51.100.7", "192.0.2.25", AF_INET, 1 },	/* inbound, encrypt by the client */
};

#define NPIECES(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const char *const client_pieces[] = {
	"EHLO client.example.org\r\n", "HELO x\r\n", "NOOP\r\n", "RSET\r\n", "noop arg\r\n",
	"STARTTLS\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<b@example.net>\r\n", "DATA\r\n",
	"QUIT\r\n", "VRFY x\r\n", "\r\n", "NOOP a\rMAIL\r\n", "NOOP \x01x\r\n", "EHLO\n",
	"\x16\x03\x01\x00\x05" "hello", "\x17\x03\x03\x00\x03" "abc", "\x15\x03\x03\x00\x02" "!!",
	"\x17\x03\x02\x00\x01" "z",
};

static const char *const server_pieces[] = {
	"220 mx ESMTP\r\n", "250-mx\r\n250 STARTTLS\r\n", "220 2.0.0 go\r\n", "454 no TLS\r\n",
	"250 ok\r\n", "250", " ok\r\n", "221 bye\r\n",
};

struct session {
	const struct side *sd;
	uint16_t cport;
	uint32_t cisn, sisn;
	uint8_t cbuf[1400], sbuf[600];
	uint32_t clen, slen, csent, ssent;
};

static void append(uint8_t *buf, uint32_t *len, uint32_t cap, const char *piece)
{
	size_t n = piece[0] == '\x16' || piece[0] == '\x17' || piece[0] == '\x15'
			   ? 5 + (size_t)(uint8_t)piece[4]
			   : strlen(piece);

	if (*len + n <= cap) {
		memcpy(buf + *len, piece, n);
		*len += (uint32_t)n;
	}
}

static void shape_frame(struct pkt_spec *p, int *ingress)
{
	switch (rnd(40)) {
	case 0:
		p->vlan = 42;
		p->vlans = (uint8_t)(1 + rnd(3));
		break;
	case 1:
		p->frag = (uint8_t)(1 + rnd(2));
		p->frag_at = rnd(2) ? 8 : 24;
		break;
	case 2:
		if (p->family == AF_INET6) {
			static uint8_t ext[6 * 8];

			p->ext_len = 8 * (1 + rnd(5));
			for (size_t i = 0; i < p->ext_len; i += 8) {
				memset(ext + i, 0, 8);
				ext[i] = i + 8 < p->ext_len ? 60 : 6;
				ext[i + 2] = 1;
				ext[i + 3] = 4;
			}
			p->ext = ext;
			p->ext_first = 60;
		} else {
			p->tot_len_zero = 1;
		}
		break;
	case 3:
		if (p->family == AF_INET6) {
			static const uint8_t ah[16] = { 6, 2 };

			p->ext = ah;
			p->ext_len = sizeof(ah);
			p->ext_first = 51;
		}
		break;
	case 4:
		p->tcp_flags |= TH_URG;
		p->urg = 1;
		break;
	case 5:
		*ingress = !*ingress; /* the client's segment on the server's side */
		break;
	}
}

/* One frame: through the program and the model; they must agree. */
static void check_frame(struct session *s, struct pkt_spec *p, int ingress, int n)
{
	static unsigned char frame[4096], out[4096];
	struct __sk_buff ctx = { 0 };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);
	struct m_frame mf = { p, ingress };
	enum verdict want = m_enforce(&mf), got;
	int len = pkt_build(p, frame, sizeof(frame));

	assert_true(len > 0);
	o.data_size_in = (__u32)len;
	assert_int_equal(bpf_prog_test_run_opts(tg_bpf_prog_fd(h, ingress ? TG_PROG_ENFORCE_INGRESS
									  : TG_PROG_ENFORCE_EGRESS),
						&o),
			 0);
	if ((int)o.retval == 2) /* TC_ACT_SHOT */
		got = M_DROP;
	else if (o.data_size_out == (__u32)len && !memcmp(frame, out, (size_t)len))
		got = M_PASS;
	else
		got = (out[o.data_size_out - 20 + 13] & TH_RST) ? M_RST : M_EMPTY;
	seen[got]++;
	if (got != want)
		fail_msg("TG_MODEL_SEED=%u, session port %u, frame %d: %s %s:%u -> %s:%u "
			 "seq +%u flags %#x len %zu (vlans %u frag %u/%zu ext %zu/%u totlen0 %u): "
			 "program %s, model %s",
			 seed0, s->cport, n, ingress ? "ingress" : "egress", p->saddr, p->sport,
			 p->daddr, p->dport, p->seq - (p->sport == 25 ? s->sisn : s->cisn),
			 p->tcp_flags, p->payload_len,
			 p->vlans, p->frag, p->frag_at, p->ext_len, p->ext_first, p->tot_len_zero,
			 verdict_names[got], verdict_names[want]);
}

static void run_session(uint16_t cport)
{
	struct session s = { .sd = &sides[rnd(4)], .cport = cport };
	int nframes = 10 + (int)rnd(40), scripted = (int)rnd(2), step = 0;
	/* a scripted session's order: the greeting, EHLO, its reply, STARTTLS, 220, records */
	uint32_t script[6][2] = { { 1, 14 }, { 0, 25 }, { 1, 36 }, { 0, 35 }, { 1, 50 }, { 0, 0 } };

	s.cisn = (uint32_t)rand_r(&seed) * 2654435761u;
	s.sisn = (uint32_t)rand_r(&seed) * 40503u;
	/* what each side means to send, if nobody interferes: half the sessions go the way to
	 * TLS (EHLO, STARTTLS, records), the others are any mix */
	if (scripted) {
		append(s.cbuf, &s.clen, sizeof(s.cbuf), client_pieces[0]);
		append(s.cbuf, &s.clen, sizeof(s.cbuf), client_pieces[5]);
		for (int i = 0; i < 10; i++)
			append(s.cbuf, &s.clen, sizeof(s.cbuf), client_pieces[15 + rnd(i ? 4 : 1)]);
		append(s.sbuf, &s.slen, sizeof(s.sbuf), server_pieces[0]);
		append(s.sbuf, &s.slen, sizeof(s.sbuf), server_pieces[1]);
		append(s.sbuf, &s.slen, sizeof(s.sbuf), server_pieces[rnd(4) ? 2 : 3]);
		script[5][1] = s.clen;
	}
	for (int i = 0; i < 12; i++)
		append(s.cbuf, &s.clen, sizeof(s.cbuf),
		       client_pieces[rnd(4) ? rnd(6) : rnd(NPIECES(client_pieces))]);
	for (int i = 0; i < 8; i++)
		append(s.sbuf, &s.slen, sizeof(s.sbuf),
		       server_pieces[rnd(NPIECES(server_pieces))]);
	for (int n = 0; n < nframes; n++) {
		uint8_t junk[64];
		struct pkt_spec p = { .family = s.sd->family, .sport = cport, .dport = 25,
				      .saddr = s.sd->client, .daddr = s.sd->server };
		int srv = 0, ingress;
		uint32_t k = rnd(100), off, len, climit = s.clen, slimit = s.slen;

		/* a scripted session mostly follows its script, between random events */
		if (scripted && n == 1)
			k = 5;
		else if (scripted && n > 1 && step < 6 && rnd(10) < 7)
			k = script[step][0] ? 60 : 20;
		if (scripted && step < 6) { /* in order: only the side whose turn it is sends */
			slimit = script[step][0] ? script[step][1] : s.ssent;
			climit = script[step][0] ? s.csent : script[step][1];
		}

		if (n == 0 || k < 4) { /* a SYN: the first, or one anywhere */
			p.tcp_flags = TH_SYN;
			p.seq = s.cisn;
			if (n && rnd(2)) /* somewhere near, or anywhere */
				p.seq += rnd(4) ? rnd(2000) : (uint32_t)rand_r(&seed);
			if (rnd(10) == 0) { /* with data (TCP Fast Open) */
				p.payload = s.cbuf;
				p.payload_len = 1 + rnd(30);
			}
		} else if (k < 8) { /* the server's SYN|ACK */
			srv = 1;
			p.tcp_flags = TH_SYN | TH_ACK;
			p.seq = s.sisn + (rnd(3) ? 0 : rnd(100000));
		} else if (k < 45) { /* the client's next bytes */
			len = 1 + rnd(40);
			if (s.csent + len > climit)
				len = climit > s.csent ? climit - s.csent : 0;
			p.tcp_flags = len ? TH_ACK | TH_PUSH : TH_ACK;
			p.seq = s.cisn + 1 + s.csent;
			p.payload = s.cbuf + s.csent;
			p.payload_len = len;
			s.csent += len;
		} else if (k < 55) { /* a retransmit, sometimes of other bytes, or past a gap */
			off = rnd(s.csent + 10);
			len = 1 + rnd(40);
			if (off + len > s.clen)
				len = off < s.clen ? s.clen - off : 0;
			p.tcp_flags = TH_ACK | TH_PUSH;
			p.seq = s.cisn + 1 + off;
			if (rnd(3) == 0) {
				for (uint32_t i = 0; i < sizeof(junk); i++)
					junk[i] = (uint8_t)" MAILNOP\r\nx"[rnd(11)];
				p.payload = junk;
				p.payload_len = len < sizeof(junk) ? len : sizeof(junk);
			} else {
				p.payload = s.cbuf + off;
				p.payload_len = len;
			}
		} else if (k < 85) { /* the server's next bytes */
			srv = 1;
			len = 1 + rnd(30);
			if (s.ssent + len > slimit)
				len = slimit > s.ssent ? slimit - s.ssent : 0;
			p.tcp_flags = len ? TH_ACK | TH_PUSH : TH_ACK;
			p.seq = s.sisn + 1 + s.ssent;
			p.payload = s.sbuf + s.ssent;
			p.payload_len = len;
			s.ssent += len;
		} else if (k < 90) { /* the server again: a retransmit or a gap */
			srv = 1;
			off = rnd(s.ssent + 10);
			len = off < s.slen ? 1 + rnd(s.slen - off) : 0;
			p.tcp_flags = TH_ACK | TH_PUSH;
			p.seq = s.sisn + 1 + off;
			p.payload = s.sbuf + (off < s.slen ? off : 0);
			p.payload_len = len;
		} else { /* FIN or RST, either side */
			srv = (int)rnd(2);
			p.tcp_flags = TH_ACK | (rnd(2) ? TH_FIN : TH_RST);
			p.seq = srv ? s.sisn + 1 + s.ssent : s.cisn + 1 + s.csent;
		}
		if (srv) {
			p.saddr = s.sd->server;
			p.daddr = s.sd->client;
			p.sport = 25;
			p.dport = cport;
		}
		if (scripted && step < 6 &&
		    (script[step][0] ? s.ssent : s.csent) >= script[step][1])
			step++;
		p.ack = srv ? s.cisn + 1 + s.csent : s.sisn + 1 + s.ssent;
		ingress = srv == !s.sd->inbound;
		shape_frame(&p, &ingress);
		check_frame(&s, &p, ingress, n);
	}
}

static void test_model(void **state)
{
	const char *env = getenv("TG_MODEL_SESSIONS");
	int n = env ? atoi(env) : 1500;

	(void)state;
	print_message("# model: TG_MODEL_SEED=%u, %d sessions (TG_MODEL_SESSIONS)\n", seed0, n);
	for (int i = 0; i < n; i++) {
		memset(flows, 0, sizeof(flows));
		run_session((uint16_t)(20000 + i));
	}
	print_message("# verdicts: %lu pass, %lu drop, %lu reset, %lu emptied; "
		      "%lu flows reached TLS, %lu records passed\n",
		      seen[M_PASS], seen[M_DROP], seen[M_RST], seen[M_EMPTY], tls_flows, records_seen);
	/* a walk that never reaches a verdict proves nothing about it */
	for (int v = 0; v < 4; v++)
		assert_true(seen[v] > 0);
	assert_true(tls_flows > 0 && records_seen > 0);
}

static int setup(void **state)
{
	struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir,
				 .default_rule = { RULE_DEFAULT, 0 } };
	struct tg_bpf_policy_entry pol[4] = {
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 25 }, 32, RULE_ENCRYPT, POLICY_ENCRYPT, 0, 0 },
		{ POLICY_OUTBOUND, AF_INET6, { 0 }, 128, RULE_ENCRYPT, POLICY_ENCRYPT, 0, 0 },
		{ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 26 }, 32, RULE_MAY, POLICY_MAY, 0, 0 },
		{ POLICY_INBOUND, AF_INET, { 198, 51, 100, 7 }, 32, RULE_INBOUND, POLICY_ENCRYPT, 0, 0 },
	};
	const char *env = getenv("TG_MODEL_SEED");
	int err;

	(void)state;
	seed = env ? (unsigned int)strtoul(env, NULL, 0)
		   : (unsigned int)time(NULL) ^ (unsigned int)getpid();
	seed0 = seed;
	if (!getenv("TG_BPF_VERBOSE"))
		libbpf_set_print(NULL);
	err = tg_test_bpffs();
	if (err) {
		print_error("model: no bpffs: %s\n", strerror(-err));
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tlsgate-test-model-%d", (int)getpid());
	inet_pton(AF_INET6, "2001:db8:2::25", pol[1].addr);
	err = tg_bpf_open(&o, &h);
	if (!err)
		err = tg_bpf_policy_replace(h, pol, 4);
	if (err) {
		print_error("model: load failed: %s\n", strerror(-err));
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
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("bpf_enforce_model", tests, setup, teardown);
}
