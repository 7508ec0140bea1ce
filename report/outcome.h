/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What one relayed transaction taught the gateway about one destination (outbound: a recipient
 * domain and its MX) or one sender (inbound: the MAIL FROM domain and the client): the record the
 * posture store (report/posture*.c) and the TLS reports (report/tlsrpt*.c) are built from.  Plain
 * data, no pointers: it is copied through a queue from the workers to the main thread.
 *
 * When one is made (daemon/session*.c):
 *   - outbound, per recipient domain of a transaction that ended (the end of data answered, or
 *     the transaction abandoned): result DELIVERED / PEER_REFUSED with the recipients and one
 *     message; a recipient the gateway refused (its TLS, DANE or MTA-STS policy not met) gives
 *     one with result POLICY_REFUSED and the RFC 8460 result type;
 *   - outbound, a session refused before any recipient (TLS required, not offered...): domain is
 *     the next-hop domain when known, else "", and mx the address;
 *   - inbound, per transaction: the sender's domain and the client.
 */
#ifndef TLSGATE_REPORT_OUTCOME_H
#define TLSGATE_REPORT_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/rpt.h"

#define REPORT_NAME_MAX 256 /* a domain or host name, with its NUL */

enum report_dir {
	REPORT_OUTBOUND,
	REPORT_INBOUND,
};

/* The peer's certificate as a verify-level check would judge it (for the "could be verify"
 * verdict), whatever level the session applied. */
enum report_cert {
	REPORT_CERT_NONE,	   /* no TLS, or anonymous TLS */
	REPORT_CERT_VERIFIED,	   /* chain trusted and valid for the MX name */
	REPORT_CERT_NAME_MISMATCH, /* chain trusted, not valid for the MX name */
	REPORT_CERT_NO_NAME,	   /* chain trusted, no MX name known to check it against */
	REPORT_CERT_EXPIRED,
	REPORT_CERT_SELF_SIGNED,
	REPORT_CERT_UNTRUSTED,	   /* any other chain failure */
	REPORT_CERT_N,
};

enum report_result {
	REPORT_DELIVERED,	/* the MX accepted the message */
	REPORT_PEER_REFUSED,	/* the MX refused or failed (its reply; not a TLS matter) */
	REPORT_POLICY_REFUSED,	/* the gateway refused: the destination's TLS requirement unmet */
	REPORT_WOULD_REFUSE,	/* delivered, but a monitor rule or MTA-STS testing would refuse */
	REPORT_RESULT_N,
};

/* Which policy decided the recipient domain's requirement (RFC 8460 policy-type). */
enum report_policy {
	REPORT_POLICY_TABLE,	/* the admin's table, or the default (no-policy-found) */
	REPORT_POLICY_DANE,	/* "tlsa" */
	REPORT_POLICY_STS,	/* "sts" */
};

enum report_ktls {
	REPORT_KTLS_NONE,	/* no TLS, or TLS in userspace */
	REPORT_KTLS_KERNEL,
	REPORT_KTLS_NIC,
};

struct report_outcome {
	int64_t time;			/* unix seconds */
	uint8_t dir;			/* enum report_dir */
	uint8_t result;			/* enum report_result */
	uint8_t cert;			/* enum report_cert */
	uint8_t policy;			/* enum report_policy */
	int8_t rpt_result;		/* enum policy_rpt_result of a failure, -1 none */
	uint8_t ktls_tx, ktls_rx;	/* enum report_ktls */
	bool new_session;		/* the session's first outcome for this domain: its
					 * session facts (STARTTLS, TLS, certificate, kTLS) count */
	bool starttls_offered;		/* the peer offered STARTTLS (outbound) / was offered it */
	bool tls;			/* the leg was TLS */
	uint8_t level;			/* enum policy_level the session applied */
	uint32_t rule_id;		/* the table rule (0: none) */
	uint32_t messages;		/* 1 for a message, 0 for a refusal */
	uint32_t recipients;		/* recipients of this domain in it */
	char domain[REPORT_NAME_MAX];	/* recipient domain / sender domain, lower case */
	char mx[REPORT_NAME_MAX];	/* outbound: the MX host name when known; inbound: HELO */
	char peer_ip[64];		/* the MX's / client's address */
	char local_ip[64];		/* ours on that leg (RFC 8460 sending-mta-ip) */
	char tls_version[16];		/* "TLSv1.3" */
	char cipher[64];
	char policy_detail[160];	/* why, in words ("DANE-EE(3) 1 1", "mx not in patterns") */
};

#endif
