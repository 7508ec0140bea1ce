/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce: tc egress (enforce_egress) and ingress (enforce_ingress) on the outside interface.
 *
 * A flow is one TCP connection to an SMTP port.  Its policy comes from the LPM trie that
 * tg_policy (ARRAY_OF_MAPS, one slot) points at, keyed by the server's address for outbound
 * flows and by the client's for inbound ones.  The daemon's own segments (tg_relay, or a relay
 * mark) pass.
 * Other flows are followed in tg_flows (LRU hash, both directions under one key): before
 * STARTTLS the client may send only EHLO/HELO/STARTTLS/NOOP/RSET/QUIT lines; the server's replies
 * are counted so that the reply to STARTTLS is known; after a 2xx to it, the client may send only
 * well-formed TLS records, whose boundaries are tracked by TCP sequence number.  A flow that
 * requires TLS and breaks the rule is blocked and reset: the offending segment loses its payload
 * and goes on as a RST at the server's next expected sequence number, every later client segment
 * that carries data loses it and goes on as a bare ACK (the server answers it with a RST, so the
 * client learns at once); an event goes to tg_events (ring buffer).  A segment that cannot be
 * rewritten (GSO, over 2 KiB of payload) is dropped (TC_ACT_SHOT) instead.
 *
 * Which flows are policed (decided at the SYN): levels encrypt and up; `may` too while the
 * daemon is down if tg_config.may_down says so.  Others are followed only to classify them
 * (TLS or plaintext, for the counters) and never dropped.
 *
 * Sequence rules, per direction: a segment entirely before the next uninspected byte is a
 * retransmit and passes (its bytes were judged when first seen; a retransmit carrying different
 * bytes is not detected); one that starts before it and goes past is judged from that byte on;
 * one that starts after it (a gap) is dropped without blocking, and TCP sends it again in order.
 *
 * Known limits: a policed flow whose start was not seen (attached mid-flow, or its entry evicted
 * from the LRU of TG_FLOWS_MAX flows) is blocked at its first data segment; the two directions
 * of a flow may run on two CPUs and update its entry without a lock (SMTP's lockstep makes a
 * race between the server's 220 and the client's first record impossible in practice: the
 * client sends the record only after it has received the 220).
 */
#ifndef TLSGATE_BPF_ENFORCE_H
#define TLSGATE_BPF_ENFORCE_H

#include "bpf/common.h"
#include "bpf/metrics.h"

/* Both directions of a connection share this key: client and server, not source and dest. */
struct tg_flow_key {
	__u8 caddr[16];
	__u8 saddr[16];
	__u16 cport;	/* network byte order */
	__u16 sport;
	__u8 family;	/* TG_FAM_* */
	__u8 pad[3];
};

enum tg_flow_state {
	TG_FS_CMD = 0,		/* plaintext SMTP: only the allowed verbs */
	TG_FS_STARTTLS,		/* STARTTLS sent, its reply not seen yet: the client must wait */
	TG_FS_TLS,		/* the server said 2xx: TLS records only */
	TG_FS_BLOCKED,		/* reset: later data segments go on as bare ACKs */
	TG_FS_PASS,		/* not policed and classified: no more inspection */
};

#define TG_FLOW_POLICED 0x01	/* TLS required: violations block */
#define TG_FLOW_INBOUND 0x02	/* client outside, policy by client address */
#define TG_FLOW_S_SEEN 0x04	/* s_nxt is valid */
#define TG_FLOW_FIRST_REC 0x08	/* next record is the first: version 0x0301 allowed */
#define TG_FLOW_VDONE 0x10	/* the current command line's verb is complete and allowed */
#define TG_FLOW_TLS 0x20	/* reached TLS (for byte accounting in TG_FS_PASS) */
#define TG_FLOW_STLS_LINE 0x40	/* the current command line is STARTTLS */

struct tg_flow {
	__u64 verb;		/* current command line: first 8 bytes of the verb, upper case */
	__u64 hdr_acc;		/* TLS: the bytes of a record header split across segments */
	__u32 rule_id;
	__u32 c_nxt;		/* client->server: the next byte not yet inspected */
	__u32 c_rec;		/* TLS: sequence number of the next record header */
	__u32 s_nxt;		/* server->client: the next byte not yet inspected */
	__u16 cmds;		/* complete command lines sent */
	__u16 replies;		/* final replies received (the greeting is reply 0) */
	__u16 starttls_cmd;	/* STARTTLS is command number starttls_cmd (1-based) */
	__u16 s_lpos;		/* bytes in the current reply line (saturating at 4) */
	__u8 level;		/* enum policy_level */
	__u8 state;		/* enum tg_flow_state */
	__u8 flags;		/* TG_FLOW_* */
	__u8 reason;		/* enum tg_drop_reason when blocked */
	__u8 vlen;		/* bytes of the verb seen (9 = too long) */
	__u8 hdr_have;		/* TLS: bytes of a split record header in hdr_acc */
	__u8 s_code;		/* first digit of the current reply line */
	__u8 s_sep;		/* its fourth byte: '-' continues, ' ' ends */
};

/* tg_events (BPF_MAP_TYPE_RINGBUF): one per flow that becomes blocked. */
struct tg_event {
	__u64 time_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u8 caddr[16];		/* client (IPv4: first 4 bytes) */
	__u8 saddr[16];		/* server */
	__u16 cport;		/* host byte order */
	__u16 sport;
	__u32 rule_id;
	__u8 family;		/* TG_FAM_* */
	__u8 dir;		/* TG_DIR_* */
	__u8 reason;		/* enum tg_drop_reason */
	__u8 level;		/* enum policy_level */
	__u8 detail[8];		/* the offending verb, or the bad record header */
};

/* Largest TLSCiphertext fragment: 2^14 + 256 (RFC 8446 5.2; RFC 5246 allows 2048 more for
 * TLS 1.2 compression, which nobody negotiates). */
#define TG_TLS_MAX_RECORD (16384 + 256)
/* Bytes of a plaintext segment the enforcer reads (command lines, replies). */
#define TG_SCAN_MAX 4096
/* Records walked in one segment: more than a 64 KiB GSO segment of 5-byte records holds, even
 * with BIG TCP (512 KiB). */
#define TG_REC_LOOP_MAX (1 << 17)

/* tg_attach (ARRAY, pinned): what the loader attached, so that a later `--detach` (another
 * process, maybe after a crash) removes exactly that.  Used by the user side only. */
#define TG_ATTACH_MAX 32
#define TG_ATT_STEER_IN 0x01	/* steer_inside on ingress */
#define TG_ATT_STEER_OUT 0x02	/* steer_outside on ingress */
#define TG_ATT_ENF_EGRESS 0x04
#define TG_ATT_ENF_INGRESS 0x08
#define TG_ATT_CLSACT 0x10	/* we created the clsact qdisc: remove it on detach */
#define TG_ATT_ROUTES 0x100	/* slot 0 only: ip rules and local routes were added */

struct tg_attach_rec {
	__u32 ifindex;	/* 0: free slot */
	__u32 flags;	/* TG_ATT_* */
};

#endif
