/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One relayed SMTP session: a cut-through relay between the party that connected to us ("down":
 * an inside MTA for outbound, an external sender for inbound) and the one we connect to ("up":
 * the destination MX, or the inside next hop).  One state machine; the role is a parameter:
 *
 *   outbound  up leg: STARTTLS client per destination policy (kTLS); RCPT domains checked
 *   inbound   down leg: STARTTLS server; per-sender require-TLS; a Received header prepended
 *
 * The greeting is shown to the down side only after the up side is ready (TLS included), so a
 * failure to get TLS where policy requires it becomes a 421 greeting: the sender keeps the mail.
 *
 * This is what the rest of the daemon sees: a session host (the thread that runs sessions, a
 * worker, embeds one), starting and ending sessions, and a read-only view for dumps and events.
 * The state machine itself is in session_int.h and the session_*.c files.
 */
#ifndef TLSGATE_DAEMON_SESSION_H
#define TLSGATE_DAEMON_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/pool.h"

struct destpol;
struct gateway;
struct session_reuse;
struct loop;
struct policy_rule;
struct session;

enum session_role {
	ROLE_OUTBOUND,
	ROLE_INBOUND,
};

#define SESSION_SCRATCH (64 * 1024)

/*
 * What sessions need of the thread that runs them.  Only that thread touches it, except the
 * session list, which `lock` guards against other threads' dumps.
 */
struct session_host {
	struct gateway *gw;
	struct loop *loop;
	unsigned int id;		/* the worker's number: the top bits of session ids */
	uint64_t next_id;
	char *scratch;			/* SESSION_SCRATCH bytes for body scanning and draining */
	pthread_mutex_t lock;
	struct session *sessions;	/* under lock */
	size_t nsessions;		/* under lock */
	struct session *zombies;	/* destroyed, freed after the batch of events */
	struct destpol *destpol;	/* recipient domains' MX hosts and DANE verdicts (the
					 * worker's; NULL when outbound_dane and
					 * outbound_mta_sts are both off) */
	struct session_reuse *reuse;	/* idle TLS connections to MXs (session_reuse.c); NULL
					 * until the first is kept */
	/* Where the sessions' memory comes from (the owner thread's, no locks): the session
	 * objects, their side buffers (SIDE_BUF) and their bodies' bounce buffers. */
	struct tg_pool session_pool, buf_pool, bounce_pool;
};

int session_host_init(struct session_host *h, struct gateway *gw, struct loop *loop,
		      unsigned int id);
void session_host_fini(struct session_host *h);
/* Free the memory the pools keep (an idle worker gives it back); how many objects were freed. */
unsigned int session_host_trim(struct session_host *h);

/* Start a session for an accepted connection (fd is the down side, non-blocking); peer is the
 * client's address (inbound: counted in gw->anvil, released when the session ends), local its
 * local address, the original destination when steered.  On failure fd is closed. */
int session_start(struct session_host *h, enum session_role role, int fd,
		  const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
		  bool steered);
/* Free the sessions destroyed during the last batch of events (between batches); how many. */
size_t session_reap(struct session_host *h);
/* End session `id` with a 421 as the administrator asked: 0, or -ENOENT. */
int session_host_kill(struct session_host *h, uint64_t id);
/*
 * The drain deadline: every session ends now with `reply` (a 421 line), except that a session
 * whose end of data (the final dot, BDAT LAST) is with the next hop first waits for its reply
 * and passes it on (bounded by data_done_timeout): a 421 instead of the MX's 250 would make the
 * client send it again.
 * `reply` must be static text.
 */
void session_host_shutdown(struct session_host *h, const char *reply);
/*
 * The worker's idle connections (outbound_connection_reuse): closed with QUIT when the policy
 * snapshot changed since they were kept (every swap: the decision they were made under may
 * change), and all of them, for good, when `stopping` (no session will take one again).  Called
 * from the worker's loop after each round of events; how many ended ones it freed (their memory
 * is the idle trim's, as sessions' is).
 */
size_t session_reuse_tick(struct session_host *h, bool stopping);
/* Any thread: is session `id` one of this host's? */
bool session_host_has(struct session_host *h, uint64_t id);

/*
 * A session as the rest of the daemon sees it, for dumps and events.  Strings and pointers point
 * into the session: valid during the callback (or the event) only.
 */
struct session_view {
	uint64_t id;
	const char *ids;			/* printable id */
	enum session_role role;
	const struct sockaddr_storage *client, *dest;
	const char *client_txt, *dest_txt;	/* "192.0.2.10:40000", "mx[203.0.113.25]:25" */
	const char *dest_name;			/* the MX name, or NULL */
	const char *state;			/* e.g. "relay" */
	const char *tls_version, *cipher;	/* the policed leg's; NULL without TLS */
	const char *ktls;			/* "tx=kernel rx=kernel", "plain" */
	const char *ktls_conf;			/* the kernel's report: "tx=sw rx=sw", or NULL */
	unsigned int conn_uses;			/* outbound: the up connection's use (>= 2:
						 * reused); 0 before it is up */
	bool tls_resumed;			/* the policed leg's TLS session was resumed */
	const struct policy_rule *rule;		/* the rule that applied, or NULL */
	uint64_t bytes_c2s, bytes_s2c;
	uint64_t start_ms;			/* unix time */
};

void session_view(const struct session *s, struct session_view *v);
/* Any thread: call fn for each session of the host, under its lock (fn must not block). */
void session_host_foreach(struct session_host *h,
			  void (*fn)(const struct session_view *v, void *ctx), void *ctx);

#endif
