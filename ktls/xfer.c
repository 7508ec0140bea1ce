// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pump: one direction of bytes between two endpoints.  When both ends are sockets whose
 * record layer (if any) is in the kernel, bytes go socket -> pipe -> socket with splice() and
 * never enter userspace.  Otherwise, or for the one record at a time that splice cannot take
 * (kTLS RX refuses a non-data record with EINVAL), a bounce buffer and the endpoint's own read
 * and write.  Bytes taken from `from` are always delivered before new ones are taken, so a
 * blocked `to` loses nothing and the caller needs no buffer of its own.
 */
#include "ktls/counters.h"
#include "ktls/internal.h"
#include "lib/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BOUNCE_LEN KTLS_XFER_BOUNCE_LEN
#define PIPE_LEN (256 * 1024)

struct ktls_xfer {
	int pipe[2];
	size_t in_pipe;	    /* bytes in the pipe, taken from `from` */
	unsigned char *buf; /* bounce buffer */
	struct tg_pool *bounce; /* where buf comes from; NULL: malloc */
	size_t off, len;    /* undelivered bytes buf[off, off + len) */
	bool from_eof;
	const char *backend;
	uint32_t from_ev, to_ev;
};

struct ktls_xfer *ktls_xfer_new(struct tg_pool *bounce)
{
	struct ktls_xfer *x;

	if (bounce && bounce->size < BOUNCE_LEN)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->bounce = bounce;
	x->pipe[0] = x->pipe[1] = -1;
	x->backend = "none";
	return x;
}

void ktls_xfer_free(struct ktls_xfer *x)
{
	if (!x)
		return;
	if (x->pipe[0] >= 0)
		close(x->pipe[0]);
	if (x->pipe[1] >= 0)
		close(x->pipe[1]);
	if (x->bounce)
		tg_pool_put(x->bounce, x->buf);
	else
		free(x->buf);
	free(x);
}

size_t ktls_xfer_inflight(const struct ktls_xfer *x)
{
	return x->in_pipe + x->len;
}

const char *ktls_xfer_backend(const struct ktls_xfer *x)
{
	return x->backend;
}

void ktls_xfer_events(const struct ktls_xfer *x, uint32_t *from_ev, uint32_t *to_ev)
{
	*from_ev = x->from_ev;
	*to_ev = x->to_ev;
}

/* Reads in the kernel (plain or kTLS RX) with nothing for it held in userspace. */
static bool kernel_reader(const struct ktls_ep *ep)
{
	return ep->rx_mode == KTLS_MODE_PLAIN ||
	       (ep->rx_mode == KTLS_MODE_KERNEL && ep->handshake_done);
}

static bool kernel_writer(const struct ktls_ep *ep)
{
	return ep->tx_mode == KTLS_MODE_PLAIN ||
	       (ep->tx_mode == KTLS_MODE_KERNEL && ep->handshake_done);
}

static int pipe_open(struct ktls_xfer *x)
{
	if (x->pipe[0] >= 0)
		return 0;
	if (pipe2(x->pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	/* a larger pipe means fewer calls per MiB; the default (64 KiB) is fine too */
	fcntl(x->pipe[1], F_SETPIPE_SZ, PIPE_LEN);
	return 0;
}

/* Pipe -> to. */
static ssize_t pipe_out(struct ktls_xfer *x, struct ktls_ep *to)
{
	ssize_t n;
	int err;

	if (to->wr_shut || to->notify_sent)
		return ktls_ep_fail(to, -EPIPE, "write after shutdown");
	err = to->tx_mode == KTLS_MODE_KERNEL ? ktls_kio_tx_ready(to) : 0;
	if (err == -EAGAIN)
		x->to_ev = EPOLLOUT;
	if (err)
		return err;
	do
		n = splice(x->pipe[0], NULL, to->fd, NULL, x->in_pipe,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN) {
			x->to_ev = EPOLLOUT;
			return -EAGAIN;
		}
		return ktls_ep_fail(to, -errno, "splice to socket: %s", strerror(errno));
	}
	x->in_pipe -= (size_t)n;
	ktls_kio_account_tx(to, (size_t)n);
	ktls_count(KTLS_C_SPLICE_BYTES, (uint64_t)n);
	return n;
}

/* Bounce buffer -> to. */
static ssize_t buf_out(struct ktls_xfer *x, struct ktls_ep *to)
{
	ssize_t n = ktls_ep_write(to, x->buf + x->off, x->len);

	if (n == -EAGAIN) {
		x->to_ev = ktls_ep_events(to) ? ktls_ep_events(to) : EPOLLOUT;
		return n;
	}
	if (n < 0)
		return n;
	x->off += (size_t)n;
	x->len -= (size_t)n;
	if (!x->len)
		x->off = 0; /* keep the same address while a write is partial (SSL_write) */
	ktls_count(KTLS_C_COPY_BYTES, (uint64_t)n);
	return n;
}

/* from -> bounce buffer: > 0 bytes, 0 at a clean end, -errno. */
static ssize_t buf_in(struct ktls_xfer *x, struct ktls_ep *from, size_t len)
{
	ssize_t n;

	if (!x->buf && !(x->buf = x->bounce ? tg_pool_get(x->bounce) : malloc(BOUNCE_LEN)))
		return -ENOMEM;
	ktls_count(KTLS_C_COPY_CALLS, 1);
	n = ktls_ep_read(from, x->buf, len < BOUNCE_LEN ? len : BOUNCE_LEN);
	if (n == -EAGAIN)
		x->from_ev = ktls_ep_events(from) ? ktls_ep_events(from) : EPOLLIN;
	if (n > 0)
		x->len = (size_t)n;
	else if (n == 0)
		x->from_eof = true;
	return n;
}

/*
 * from -> pipe: > 0 bytes, 0 at a clean end, -EINVAL when the endpoint's own read must look:
 * kTLS RX refuses a non-data record with EINVAL, and splice() says 0 for an empty TLS 1.3
 * record as for the FIN, which only a recvmsg (with its record-type cmsg) tells apart.
 */
static ssize_t splice_in(struct ktls_xfer *x, struct ktls_ep *from, size_t len)
{
	ssize_t n;

	ktls_count(KTLS_C_SPLICE_CALLS, 1);
	do
		n = splice(from->fd, NULL, x->pipe[1], NULL, len,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		x->in_pipe += (size_t)n;
		return n;
	}
	if (n == 0) {
		if (from->rx_mode == KTLS_MODE_KERNEL)
			return -EINVAL;
		n = ktls_kio_rx_eof(from);
		if (n == 0)
			x->from_eof = true;
		return n;
	}
	if (errno == EAGAIN) {
		x->from_ev = EPOLLIN;
		return -EAGAIN;
	}
	if (errno == EINVAL && from->rx_mode == KTLS_MODE_KERNEL)
		return -EINVAL;
	return ktls_kio_rx_errno(from, -errno);
}

bool ktls_xfer_zero_copy(const struct ktls_ep *from, const struct ktls_ep *to)
{
	return kernel_reader(from) && kernel_writer(to) && !from->rx_err && !from->rx_closed;
}

ssize_t ktls_xfer_read(struct ktls_xfer *x, struct ktls_ep *from, size_t len, const char **p)
{
	ssize_t n;

	x->from_ev = x->to_ev = 0;
	if (x->in_pipe || x->len)
		return -EBUSY;
	if (!len)
		return -EINVAL;
	if (x->from_eof)
		return 0;
	x->backend = "copy";
	n = buf_in(x, from, len);
	*p = (const char *)x->buf;
	return n;
}

void ktls_xfer_keep(struct ktls_xfer *x, size_t keep)
{
	if (keep < x->len)
		x->len = keep;
}

static ssize_t deliver(struct ktls_xfer *x, struct ktls_ep *to)
{
	return x->in_pipe ? pipe_out(x, to) : buf_out(x, to);
}

ssize_t ktls_xfer_splice(struct ktls_xfer *x, struct ktls_ep *from, struct ktls_ep *to, size_t len)
{
	ssize_t n;
	int err;

	x->from_ev = x->to_ev = 0;
	if (!len)
		return -EINVAL;
	if (x->in_pipe || x->len)
		return deliver(x, to);
	if (x->from_eof)
		return 0;

	if (ktls_xfer_zero_copy(from, to)) {
		x->backend = "splice";
		err = pipe_open(x);
		if (err)
			return err;
		n = splice_in(x, from, len);
		if (n != -EINVAL)
			return n > 0 ? deliver(x, to) : n;
		/* the endpoint's read takes the record (and any data after it) */
	}
	x->backend = "copy";
	n = buf_in(x, from, len);
	return n > 0 ? deliver(x, to) : n;
}
