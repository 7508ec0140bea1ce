// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a non-data record means once the kernel owns RX: tickets are consumed, close_notify ends
 * the stream cleanly, fatal alerts end it with an error, KeyUpdate asks for new keys, anything
 * else post-handshake is a protocol error (we never renegotiate nor do post-handshake auth).
 */
#include "ktls/record.h"

#include <errno.h>
#include <linux/tls.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

int ktls_cmsg_record_type(const struct msghdr *msg, uint8_t *type)
{
	const struct cmsghdr *cm;

	if (msg->msg_flags & MSG_CTRUNC)
		return -EIO;
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return -ENOMSG;
	for (cm = CMSG_FIRSTHDR((struct msghdr *)msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)cm)) {
		if (cm->cmsg_level != SOL_TLS || cm->cmsg_type != TLS_GET_RECORD_TYPE)
			continue;
		if (cm->cmsg_len < CMSG_LEN(sizeof(uint8_t)))
			return -EIO;
		*type = *(const uint8_t *)CMSG_DATA(cm);
		return 0;
	}
	return -ENOMSG;
}

void ktls_cmsg_set_record_type(struct msghdr *msg, void *buf, size_t len, uint8_t type)
{
	struct cmsghdr *cm;

	memset(buf, 0, len);
	msg->msg_control = buf;
	msg->msg_controllen = KTLS_CMSG_SPACE;
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(uint8_t));
	*(uint8_t *)CMSG_DATA(cm) = type;
}

static const struct {
	uint8_t desc;
	const char *name;
} alert_names[] = {
	{0, "close_notify"},
	{10, "unexpected_message"},
	{20, "bad_record_mac"},
	{22, "record_overflow"},
	{40, "handshake_failure"},
	{42, "bad_certificate"},
	{43, "unsupported_certificate"},
	{44, "certificate_revoked"},
	{45, "certificate_expired"},
	{46, "certificate_unknown"},
	{47, "illegal_parameter"},
	{48, "unknown_ca"},
	{49, "access_denied"},
	{50, "decode_error"},
	{51, "decrypt_error"},
	{70, "protocol_version"},
	{71, "insufficient_security"},
	{80, "internal_error"},
	{86, "inappropriate_fallback"},
	{90, "user_canceled"},
	{100, "no_renegotiation"},
	{109, "missing_extension"},
	{110, "unsupported_extension"},
	{112, "unrecognized_name"},
	{113, "bad_certificate_status_response"},
	{115, "unknown_psk_identity"},
	{116, "certificate_required"},
	{120, "no_application_protocol"},
};

const char *ktls_alert_name(uint8_t desc)
{
	for (size_t i = 0; i < sizeof(alert_names) / sizeof(alert_names[0]); i++)
		if (alert_names[i].desc == desc)
			return alert_names[i].name;
	return "unknown";
}

void ktls_ctl_init(struct ktls_ctl *c, enum ktls_version v, bool server)
{
	memset(c, 0, sizeof(*c));
	c->version = v;
	c->server = server;
}

__attribute__((format(printf, 3, 4))) static void fail(struct ktls_ctl_event *ev, int err,
						       const char *fmt, ...)
{
	va_list ap;

	ev->what = KTLS_CTL_ERROR;
	ev->err = err;
	va_start(ap, fmt);
	vsnprintf(ev->why, sizeof(ev->why), fmt, ap);
	va_end(ap);
}

/* One complete alert: true when the stream goes on. */
static bool alert(const struct ktls_ctl *c, uint8_t level, uint8_t desc, struct ktls_ctl_event *ev)
{
	ev->alerts++;
	ev->alert = desc;
	if (desc == KTLS_ALERT_CLOSE_NOTIFY) {
		ev->close_notify++;
		ev->what = KTLS_CTL_CLOSE;
		return false;
	}
	if (level != KTLS_ALERT_WARNING && level != KTLS_ALERT_FATAL) {
		fail(ev, -EPROTO, "malformed alert (level %u) from peer", level);
		return false;
	}
	/*
	 * TLS 1.3 §6: every alert but close_notify and user_canceled is an error alert whatever
	 * its level says.  TLS 1.2 warnings (no_renegotiation, ...) may be ignored.
	 */
	if (desc == KTLS_ALERT_USER_CANCELED ||
	    (c->version == KTLS_TLS12 && level == KTLS_ALERT_WARNING))
		return true;
	fail(ev, -ECONNRESET, "fatal alert %s from peer", ktls_alert_name(desc));
	return false;
}

static size_t feed_alert(struct ktls_ctl *c, const uint8_t *p, size_t n, struct ktls_ctl_event *ev)
{
	size_t used = 0;

	while (used < n) {
		c->alert[c->alert_len++] = p[used++];
		if (c->alert_len < 2)
			continue;
		c->alert_len = 0;
		if (!alert(c, c->alert[0], c->alert[1], ev))
			break;
	}
	return used;
}

/* The header of a post-handshake message is complete: may it come? */
static bool hs_header(struct ktls_ctl *c, struct ktls_ctl_event *ev)
{
	uint32_t len = (uint32_t)c->hs_hdr[1] << 16 | (uint32_t)c->hs_hdr[2] << 8 | c->hs_hdr[3];

	c->hs_type = c->hs_hdr[0];
	c->hs_body_left = len;
	if (c->version == KTLS_TLS12) {
		if (c->hs_type == KTLS_HS_HELLO_REQUEST && len == 0 && !c->server)
			return true; /* we never renegotiate (RFC 5246 7.4.1.1 lets us ignore it) */
	} else if (c->hs_type == KTLS_HS_NEW_SESSION_TICKET) {
		if (!c->server && len > 0)
			return true;
	} else if (c->hs_type == KTLS_HS_KEY_UPDATE) {
		if (len == 1)
			return true;
		fail(ev, -EPROTO, "malformed KeyUpdate (length %u) from peer", len);
		return false;
	}
	fail(ev, -EPROTO, "unexpected post-handshake message (type %u) from peer", c->hs_type);
	return false;
}

static size_t feed_handshake(struct ktls_ctl *c, const uint8_t *p, size_t n,
			     struct ktls_ctl_event *ev)
{
	size_t used = 0;

	while (used < n) {
		if (c->hs_hdr_len < sizeof(c->hs_hdr)) {
			c->hs_hdr[c->hs_hdr_len++] = p[used++];
			if (c->hs_hdr_len < sizeof(c->hs_hdr))
				continue;
			if (!hs_header(c, ev))
				return used;
			if (c->hs_body_left)
				continue;
		} else if (c->hs_type == KTLS_HS_KEY_UPDATE) {
			uint8_t req = p[used++];

			c->hs_body_left = 0;
			if (req > 1) {
				fail(ev, -EPROTO, "malformed KeyUpdate (request %u) from peer",
				     req);
				return used;
			}
			c->hs_hdr_len = 0;
			if (used != n) {
				fail(ev, -EPROTO, "KeyUpdate not at the end of its record");
				return used;
			}
			ev->what = KTLS_CTL_KEYUPDATE;
			ev->requested = req == 1;
			return used;
		} else {
			size_t take = n - used < c->hs_body_left ? n - used : c->hs_body_left;

			used += take;
			c->hs_body_left -= (uint32_t)take;
			if (c->hs_body_left)
				continue;
		}
		/* A message is complete. */
		if (c->hs_type == KTLS_HS_NEW_SESSION_TICKET)
			ev->tickets++;
		c->hs_hdr_len = 0;
	}
	return used;
}

void ktls_ctl_feed(struct ktls_ctl *c, uint8_t type, const uint8_t *p, size_t n,
		   struct ktls_ctl_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->what = KTLS_CTL_CONTINUE;
	if (n == 0) {
		fail(ev, -EPROTO, "empty record of type %u from peer", type);
		return;
	}
	switch (type) {
	case KTLS_RT_ALERT:
		if (c->hs_hdr_len) {
			/* RFC 8446 §5.1: handshake messages may not be interleaved with others. */
			fail(ev, -EPROTO, "alert inside a fragmented handshake message");
			return;
		}
		feed_alert(c, p, n, ev);
		return;
	case KTLS_RT_HANDSHAKE:
		if (c->alert_len) {
			fail(ev, -EPROTO, "handshake record inside a fragmented alert");
			return;
		}
		feed_handshake(c, p, n, ev);
		return;
	case KTLS_RT_CHANGE_CIPHER_SPEC:
		fail(ev, -EPROTO, "unexpected change_cipher_spec after the handshake");
		return;
	case KTLS_RT_APPLICATION_DATA:
		fail(ev, -EINVAL, "application data fed to the control record parser");
		return;
	default:
		fail(ev, -EPROTO, "unknown record type %u from peer", type);
		return;
	}
}
