/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A connection endpoint as the relay sees it: a connected, non-blocking TCP socket that is plain,
 * or TLS with each direction either in the kernel (kTLS) or in OpenSSL (userspace).  One interface
 * for the three backends, chosen per direction:
 *
 *   plain   read/recv, write/send, splice
 *   kernel  the socket carries plaintext; the kernel does the record layer (kTLS TX/RX);
 *           non-data records arrive through recvmsg() with a TLS_GET_RECORD_TYPE cmsg
 *   user    SSL_read/SSL_write (no tls ULP, a cipher the kernel lacks, or a failed install)
 *
 * ktls/ knows nothing of SMTP.  The caller (the relay) owns the event loop: every call is
 * non-blocking; -EAGAIN means "wait for ktls_ep_events() on ktls_ep_fd(), then call again", and
 * ktls_ep_rx_buffered() says when data is readable without waiting for the fd at all.
 *
 * Life of a TLS endpoint:
 *   ep = ktls_ep_new(fd);                    plain; the SMTP dialogue up to STARTTLS/220
 *   ktls_ep_start_tls(ep, ssl, server);      ssl from an SSL_CTX set up by ktls_ctx_prepare()
 *   while ((err = ktls_ep_handshake(ep)) == -EAGAIN) wait(ktls_ep_events(ep));
 *   ktls_ep_offload(ep, &caps);              TX and RX to the kernel where possible
 *   ... ktls_ep_read / _peek / _write / ktls_xfer_splice ...
 *   ktls_ep_shutdown(ep);                    close_notify (through the kernel when TX is there)
 *   ktls_ep_free(ep);
 *
 * Errors are -errno.  Protocol-level failures use: -EPROTO (malformed record, unexpected
 * message), -ECONNRESET (peer reset or fatal alert), -EBADMSG (decrypt/MAC failure),
 * -EKEYEXPIRED (TLS 1.3 KeyUpdate the kernel cannot follow: the session must end),
 * -ETIMEDOUT is never produced here (timeouts are the caller's).  ktls_ep_error() gives the
 * human reason of the last failure ("fatal alert handshake_failure from peer", ...).
 */
#ifndef TLSGATE_KTLS_ENDPOINT_H
#define TLSGATE_KTLS_ENDPOINT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ktls/ktls.h"

enum ktls_mode {
	KTLS_MODE_PLAIN = 0,
	KTLS_MODE_USER,		/* OpenSSL does the record layer */
	KTLS_MODE_KERNEL,	/* the kernel does it */
};

struct ktls_ep;

/*
 * Prepare a context for kernel hand-off: SSL_OP_ENABLE_KTLS, a keylog callback that captures the
 * TLS 1.3 traffic secrets (OpenSSL 3.0 installs 1.3 TX itself but not RX), read-ahead off (no
 * record may be read past the handshake), no renegotiation, partial writes, and as server no
 * session tickets (nothing is sent after the server's Finished, so the hand-off point is exact).
 * A keylog callback set before this call is still called (chained); one set after replaces
 * ours and TLS 1.3 RX then stays in userspace ("no-traffic-secret").  Call once per SSL_CTX,
 * before any SSL is created from it, and for every context a session may be switched to
 * (SSL_set_SSL_CTX from an SNI callback): the secrets are logged through the current one.
 * Returns 0 or -errno.  To keep a session in userspace (benchmarks, a policy), clear
 * SSL_OP_ENABLE_KTLS on its SSL before the handshake.
 */
int ktls_ctx_prepare(SSL_CTX *ctx, bool server);

/* A plain endpoint on a connected socket; the endpoint owns fd (closed by ktls_ep_free). */
struct ktls_ep *ktls_ep_new(int fd);
void ktls_ep_free(struct ktls_ep *ep);
int ktls_ep_fd(const struct ktls_ep *ep);

/*
 * Start TLS on a plain endpoint.  ssl is taken over (freed with the endpoint) when this returns
 * 0; on an error the caller still owns it.  SNI, verification and the like are the caller's to
 * set on ssl before; the endpoint sets the fd, read-ahead off and OpenSSL's message callback
 * (it watches for KeyUpdate: do not replace it).  The endpoint holds no unread plaintext
 * (plain reads go straight to the socket), so nothing received before this point can leak into
 * the TLS session: injection defence for data the caller buffered is the caller's.
 */
int ktls_ep_start_tls(struct ktls_ep *ep, SSL *ssl, bool server);

/* Drive the handshake: 0 done, -EAGAIN (see ktls_ep_events), or -errno with ktls_ep_error(). */
int ktls_ep_handshake(struct ktls_ep *ep);

/*
 * After the handshake, move TX and RX into the kernel where caps (from ktls_probe) allow.  A
 * direction that cannot go stays in userspace and the reason is kept (ktls_ep_state); nothing is
 * ever half-offloaded.  Call it right after the handshake, before any read: TLS 1.3 RX can only
 * move while the record sequence is known (else "read-before-offload").  caps NULL: not probed,
 * try anyway (a refusal is then the reason).  Returns 0 (the session is usable, whatever went
 * where) or -errno when the session is unusable (OpenSSL put RX in the kernel while holding
 * bytes read past it, possible only with read-ahead on).
 */
int ktls_ep_offload(struct ktls_ep *ep, const struct ktls_caps *caps);

/*
 * TLS 1.3 sends its NewSessionTickets after the handshake; with RX in the kernel OpenSSL never
 * sees them (a client that wants to resume needs them).  Called before ktls_ep_offload, this
 * leaves TLS 1.3 RX in OpenSSL ("rx=user(deferred)") until ktls_ep_offload_rx: read the first
 * reply of the session through ktls_ep_read meanwhile (OpenSSL takes the tickets that precede
 * it), then call ktls_ep_offload_rx while the peer has nothing more to send (SMTP: before the
 * next command goes out).  TLS 1.2 RX (OpenSSL's own install) is not affected.
 */
void ktls_ep_defer_rx(struct ktls_ep *ep);
/*
 * Move deferred RX into the kernel at the record sequence OpenSSL reached.  It stays in
 * userspace with the reason when that is not exactly known: bytes of a further record read
 * ("openssl-buffered"), a KeyUpdate meanwhile ("keyupdate-before-offload"), or a refused
 * install.  Always 0 (the session is usable either way); a no-op unless RX was deferred.
 */
int ktls_ep_offload_rx(struct ktls_ep *ep);
/* RX waits for ktls_ep_offload_rx ("rx=user(deferred)"). */
bool ktls_ep_rx_waiting(const struct ktls_ep *ep);

enum ktls_mode ktls_ep_tx_mode(const struct ktls_ep *ep);
enum ktls_mode ktls_ep_rx_mode(const struct ktls_ep *ep);
/* The endpoint's OpenSSL session; NULL while plain and after ktls_ep_release_ssl(). */
SSL *ktls_ep_ssl(const struct ktls_ep *ep);

/*
 * Once the kernel has both directions, OpenSSL has nothing left to do for the session: free its
 * SSL (handshake state, certificates, session: most of an idle session's memory), keeping what a
 * KeyUpdate needs.  Take from ktls_ep_ssl() what you want to show (version, cipher, peer
 * certificate) first.  true if it was released; false (and nothing changes) unless tx and rx are
 * both kernel after ktls_ep_offload().
 */
bool ktls_ep_release_ssl(struct ktls_ep *ep);

/*
 * "plain", or "tx=kernel rx=kernel", "tx=kernel rx=user(tls1.3-rx-unsupported)", ... for logs:
 * the reason in parentheses says why a direction is not in the kernel.
 */
const char *ktls_ep_state(const struct ktls_ep *ep, char *buf, size_t len);

/*
 * What the kernel reports the socket's kTLS runs on (hw/diag.c, by the daemon): a direction
 * the NIC does is shown as "nic" by ktls_ep_state ("tx=nic rx=kernel").  Only ever from the
 * tls ULP's own report, never from feature bits.
 */
void ktls_ep_note_device(struct ktls_ep *ep, bool tx, bool rx);
/*
 * TLS_TX_ZEROCOPY_RO (>= 5.19): device-offloaded TX may send spliced pages without copying;
 * the bytes must not change after the send (true of a spliced body).  TLS_RX_EXPECT_NO_PAD
 * (>= 6.0, TLS 1.3 kernel RX): decrypt straight into the reader's buffer, re-decrypting if a
 * record was padded after all.  0, or the kernel's -errno (-ENOPROTOOPT: too old a kernel).
 */
int ktls_ep_tx_zerocopy_ro(struct ktls_ep *ep);
int ktls_ep_rx_expect_no_pad(struct ktls_ep *ep);

/* Why the last call failed, for logs; "" when nothing failed. */
const char *ktls_ep_error(const struct ktls_ep *ep);

/*
 * Application data.  read: >0 bytes, 0 at a clean end (FIN on plain; close_notify on TLS), or
 * -errno (-EAGAIN; -EINVAL for len 0).  A TLS stream that ends with a FIN but no close_notify
 * returns -ECONNABORTED (truncation), never 0.  Non-data records are handled inside:
 * post-handshake handshake messages (NewSessionTicket) consumed, KeyUpdate followed or
 * -EKEYEXPIRED, alerts end the stream (fatal: -ECONNRESET).  After a failure every read returns
 * the same error.
 * peek: like read but leaves the bytes to be read (or spliced) again.
 * write: >0 bytes taken (may be partial), or -errno (-EAGAIN: call again with the SAME buffer,
 * which SSL_write requires; kernel TX takes bytes or not, but the rule costs nothing).
 */
ssize_t ktls_ep_read(struct ktls_ep *ep, void *buf, size_t len);
ssize_t ktls_ep_peek(struct ktls_ep *ep, void *buf, size_t len);
ssize_t ktls_ep_write(struct ktls_ep *ep, const void *buf, size_t len);

/* True when ktls_ep_read would return data (or the end) without waiting on the fd. */
bool ktls_ep_rx_buffered(const struct ktls_ep *ep);

/* After -EAGAIN: the epoll events (EPOLLIN and/or EPOLLOUT) the endpoint waits for. */
uint32_t ktls_ep_events(const struct ktls_ep *ep);

/*
 * End the sending side: close_notify on TLS (sent through the kernel with TLS_SET_RECORD_TYPE
 * when TX is there), then shutdown(SHUT_WR).  0, -EAGAIN (call again), or -errno.
 */
int ktls_ep_shutdown(struct ktls_ep *ep);

/*
 * One direction of byte transfer between two endpoints: zero-copy splice() through a pipe when
 * `from` reads in the kernel (plain or kTLS RX) and `to` writes in the kernel (plain or kTLS TX);
 * otherwise a bounce buffer with read/write.  Holds what is in flight (in the pipe or the buffer)
 * so that a destination that would block loses nothing: in-flight bytes are always delivered
 * before new ones are taken.  The caller keeps one per direction that needs it.
 */
struct ktls_xfer;
struct tg_pool;

/* The bounce buffer's size: a pool that serves it (below) has objects of at least this size. */
#define KTLS_XFER_BOUNCE_LEN (64 * 1024)

/*
 * `bounce`, when not NULL, is the caller's pool (lib/pool.h) the bounce buffer is taken from
 * (on first use) and given back to (by ktls_xfer_free, which must then run on the pool's
 * thread); NULL: malloc.  NULL when out of memory, or when the pool's objects are too small.
 */
struct ktls_xfer *ktls_xfer_new(struct tg_pool *bounce);
void ktls_xfer_free(struct ktls_xfer *x);

/*
 * Move up to len bytes from -> to.  Returns bytes delivered to `to` (>0), 0 when `from` ended
 * cleanly and nothing is in flight, or -errno: -EAGAIN (wait for ktls_xfer_events on the two
 * fds), others fatal.  A kTLS RX socket with a non-data record queued cannot splice; the record
 * is taken with recvmsg and handled as ktls_ep_read would, then splicing resumes.
 * ktls_xfer_inflight() counts bytes taken from `from` but not yet written to `to`.
 */
ssize_t ktls_xfer_splice(struct ktls_xfer *x, struct ktls_ep *from, struct ktls_ep *to,
			 size_t len);
size_t ktls_xfer_inflight(const struct ktls_xfer *x);
/* Would ktls_xfer_splice move bytes from -> to without them entering userspace? */
bool ktls_xfer_zero_copy(const struct ktls_ep *from, const struct ktls_ep *to);
/*
 * The copy path with the caller looking at the bytes, so that a caller who must find where a
 * region ends needs no MSG_PEEK copy first: with nothing in flight, read up to len bytes from
 * `from` into the pump's buffer and show them (*p; ktls_ep_read's returns, -EBUSY with bytes in
 * flight).  ktls_xfer_keep(x, keep) then makes the first `keep` of them the bytes in flight,
 * which ktls_xfer_splice delivers to `to` before taking anything new; the rest are the
 * caller's, valid until the next call on x.
 */
ssize_t ktls_xfer_read(struct ktls_xfer *x, struct ktls_ep *from, size_t len, const char **p);
void ktls_xfer_keep(struct ktls_xfer *x, size_t keep);
/* Which backend the last splice used: "splice" or "copy" (for logs and tests). */
const char *ktls_xfer_backend(const struct ktls_xfer *x);
/* After -EAGAIN: events to wait for on from (*from_ev) and on to (*to_ev). */
void ktls_xfer_events(const struct ktls_xfer *x, uint32_t *from_ev, uint32_t *to_ev);

/*
 * Process-wide counters (atomic), for `tlsgatectl status` and tests: sessions by where each
 * direction went and why not, KeyUpdates, record types seen in kernel mode.
 */
struct ktls_counters {
	uint64_t tx_kernel, tx_user, rx_kernel, rx_user;
	uint64_t offload_failed;	/* an install that failed and left the direction in user */
	uint64_t keyupdate_followed, keyupdate_unsupported;
	uint64_t nst_consumed;		/* NewSessionTicket records taken in kernel RX */
	uint64_t alerts_received, close_notify_received, truncations;
	uint64_t splice_bytes, copy_bytes;
	uint64_t splice_calls, copy_calls;	/* reads by the pump: splice() / bounce buffer */
	uint64_t ctl_records;		/* non-data records taken in kernel RX */
	uint64_t decrypt_errors;	/* records that failed authentication (-EBADMSG) */
	uint64_t protocol_errors;	/* malformed or unexpected records/messages (-EPROTO) */
	uint64_t user_crypto_bytes;	/* application bytes OpenSSL sealed or opened (SSL_read/
					 * SSL_write): 0 for sessions entirely in the kernel */
};
void ktls_counters_get(struct ktls_counters *out);

#endif
