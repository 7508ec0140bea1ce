/* SPDX-License-Identifier: GPL-2.0-only */
/* tlsgatectl: what the object handlers share: errors, the connection, and how things print. */
#ifndef TLSGATE_CTL_PRINT_H
#define TLSGATE_CTL_PRINT_H

#include <stddef.h>
#include <stdint.h>

#include "control/client.h"
#include "ctl/ctl.h"
#include "lib/jsonw.h"
#include "control/nlproto.h"

/* "tlsgatectl: what: msg" (or strerror when msg is empty) on stderr; returns exit status 1. */
int ctl_fail(const char *what, int err, const char *msg);
/* "tlsgatectl: ..." on stderr; returns exit status 2 (usage). */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* request.c: connect to tlsgated (RUNDIR/ctl); 0, or 1 after saying why not. */
int ctl_connect(const struct ctl_opts *o, struct control_client **c);
/*
 * One request: connect, send req (freed in every case), give each object of the answer to cb
 * (may be NULL), and report a failure as "tlsgatectl: WHAT: ..." on stderr.  0 with the
 * daemon's ack text in msg (may be empty) and its protocol version in *proto (may be NULL), or
 * 1 (the exit status) after reporting.
 */
int ctl_request(const struct ctl_opts *o, const char *what, struct nl_msg *req, control_reply_cb cb,
		void *arg, char *msg, size_t msglen, uint32_t *proto);

/* The -j writer on stdout (pretty with -p). */
struct jsonw *ctl_json(const struct ctl_opts *o);
/* A change's answer with -j: {"result": "ok", "message": msg (when not empty)}.  0 or -ENOMEM. */
int ctl_json_ok(const struct ctl_opts *o, const char *msg);

/* 0x0303 -> "TLSv1.2" */
const char *ctl_tls_version_name(uint32_t v, char *buf, size_t len);
/* unix ms -> "2026-11-29T01:43:48.123Z"; 0 -> "-" */
void ctl_time_str(uint64_t ms, char *buf, size_t len);
/* 7384 -> "2h 3m 4s" */
void ctl_duration_str(uint64_t s, char *buf, size_t len);
/* Postfix style: "mx.example.org[203.0.113.25]:25", "[2001:db8::25]:25", "192.0.2.10:41234" */
void ctl_endpoint_str(const char *name, const char *addr, uint16_t port, char *buf, size_t len);

/* The rule as a Postfix policy line: "example.org encrypt protocols=>=TLSv1.2" */
void ctl_rule_line(const struct nlproto_rule *r, char *buf, size_t len);
/* The line and, as a comment, where it comes from: "... # id 3 outbound tls_policy:12" */
void ctl_print_rule(const struct nlproto_rule *r);
void ctl_json_rule(struct jsonw *w, const struct nlproto_rule *r);
/* A session's fields into the current JSON object. */
void ctl_json_session_fields(struct jsonw *w, const struct nlproto_session *s);

#endif
