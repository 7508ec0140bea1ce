/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon-wide context every worker shares: configuration (read-only after start), the kernel's
 * TLS capabilities, the TLS contexts, the current policy snapshot (swapped on reload), and
 * process-wide counters.  Workers read; the main thread changes the policy and the stop flag.
 *
 * daemon/ is tlsgated:
 *   tlsgated.c     main: options, configuration, TLS contexts, then the supervisor
 *   supervisor.c   the main thread: workers, signals, the control socket, the datapath
 *   supervisor_policy.c  the policy's life: resolve, swap in, push to the kernel, reload
 *   control_ops.c  what tlsgatectl can ask (control/server.h's ops) and events in wire format
 *   counters.c     this context's counters as named, labelled metric families (tlsgatectl stats)
 *   datapath.c     the daemon's use of bpf/: attach, listeners, policy, drop events
 *   worker.c       one thread each: epoll loop (loop.c), listeners, a session host
 *   session*.c     the relay's state machine (map in session_int.h)
 *   tls_client.c, tls_server.c  the SSL_CTXs (DANE per SSL: ktls/dane.h); config.c every key;
 *                  buf.c side buffers;
 *   tls_peer.c     the up leg's peer kept after the handshake: DANE and MTA-STS checked at RCPT
 *   events.c       events for `tlsgatectl monitor`; gateway.c this context
 *   sts_fetch.c, sts_job.c  MTA-STS policies fetched on the main loop into the on-disk cache
 *   destpol.c      per worker, the recipient domains' MX hosts, addresses, TLSA verdicts
 *   destkern.c     those lookups, from the workers to the supervisor, for the kernel enforcer
 *   outcome.c      what sessions learn, from the workers to the main thread's sinks
 *   tlsrpt*.c      TLS reports (RFC 8460): the day's counts, the spool, delivery, fleet datagrams
 *   privdrop.c     the privilege drop; diag_helper.c the one process that keeps CAP_NET_ADMIN,
 *                  to ask sock_diag what a worker's TLS socket runs on
 *   nic.c, session_nic.c  NIC TLS offload: interfaces at start, each TLS leg's kernel state
 */
#ifndef TLSGATE_DAEMON_GATEWAY_H
#define TLSGATE_DAEMON_GATEWAY_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/privdrop.h"
#include "ktls/ktls.h"
#include "policy/policy.h"
#include "policy/rpt.h"

struct anvil;
struct policy;
struct tg_bpf;
struct sts_fetch;
struct outcome_queue;
struct destkern;
struct tlsrpt;

/* Counters the daemon keeps itself (the BPF maps hold the kernel's); exported by counters.c. */
struct gateway_counters {
	atomic_uint_fast64_t sessions_outbound, sessions_inbound, sessions_active;
	atomic_uint_fast64_t messages_ok, messages_failed;
	atomic_uint_fast64_t tls_up, tls_down;		/* TLS sessions established per leg */
	atomic_uint_fast64_t tls_up_resumed;		/* of tls_up: resumed sessions */
	atomic_uint_fast64_t tls_required_refused;	/* encrypt+ policy, no TLS: 4xx */
	atomic_uint_fast64_t tls_may_fallback;		/* may: handshake failed, plaintext retry */
	atomic_uint_fast64_t rcpt_tls_refused;		/* 450 4.7.4 at RCPT */
	atomic_uint_fast64_t sender_tls_refused;	/* inbound 530 */
	atomic_uint_fast64_t handshake_failed, verify_failed;
	atomic_uint_fast64_t starttls_injection_discarded;	/* sessions with bytes discarded */
	atomic_uint_fast64_t timeouts;
	atomic_uint_fast64_t mail_held_refused;		/* the MX refused a held MAIL */
	atomic_uint_fast64_t outcomes_dropped;		/* daemon/outcome.h: queue full */
	/* a rule in monitor mode would have refused (session, recipient or sender): delivered */
	atomic_uint_fast64_t would_refuse_out, would_refuse_in;
	/*
	 * The destinations' own policies (DANE, MTA-STS), one count per recipient verdict in
	 * RFC 8460's terms: successes per policy type; failures per policy type and result type,
	 * refused (4xx to the client) or, for MTA-STS testing, delivered anyway (would_fail).
	 */
	atomic_uint_fast64_t rpt_success[POLICY_RPT_NPOLICY];
	/* outbound connection reuse (session_reuse.c) */
	atomic_uint_fast64_t reuse_kept;	/* TLS connections kept idle at a client's QUIT */
	atomic_uint_fast64_t reuse_taken;	/* sessions that went on over an idle connection */
	atomic_uint_fast64_t reuse_failed;	/* ... whose RSET failed: a fresh connection */
	atomic_uint_fast64_t reuse_lost;	/* idle ones the next hop closed or spoke on */
	atomic_uint_fast64_t reuse_idle;	/* gauge: idle now */
	atomic_uint_fast64_t rpt_failure[POLICY_RPT_NPOLICY][POLICY_RPT_NRESULT];
	atomic_uint_fast64_t rpt_would_fail[POLICY_RPT_NPOLICY][POLICY_RPT_NRESULT];
};

struct gateway {
	struct config cfg;
	struct ktls_caps caps;
	char caps_line[160];
	SSL_CTX *client_ctx;	/* we as STARTTLS client (toward MXs, or the inside MTA) */
	SSL_CTX *server_ctx;	/* we as STARTTLS server (inbound); NULL without certificates */
	pthread_mutex_t policy_lock;
	struct policy *policy;
	atomic_uint policy_gen;	/* +1 at every swap: workers drop their idle connections */
	struct gateway_counters ctr;
	atomic_bool stopping;	/* SIGTERM: stop accepting, finish sessions */
	struct anvil *anvil;	/* per-client-address limits of inbound connections */
	struct tg_bpf *bpf;	/* NULL without BPF; workers only register sockets in tg_relay */
	struct privdrop priv;	/* whom the daemon becomes after set-up */
	uint64_t started_ms;
	struct sts_fetch *sts;	/* MTA-STS policies (any thread may look up); NULL: unavailable */
	X509_STORE *sts_store;	/* WebPKI roots for MTA-STS MX certificates (mta_sts_ca_file) */
	/* what sessions learn about destinations, to the main thread's sinks (posture, TLS
	 * reports); created before the workers, sinks added before they start */
	struct outcome_queue *outcomes;
	/* the workers' lookups for the kernel enforcer (enforce_destination_policy); NULL: off */
	struct destkern *destkern;
	/* the outside interfaces' TLS offload (daemon/nic.h); set before the workers */
	struct nic_table *nic;
	/* with a user set: the CAP_NET_ADMIN helper that asks sock_diag for the workers
	 * (daemon/diag_helper.h); NULL as root (workers ask themselves) or when it did not start */
	struct diag_helper *diag;
	/* TLS reports (RFC 8460); NULL: off.  Workers only ask tlsrpt_exempt(). */
	struct tlsrpt *tlsrpt;
};

/* Is rule r in monitor mode: its own mode=monitor, or its table's outbound_policy_mode /
 * inbound_policy_mode = monitor?  What it would refuse is then delivered as `may` would,
 * logged "would have been refused (monitor): ..." and counted (policy_would_refuse). */
static inline bool gateway_rule_monitor(const struct gateway *g, const struct policy_rule *r)
{
	if (r->key_type == POLICY_KEY_DEFAULT)
		return false;
	return r->monitor || (r->dir == POLICY_INBOUND ? g->cfg.inbound_policy_monitor
						       : g->cfg.outbound_policy_monitor);
}

/* The current policy snapshot, with a reference the caller drops with policy_put(). */
struct policy *gateway_policy_get(struct gateway *g);
/* Swap in a new snapshot (the gw takes the caller's reference); the old one is released. */
void gateway_policy_set(struct gateway *g, struct policy *p);

#endif
