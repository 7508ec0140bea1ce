// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce: the in-kernel TLS enforcer on the outside interface (see bpf/enforce.h for the rules).
 * Verdicts: TC_ACT_UNSPEC lets the packet go on (and lets later filters on the hook run),
 * TC_ACT_SHOT drops it.
 *
 * Blocking resets the flow without forging a packet: the offending segment itself loses its
 * payload and becomes a RST at the server's next expected sequence number, so the server drops
 * the session at once and never sees a forbidden byte.  Every later data segment of the client
 * loses its payload too and goes on as a bare ACK, which the server's stack, having no
 * connection any more, answers with a RST: the client fails fast and keeps the mail queued.
 * Only headers, lengths and checksums change, each checksum by the kernel's incremental helpers,
 * which keep CHECKSUM_PARTIAL and CHECKSUM_COMPLETE skbs consistent; where a segment cannot be
 * rewritten (GSO, more payload than the scratch buffer, a helper error) it is dropped, and the
 * server times the session out as before.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/enforce.h"
#include "bpf/parse.bpf.h"
#include "bpf/maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_FLOWS_MAX);
	__type(key, struct tg_flow_key);
	__type(value, struct tg_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_ATTACH_MAX);
	__type(key, __u32);
	__type(value, struct tg_attach_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_attach SEC(".maps");

struct tg_scratch {
	__u8 buf[TG_SCAN_MAX];
};

/* A policed flow's plaintext, byte i at sequence number c_isn1 + i (see client_data). */
struct tg_plain {
	__u8 b[TG_PLAIN_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_PLAIN_FLOWS);
	__type(key, struct tg_flow_key);
	__type(value, struct tg_plain);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tg_plain SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_scratch);
} tg_scratch SEC(".maps");

#define SEQ_BEFORE(a, b) ((__s32)((a) - (b)) < 0)

/* Client-direction verdicts besides TC_ACT_*, carried out by enforce(). */
#define V_RESET 100	/* the offending segment: becomes a RST to the server */
#define V_EMPTY 101	/* data of a blocked flow: becomes a bare ACK */
/* Payload a segment may carry to be rewritten (its checksum share is summed in 512-byte steps,
 * bpf_csum_diff's limit). */
#define REWRITE_MAX 2048
#define CSUM_STEP 512

#define V4(a, b, c, d) ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24)
#define V8(a, b, c, d, e, f, g, h) (V4(a, b, c, d) | V4(e, f, g, h) << 32)

/* Internal scan results besides enum tg_drop_reason. */
#define SCAN_OK 0
#define SCAN_STARTTLS 100	/* a complete STARTTLS line ended at ctx.stop */
#define SCAN_TLS_GO 101		/* the server's 2xx to STARTTLS ended at ctx.stop */
#define SCAN_TLS_NO 102		/* the server refused STARTTLS: plaintext goes on */

/* ---- the daemon ---------------------------------------------------------------------------- */

/* Alive while one of its listeners is in tg_listen: a closed socket leaves the SOCKMAP. */
static __always_inline int daemon_alive(void)
{
	__u32 k = TG_LISTEN_V4;
	struct bpf_sock *sk = bpf_map_lookup_elem(&tg_listen, &k);

	if (!sk) {
		k = TG_LISTEN_V6;
		sk = bpf_map_lookup_elem(&tg_listen, &k);
	}
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/* Would the level refuse plaintext here?  (For a monitor rule: would it have.) */
static __always_inline int level_polices(const struct tg_config *cfg, __u8 level)
{
	if (level >= TG_LEVEL_ENCRYPT)
		return 1;
	return level == TG_LEVEL_MAY && cfg->may_down == TG_MAY_DOWN_ENFORCE && !daemon_alive();
}

/* A monitor rule (mode=monitor) is followed as if policed but never blocks: what it would
 * have reset is counted (TG_CTR_WOULD_BLOCK) and reported, and the flow passes. */
static __always_inline int must_police(const struct tg_config *cfg, struct tg_policy_val pol)
{
	return !(pol.flags & TG_POL_F_MONITOR) && level_polices(cfg, pol.level);
}

static __always_inline int would_police(const struct tg_config *cfg, struct tg_policy_val pol)
{
	return (pol.flags & TG_POL_F_MONITOR) && level_polices(cfg, pol.level);
}

/* ---- events and accounting ---------------------------------------------------------------- */

static __always_inline void emit(const struct tg_flow_key *k, const struct tg_flow *f, __u8 reason,
				 __u64 detail)
{
	struct tg_event *e = bpf_ringbuf_reserve(&tg_events, sizeof(*e), 0);

	if (!e)
		return;
	e->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->caddr, k->caddr, 16);
	__builtin_memcpy(e->saddr, k->saddr, 16);
	e->cport = bpf_ntohs(k->cport);
	e->sport = bpf_ntohs(k->sport);
	e->rule_id = f->rule_id;
	e->family = k->family;
	e->dir = (f->flags & TG_FLOW_INBOUND) ? TG_DIR_INBOUND : TG_DIR_OUTBOUND;
	e->reason = reason;
	e->level = f->level;
	e->flags = (f->flags & TG_FLOW_MONITOR) ? TG_EV_F_MONITOR : 0;
	__builtin_memcpy(e->detail, &detail, 8);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int is_plain_command(__u8 reason)
{
	return reason == TG_DROP_PLAIN_MAIL || reason == TG_DROP_PLAIN_AUTH ||
	       reason == TG_DROP_BAD_VERB;
}

static __always_inline void count_bytes(const struct tg_flow *f, __u64 n)
{
	if (n)
		tg_count(f->rule_id, (f->flags & TG_FLOW_TLS) ? TG_CTR_BYTES_TLS : TG_CTR_BYTES_PLAIN,
			 n);
}

/*
 * A rule was broken.  Policed flows are blocked (this segment reset, an event); others are
 * classified and no longer followed.
 */
static __always_inline int violation(const struct tg_flow_key *k, struct tg_flow *f, __u8 reason,
				     __u64 detail, __u32 len)
{
	if (is_plain_command(reason))
		tg_count(f->rule_id, TG_CTR_FLOWS_PLAIN, 1);
	if (!(f->flags & TG_FLOW_POLICED)) {
		/* a monitor rule: what would have been reset is counted and told, once a flow
		 * (it is no longer followed: nothing it sends later is judged) */
		if (f->flags & TG_FLOW_MONITOR) {
			tg_count(f->rule_id, TG_CTR_WOULD_BLOCK, 1);
			emit(k, f, reason, detail);
		}
		f->state = TG_FS_PASS;
		count_bytes(f, len);
		return TC_ACT_UNSPEC;
	}
	f->state = TG_FS_BLOCKED;
	f->reason = reason;
	tg_count(f->rule_id, TG_CTR_FLOWS_BLOCKED, 1);
	tg_count(f->rule_id, TG_CTR_DROPS + reason, 1);
	tg_count(f->rule_id, TG_CTR_BYTES_DROPPED, len);
	emit(k, f, reason, detail);
	return V_RESET;
}

/* ---- client command lines ------------------------------------------------------------------ */

#define CMD_LINE_FLAGS (TG_FLOW_VDONE | TG_FLOW_STLS_LINE | TG_FLOW_CR)

struct cmd_ctx {
	__u64 verb;
	__u32 n;	/* bytes in the scratch buffer */
	__u32 stop;	/* where the scan ended (index after the last byte looked at) */
	__u16 cmds;
	__u16 lpos;	/* bytes of the current line before its LF */
	__u16 flags;	/* CMD_LINE_FLAGS */
	__u8 vlen;
	__u8 result;	/* SCAN_* or a drop reason */
};

/* The verb is complete: is it allowed before TLS?  0 or a drop reason. */
static __always_inline __u8 classify_verb(struct cmd_ctx *c)
{
	__u64 v = c->verb;

	c->flags |= TG_FLOW_VDONE;
	if (c->vlen > 8)
		return TG_DROP_BAD_VERB;
	if (v == V4('E', 'H', 'L', 'O') || v == V4('H', 'E', 'L', 'O') ||
	    v == V4('N', 'O', 'O', 'P') || v == V4('R', 'S', 'E', 'T') ||
	    v == V4('Q', 'U', 'I', 'T'))
		return 0;
	if (v == V8('S', 'T', 'A', 'R', 'T', 'T', 'L', 'S')) {
		c->flags |= TG_FLOW_STLS_LINE;
		return 0;
	}
	if (v == V4('M', 'A', 'I', 'L') || v == V4('R', 'C', 'P', 'T') ||
	    v == V4('D', 'A', 'T', 'A') || v == V4('B', 'D', 'A', 'T'))
		return TG_DROP_PLAIN_MAIL;
	if (v == V4('A', 'U', 'T', 'H'))
		return TG_DROP_PLAIN_AUTH;
	return TG_DROP_BAD_VERB;
}

static long cmd_byte(__u32 i, void *arg)
{
	struct cmd_ctx *c = arg;
	struct tg_scratch *s;
	__u32 zero = 0;
	__u8 b, r;

	if (i >= c->n)
		return 1;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 1;
	b = s->buf[i & (TG_SCAN_MAX - 1)];
	c->stop = i + 1;
	/*
	 * A line ends at LF, as for Postfix (bare LF included).  Whatever another MX might take
	 * for a line end too, or cut a line at, is refused: a CR not followed by LF, control
	 * bytes, a line over 512 bytes.  So every MX sees the lines judged here.
	 */
	if ((c->flags & TG_FLOW_CR) && b != '\n') {
		c->result = TG_DROP_BAD_LINE;
		return 1;
	}
	if (b == '\n') {
		c->lpos = 0;
		if (!(c->flags & TG_FLOW_VDONE)) {
			r = classify_verb(c);
			if (r) {
				c->result = r;
				return 1;
			}
		}
		c->cmds++;
		if (c->flags & TG_FLOW_STLS_LINE) {
			c->result = SCAN_STARTTLS;
			return 1;
		}
		c->verb = 0;
		c->vlen = 0;
		c->flags = 0;
		return 0;
	}
	if (c->lpos >= TG_CMD_LINE_MAX - 1 || (b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
		c->result = TG_DROP_BAD_LINE;
		return 1;
	}
	c->lpos++;
	if (b == '\r')
		c->flags |= TG_FLOW_CR;
	if (c->flags & TG_FLOW_VDONE)
		return 0; /* the rest of an allowed line */
	if (b == ' ' || b == '\r') {
		r = classify_verb(c);
		if (r) {
			c->result = r;
			return 1;
		}
		return 0;
	}
	if (c->vlen < 8) {
		if (b >= 'a' && b <= 'z')
			b -= 'a' - 'A';
		c->verb |= (__u64)b << ((c->vlen & 7) * 8);
	}
	if (c->vlen < 9)
		c->vlen++;
	return 0;
}

/* Copy n bytes at skb offset off to the per-CPU scratch buffer; n, or 0 when over the limit. */
static __always_inline __u32 load_scratch_at(struct __sk_buff *skb, __u32 off, __u32 n)
{
	struct tg_scratch *s;
	__u32 zero = 0, sz;

	if (n == 0 || n > TG_SCAN_MAX)
		return 0;
	/*
	 * sz == n, but bounded by arithmetic the verifier follows through spills: older
	 * verifiers (6.1) do not carry a comparison on one copy of n over to another.  The
	 * barrier keeps the compiler from folding the mask away.
	 */
	sz = n - 1;
	asm volatile("" : "+r"(sz));
	sz = (sz & (TG_SCAN_MAX - 1)) + 1;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s || bpf_skb_load_bytes(skb, off, s->buf, sz))
		return 0;
	return n;
}

/* Copy payload[skip, len) to the per-CPU scratch buffer; its length, or 0 when over the limit. */
static __always_inline __u32 load_scratch(struct __sk_buff *skb, const struct tg_pkt *p, __u32 skip)
{
	return load_scratch_at(skb, p->off + skip, p->len - skip);
}

/* ---- the plaintext kept for retransmits ---------------------------------------------------- */

struct plain_ctx {
	const struct tg_flow_key *k;	/* on the program's stack */
	__u32 n;	/* bytes in the scratch buffer */
	__u32 rel;	/* the first one's offset in the client's stream (from c_isn1) */
	__u32 judged;	/* bytes of the stream judged and kept */
	__u8 result;
};

static long plain_byte(__u32 i, void *arg)
{
	struct plain_ctx *c = arg;
	struct tg_scratch *s;
	struct tg_plain *pl;
	__u32 zero = 0, pos;
	__u8 b;

	if (i >= c->n)
		return 1;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	pl = bpf_map_lookup_elem(&tg_plain, c->k);
	if (!s || !pl) {
		c->result = TG_DROP_LIMIT; /* evicted: nothing to compare with */
		return 1;
	}
	b = s->buf[i & (TG_SCAN_MAX - 1)];
	pos = c->rel + i;
	if (pos < c->judged) {
		if (pl->b[pos & (TG_PLAIN_MAX - 1)] != b) {
			c->result = TG_DROP_RETRANSMIT;
			return 1;
		}
	} else {
		pl->b[pos & (TG_PLAIN_MAX - 1)] = b;
	}
	return 0;
}

/*
 * Payload bytes [from, from + n) of a policed flow's segment against its kept plaintext: those
 * already judged must be the same bytes, the others are kept (they have just been judged).
 * 0 or a drop reason: the plaintext before TLS may not outgrow TG_PLAIN_MAX.
 */
static __always_inline __u8 plain_bytes(struct __sk_buff *skb, const struct tg_flow_key *k,
					struct tg_flow *f, const struct tg_pkt *p, __u32 from,
					__u32 n)
{
	struct plain_ctx c = { .k = k, .n = n, .rel = p->seq + from - f->c_isn1,
			       .judged = f->c_plain - f->c_isn1 };
	struct tg_scratch *s;
	__u32 zero = 0;

	if (!n)
		return 0;
	if (c.rel >= TG_PLAIN_MAX || n > TG_PLAIN_MAX - c.rel ||
	    !load_scratch_at(skb, p->off + from, n))
		return TG_DROP_LIMIT;
	if (!bpf_map_lookup_elem(&tg_plain, k)) {
		/* Created at the first data, not at the SYN: SYNs alone (a flood) do not evict the
		 * plaintext of live flows.  Its content is written before it is read. */
		if (f->c_plain != f->c_isn1)
			return TG_DROP_LIMIT; /* evicted: nothing to compare with */
		s = bpf_map_lookup_elem(&tg_scratch, &zero);
		if (!s || bpf_map_update_elem(&tg_plain, k, s, BPF_ANY))
			return TG_DROP_LIMIT;
	}
	bpf_loop(TG_PLAIN_MAX, plain_byte, &c, 0);
	if (c.result)
		return c.result;
	if (SEQ_BEFORE(f->c_plain, p->seq + from + n))
		f->c_plain = p->seq + from + n;
	return 0;
}

static __always_inline int client_commands(struct __sk_buff *skb, const struct tg_flow_key *k,
					   struct tg_flow *f, const struct tg_pkt *p, __u32 skip)
{
	struct cmd_ctx c = {
		.verb = f->verb, .cmds = f->cmds, .vlen = f->vlen, .lpos = f->c_lpos,
		.flags = f->flags & CMD_LINE_FLAGS,
	};
	__u8 r;

	c.n = load_scratch(skb, p, skip);
	if (!c.n)
		return violation(k, f, TG_DROP_LIMIT, 0, p->len);
	bpf_loop(TG_SCAN_MAX, cmd_byte, &c, 0);
	if (c.result == SCAN_STARTTLS && c.stop < c.n)
		/* RFC 3207: nothing may follow STARTTLS until the server has answered */
		return violation(k, f, TG_DROP_EARLY_DATA, c.verb, p->len);
	if (c.result != SCAN_OK && c.result != SCAN_STARTTLS)
		return violation(k, f, c.result, c.verb, p->len);
	if (f->flags & TG_FLOW_POLICED) {
		/* kept for comparison with retransmits: it is what was judged */
		r = plain_bytes(skb, k, f, p, skip, p->len - skip);
		if (r)
			return violation(k, f, r, 0, p->len);
	}
	f->verb = c.verb;
	f->vlen = c.vlen;
	f->cmds = c.cmds;
	f->c_lpos = c.lpos;
	f->flags = (f->flags & ~CMD_LINE_FLAGS) | c.flags;
	if (c.result == SCAN_STARTTLS) {
		f->state = TG_FS_STARTTLS;
		f->starttls_cmd = c.cmds;
		f->flags &= ~CMD_LINE_FLAGS;
		f->verb = 0;
		f->vlen = 0;
		f->c_lpos = 0;
	}
	f->c_nxt = p->seq + p->len;
	count_bytes(f, p->len - skip);
	return TC_ACT_UNSPEC;
}

/* ---- server replies ------------------------------------------------------------------------ */

struct reply_ctx {
	__u32 n;
	__u32 stop;
	__u16 lpos;
	__u16 replies;
	__u16 want;	/* the STARTTLS reply is the one that makes replies == want; 0: none */
	__u8 code;
	__u8 sep;
	__u8 result;
};

static long reply_byte(__u32 i, void *arg)
{
	struct reply_ctx *c = arg;
	struct tg_scratch *s;
	__u32 zero = 0;
	__u8 b;

	if (i >= c->n)
		return 1;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return 1;
	b = s->buf[i & (TG_SCAN_MAX - 1)];
	c->stop = i + 1;
	if (b == '\n') {
		/* "250 ok", "250" end a reply; "250-..." continues it */
		if (c->lpos >= 3 && !(c->lpos >= 4 && c->sep == '-')) {
			c->replies++;
			if (c->want && c->replies == c->want) {
				c->result = c->code == '2' ? SCAN_TLS_GO : SCAN_TLS_NO;
				c->lpos = 0; /* the next line's code is its first byte */
				return 1;
			}
		}
		c->lpos = 0;
		return 0;
	}
	if (c->lpos == 0)
		c->code = b;
	else if (c->lpos == 3)
		c->sep = b;
	/* saturate early: each distinct value is another state for the verifier to walk */
	if (c->lpos < 4)
		c->lpos++;
	return 0;
}

static __always_inline void server_replies(struct __sk_buff *skb, struct tg_flow *f,
					   const struct tg_pkt *p, __u32 skip)
{
	struct reply_ctx c = {
		.lpos = f->s_lpos, .replies = f->replies, .code = f->s_code, .sep = f->s_sep,
	};

	if (f->state == TG_FS_STARTTLS)
		c.want = f->starttls_cmd + 1; /* the greeting is reply 0 */
	c.n = load_scratch(skb, p, skip);
	if (!c.n) {
		/* A reply segment we cannot read: assume nothing about it.  A policed client can
		 * then never get to TLS (fail-closed); others are no longer followed. */
		if (!(f->flags & TG_FLOW_POLICED))
			f->state = TG_FS_PASS;
		f->s_nxt = p->seq + p->len;
		return;
	}
	bpf_loop(TG_SCAN_MAX, reply_byte, &c, 0);
	f->s_lpos = c.lpos;
	f->replies = c.replies;
	f->s_code = c.code;
	f->s_sep = c.sep;
	f->s_nxt = p->seq + p->len;
	count_bytes(f, p->len - skip);
	if (c.result == SCAN_TLS_GO) {
		tg_count(f->rule_id, TG_CTR_FLOWS_TLS, 1);
		f->flags |= TG_FLOW_TLS;
		f->c_rec = f->c_nxt;
		f->hdr_have = 0;
		f->state = (f->flags & TG_FLOW_POLICED) ? TG_FS_TLS : TG_FS_PASS;
	} else if (c.result == SCAN_TLS_NO) {
		f->state = TG_FS_CMD;
	}
}

/* ---- TLS records --------------------------------------------------------------------------- */

struct rec_ctx {
	struct __sk_buff *skb;
	__u64 acc;	/* header bytes so far, big-endian accumulated */
	__u32 base_off;	/* skb offset of sequence number base_seq */
	__u32 base_seq;
	__u32 pos;	/* sequence number of the next byte to look at */
	__u32 end;	/* ... one past the segment */
	__u32 rec;	/* ... of the next record header */
	__u8 have;	/* header bytes in acc */
	__u8 first;	/* the next record is the flow's first */
	__u8 result;
};

static __always_inline __u8 check_record(struct rec_ctx *c)
{
	__u8 type = (__u8)(c->acc >> 32);
	__u16 ver = (__u16)(c->acc >> 16);
	__u16 len = (__u16)c->acc;

	if (type < 20 || type > 23)
		return TG_DROP_BAD_RECORD;
	/* TLS 1.3 ClientHellos carry legacy_record_version 0x0301 (RFC 8446 5.1) */
	if (ver != 0x0303 && !(ver == 0x0301 && type == 22 && c->first))
		return TG_DROP_BAD_RECORD;
	if (len > TG_TLS_MAX_RECORD)
		return TG_DROP_BAD_RECORD;
	c->rec = c->pos + len;
	c->have = 0;
	c->acc = 0;
	c->first = 0;
	return 0;
}

static long rec_step(__u32 i, void *arg)
{
	struct rec_ctx *c = arg;
	__u32 need, avail;
	__u8 b[5];

	if (c->have == 0 && SEQ_BEFORE(c->pos, c->rec)) {
		/* inside a record body: jump to the next header */
		if (!SEQ_BEFORE(c->rec, c->end)) {
			c->pos = c->end;
			return 1;
		}
		c->pos = c->rec;
	}
	if (c->pos == c->end)
		return 1;
	avail = c->end - c->pos;
	need = 5 - (c->have & 7);
	if (c->have == 0 && avail >= 5) {
		if (bpf_skb_load_bytes(c->skb, c->base_off + (c->pos - c->base_seq), b, 5)) {
			c->result = TG_DROP_LIMIT;
			return 1;
		}
		c->acc = (__u64)b[0] << 32 | (__u64)b[1] << 24 | (__u64)b[2] << 16 |
			 (__u64)b[3] << 8 | b[4];
		c->have = 5;
		c->pos += 5;
	} else {
		/* a header split across segments: byte by byte */
		if (need > avail)
			need = avail;
		for (int j = 0; j < 5; j++) {
			if (j >= (int)need)
				break;
			if (bpf_skb_load_bytes(c->skb, c->base_off + (c->pos - c->base_seq), b, 1)) {
				c->result = TG_DROP_LIMIT;
				return 1;
			}
			c->acc = c->acc << 8 | b[0];
			c->have++;
			c->pos++;
		}
		if (c->have < 5)
			return 1; /* the segment ended inside the header */
	}
	c->result = check_record(c);
	return c->result ? 1 : 0;
}

static __always_inline int client_records(struct __sk_buff *skb, const struct tg_flow_key *k,
					  struct tg_flow *f, const struct tg_pkt *p, __u32 skip)
{
	struct rec_ctx c = {
		.skb = skb, .acc = f->hdr_acc, .base_off = p->off, .base_seq = p->seq,
		.pos = p->seq + skip, .end = p->seq + p->len, .rec = f->c_rec,
		.have = f->hdr_have, .first = !!(f->flags & TG_FLOW_FIRST_REC),
	};
	long n = bpf_loop(TG_REC_LOOP_MAX, rec_step, &c, 0);

	if (!c.result && c.pos != c.end && n >= TG_REC_LOOP_MAX)
		c.result = TG_DROP_LIMIT;
	if (c.result)
		return violation(k, f, c.result, c.acc, p->len);
	f->c_rec = c.rec;
	f->hdr_acc = c.acc;
	f->hdr_have = c.have;
	if (!c.first)
		f->flags &= ~TG_FLOW_FIRST_REC;
	f->c_nxt = p->seq + p->len;
	count_bytes(f, p->len - skip);
	return TC_ACT_UNSPEC;
}

/* ---- blocking: rewriting a segment --------------------------------------------------------- */

/*
 * Make the segment header-only, with new TCP flags and sequence number.  Checksums follow by
 * increments (bpf_l3/l4_csum_replace): the payload's share is taken out with bpf_csum_diff (a
 * no-op where the checksum is CHECKSUM_PARTIAL and does not cover it), the length change goes in
 * as a pseudo-header change.  0, or -1 and the caller drops the segment (it may be half
 * rewritten by then: it must not go out).  A global function: the verifier checks it once, not
 * at every call site.  The arguments are packed (five at most): hdrs = IP header offset |
 * TCP header offset << 16, pay = payload offset | payload length << 16, fam_flags = family |
 * new TCP flags << 8.
 */
__noinline int tg_rewrite_empty(struct __sk_buff *skb, __u32 hdrs, __u32 pay, __u32 fam_flags,
				__u32 seq)
{
	__u32 l3off = hdrs & 0xffff, l4off = hdrs >> 16, off = pay & 0xffff, n = pay >> 16;
	__u32 csum_off = l4off + 16, hlen = off - l4off, padded, full;
	__u8 family = fam_flags & 0xff, flags = (fam_flags >> 8) & 0xff;
	__u32 zero = 0, old_seq, new_seq = bpf_htonl(seq);
	__u16 old_len, new_len;
	__u8 w[2], nw[2];
	struct tg_scratch *s;
	__s64 diff = 0;

	if (!skb || n > REWRITE_MAX || skb->gso_segs > 1 || off < l4off || hlen > 60)
		return -1;
	/* Hide that bound from the compiler, or it drops the masks below the verifier needs. */
	asm volatile("" : "+r"(n));
	n &= TG_SCAN_MAX - 1;
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return -1;
	if (n) {
		/* n, in a form even 6.1's verifier sees is 1..TG_SCAN_MAX */
		if (bpf_skb_load_bytes(skb, off, s->buf, ((n - 1) & (TG_SCAN_MAX - 1)) + 1))
			return -1;
		/* ones' complement sums go by 16-bit words: pad to whole 32-bit words with zeros */
		s->buf[n & (TG_SCAN_MAX - 1)] = 0;
		s->buf[(n + 1) & (TG_SCAN_MAX - 1)] = 0;
		s->buf[(n + 2) & (TG_SCAN_MAX - 1)] = 0;
		padded = (n + 3) & ~3u;
		/* whole CSUM_STEP pieces, then the rest (1..CSUM_STEP bytes, a multiple of 4); sizes
		 * written so that even 6.1's verifier can bound them */
		full = (padded - 1) / CSUM_STEP;
#pragma unroll
		for (__u32 i = 0; i < REWRITE_MAX / CSUM_STEP; i++) {
			if (i < full)
				diff = bpf_csum_diff((__be32 *)(s->buf + i * CSUM_STEP), CSUM_STEP,
						     NULL, 0, (__wsum)diff);
			else
				diff = bpf_csum_diff((__be32 *)(s->buf + i * CSUM_STEP),
						     ((padded - 1) & (CSUM_STEP - 1)) + 1, NULL, 0,
						     (__wsum)diff);
			if (diff < 0)
				return -1;
			if (i >= full)
				break;
		}
		if (bpf_l4_csum_replace(skb, csum_off, 0, (__u64)diff, 0))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, csum_off, bpf_htons((__u16)(hlen + n)), bpf_htons((__u16)hlen),
				BPF_F_PSEUDO_HDR | sizeof(__u16)))
		return -1;
	if (bpf_skb_load_bytes(skb, l4off + 4, &old_seq, 4) ||
	    bpf_l4_csum_replace(skb, csum_off, old_seq, new_seq, sizeof(__u32)) ||
	    bpf_skb_store_bytes(skb, l4off + 4, &new_seq, 4, 0))
		return -1;
	/* the word of data offset and flags */
	if (bpf_skb_load_bytes(skb, l4off + 12, w, 2))
		return -1;
	nw[0] = w[0];
	nw[1] = flags;
	if (bpf_l4_csum_replace(skb, csum_off, *(__u16 *)w, *(__u16 *)nw, sizeof(__u16)) ||
	    bpf_skb_store_bytes(skb, l4off + 12, nw, 2, 0))
		return -1;
	if (family == TG_FAM_V4) {
		if (bpf_skb_load_bytes(skb, l3off + 2, &old_len, 2))
			return -1;
		new_len = bpf_htons((__u16)(bpf_ntohs(old_len) - n));
		if (bpf_l3_csum_replace(skb, l3off + 10, old_len, new_len, sizeof(__u16)) ||
		    bpf_skb_store_bytes(skb, l3off + 2, &new_len, 2, 0))
			return -1;
	} else {
		if (bpf_skb_load_bytes(skb, l3off + 4, &old_len, 2))
			return -1;
		new_len = bpf_htons((__u16)(bpf_ntohs(old_len) - n));
		if (bpf_skb_store_bytes(skb, l3off + 4, &new_len, 2, 0))
			return -1;
	}
	return bpf_skb_change_tail(skb, off, 0) ? -1 : 0;
}

/* ---- directions ---------------------------------------------------------------------------- */

static __always_inline int client_data(struct __sk_buff *skb, const struct tg_flow_key *k,
				       struct tg_flow *f, const struct tg_pkt *p, __u32 *rst_seq);

/* A flow's first segment: its SYN (a new flow), or data of a flow whose start was not seen. */
static __always_inline int new_flow(struct __sk_buff *skb, const struct tg_config *cfg,
				    const struct tg_flow_key *k, const struct tg_pkt *p, int syn,
				    __u32 *rst_seq)
{
	struct tg_policy_val pol = tg_policy_lookup(cfg, k->dir, p->family,
						    k->dir == TG_DIR_INBOUND ? p->src : p->dst,
						    bpf_ntohs(k->sport));
	int police = must_police(cfg, pol);
	int monitor = would_police(cfg, pol);
	int tls = tg_port_is_tls(cfg, k->sport);
	struct tg_scratch *s;
	struct tg_flow *fp;
	__u32 zero = 0;

	/* the new entry is built in the scratch buffer: the stack has no room for it */
	s = bpf_map_lookup_elem(&tg_scratch, &zero);
	if (!s)
		return police ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	fp = (struct tg_flow *)s->buf;
	__builtin_memset(fp, 0, sizeof(*fp));
	fp->rule_id = pol.rule_id;
	fp->level = pol.level;
	fp->c_nxt = p->seq;
	fp->c_isn1 = p->seq;
	fp->c_plain = p->seq;
	fp->flags = TG_FLOW_FIRST_REC | (police ? TG_FLOW_POLICED : 0) |
		    (monitor ? TG_FLOW_MONITOR : 0) |
		    (k->dir == TG_DIR_INBOUND ? TG_FLOW_INBOUND : 0);
	if (tls) {
		/* implicit TLS: records from the first byte, no commands, no STARTTLS */
		fp->state = police ? TG_FS_TLS : TG_FS_PASS;
		fp->flags |= TG_FLOW_TLS;
		fp->c_rec = p->seq;
	}
	if (syn) {
		bpf_map_update_elem(&tg_flows, k, fp, BPF_ANY);
		tg_count(pol.rule_id, TG_CTR_FLOWS_TRACKED, 1);
		if (!p->len)
			return TC_ACT_UNSPEC;
		/* TCP Fast Open: the SYN's payload is the flow's first data */
		fp = bpf_map_lookup_elem(&tg_flows, k);
		if (!fp)
			return police ? TC_ACT_SHOT : TC_ACT_UNSPEC;
		return client_data(skb, k, fp, p, rst_seq);
	}
	if (!police || !p->len || (p->flags & TG_TH_RST))
		return TC_ACT_UNSPEC;
	/* Data of a flow whose start we never saw: nothing tells what it is. */
	if (bpf_map_update_elem(&tg_flows, k, fp, BPF_ANY))
		return TC_ACT_SHOT;
	fp = bpf_map_lookup_elem(&tg_flows, k);
	if (!fp)
		return TC_ACT_SHOT;
	return violation(k, fp, TG_DROP_NO_STATE, 0, p->len);
}

/* A client segment with data (p->seq is its first data byte, also for a SYN). */
static __always_inline int client_data(struct __sk_buff *skb, const struct tg_flow_key *k,
				       struct tg_flow *f, const struct tg_pkt *p, __u32 *rst_seq)
{
	int police = f->flags & TG_FLOW_POLICED;
	__u32 skip, end, n;
	__u8 r;

	if (f->state == TG_FS_BLOCKED) {
		tg_count(f->rule_id, TG_CTR_DROPS + TG_DROP_BLOCKED, 1);
		tg_count(f->rule_id, TG_CTR_BYTES_DROPPED, p->len);
		return V_EMPTY;
	}
	*rst_seq = f->c_nxt; /* every byte before it was judged and passed */
	if (f->state == TG_FS_PASS) {
		count_bytes(f, p->len);
		return TC_ACT_UNSPEC;
	}
	/* urgent data leaves the receiver's byte stream: it would not see what is judged here */
	if (police && (p->flags & TG_TH_URG))
		return violation(k, f, TG_DROP_BAD_LINE, 0, p->len);
	/* bytes before the flow's first: never judged */
	if (police && SEQ_BEFORE(p->seq, f->c_isn1))
		return violation(k, f, TG_DROP_NO_STATE, 0, p->len);
	end = p->seq + p->len;
	if (SEQ_BEFORE(f->c_nxt, p->seq)) {
		/* a gap: where lines or records start is unknown until it is filled */
		if (!police) {
			f->state = TG_FS_PASS;
			return TC_ACT_UNSPEC;
		}
		tg_count(f->rule_id, TG_CTR_DROPS + TG_DROP_OOO, 1);
		return TC_ACT_SHOT;
	}
	/*
	 * A retransmit: the receiver may not have taken the first copy (a bad checksum, a loss
	 * behind us), so it must carry the bytes judged then.  The plaintext is kept and
	 * compared; TLS records are not (what the MX's TLS layer accepts is authenticated).
	 */
	if (police && SEQ_BEFORE(p->seq, f->c_plain)) {
		n = f->c_plain - p->seq;
		r = plain_bytes(skb, k, f, p, 0, n < p->len ? n : p->len);
		if (r)
			return violation(k, f, r, 0, p->len);
	}
	if (!SEQ_BEFORE(f->c_nxt, end))
		return TC_ACT_UNSPEC; /* nothing new */
	skip = f->c_nxt - p->seq; /* a retransmit that also carries new bytes */
	if (f->state == TG_FS_CMD)
		return client_commands(skb, k, f, p, skip);
	if (f->state == TG_FS_STARTTLS)
		return violation(k, f, TG_DROP_EARLY_DATA, 0, p->len);
	return client_records(skb, k, f, p, skip);
}

/* A verdict; for V_RESET *rst_seq is where the server expects the client's next byte. */
static __always_inline int client_to_server(struct __sk_buff *skb, const struct tg_config *cfg,
					    const struct tg_pkt *p, __u8 dir, __u32 *rst_seq)
{
	struct tg_flow_key k = {
		.cport = p->sport, .sport = p->dport, .family = p->family, .dir = dir,
	};
	int syn = (p->flags & (TG_TH_SYN | TG_TH_ACK)) == TG_TH_SYN;
	struct tg_flow *f;

	__builtin_memcpy(k.caddr, p->src, 16);
	__builtin_memcpy(k.saddr, p->dst, 16);
	*rst_seq = p->seq;
	f = bpf_map_lookup_elem(&tg_flows, &k);
	if (!f)
		return new_flow(skb, cfg, &k, p, syn, rst_seq);
	if (syn && p->seq != f->c_isn1) {
		/*
		 * Another connection on the same ports.  A live policed flow is never started
		 * again: the SYN would move its sequence numbers under the enforcer's feet.  One
		 * that ended (FIN, RST, or blocked) may be: the client reuses the port.
		 */
		if ((f->flags & TG_FLOW_POLICED) && !(f->flags & TG_FLOW_CLOSED) &&
		    f->state != TG_FS_BLOCKED) {
			tg_count(f->rule_id, TG_CTR_DROPS + TG_DROP_SYN, 1);
			return TC_ACT_SHOT;
		}
		return new_flow(skb, cfg, &k, p, syn, rst_seq);
	}
	if (p->flags & (TG_TH_FIN | TG_TH_RST))
		f->flags |= TG_FLOW_CLOSED;
	if (!p->len || (p->flags & TG_TH_RST))
		return TC_ACT_UNSPEC; /* ACK, FIN, RST, a resent SYN: no data to judge */
	return client_data(skb, &k, f, p, rst_seq);
}

static __always_inline int server_to_client(struct __sk_buff *skb, const struct tg_pkt *p,
					    __u8 dir)
{
	struct tg_flow_key k = {
		.cport = p->dport, .sport = p->sport, .family = p->family, .dir = dir,
	};
	struct tg_flow *f;
	__u32 end;

	__builtin_memcpy(k.caddr, p->dst, 16);
	__builtin_memcpy(k.saddr, p->src, 16);
	f = bpf_map_lookup_elem(&tg_flows, &k);
	if (!f)
		return TC_ACT_UNSPEC; /* relay flows and flows not followed */
	if (p->flags & (TG_TH_FIN | TG_TH_RST))
		f->flags |= TG_FLOW_CLOSED; /* the session is over: the port may be reused */
	if (f->state != TG_FS_CMD && f->state != TG_FS_STARTTLS) {
		if (f->state != TG_FS_BLOCKED)
			count_bytes(f, p->len);
		return TC_ACT_UNSPEC;
	}
	if (p->flags & TG_TH_SYN) {
		/* the first SYN|ACK sets where replies start; no later one moves it */
		if (!(f->flags & TG_FLOW_S_SEEN)) {
			f->s_nxt = p->seq;
			f->flags |= TG_FLOW_S_SEEN;
		}
	}
	if (!p->len || (p->flags & TG_TH_RST))
		return TC_ACT_UNSPEC;
	if (!(f->flags & TG_FLOW_S_SEEN)) {
		f->s_nxt = p->seq;
		f->flags |= TG_FLOW_S_SEEN;
	}
	end = p->seq + p->len;
	if (!SEQ_BEFORE(f->s_nxt, end))
		return TC_ACT_UNSPEC;
	if (SEQ_BEFORE(f->s_nxt, p->seq)) {
		if (!(f->flags & TG_FLOW_POLICED)) {
			f->state = TG_FS_PASS;
			return TC_ACT_UNSPEC;
		}
		/* replies must be counted in order; the server resends */
		tg_count(f->rule_id, TG_CTR_DROPS + TG_DROP_OOO, 1);
		return TC_ACT_SHOT;
	}
	server_replies(skb, f, p, f->s_nxt - p->seq);
	return TC_ACT_UNSPEC;
}

/* Does a packet to (egress) or from (ingress) this peer need TLS?  For what cannot be read. */
static __always_inline int tls_required(const struct tg_config *cfg, const struct tg_pkt *p,
					int ingress)
{
	__u8 dir = ingress ? TG_DIR_INBOUND : TG_DIR_OUTBOUND;

	/* the port of such a frame is not known: the strictest of the peer's rules */
	return must_police(cfg, tg_policy_lookup(cfg, dir, p->family,
						 ingress ? p->src : p->dst, 0));
}

/* The daemon's own segments (its registered sockets, or a relay mark): only sent ones. */
static __always_inline int relay_marked(const struct tg_config *cfg, struct __sk_buff *skb,
					int ingress)
{
	return !ingress && tg_is_relay(skb, cfg);
}

static __always_inline int enforce(struct __sk_buff *skb, int ingress)
{
	struct tg_config *cfg = tg_cfg();
	struct tg_pkt p;
	__u32 rst_seq;
	int r, syn;

	if (!cfg)
		return TC_ACT_UNSPEC;
	r = tg_parse(skb, &p);
	if (r == TG_PARSE_OTHER)
		return TC_ACT_UNSPEC;
	if (r == TG_PARSE_BAD) {
		/* Might be TCP, cannot be read: not toward a TLS-required peer (nor where the
		 * peer is unknown: the frame cannot be read that far). */
		if (relay_marked(cfg, skb, ingress) ||
		    (p.family && !tls_required(cfg, &p, ingress)))
			return TC_ACT_UNSPEC;
		tg_count_global(TG_CTR_DROPS + TG_DROP_UNPARSABLE, 1);
		return TC_ACT_SHOT;
	}
	if (r == TG_PARSE_FRAGMENT) {
		/* The first fragment shows the ports; without it the rest cannot be reassembled.
		 * A later one toward a TLS-required peer might be overlaid on a first one. */
		if (relay_marked(cfg, skb, ingress))
			return TC_ACT_UNSPEC;
		if (p.first_frag ? p.frag_short || tg_port_is_smtp(cfg, p.dport) ||
					   tg_port_is_smtp(cfg, p.sport) || tg_port_is_tls(cfg, p.dport) ||
					   tg_port_is_tls(cfg, p.sport)
				 : tls_required(cfg, &p, ingress)) {
			tg_count_global(TG_CTR_DROPS + TG_DROP_FRAGMENT, 1);
			return TC_ACT_SHOT;
		}
		return TC_ACT_UNSPEC;
	}
	/* from here on p.seq is the first data byte's sequence number, also in a SYN */
	syn = !!(p.flags & TG_TH_SYN);
	p.seq += syn;
	if (tg_port_is_smtp(cfg, p.dport) || tg_port_is_tls(cfg, p.dport)) {
		if (relay_marked(cfg, skb, ingress)) {
			/* the daemon's own connection: it enforces the policy itself */
			tg_count_global(TG_CTR_BYTES_RELAY, p.len);
			if ((p.flags & (TG_TH_SYN | TG_TH_ACK)) == TG_TH_SYN)
				tg_count(tg_policy_lookup(cfg, TG_DIR_OUTBOUND, p.family, p.dst,
							  bpf_ntohs(p.dport))
						 .rule_id,
					 TG_CTR_FLOWS_RELAY, 1);
			return TC_ACT_UNSPEC;
		}
		r = client_to_server(skb, cfg, &p, ingress ? TG_DIR_INBOUND : TG_DIR_OUTBOUND,
				     &rst_seq);
		if ((r == V_RESET || r == V_EMPTY) && syn)
			return TC_ACT_SHOT; /* no connection to reset yet */
		if (r == V_RESET || r == V_EMPTY)
			return tg_rewrite_empty(skb, p.l3off | (__u32)p.l4off << 16,
						(p.off & 0xffff) | (p.len > REWRITE_MAX ? 0xffffu : p.len) << 16,
						p.family | (__u32)(r == V_RESET ? TG_TH_RST | TG_TH_ACK
										 : TG_TH_ACK) << 8,
						r == V_RESET ? rst_seq : p.seq)
				       ? TC_ACT_SHOT
				       : TC_ACT_UNSPEC;
		return r;
	}
	if (tg_port_is_smtp(cfg, p.sport) || tg_port_is_tls(cfg, p.sport))
		return server_to_client(skb, &p, ingress ? TG_DIR_OUTBOUND : TG_DIR_INBOUND);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int enforce_egress(struct __sk_buff *skb)
{
	return enforce(skb, 0);
}

SEC("tc")
int enforce_ingress(struct __sk_buff *skb)
{
	return enforce(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
