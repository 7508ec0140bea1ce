/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon side of the control plane: a NETLINK_USERSOCK socket that serves tlsgatectl's
 * requests (control/nlproto.h) by calling an ops table the daemon engine implements, and
 * publishes events to a multicast group for `tlsgatectl monitor`.
 *
 * (CTL_RUN_DIR: control/runfile.h.)
 *
 * Event loop use (single-threaded, level-triggered, never blocks):
 *     struct control_server_opts o = { .run_dir = CTL_RUN_DIR };
 *     struct control_server *cs;
 *     err = control_server_open(&o, &ops, engine, &cs);
 *     ev.events = EPOLLIN;
 *     epoll_ctl(ep, EPOLL_CTL_ADD, control_server_fd(cs), &ev);
 *     ... on EPOLLIN: control_server_handle(cs);
 *     ... anywhere:   control_server_publish_event(cs, &event);
 *     control_server_close(cs);      (removes RUNDIR/ctl)
 * Replies are sent with MSG_DONTWAIT: a client that does not read loses its reply (counted),
 * it never stalls the daemon.  Dumps are paged (see nlproto.h), so a long list never needs more
 * than one page of the client's receive buffer at a time.
 */
#ifndef TLSGATE_CONTROL_SERVER_H
#define TLSGATE_CONTROL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "control/nlproto.h"

struct control_server;

/*
 * Dump callbacks, called by an op once per entry.  They return 0 to go on, 1 when the page is
 * full (the op should stop and return 0: the CLI will ask again after the last entry it got),
 * or -errno (the op should stop and return it).  Strings in the entry need to live only until
 * the callback returns.
 */
typedef int (*control_rule_cb)(void *arg, const struct nlproto_rule *r);
typedef int (*control_session_cb)(void *arg, const struct nlproto_session *s);
typedef int (*control_sts_cb)(void *arg, const struct nlproto_sts *s);
/* metrics: one family (all its samples); 0 to go on, -errno to stop. */
typedef int (*control_metric_cb)(void *arg, const struct nlproto_metric *mf);

#define CONTROL_DIR_ANY (-1) /* policy_dump: both directions */

/*
 * What the daemon engine implements.  Every op runs inside control_server_handle(), on the event
 * loop's thread, and must not block for long.  Ops return 0 or -errno.  `msg` (NLPROTO_TEXT_MAX
 * bytes, starts empty) is what the admin reads: on failure say why (policy errors name
 * file:line:col); on success an optional one-line summary ("imported 12 rules from x").  When an
 * op leaves msg empty on failure the server uses strerror.  A NULL op answers EOPNOTSUPP
 * ("not supported by this tlsgated"), except log_level (see below).
 */
struct control_ops {
	/* Fill st (zeroed; pid and log_level pre-filled by the server). */
	int (*status)(void *ctx, struct nlproto_status *st);
	/*
	 * Rules of direction dir (NLPROTO_DIR_OUTBOUND, NLPROTO_DIR_INBOUND or CONTROL_DIR_ANY) with id >
	 * after_id, in ascending id order, each through cb.  Ids are the stable policy_rule ids.
	 */
	int (*policy_dump)(void *ctx, int dir, uint32_t after_id, control_rule_cb cb, void *arg);
	/*
	 * Add one Postfix policy line ("example.org encrypt protocols=>=TLSv1.2") to the
	 * CLI-managed rules of dir, apply it and persist it atomically; pass the resulting rule to
	 * cb (so the CLI can show its id).  -EEXIST when dir already has a rule with that key
	 * (as `ip route add`; the admin dels it first).
	 */
	int (*policy_add)(void *ctx, enum nlproto_dir dir, const char *line, control_rule_cb cb,
			  void *arg, char *msg, size_t msglen);
	/* Remove the CLI-managed rule with this key (-ENOENT if none); apply; persist. */
	int (*policy_del)(void *ctx, enum nlproto_dir dir, const char *key, char *msg,
			  size_t msglen);
	/*
	 * Replace the CLI-managed rules of dir with the table in data (len bytes of a Postfix
	 * policy file, NUL-terminated, no NUL inside; `name` is what errors cite), all or nothing:
	 * on any error nothing changes.  Apply; persist.
	 */
	int (*policy_import)(void *ctx, enum nlproto_dir dir, const char *name, const char *data,
			     size_t len, char *msg, size_t msglen);
	/* Parse data as import would; -EINVAL + msg (file:line:col) on errors.  Changes nothing. */
	int (*policy_check)(void *ctx, enum nlproto_dir dir, const char *name, const char *data,
			    size_t len, char *msg, size_t msglen);
	/* Sessions with id > after_id in ascending id order (session ids are never 0). */
	int (*session_dump)(void *ctx, uint64_t after_id, control_session_cb cb, void *arg);
	/* End session id (the client gets a 4xx, nothing is lost); -ENOENT if there is none. */
	int (*session_kill)(void *ctx, uint64_t id, char *msg, size_t msglen);
	/* Re-read configuration and policy files, all or nothing. */
	int (*reload)(void *ctx, char *msg, size_t msglen);
	/* Apply a log level everywhere (workers).  NULL: the server calls tg_log_set_level(). */
	int (*log_level)(void *ctx, enum tg_log_level level, char *msg, size_t msglen);
	/* MTA-STS: what is known of domain, through cb once (-ENOENT: nothing). */
	int (*sts_show)(void *ctx, const char *domain, control_sts_cb cb, void *arg, char *msg,
			size_t msglen);
	/* Start a refresh of domain (TXT check; fetch when due or force); returns at once. */
	int (*sts_refresh)(void *ctx, const char *domain, bool force, char *msg, size_t msglen);
	/* Forget domain's cached policy, on disk too (-ENOENT: nothing cached). */
	int (*sts_purge)(void *ctx, const char *domain, char *msg, size_t msglen);
	/*
	 * The daemon's own counters: every family through cb, stopping at its first failure
	 * (returned).  Names and labels are the daemon's (nlproto.h, struct nlproto_metric).
	 */
	int (*metrics)(void *ctx, control_metric_cb cb, void *arg);
	/* TLS reports: the reporter's state in *t (strings live until the next call). */
	int (*tlsrpt_status)(void *ctx, struct nlproto_tlsrpt *t, char *msg, size_t msglen);
	/* Close the counts so far into reports and send every spooled report now. */
	int (*tlsrpt_flush)(void *ctx, char *msg, size_t msglen);
};

struct control_server_opts {
	const char *run_dir;   /* where "ctl" is written; NULL: do not write one (tests) */
	const char *group;     /* read-access group; NULL: "tlsgate" */
	uint32_t events_group; /* multicast group 1..32; 0: NLPROTO_EVENTS_GROUP */
	size_t max_request;    /* largest request read; 0: NLPROTO_MAX_REQUEST */
};

/* Counters, for tests and `status`. */
struct control_server_stats {
	uint64_t requests;    /* requests answered, any outcome */
	uint64_t denied;      /* refused by credentials */
	uint64_t errors;      /* error replies (denied included) */
	uint64_t malformed;   /* datagrams or messages that did not parse */
	uint64_t pages;	      /* dump pages sent */
	uint64_t send_failed; /* replies lost: client gone or not reading */
	uint64_t events;      /* events published */
	uint64_t overruns;    /* our receive queue overflowed: requests lost */
};

/*
 * Open the control socket (NETLINK_USERSOCK, SO_PASSCRED, non-blocking, close-on-exec), then
 * write RUNDIR/ctl naming its port.  0 or -errno; *out to close with control_server_close.
 * tlsgatectl believes answers sent by root or by the owner of RUNDIR/ctl only: a daemon that
 * gives up root must do so before this call (or chown the file to the uid it becomes).
 */
int control_server_open(const struct control_server_opts *opts, const struct control_ops *ops, void *ctx,
		    struct control_server **out);
int control_server_fd(const struct control_server *s);
uint32_t control_server_port(const struct control_server *s);

/*
 * The socket is readable: answer queued requests (at most a batch, so other work is not starved;
 * with level-triggered polling the rest comes next round).  0, or -errno on a socket failure the
 * caller should log (the server stays usable).
 */
int control_server_handle(struct control_server *s);

/* Publish an event to the multicast group; never blocks.  0 or -errno. */
int control_server_publish_event(struct control_server *s, const struct nlproto_event *ev);

void control_server_stats(const struct control_server *s, struct control_server_stats *out);

/* Close the socket and remove RUNDIR/ctl (if it is still ours).  NULL is a no-op. */
void control_server_close(struct control_server *s);

/*
 * One datagram as if received from port `sender` with credentials cred (NULL: none).  What
 * control_server_handle does for each datagram; exposed for tests and the fuzz target.  buf is
 * read as struct nlmsghdr in place: it must be aligned for it (NLMSG_ALIGNTO, as any malloc'd
 * receive buffer is).
 */
void control_server_input(struct control_server *s, const void *buf, size_t len, const struct ucred *cred,
		      uint32_t sender);

#endif
