/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counters of the BPF programs: per CPU, globally (tg_stats, one slot) and per policy rule
 * (tg_rule_stats, keyed by struct policy_rule.id).  Written by steer and enforce, read from the
 * pinned maps by bpf/metrics.c (so `tlsgatectl stats` works while the daemon is down), summed
 * over libbpf_num_possible_cpus().
 */
#ifndef TLSGATE_BPF_METRICS_H
#define TLSGATE_BPF_METRICS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <stddef.h>
#endif

/* Why the enforcer dropped a segment.  Names (tg_drop_reason_name) appear in logs and metrics. */
enum tg_drop_reason {
	TG_DROP_NONE = 0,
	TG_DROP_PLAIN_MAIL,	/* MAIL/RCPT/DATA/BDAT before TLS */
	TG_DROP_PLAIN_AUTH,	/* AUTH before TLS */
	TG_DROP_BAD_VERB,	/* any other command line before STARTTLS */
	TG_DROP_EARLY_DATA,	/* client bytes after STARTTLS before the server's 220 */
	TG_DROP_BAD_RECORD,	/* not a well-formed TLS record header after the 220 */
	TG_DROP_NO_STATE,	/* data of a flow whose start was never seen (or evicted) */
	TG_DROP_FRAGMENT,	/* an IP fragment of an SMTP segment: cannot be inspected */
	TG_DROP_LIMIT,		/* more than the program inspects in one segment */
	TG_DROP_BLOCKED,	/* later data of a flow already blocked (no event) */
	TG_DROP_OOO,		/* data beyond a gap: dropped, not blocked; TCP resends in order */
	TG_DROP_UNPARSABLE,	/* a packet it cannot read, toward a TLS-required peer */
	TG_DROP_RETRANSMIT,	/* a retransmit whose bytes differ from those judged before */
	TG_DROP_BAD_LINE,	/* a command line an MX could read differently (bare CR, control
				 * bytes, over 512 bytes, urgent data) */
	TG_DROP_SYN,		/* a SYN with another sequence number on a live policed flow */
	TG_DROP_N,
};

enum tg_ctr {
	TG_CTR_FLOWS_STEERED = 0,	/* SYNs assigned to the daemon's listener */
	TG_CTR_FLOWS_RELAY,		/* SYNs of the daemon's own outbound flows */
	TG_CTR_FLOWS_TRACKED,		/* other SMTP flows the enforcer followed */
	TG_CTR_FLOWS_TLS,		/* ... that reached TLS (server's 2xx to STARTTLS) */
	TG_CTR_FLOWS_PLAIN,		/* ... that sent a mail command (or AUTH) in plaintext */
	TG_CTR_FLOWS_BLOCKED,		/* ... that were blocked (an event each) */
	TG_CTR_STEER_ERRORS,		/* bpf_sk_assign failed: the packet went on unsteered */
	TG_CTR_BYTES_RELAY,		/* TCP payload bytes by kind */
	TG_CTR_BYTES_TLS,
	TG_CTR_BYTES_PLAIN,
	TG_CTR_BYTES_DROPPED,
	TG_CTR_DROPS,			/* segments dropped, + enum tg_drop_reason */
	/* flows of a monitor rule (mode=monitor) that would have been blocked: they passed.
	 * After the drops, so that the slots of the older counters keep their numbers. */
	TG_CTR_WOULD_BLOCK = TG_CTR_DROPS + TG_DROP_N,
	TG_CTR_N,
};

/* A power of two >= TG_CTR_N: the BPF side indexes with a mask, which every verifier follows. */
#define TG_CTR_SLOTS 32

struct tg_counters {
	__u64 v[TG_CTR_SLOTS];	/* by enum tg_ctr; TG_CTR_N.. unused */
};

_Static_assert(TG_CTR_N <= TG_CTR_SLOTS, "TG_CTR_SLOTS too small");

#ifndef __VMLINUX_H__
/* User side (bpf/metrics.c): read the pinned counter maps. */
struct tg_rule_counters {
	__u32 rule_id;
	struct tg_counters c;
};

struct tg_metrics {
	struct tg_counters global;
	struct tg_rule_counters *rules;	/* sorted by rule_id */
	size_t nrules;
};

/* Reads PIN_DIR/tg_stats and PIN_DIR/tg_rule_stats; 0 or -errno. */
int tg_metrics_read(const char *pin_dir, struct tg_metrics *m);
void tg_metrics_free(struct tg_metrics *m);
/* "plaintext-mail", ...; "reason-N" for an unknown value. */
const char *tg_drop_reason_name(unsigned int reason);
#endif

#endif
