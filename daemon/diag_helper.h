/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one privileged helper of an unprivileged daemon: the kernel tells the tls ULP's state of a
 * socket (sock_diag's INET_DIAG_ULP_INFO) only to a requester with CAP_NET_ADMIN, which the
 * workers never have.  The supervisor forks this process before the privilege drop, while it is
 * the only thread; it becomes the daemon's user with CAP_NET_ADMIN alone (effective and
 * permitted; bounding set, inheritable and ambient empty; no_new_privs; not dumpable), keeps
 * only its ends of the channels, and answers one question: "what does the socket with this
 * tuple and cookie run on" (hw_diag_query, exact tuple + cookie; only sockets of root or of the
 * daemon's user).  It dies with the daemon (EOF on a channel, PR_SET_PDEATHSIG).
 *
 *     diag_helper_start(&pd, n, &h)   supervisor, as root, single-threaded, before the drop
 *     diag_helper_ask(h, fd, &d)      any worker thread; one channel per thread, a request id
 *     diag_helper_stop(h)             supervisor, after the workers: close, reap
 *
 * The wire (SOCK_SEQPACKET, one request per datagram, both ends this binary): a request of
 * exactly sizeof(struct diag_helper_req) with DIAG_HELPER_MAGIC; anything else gets an answer
 * with err -EBADMSG (and seq 0) and the helper reads on.
 */
#ifndef TLSGATE_DAEMON_DIAG_HELPER_H
#define TLSGATE_DAEMON_DIAG_HELPER_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/privdrop.h"
#include "hw/hw.h"

#define DIAG_HELPER_MAGIC 0x74676431u /* "tgd1" */
#define DIAG_HELPER_MAX_CHANNELS 256

struct diag_helper_req {
	uint32_t magic;
	uint32_t seq; /* echoed in the answer: a late answer is never taken for the next one */
	struct hw_diag_id id;
};

struct diag_helper_ans {
	uint32_t magic;
	uint32_t seq;
	int32_t err; /* 0, or -errno (-EBADMSG: not a request; -EPERM: not ours to describe) */
	uint32_t pad;
	struct hw_tls_diag d;
};

struct diag_helper;

/*
 * Fork the helper with nchan channels (one per worker thread) and have it become pd's user
 * with CAP_NET_ADMIN only.  Must be called as root while the process has one thread.  0 or
 * -errno (logged); the helper checks its own state and exits if it is not what is promised.
 */
int diag_helper_start(const struct privdrop *pd, unsigned int nchan, struct diag_helper **out);
/*
 * The kernel's view of connected TCP socket fd, through the helper: 0, -EPIPE once the helper
 * is gone (logged once), -ETIMEDOUT, or the helper's -errno.
 */
int diag_helper_ask(struct diag_helper *h, int fd, struct hw_tls_diag *out);
/* Close the channels (the helper exits on EOF) and reap it.  NULL is fine. */
void diag_helper_stop(struct diag_helper *h);
pid_t diag_helper_pid(const struct diag_helper *h);
/* Channel i's daemon end (tests: what a compromised daemon could send on it). */
int diag_helper_channel_fd(const struct diag_helper *h, unsigned int i);

#endif
