/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside a session: the state machine's types and the functions its files share.  Only the
 * session_*.c files include this; the rest of the daemon sees daemon/session.h.
 *
 *   session.c        life: start, the run loop ("progress until stuck"), timeouts, closing, the
 *                    host's list and its pools (where sessions and their buffers come from)
 *   session_io.c     what every step uses: side I/O, failing with a reply, the pending-reply
 *                    queue, the view and events
 *   session_up.c     setting up the up leg (connect, EHLO, STARTTLS, handshake, verdict)
 *   session_relay.c  commands down, replies up; STARTTLS as server; EHLO rewrite
 *   session_body.c   DATA and BDAT bodies
 *   session_trace.c  the inbound Received header, and the chain's verdict header
 *   session_dest.c   outbound, per RCPT: the recipient domain's DANE / MTA-STS against the leg
 *   session_nic.c    the kernel's word on a leg's kTLS (sw / NIC), zero-copy options, TLS 1.2 preference
 *   session_outcome.c  what a transaction taught about its destinations, published to the
 *                    main thread's sinks (report/outcome.h)
 *   session_reuse.c  outbound connection reuse: the worker's idle TLS connections to MXs, kept
 *                    at a client's QUIT, taken (RSET) by the next session with the same decision
 *
 * Calls go one way: session.c -> {up, relay, body} -> {io, trace, dest, reuse} -> outcome.
 */
#ifndef TLSGATE_DAEMON_SESSION_INT_H
#define TLSGATE_DAEMON_SESSION_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/buf.h"
#include "daemon/destpol.h"
#include "daemon/loop.h"
#include "daemon/session.h"
#include "daemon/tls_client.h"
#include "policy/policy.h"
#include "smtp/proto.h"
#include "smtp/received.h"

struct ktls_ep;
struct ktls_xfer;
struct tls_peer;
struct nic_entry;
struct session_odom;

#define SIDE_BUF 16384	/* per direction per side: bounded memory per session */
#define PQ_MAX 2048	/* pipelined commands awaiting replies */
#define SESSION_SEEN_MAX 16	/* domains a session is counted once for (session_outcome.c) */

enum session_state {
	ST_UP_CONNECT,		/* connect() to the up side in progress */
	ST_UP_GREETING,		/* waiting for its 220 */
	ST_UP_EHLO,		/* our EHLO, before TLS */
	ST_UP_HELO,		/* HELO after a refused EHLO */
	ST_UP_STARTTLS,		/* waiting for 220 to our STARTTLS */
	ST_UP_HANDSHAKE,	/* TLS handshake, we are the client */
	ST_UP_EHLO_TLS,		/* our EHLO again, inside TLS (RFC 3207 4.2) */
	ST_UP_RSET,		/* an idle connection taken (session_reuse.c): its RSET's reply */
	ST_RELAY,		/* commands down -> up, replies up -> down */
	ST_DOWN_TLS_WAIT,	/* inbound: "220 Ready to start TLS" going out */
	ST_DOWN_HANDSHAKE,	/* inbound: TLS handshake, we are the server */
	ST_BODY,		/* DATA body down -> up */
	ST_BDAT,		/* a BDAT chunk down -> up */
	ST_BDAT_DISCARD,	/* a refused BDAT chunk: read and drop */
	ST_CLOSING,		/* last words to the down side, then close */
};

enum { DL_NONE, DL_COMMAND, DL_BODY };

/* One command waiting for its reply, in order (pipelining). */
enum pend_kind {
	PEND_FWD,		/* forwarded; the up side's reply is relayed */
	PEND_LOCAL,		/* answered by us (text in `local`) */
	PEND_INTERNAL,		/* sent up by us; the reply is ours, not relayed */
};

enum pend_flag {
	PF_DATA = 1 << 1,	/* 354 starts the body */
	PF_DOT = 1 << 2,	/* end of a message (DATA end or BDAT LAST) */
	PF_QUIT = 1 << 3,
	PF_STARTTLS = 1 << 4,	/* after this reply is out, start the TLS handshake */
	PF_AUTH = 1 << 5,	/* 334 means the next line is SASL data */
	PF_RCPT = 1 << 6,
	PF_MAIL = 1 << 7,
	PF_CLOSE = 1 << 8,	/* close after this reply is out */
	PF_REUSE = 1 << 9,	/* a QUIT answered here if the up leg can be kept idle (reuse) */
};

struct pend {
	enum pend_kind kind;
	uint16_t flags;
	enum smtp_verb verb;
	char *local;		/* PEND_LOCAL reply, CRLF-terminated */
	char *arg;		/* RCPT: the address (for "for <rcpt>" and logs) */
	uint32_t txn;		/* the transaction (command order) it belongs to: s->cmd_txn */
};

struct session;

/*
 * A side's TLS once it is up, as the logs, the view and the outcomes tell it (either side).
 * The up side's moves with the connection when it is kept for reuse (struct up_leg).
 */
struct side_tls {
	char summary[128];
	char ktls_state[128];	/* "tx=kernel rx=kernel", "plain" */
	char ktls_conf[64];	/* the kernel's report (sock_diag): "tx=sw rx=sw"; "" unasked */
	struct nic_entry *nic;	/* owned hold: the outside interface carrying it in hardware,
				 * or NULL (session_nic_release) */
	bool nic_tx, nic_rx;	/* counted in nic's sessions-offloaded-now */
	char version[16];	/* "TLSv1.3" once TLS is up */
	char cipher[64];
	enum tls_trust trust;
};

/*
 * What an established up leg carries besides its socket (side.ep) and its TLS (the up side's
 * tlsinfo): what the next hop said, what the handshake found, how the leg came to be.  With
 * connection reuse an idle connection holds it and the next session takes it over, whole
 * (session_reuse.c up_leg_move), so a field added here goes both ways.  The pointers are
 * owned by the holder: session_up_leg_free() frees them.
 */
struct up_leg {
	char *greeting;		/* the next hop's 220, shown to down when ready */
	size_t greeting_len;
	/* The next hop's 250 to our last EHLO (inside TLS when there is TLS), NULL after a HELO:
	 * the client's EHLO and HELO are answered from it, never sent up (a next hop need not
	 * accept a second EHLO: OpenSMTPD refuses it). */
	char *ehlo;
	size_t ehlo_len;
	bool starttls_offered;
	bool tls_ready;		/* the handshake completed (a QUIT inside TLS is possible) */
	struct tls_peer *peer;	/* the certificates, kept from the handshake (session_dest.c) */
	uint8_t cert;		/* enum report_cert: the certificate, from the handshake */
	char sni_hint[256];	/* the SNI hint the handshake used ("" none): in the reuse key */
	char local_ip[64];	/* our address on it, once asked (session_outcome.c) */
	unsigned int uses;	/* sessions the connection served, this one included; 0: this
				 * session made it */
	uint64_t born_ms;	/* ... and when it was set up (with uses 0: started_ms is) */
};

struct side {
	struct session *s;
	struct loop_ev ev;
	struct ktls_ep *ep;
	struct buf in, out;
	bool eof;		/* the peer finished sending */
	bool tls;
	uint32_t wait;		/* events the endpoint asked for (handshake, TLS I/O) */
	struct side_tls tlsinfo;
	/* This session's handshake was abbreviated (a resumed TLS session).  Not part of
	 * tlsinfo: a connection taken from the reuse pool had no handshake in this session. */
	bool tls_resumed;
	uint64_t bytes_in, bytes_out;
	const char *name;	/* "down" / "up" for logs */
};

struct session {
	uint64_t id;
	char ids[24];		/* printable id, e.g. "3a4f91c2e07b" */
	struct session_host *host;
	struct session *prev, *next;	/* the host's list */
	enum session_role role;
	enum session_state state;
	struct side down, up;
	struct loop_timer timer;
	uint64_t idle_ms;	/* the RFC 5321 timeout of what is awaited: moves with progress */
	uint64_t deadline_ms;	/* the client's turn (a command, a body) ends by then; 0: none */
	uint64_t deadline_bytes;	/* down.bytes_in when a body's deadline was set */
	int deadline_kind;	/* what deadline_ms is for: DL_NONE, DL_COMMAND, DL_BODY */
	unsigned int errors;	/* 4xx/5xx replies since the last delivered message */
	uint64_t started_ms;	/* monotonic */
	uint64_t started_wall_ms;	/* unix time, for `session list` */
	bool steered;		/* came by steering: the local address is the original destination */
	bool killed;		/* the administrator asked for it to end */
	bool dead;		/* destroyed; freed after the current batch of events */
	bool draining;		/* closing: our side is shut, the client's bytes are discarded */
	const char *shutdown_reply;	/* drain deadline passed: say this once the MX's reply to
					 * the end of data is passed on (static text) */

	struct sockaddr_storage client, dest;
	char client_txt[80];	/* "192.0.2.10:40000" */
	char client_ip[64];
	char dest_txt[320];	/* "mx.example.net[203.0.113.25]:25" */
	char dest_ip[64];	/* "203.0.113.25" */
	char mx_host[256];	/* MX name when known */
	char nexthop[256];	/* next-hop domain when known */

	struct policy *pol;	/* snapshot this session uses */
	struct policy_match out_match;	/* outbound: the destination's rule */
	enum policy_level level;	/* what the up leg requires */
	struct policy_match in_match;	/* inbound: the client's rule */
	bool sender_must_tls;	/* inbound: MAIL/RCPT/DATA refused until TLS (client rule) */
	bool offer_tls;		/* inbound: STARTTLS offered (certificates, and the rule is not none) */
	bool sender_domain_must_tls;	/* ... because of the MAIL FROM domain's rule */
	bool sender_monitor;	/* inbound: the client rule would require TLS (monitor mode) */
	/*
	 * Monitor mode (session_would_refuse): something was let through that a rule in monitor
	 * mode would have refused.  would_refuse: the session itself (connect-time refusals
	 * outbound, the sender inbound): every outcome of the session is REPORT_WOULD_REFUSE
	 * (report/outcome.h).  rcpt_would_refuse: the recipient of the RCPT being handled (reset
	 * at each RCPT): that recipient's outcome is.
	 */
	bool would_refuse;
	bool rcpt_would_refuse;
	struct tls_client_params tlsp;
	/* inbound: the down leg's TLS for our Received header, taken at the handshake (the SSL
	 * itself is freed once the kernel has both directions) */
	struct received_tls down_tls;
	char down_tls_digest[16];	/* "SHA256" */
	char down_tls_curve[32];	/* "prime256v1" */

	/* up-leg setup */
	struct up_leg upl;	/* what the up leg carries (moves with it when it is reused) */
	bool greeted;		/* the greeting went down: later failures are 421 replies */
	bool tls_fallback;	/* may: the handshake failed; this is the plaintext retry */
	/* connection reuse (session_reuse.c) */
	bool up_private;	/* the client sent what changes the MX's session state beyond a
				 * transaction (AUTH, XCLIENT, an unknown verb): never kept */
	bool reuse_tried;	/* an idle connection failed its RSET: the next one is fresh */
	bool reuse_quit;	/* the client's QUIT waits to keep the leg: nothing after it is
				 * read (it would go up ahead of the QUIT) */

	/* relay */
	struct pend *pq;
	size_t pq_head, pq_len, pq_cap;
	bool auth_cont;		/* the next down line is SASL data, not a command */
	bool await_data;	/* DATA forwarded: nothing more is a command until its reply */
	bool discard_line;	/* an over-long line is being skipped */
	bool quit_sent;
	bool hello_seen;	/* the client identified itself (since the greeting or its TLS) */
	char helo[256];
	bool esmtp;

	/* The client's MAIL FROM, outbound, held until the first recipient the policy lets through
	 * (session_relay.c): no byte of a transaction reaches an MX before a recipient's verdict. */
	char *held_mail;	/* the command line, without its end; NULL: none held */
	size_t held_mail_len;
	/* ... and, toward a next hop without PIPELINING, the first recipient's line, sent once
	 * the MAIL's reply is in (no more commands are read meanwhile) */
	char *held_rcpt;
	size_t held_rcpt_len;
	uint32_t cmd_txn;	/* transactions begun in command order (MAIL, RSET, EHLO, ...) */
	uint32_t mail_fail_txn;	/* the transaction whose held MAIL the next hop refused ... */
	char *mail_fail;	/* ... and its reply, given to that transaction's recipients */

	/* the destinations' own policies (session_dest.c) */
	struct destpol_waiter dwait;	/* a recipient domain's lookup under way */
	bool dwaiting;
	char dest_auth[400];	/* "authenticated by DANE (...)": the last recipient let through */

	/* the message in progress */
	bool in_txn;
	char queue_id[32];
	char mail_from[320];
	char first_rcpt[320];
	unsigned int nrcpt_ok, nrcpt;
	uint64_t msg_bytes;
	struct smtp_dot dot;
	uint64_t bdat_left;
	bool bdat_last;
	bool trace_sent;	/* inbound: our Received header is in this message */
	bool hdr_phase;		/* inbound: still in the header section, removing our headers'
				 * forged copies, reading the Received: chain */
	bool hdr_bol;		/* ... at the start of a header line */
	bool hdr_dropping;	/* ... the current line (and continuations) is being removed */
	bool lead_check;	/* inbound: our Received header went first; the message's first
				 * byte is still to be looked at (session_body.c lead_fold) */
	struct received_scan *scan;	/* ... the chain's verdict so far (inbound_security_header) */
	unsigned int messages;
	struct ktls_xfer *xfer;
	uint64_t region_total;	/* bytes of the current zero-copy region (scanned, to move) */
	uint64_t region_done;	/* of those, delivered up */
	bool region_ends;	/* the region ends with the end-of-data mark */

	/* what the session taught about its destinations (session_outcome.c) */
	struct session_odom *odom;	/* this transaction's recipient domains; NULL: none */
	unsigned int nodom;
	unsigned int nodom_seen;
	uint64_t odom_seen[SESSION_SEEN_MAX];	/* domains already counted as a session */

	char end_reason[512];	/* why the session ended, for the log line */
};

/* session_io.c: what every step uses — side I/O, failing, the reply queue, events */
void session_fail(struct session *s, const char *reply, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Monitor mode, at a refusal point: rule r would refuse here for the reason fmt says (the
 * reply's words).  r in monitor mode (gateway_rule_monitor): nothing is refused; logged as
 * "would have been refused (monitor): <why>", counted (policy_would_refuse), s->would_refuse
 * (or, rcpt, s->rcpt_would_refuse) set, and true: the caller goes on as level may would.
 * Otherwise false: the caller refuses as before.
 */
bool session_would_refuse(struct session *s, const struct policy_rule *r, bool rcpt,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Queue one protocol unit to a side, whole.  The caller has made room for it (or waits until
 * there is, buf_room()); if it still does not fit, the session fails (421 to the client) rather
 * than send part of it, and the error comes back: the caller stops there.
 */
int session_side_write(struct side *sd, const void *p, size_t n)
	__attribute__((warn_unused_result));
int session_side_writev(struct side *sd, const struct iovec *iov, size_t iovcnt)
	__attribute__((warn_unused_result));
int session_side_printf(struct side *sd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
bool session_side_fill(struct side *sd);
bool session_side_flush(struct side *sd);
void session_side_close(struct session *s, struct side *sd);

/* session_nic.c: after ktls_ep_offload, the kernel's own word on where the crypto runs (the
 * log's ktls= says "nic" from it), the zero-copy options, the counts; at the end, the release.
 * session_nic_prefer: before an outbound handshake, TLS 1.2 where the egress NIC offloads it. */
void session_nic_note(struct session *s, struct side *sd);
void session_nic_release(struct side_tls *t);
void session_nic_prefer(struct session *s, SSL *ssl);
void session_set_timeout(struct session *s, unsigned int seconds);
/* Inbound: hard_error_limit 4xx/5xx replies without a delivered message (s->errors). */
bool session_too_many_errors(const struct session *s);
const char *session_state_name(enum session_state st);
int session_pend_push(struct session *s, enum pend_kind kind, enum smtp_verb verb, uint16_t flags,
		      const char *local, const char *arg);
void session_pend_pop(struct session *s);	/* the oldest: its reply arrived */
void session_pend_clear(struct session *s);

/* session.c: the run loop */
void session_run(struct session *s);

/* session_up.c */
int session_up_connect(struct session *s);
/* Keep the next hop's reply to our EHLO (NULL: it had none, we said HELO); fails the session
 * when out of memory. */
int session_up_keep_ehlo(struct session *s, const char *r, size_t len);
/* What l owns freed, l cleared (a leg given up, a session's end, an idle connection's). */
void session_up_leg_free(struct up_leg *l);
bool session_up_step(struct session *s);

/* session_reuse.c: outbound connection reuse */
/* At the client's QUIT: may the up leg be kept (config, a TLS leg, a delivered message, nothing
 * private said)?  Then the QUIT waits as a local reply for session_reuse_put. */
bool session_reuse_wanted(const struct session *s);
/* The QUIT's turn (every earlier reply delivered): keep the up leg idle in the worker's pool,
 * detached from s (0), or -errno: it cannot be kept, the QUIT goes up. */
int session_reuse_put(struct session *s);
/* Before connecting: an idle connection for s's destination and decision becomes its up leg,
 * RSET on its way (true, state ST_UP_RSET), or false: connect. */
bool session_reuse_take(struct session *s);
/* ST_UP_RSET: the RSET's reply; 250 shows the greeting, anything else falls back. */
bool session_reuse_rset_step(struct session *s);
/* The taken connection is unusable (why): closed, and a fresh connection made instead. */
void session_reuse_fallback(struct session *s, const char *why);
/* The host ends: every idle connection closed (QUIT), the pool freed. */
void session_reuse_host_fini(struct session_host *h);

/* session_relay.c */
bool session_relay_step(struct session *s);
int session_relay_show_greeting(struct session *s);
void session_txn_reset(struct session *s);

/* Publish a session event for `tlsgatectl monitor` (type: enum event_type). */
void session_event(const struct session *s, int type, const char *detail);

/* session_body.c */
bool session_body_step(struct session *s);
bool session_bdat_step(struct session *s);

/* session_dest.c: outbound, the recipient domain's DANE and MTA-STS */
/* Before a command line is taken: false while a lookup its verdict needs is under way (the
 * session is run again when it ends). */
bool session_dest_ready(struct session *s, const char *line, size_t len);
/* The verdict for one recipient: 0 let through, -EPERM with the 4xx reply. */
int session_dest_check(struct session *s, const char *addr, char *reply, size_t len);
/* The up leg's address as 4 or 16 bytes (*alen; false and 0 for another family). */
bool session_dest_addr(const struct session *s, uint8_t a[16], size_t *alen);
/* The session ends: no more waiting (the kept peer is the up leg's: session_up_leg_free). */
void session_dest_end(struct session *s);

/* session_outcome.c: outcomes (report/outcome.h) to the sinks; policy is an enum
 * report_policy, rpt/would_rpt an enum policy_rpt_result or -1 */
/* A recipient domain's DANE / MTA-STS verdict on this leg, noted at its RCPT. */
void session_outcome_dest(struct session *s, const char *dom, int policy, int would_rpt,
			  const char *detail);
/* The next hop accepted a recipient (outbound). */
void session_outcome_rcpt(struct session *s, const char *addr);
/* The gateway refused a recipient of dom, or (dom NULL) the session before any recipient. */
void session_outcome_refused(struct session *s, const char *dom, int rpt, int policy,
			     const char *detail);
/* The reply to the end of data. */
void session_outcome_message(struct session *s, int code);
/* The transaction ended without one (RSET), or the session ends. */
void session_outcome_txn_end(struct session *s);
void session_outcome_end(struct session *s);

/* session_trace.c: the inbound Received header */
int session_trace_header(struct session *s, char *buf, size_t len);
/* Header editing is on for inbound messages: a header of ours to add, forged copies to drop. */
bool session_trace_edits(const struct session *s);
/*
 * With inbound_security_header, start judging this message's chain, ours (the Received header
 * just written, hdr/n) its newest hop.  0 or -ENOMEM.
 */
int session_trace_scan_begin(struct session *s, const char *hdr, size_t n);
/* The header section is over: the verdict header into buf (0: none to add), or <0. */
int session_trace_verdict(struct session *s, char *buf, size_t len);
void session_trace_scan_end(struct session *s);
/* Inbound, right after the handshake: keep what session_trace_header() writes about the TLS session. */
void session_trace_tls_capture(struct session *s, SSL *ssl);

#endif
