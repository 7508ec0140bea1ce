/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside ktls/: the endpoint's state and the functions its files share.  Users include
 * ktls/endpoint.h only.
 *
 *   ctx.c      SSL_CTX preparation, traffic-secret capture (keylog callback)
 *   hkdf.c     TLS 1.3 HKDF-Expand-Label, key/iv, "traffic upd"
 *   select.c   which backend each direction gets, and why (pure: unit-tested)
 *   offload.c  kernel installs: 1.3 RX, KeyUpdate rekeys, TX flush accounting
 *   record.c   meaning of non-data records (pure: unit-tested, fuzzed)
 *   kio.c      kernel-mode socket I/O: recvmsg with the record-type cmsg, control records out
 *   sslio.c    userspace (OpenSSL) I/O and its error mapping
 *   endpoint.c the public endpoint calls, dispatching to the above
 *   fail.c     ktls_ep_fail(): the reason an endpoint failed (used by every file above)
 *   xfer.c     the pump: splice, or a bounce buffer (malloc, or the caller's lib/pool.h pool)
 *   dane.c     DANE on a client SSL from a policy/dane.h host verdict (its own header, dane.h:
 *              the relay and `tlsgatectl dane check` use it; nothing else here does)
 */
#ifndef TLSGATE_KTLS_INTERNAL_H
#define TLSGATE_KTLS_INTERNAL_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ktls/endpoint.h"
#include "ktls/hkdf.h"
#include "ktls/record.h"

/* A whole TLS plaintext record (2^14) and then some: control records are read in one go. */
#define KTLS_SCRATCH_LEN (16384 + 256)

struct ktls_secret {
	unsigned char b[KTLS_SECRET_MAX];
	size_t len;
};

struct ktls_ep {
	int fd;
	SSL *ssl; /* NULL while plain, and after ktls_ep_release_ssl() */
	bool tls; /* TLS was started (stays true when the SSL is released) */
	bool server;
	bool handshake_done;
	bool offloaded; /* ktls_ep_offload() ran */

	/* The negotiated session, once the handshake is done. */
	enum ktls_version version;
	enum ktls_cipher cipher;
	const EVP_MD *md;   /* TLS 1.3: the suite's hash */
	bool md_ref;	    /* md is our own reference (taken when the SSL was released) */

	enum ktls_mode tx_mode, rx_mode;
	bool tx_device, rx_device; /* the kernel says the NIC does it (ktls_ep_note_device) */
	const char *tx_why, *rx_why; /* why a direction is in userspace */
	int tx_why_err, rx_why_err;  /* errno of a failed install, shown with the reason */
	bool rekey;		     /* the kernel accepts new TLS 1.3 keys (>= 6.14) */

	/* Read side. */
	struct ktls_ctl ctl;	/* non-data records in kernel RX */
	int rx_err;		/* sticky -errno: the read side is dead */
	bool rx_closed;		/* clean end: close_notify (TLS) or FIN (plain) */
	bool user_read;		/* OpenSSL read application data before the offload */
	/* TLS 1.3 RX left in OpenSSL past the handshake (ktls_ep_defer_rx) */
	bool rx_defer;		  /* asked for: ktls_ep_offload leaves 1.3 RX to ktls_ep_offload_rx */
	bool rx_deferred;	  /* RX waits in OpenSSL; rx_secret kept for the install */
	bool rx_user_ku;	  /* a KeyUpdate came while it waited */
	uint64_t rx_user_records; /* records OpenSSL read since the handshake: the RX sequence */
	unsigned char *scratch; /* for control records taken while peeking */

	/* Write side. */
	int tx_err;    /* sticky -errno: the write side is dead */
	bool ku_reply; /* we owe the peer a KeyUpdate before our next data */
	bool notify_sent, wr_shut;
	unsigned int flush_spins;

	/* TLS 1.3 secrets, kept only while the kernel could take a KeyUpdate. */
	struct ktls_secret rx_secret, tx_secret;

	/* Kernel TX accounting: is everything given to kTLS in TCP yet? (ktls_tx_flushed) */
	bool tx_acct;
	uint64_t tx_plain;	   /* plaintext given to kernel TX since the offload */
	uint64_t tx_tcp0;	   /* bytes TCP had taken at the offload */
	uint64_t tx_rec0;	   /* TX record sequence at the offload */
	uint64_t tx_rec_done;	   /* records under keys replaced by a KeyUpdate */
	unsigned int rec_overhead; /* header + nonce + tag (+ type byte) per record */

	/* KeyUpdate seen by OpenSSL in user RX (its message callback). */
	bool ku_user_seen, ku_user_requested;

	uint32_t rd_events, wr_events;
	char err[192];
};

/* Record the reason of a failure (for ktls_ep_error) and return err. */
int ktls_ep_fail(struct ktls_ep *ep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ctx.c */
void ktls_keylog_line(const SSL *ssl, const char *line);
/* The captured application_traffic_secret_0 of the client's or the server's direction. */
int ktls_ssl_secret(SSL *ssl, bool client_side, struct ktls_secret *out);
void ktls_ssl_secrets_wipe(SSL *ssl);

/* offload.c */
int ktls_attach_ulp(int fd);
int ktls_install(int fd, bool tx, enum ktls_version v, enum ktls_cipher c, const unsigned char *key,
		 const unsigned char *iv, uint64_t seq);
int ktls_rx_rekey(struct ktls_ep *ep);
int ktls_tx_rekey(struct ktls_ep *ep);
/* 1: all plaintext given to kernel TX is in TCP's queue; 0: records still wait in kTLS. */
int ktls_tx_flushed(struct ktls_ep *ep);

/* kio.c: kernel mode (and plain) socket I/O */
ssize_t ktls_kio_read(struct ktls_ep *ep, void *buf, size_t len, bool peek);
ssize_t ktls_kio_write(struct ktls_ep *ep, const void *buf, size_t len);
int ktls_kio_send_ctl(struct ktls_ep *ep, uint8_t type, const void *buf, size_t len);
/* Before new data goes out through kernel TX: a pending KeyUpdate reply, a dead write side. */
int ktls_kio_tx_ready(struct ktls_ep *ep);
/* A recvmsg()/splice() errno on a kernel RX or plain socket, as the endpoint's error. */
int ktls_kio_rx_errno(struct ktls_ep *ep, int err);
/* recvmsg()/splice() said 0: a clean end (plain, or after close_notify) or a truncation. */
ssize_t ktls_kio_rx_eof(struct ktls_ep *ep);
void ktls_kio_account_tx(struct ktls_ep *ep, size_t n);

/* sslio.c: OpenSSL does the record layer */
void ktls_sslio_attach(struct ktls_ep *ep);
int ktls_sslio_handshake(struct ktls_ep *ep);
ssize_t ktls_sslio_read(struct ktls_ep *ep, void *buf, size_t len, bool peek);
ssize_t ktls_sslio_write(struct ktls_ep *ep, const void *buf, size_t len);
int ktls_sslio_shutdown(struct ktls_ep *ep);

#endif
