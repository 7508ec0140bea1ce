/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Non-data TLS records in kernel mode.  With kTLS RX the kernel decrypts every record but hands
 * the content of alerts and handshake records to userspace only through recvmsg() with a
 * TLS_GET_RECORD_TYPE cmsg; the parser here decides what each means for the stream.  Record
 * boundaries do not matter to it: handshake messages are reassembled from their own headers
 * (a message may span records) and alerts are taken two bytes at a time.
 */
#ifndef TLSGATE_KTLS_RECORD_H
#define TLSGATE_KTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ktls/ktls.h"

#define KTLS_RT_CHANGE_CIPHER_SPEC 20
#define KTLS_RT_ALERT 21
#define KTLS_RT_HANDSHAKE 22
#define KTLS_RT_APPLICATION_DATA 23

#define KTLS_HS_HELLO_REQUEST 0
#define KTLS_HS_NEW_SESSION_TICKET 4
#define KTLS_HS_KEY_UPDATE 24

#define KTLS_ALERT_WARNING 1
#define KTLS_ALERT_FATAL 2
#define KTLS_ALERT_CLOSE_NOTIFY 0
#define KTLS_ALERT_UNEXPECTED_MESSAGE 10
#define KTLS_ALERT_USER_CANCELED 90

/* Room for a cmsg carrying the record type (one byte) in a recvmsg() control buffer. */
#define KTLS_CMSG_SPACE CMSG_SPACE(sizeof(uint8_t))

/*
 * The record type recvmsg() reported: 0 and *type set; -ENOMSG when no TLS_GET_RECORD_TYPE cmsg
 * came (the kernel only omits it for application data, so callers treat that as data); -EIO
 * when the control buffer was truncated (MSG_CTRUNC), which the kernel also reports as EIO.
 */
int ktls_cmsg_record_type(const struct msghdr *msg, uint8_t *type);

/* Fill a control buffer with a TLS_SET_RECORD_TYPE cmsg for sendmsg(); buf >= KTLS_CMSG_SPACE. */
void ktls_cmsg_set_record_type(struct msghdr *msg, void *buf, size_t len, uint8_t type);

/* Reassembly state of the non-data records of one kernel RX stream. */
struct ktls_ctl {
	enum ktls_version version;
	bool server;	   /* we are the server: a NewSessionTicket to us is a protocol error */
	uint8_t hs_hdr[4]; /* handshake message header being collected */
	uint8_t hs_hdr_len;
	uint32_t hs_body_left; /* body bytes of the current message still to come */
	uint8_t hs_type;
	uint8_t alert[2];
	uint8_t alert_len;
};

enum ktls_ctl_what {
	KTLS_CTL_CONTINUE,  /* consumed (ticket, ignorable alert, partial message): read on */
	KTLS_CTL_CLOSE,	    /* close_notify: the peer's clean end of stream */
	KTLS_CTL_KEYUPDATE, /* KeyUpdate: new RX keys before the next record; see .requested */
	KTLS_CTL_ERROR,	    /* the stream is dead: .err and .why */
};

struct ktls_ctl_event {
	enum ktls_ctl_what what;
	bool requested; /* KeyUpdate asked us to update our TX keys too */
	int err;	/* -EPROTO, -ECONNRESET (fatal alert) */
	uint8_t alert;	/* alert description, for an alert that ended the stream */
	char why[96];	/* human reason for ktls_ep_error() */
	/* What this record contained, for the counters. */
	unsigned int tickets, alerts, close_notify;
};

void ktls_ctl_init(struct ktls_ctl *c, enum ktls_version v, bool server);

/*
 * Feed the content of one non-data record (type != 23).  Fills ev; the stream may go on only
 * when ev->what is KTLS_CTL_CONTINUE or (after new keys) KTLS_CTL_KEYUPDATE.  A KeyUpdate must
 * end its record (RFC 8446 §5.1): bytes after it are a protocol error.
 */
void ktls_ctl_feed(struct ktls_ctl *c, uint8_t type, const uint8_t *p, size_t n,
		   struct ktls_ctl_event *ev);

/* "close_notify", "handshake_failure", ... (OpenSSL's long alert names). */
const char *ktls_alert_name(uint8_t desc);

#endif
