/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CLI side of the control plane: find tlsgated through RUNDIR/ctl, send a request, read its
 * replies (following dump pages), acks and extended errors; and follow the event group for
 * `tlsgatectl monitor`.  Replies and events are accepted only from the daemon's port, sent by
 * root or by the uid that owns RUNDIR/ctl: any local user may send to our port or to the group.
 */
#ifndef TLSGATE_CONTROL_CLIENT_H
#define TLSGATE_CONTROL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "control/runfile.h"
#include "control/nlproto.h"

struct nl_msg;
struct control_client;
struct control_monitor;

/*
 * Connect to the daemon named by run_dir/ctl.  -ENOENT / -ESRCH when it is not running (msg:
 * "tlsgated is not running (no /run/tlsgate/ctl)" or "... (stale ...: pid N gone)").
 * timeout_ms bounds every wait for an answer.
 */
int control_client_open(const char *run_dir, int timeout_ms, struct control_client **out, char *msg,
		    size_t msglen);
void control_client_close(struct control_client *c);
const struct control_runinfo *control_client_daemon(const struct control_client *c);

/* A request with the protocol version in it; add attributes with nla_put_* / nlproto_put_*. */
struct nl_msg *control_client_msg(uint16_t type, uint16_t flags, size_t payload);

/* Called for every reply message that is not an ack, error or dump end; <0 stops the call. */
typedef int (*control_reply_cb)(void *arg, const struct nlmsghdr *nlh);

/*
 * Send req (not consumed) and read its answer.  A dump (NLM_F_DUMP) is followed page by page to
 * its end; anything else is sent with NLM_F_ACK and ends at the ack.  0 on success (msg gets the
 * daemon's summary text, or ""), else -errno with msg saying why in words: the daemon's extended
 * ack text, or what went wrong on the way ("no answer from tlsgated (pid 12) within 10 s").
 */
int control_client_call(struct control_client *c, struct nl_msg *req, control_reply_cb cb, void *arg, char *msg,
		    size_t msglen);

/*
 * Join the daemon's event group.  The kernel lets only root (CAP_NET_ADMIN) join
 * NETLINK_USERSOCK groups: -EPERM with that said in msg.
 */
int control_monitor_open(const char *run_dir, struct control_monitor **out, char *msg, size_t msglen);
int control_monitor_fd(const struct control_monitor *m);
/*
 * The next event from tlsgated: 0 (ev and sess valid until the next call), -ETIMEDOUT after
 * timeout_ms (-1: wait forever), -ENOBUFS when events were lost because we read too slowly
 * (call again to go on), other -errno with msg.  Messages from anyone else are dropped; after a
 * daemon restart the new port is learnt from RUNDIR/ctl.
 */
int control_monitor_next(struct control_monitor *m, int timeout_ms, struct nlproto_event *ev,
		     struct nlproto_session *sess, char *msg, size_t msglen);
void control_monitor_close(struct control_monitor *m);

#endif
