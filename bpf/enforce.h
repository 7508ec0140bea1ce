/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce: tc egress (enforce_egress) and ingress (enforce_ingress) on the outside interface.
 *
 * A flow is one TCP connection to an SMTP port, seen from one side: its key holds the client, the
 * server and the side the client is on (outbound: inside, its segments on egress; inbound:
 * outside, on ingress).  Its policy comes from the LPM trie that tg_policy (ARRAY_OF_MAPS, one
 * slot) points at, keyed by the server's address for outbound flows and by the client's for
 * inbound ones.  The daemon's own segments (tg_relay, or a relay mark) pass.  Other flows are followed in
 * tg_flows (LRU hash, both directions under one key): before STARTTLS the client may send only
 * EHLO/HELO/STARTTLS/NOOP/RSET/QUIT lines; the server's replies are counted so that the reply to
 * STARTTLS is known; after a 2xx to it, the client may send only well-formed TLS records, whose
 * boundaries are tracked by TCP sequence number.  A flow that requires TLS and breaks the rule is
 * blocked and reset: the offending segment loses its payload and goes on as a RST at the server's
 * next expected sequence number, every later client segment that carries data loses it and goes
 * on as a bare ACK (the server answers it with a RST, so the client learns at once); an event
 * goes to tg_events (ring buffer).  A segment that cannot be rewritten (GSO, over 2 KiB of
 * payload) is dropped (TC_ACT_SHOT) instead, and so is a SYN that breaks the rule.
 *
 * Which flows are policed (decided at the SYN): levels encrypt and up; `may` too while the
 * daemon is down if tg_config.may_down says so.  Others are followed only to classify them
 * (TLS or plaintext, for the counters) and never dropped.  A rule in monitor mode
 * (TG_POL_F_MONITOR) is not policed: its flow's first violation is counted as "would block"
 * and sent as an event with TG_EV_F_MONITOR, and the flow passes.
 *
 * SYN rules: a SYN starts a flow only on the client's side (the same 4-tuple on the other side
 * is another flow).  The client's resent SYN (same ISN) changes nothing.  A SYN with another ISN
 * on a live policed flow is dropped (syn-on-live-flow); once the flow saw a FIN or RST, or was
 * blocked, it starts the flow again (the port is reused).  The server's first SYN|ACK sets where
 * its replies start, later ones move nothing.  A SYN's payload (TCP Fast Open) is the flow's
 * first data and judged like any other.
 *
 * Command lines before TLS end at LF (bare LF included, as Postfix reads them).  Whatever
 * another MX could read as a second line or cut into one is refused (malformed-command-line): a
 * CR not followed by LF, control bytes other than tab, a line over 512 bytes, urgent data.
 *
 * Sequence rules, per direction: a segment entirely before the next uninspected byte is a
 * retransmit; one that starts before it and goes past is judged from that byte on; one that
 * starts after it (a gap) is dropped without blocking, and TCP sends it again in order.  The
 * receiver may not have taken a first copy (a bad checksum, a loss behind the gateway), so a
 * policed flow keeps its plaintext before TLS (tg_plain: TG_PLAIN_MAX bytes per flow, an LRU of
 * TG_PLAIN_FLOWS, created at the flow's first data so that a SYN flood evicts nothing) and a
 * retransmit must carry exactly the bytes judged the first time
 * (retransmit-differs blocks); data before the flow's first byte is never passed.  A retransmit
 * inside the TLS part passes unread: what the MX's TLS layer accepts is authenticated by the
 * peer it shook hands with.  A plaintext phase longer than TG_PLAIN_MAX is blocked
 * (inspection-limit).
 *
 * What the parser cannot read (bpf/parse.bpf.h: a third VLAN tag, more than four extension
 * headers, AH/ESP, lengths that do not add up, a short TCP header) is dropped when it goes to
 * (egress) or comes from (ingress) a peer whose policy is policed, and when not even its
 * addresses can be read (unparsable).  IP fragments: the ports are the first 4 bytes of the
 * first fragment; a first fragment without the whole TCP header is dropped whatever its ports
 * (RFC 1858), one of an SMTP segment too, and a later fragment (no ports) when its peer is
 * policed.  TCP never fragments (PMTU discovery), so only attacks lose.
 *
 * Known limits: a policed flow whose start was not seen (attached mid-flow, or its entry evicted
 * from the LRU of TG_FLOWS_MAX flows) is blocked at its first data segment, and so is one whose
 * kept plaintext was evicted when it retransmits plaintext; the server's replies are judged in
 * order but not kept, so an attacker outside who wins the race with a forged 220 to STARTTLS
 * puts the flow in TLS state while the MX stays in plaintext (a client that then sends TLS
 * fails its handshake; only a client in league with that attacker could hide command lines in
 * record bodies, which are not read); the two directions
 * of a flow may run on two CPUs and update its entry without a lock (SMTP's lockstep makes a
 * race between the server's 220 and the client's first record impossible in practice: the
 * client sends the record only after it has received the 220).
 */
#ifndef TLSGATE_BPF_ENFORCE_H
#define TLSGATE_BPF_ENFORCE_H

#include "bpf/common.h"
#include "bpf/metrics.h"

/*
 * Both directions of a connection share this key: client and server, not source and dest, and
 * the side the client is on.  A segment from the client's address that arrives on the other side
 * belongs to another flow (an inbound one where the real one is outbound): it can neither start
 * nor touch the real flow.
 */
struct tg_flow_key {
	__u8 caddr[16];
	__u8 saddr[16];
	__u16 cport;	/* network byte order */
	__u16 sport;
	__u8 family;	/* TG_FAM_* */
	__u8 dir;	/* TG_DIR_*: outbound = the client is inside, its segments on egress */
	__u8 pad[2];
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
#define TG_FLOW_CR 0x80		/* the client's last byte was a CR: the next must be LF */
#define TG_FLOW_CLOSED 0x100	/* a FIN or RST was seen: a new SYN may start the flow again */
#define TG_FLOW_MONITOR 0x200	/* not policed, but a monitor rule would police it: its first
				 * violation is counted (TG_CTR_WOULD_BLOCK) and told, then passes */

struct tg_flow {
	__u64 verb;		/* current command line: first 8 bytes of the verb, upper case */
	__u64 hdr_acc;		/* TLS: the bytes of a record header split across segments */
	__u32 rule_id;
	__u32 c_nxt;		/* client->server: the next byte not yet inspected */
	__u32 c_rec;		/* TLS: sequence number of the next record header */
	__u32 s_nxt;		/* server->client: the next byte not yet inspected */
	__u32 c_isn1;		/* client->server: the first byte after the SYN */
	__u32 c_plain;		/* ... one past the last plaintext byte kept in tg_plain */
	__u16 cmds;		/* complete command lines sent */
	__u16 replies;		/* final replies received (the greeting is reply 0) */
	__u16 starttls_cmd;	/* STARTTLS is command number starttls_cmd (1-based) */
	__u16 s_lpos;		/* bytes in the current reply line (saturating at 4) */
	__u16 c_lpos;		/* bytes in the client's current command line (saturating) */
	__u16 flags;		/* TG_FLOW_* */
	__u8 level;		/* enum policy_level */
	__u8 state;		/* enum tg_flow_state */
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
	__u8 flags;		/* TG_EV_F_* (in what was padding: the size is unchanged) */
};

#define TG_EV_F_MONITOR 0x01	/* a monitor rule: the flow would have been reset, it passed */

/* Largest TLSCiphertext fragment: 2^14 + 256 (RFC 8446 5.2; RFC 5246 allows 2048 more for
 * TLS 1.2 compression, which nobody negotiates). */
#define TG_TLS_MAX_RECORD (16384 + 256)
/* Bytes of a plaintext segment the enforcer reads (command lines, replies). */
#define TG_SCAN_MAX 4096
/* The client's plaintext before TLS, kept per policed flow in tg_plain (LRU of TG_PLAIN_FLOWS)
 * so that a retransmit can be compared with what was judged: EHLO, STARTTLS and a few more. */
#define TG_PLAIN_MAX 1024
#define TG_PLAIN_FLOWS 4096
/* RFC 5321 4.5.3.1.4: a command line is at most 512 bytes with its CRLF. */
#define TG_CMD_LINE_MAX 512
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
