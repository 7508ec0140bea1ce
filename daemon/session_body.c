// SPDX-License-Identifier: GPL-2.0-only
/*
 * Message bodies, client -> next hop.  DATA: the end mark ("\r\n.\r\n") is found by peeking at the
 * socket, and the scanned bytes are then moved by ktls_xfer_splice() — zero-copy through a pipe
 * when both sockets are kernel sockets (plain, or kTLS) — so the bulk never passes through
 * userspace crypto.  Where a leg's TLS is in OpenSSL the bytes pass through userspace anyway:
 * they are read once into the pump's buffer and scanned there (body_read_copy).  Bare LF is
 * rewritten to CRLF on the copy path (see smtp_proto.h).  BDAT:
 * chunks are moved by length, no scanning at all.  Bytes the command reader had already taken
 * into down.in are sent first, by copy, so nothing is lost or reordered at the boundary.
 */
#include "daemon/gateway.h"
#include "smtp/received.h"
#include "smtp/received_verdict.h"
#include "daemon/session_int.h"
#include "ktls/endpoint.h"
#include "lib/log.h"

#include <errno.h>
#include <stdint.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void end_of_body(struct session *s)
{
	int rc = session_pend_push(s, PEND_FWD, SMTP_DATA, PF_DOT, NULL, NULL);

	if (rc) {
		/* without it the end-of-data reply would be taken for the next command's */
		session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
			     "cannot queue a pending reply: %s", strerror(-rc));
		return;
	}
	s->state = ST_RELAY;
}

/*
 * Up to max bytes already in down.in: scan and copy them up, rewriting bare LF.  True on
 * progress.
 */
static bool body_copy(struct session *s, size_t max)
{
	bool progress = false;

	while (s->state == ST_BODY && s->down.in.len && max) {
		size_t room = buf_room(&s->up.out), used;
		size_t n = s->down.in.len < room / 2 ? s->down.in.len : room / 2;
		enum smtp_dot_result r;

		if (n > max)
			n = max;
		/* the next hop reads slowly: wait (one byte of the client's is enough to go on) */
		if (!n || (room / 2 < 2 && n < max))
			break;
		r = smtp_dot_scan(&s->dot, buf_head(&s->down.in), n, &used);
		/* room/2 for at most n bytes, and the CRLF for a bare LF: these fit */
		if (session_side_write(&s->up, buf_head(&s->down.in), used))
			return true;
		buf_consume(&s->down.in, used);
		s->msg_bytes += used;
		max -= used;
		progress = true;
		if (r == SMTP_DOT_END) {
			end_of_body(s);
		} else if (r == SMTP_DOT_BARE_LF) {
			if (session_side_write(&s->up, "\r\n", 2))
				return true;
			buf_consume(&s->down.in, 1);
			s->msg_bytes += 2;
			max--;
			if (smtp_dot_bare_lf(&s->dot))
				end_of_body(s);
		}
	}
	return progress;
}

/* Enough of a line to know whether it starts a field (RFC 5322's line limit). */
#define HDR_PEEK 998

/* A line of a field of ours: a sender's copy is removed, or anyone could claim TLS. */
static bool ours(const char *p, size_t n)
{
	return received_field_is(p, n, "X-Tlsgate-TLS") ||
	       received_field_is(p, n, RECEIVED_VERDICT_HEADER);
}

/*
 * The header section ends: our verdict header goes in before the empty line (or the end of
 * data).  False while the next hop's buffer has no room for it.
 */
static bool header_end(struct session *s)
{
	char hdr[RECEIVED_VERDICT_HEADER_MAX];
	int n;

	if (s->scan) {
		if (buf_room(&s->up.out) < sizeof(hdr))
			return false;
		n = session_trace_verdict(s, hdr, sizeof(hdr));
		if (n < 0) {
			session_fail(s, "421 4.3.0 Error: local resource problem\r\n",
				     "the message is not relayed without its %s header",
				     RECEIVED_VERDICT_HEADER);
			return true;
		}
		if (n > 0) {
			if (session_side_write(&s->up, hdr, (size_t)n))
				return true;
			s->msg_bytes += (uint64_t)n;
		}
		session_trace_scan_end(s);
	}
	s->hdr_phase = false;
	return true;
}

/*
 * Inbound: our Received header opens the message.  A message whose first line starts with a
 * space or a tab would continue it (RFC 5322 folding): the sender's text would become part of
 * our header -- a way to forge what the inside reads as our own trace.  Such a line gets a
 * field name of its own first, which it then continues.  False while the first byte is not
 * known yet.
 */
#define LEAD_FOLD_FIELD "X-Tlsgate-Leading-Fold:"

static bool lead_fold(struct session *s)
{
	char c;
	ssize_t n;

	if (!s->lead_check)
		return true;
	if (s->down.in.len) {
		c = buf_head(&s->down.in)[0];
	} else {
		n = ktls_ep_peek(s->down.ep, &c, 1);
		if (n == -EAGAIN) {
			s->down.wait |= ktls_ep_events(s->down.ep);
			return false;
		}
		if (n <= 0)
			return true; /* the body path reports it */
	}
	s->lead_check = false;
	if (c != ' ' && c != '\t')
		return true;
	log_info("session=%s client=%s message starts with a folded line: '%s' put before it",
		 s->ids, s->client_txt, LEAD_FOLD_FIELD);
	if (session_side_write(&s->up, LEAD_FOLD_FIELD, sizeof(LEAD_FOLD_FIELD) - 1))
		return true; /* the session failed: the caller sees its state */
	s->msg_bytes += sizeof(LEAD_FOLD_FIELD) - 1;
	return true;
}

/*
 * Inbound with header editing on (session_trace_edits()): line by line through the copy path
 * until the empty line that ends the headers; then the body goes on as usual (zero copy).
 * On the way a sender's X-Tlsgate-TLS: and X-Tlsgate-Transport-Security: lines (and their
 * continuations) are removed, every Received: field is passed to the chain's scan, and at the
 * end our verdict header is added.  A line is judged by its first bytes, so a line of any
 * length passes in pieces; the scan keeps the first 4 KiB of a field.
 */
static bool header_step(struct session *s)
{
	bool progress = false;

	while (s->state == ST_BODY && s->hdr_phase) {
		const char *p = buf_head(&s->down.in);
		size_t n = s->down.in.len;
		const char *nl;
		size_t line;

		if (!n) {
			progress |= session_side_fill(&s->down);
			if (!s->down.in.len)
				break;
			continue;
		}
		nl = memchr(p, '\n', n);
		if (s->hdr_bol) {
			if (!nl && n < HDR_PEEK && !s->down.eof) {
				if (!session_side_fill(&s->down))
					break;
				progress = true;
				continue;
			}
			if (p[0] == '\n' || (p[0] == '\r' && n > 1 && p[1] == '\n') || p[0] == '.' ||
			    (p[0] != ' ' && p[0] != '\t' && !received_field_line(p, nl ? (size_t)(nl - p) : n))) {
				/* the empty line, the end mark, or a line that is no field (the body
				 * starts there, as explain reads it): headers are over */
				progress |= header_end(s);
				break;
			}
			if (p[0] != ' ' && p[0] != '\t') {
				s->hdr_dropping = ours(p, n);
				if (s->scan)
					received_scan_field(s->scan, !s->hdr_dropping &&
								     received_field_is(p, n, "Received"));
			}
			s->hdr_bol = false;
		}
		line = nl ? (size_t)(nl - p) + 1 : n;
		if (s->hdr_dropping) {
			buf_consume(&s->down.in, line);
			progress = true;
		} else {
			size_t before = s->down.in.len;

			body_copy(s, line);
			if (s->down.in.len == before)
				break; /* the next hop reads slowly */
			line = before - s->down.in.len;
			/* p stays valid: consuming moves no bytes */
			if (s->scan)
				received_scan_bytes(s->scan, p, line);
			progress = true;
		}
		if (nl && line == (size_t)(nl - p) + 1)
			s->hdr_bol = true;
	}
	return progress;
}

/* Move the rest of the current region with the pump.  1 done, 0 waiting, <0 failed. */
static int region_move(struct session *s)
{
	while (s->region_done < s->region_total || ktls_xfer_inflight(s->xfer)) {
		size_t inflight = ktls_xfer_inflight(s->xfer);
		uint64_t left = s->region_total - s->region_done - inflight;
		/* With bytes in flight the pump only delivers them (it never takes new bytes
		 * before), so any non-zero length is safe there. */
		ssize_t n = ktls_xfer_splice(s->xfer, s->down.ep, s->up.ep,
					     left ? (size_t)left : 1);

		if (n > 0) {
			s->region_done += (uint64_t)n;
			s->down.bytes_in += (uint64_t)n;
			s->up.bytes_out += (uint64_t)n;
			continue;
		}
		if (n == -EAGAIN) {
			uint32_t fe = 0, te = 0;

			ktls_xfer_events(s->xfer, &fe, &te);
			s->down.wait |= fe;
			s->up.wait |= te;
			return 0;
		}
		if (n == 0)
			return -ECONNABORTED;
		return (int)n;
	}
	return 1;
}

static void body_failed(struct session *s, int err, const char *what)
{
	const char *e = s->down.ep ? ktls_ep_error(s->down.ep) : "";

	if (err == -ECONNABORTED || err == -ECONNRESET || err == -EPIPE)
		session_fail(s, "421 4.4.2 Error: connection lost during the message\r\n",
			     "%s: connection lost during the message (%s)", what, strerror(-err));
	else
		session_fail(s, "421 4.4.2 Error: message transfer failed\r\n", "%s: %s%s%s", what,
			     strerror(-err), *e ? ": " : "", e);
}

/*
 * The region scanned last goes up first: its bytes come before anything in down.in (a copy-path
 * read leaves what follows the region there).  1 delivered (or none), 0 waiting, -1 ended.
 */
static int region_flush(struct session *s)
{
	int rc;

	if (!s->region_total && !(s->xfer && ktls_xfer_inflight(s->xfer)))
		return 1;
	rc = region_move(s);
	if (rc < 0) {
		body_failed(s, rc, "body");
		return -1;
	}
	if (!rc)
		return 0;
	s->msg_bytes += s->region_total;
	s->region_total = s->region_done = 0;
	if (s->region_ends) {
		s->region_ends = false;
		end_of_body(s);
		return -1;
	}
	return 1;
}

/*
 * Bytes a copy-path read took past the region (after the end mark: the client's next commands;
 * from a bare LF on: copied with the rewrite) go to down.in, which is empty here and takes them
 * even beyond its usual size (buf_adopt): they were read, they must not be lost.
 */
static bool keep_rest(struct session *s, const char *p, size_t n)
{
	int rc = n ? buf_adopt(&s->down.in, p, n) : 0;

	s->down.bytes_in += n;
	if (rc) {
		body_failed(s, rc, "client bytes after the region");
		return false;
	}
	return true;
}

/*
 * Where the pump copies (a leg's TLS in OpenSSL): read into its buffer, scan there, and let it
 * deliver the body bytes.  Peeking first, as the zero-copy path must (its bytes never reach
 * userspace), would copy every byte out of the kernel twice.  1 progress, 0 waiting, -1 stop
 * here (the session moved on or failed).
 */
static int body_read_copy(struct session *s)
{
	struct smtp_dot dot = s->dot;
	enum smtp_dot_result r;
	const char *p;
	size_t used;
	ssize_t n = ktls_xfer_read(s->xfer, s->down.ep, SESSION_SCRATCH, &p);

	if (n == -EAGAIN) {
		uint32_t fe = 0, te = 0;

		ktls_xfer_events(s->xfer, &fe, &te);
		s->down.wait |= fe;
		return 0;
	}
	if (n <= 0) {
		body_failed(s, n ? (int)n : -ECONNABORTED, "client");
		return -1;
	}
	r = smtp_dot_scan(&dot, p, (size_t)n, &used);
	if (r == SMTP_DOT_MORE)
		used = (size_t)n;
	/* BARE_LF: the bytes before it are the region, the LF on go the copy path (dot stays
	 * before the LF, where body_copy's scan starts again). */
	s->dot = dot;
	ktls_xfer_keep(s->xfer, used);
	if (!keep_rest(s, p + used, (size_t)n - used))
		return -1;
	s->region_total = used;
	s->region_ends = r == SMTP_DOT_END;
	return 1;
}

/* Zero copy: look at what is there without taking it, find the end mark.  As body_read_copy
 * (-1 also with bytes of ours in up.out, to be flushed first). */
static int body_peek_splice(struct session *s)
{
	char *scratch = s->host->scratch;
	struct smtp_dot dot;
	enum smtp_dot_result r;
	size_t used;
	ssize_t n = ktls_ep_peek(s->down.ep, scratch, SESSION_SCRATCH);

	if (n == -EAGAIN) {
		s->down.wait |= ktls_ep_events(s->down.ep);
		return 0;
	}
	if (n <= 0) {
		body_failed(s, n ? (int)n : -ECONNABORTED, "client");
		return -1;
	}
	/* Scan with a copy of the state: it is committed for the bytes that will move. */
	dot = s->dot;
	r = smtp_dot_scan(&dot, scratch, (size_t)n, &used);
	if (r == SMTP_DOT_BARE_LF && !used) {
		/* A bare LF first: take it, send CRLF instead (copy path, one byte). */
		n = ktls_ep_read(s->down.ep, scratch, 1);
		if (n != 1) {
			body_failed(s, n < 0 ? (int)n : -ECONNABORTED, "client");
			return -1;
		}
		s->down.bytes_in++;
		if (session_side_write(&s->up, "\r\n", 2)) /* up.out was empty */
			return -1;
		s->msg_bytes += 2;
		if (smtp_dot_bare_lf(&s->dot))
			end_of_body(s);
		return -1; /* up.out is to be flushed first */
	}
	s->dot = dot;
	/* MORE: all n; END: through the mark; BARE_LF: the clean bytes before it. */
	s->region_total = r == SMTP_DOT_MORE ? (size_t)n : used;
	s->region_ends = r == SMTP_DOT_END;
	return 1;
}

bool session_body_step(struct session *s)
{
	bool progress;

	if (!lead_fold(s))
		return false;
	progress = header_step(s);

	/* Never past a header step that stopped: it may wait for the rest of a line it has not
	 * judged yet, and copying those bytes would put the judgement in the middle of a line
	 * (a sender's split "X-Tlsgate-TLS:" passed so, and our header landed mid-line). */
	while (s->state == ST_BODY && !s->hdr_phase) {
		bool moved = s->region_total > 0;
		int rc;

		if (!s->xfer && !(s->xfer = ktls_xfer_new(&s->host->bounce_pool))) {
			body_failed(s, -ENOMEM, "pump");
			return true;
		}
		rc = region_flush(s);
		if (rc < 0)
			return true;
		if (!rc)
			break;
		progress |= moved;
		if (s->down.in.len) {
			if (!body_copy(s, SIZE_MAX))
				break;
			progress = true;
			continue;
		}
		/* The pump's bytes never overtake ours queued in up.out: order is everything. */
		if (s->up.out.len)
			break;
		if (ktls_xfer_zero_copy(s->down.ep, s->up.ep))
			rc = body_peek_splice(s);
		else
			rc = body_read_copy(s);
		if (rc < 0)
			return true;
		if (!rc)
			break;
		progress = true;
	}
	return progress;
}

bool session_bdat_step(struct session *s)
{
	bool progress = false;

	/* Chunk bytes the command reader already took. */
	while (s->bdat_left && s->down.in.len) {
		size_t n = s->down.in.len < s->bdat_left ? s->down.in.len : (size_t)s->bdat_left;

		if (s->state == ST_BDAT) {
			size_t room = buf_room(&s->up.out);

			if (!room)
				return progress;
			if (n > room)
				n = room;
			if (session_side_write(&s->up, buf_head(&s->down.in), n))
				return true;
			s->msg_bytes += n;
		}
		buf_consume(&s->down.in, n);
		s->bdat_left -= n;
		progress = true;
	}
	while (s->bdat_left && s->state == ST_BDAT && !s->up.out.len) {
		int rc;

		if (!s->xfer && !(s->xfer = ktls_xfer_new(&s->host->bounce_pool))) {
			body_failed(s, -ENOMEM, "pump");
			return true;
		}
		if (!s->region_total) {
			s->region_total = s->bdat_left;
			s->region_done = 0;
		}
		rc = region_move(s);
		if (rc < 0) {
			body_failed(s, rc, "BDAT chunk");
			return true;
		}
		s->msg_bytes += s->region_done;
		s->bdat_left -= s->region_done;
		if (s->region_done)
			progress = true;
		if (!rc) {
			s->region_total -= s->region_done;
			s->region_done = 0;
			return progress;
		}
		s->region_total = s->region_done = 0;
	}
	while (s->bdat_left && s->state == ST_BDAT_DISCARD) {
		char *scratch = s->host->scratch;
		size_t want = s->bdat_left < SESSION_SCRATCH ? (size_t)s->bdat_left : SESSION_SCRATCH;
		ssize_t n = ktls_ep_read(s->down.ep, scratch, want);

		if (n == -EAGAIN) {
			s->down.wait |= ktls_ep_events(s->down.ep);
			return progress;
		}
		if (n <= 0) {
			body_failed(s, n ? (int)n : -ECONNABORTED, "client");
			return true;
		}
		s->bdat_left -= (uint64_t)n;
		progress = true;
	}
	if (!s->bdat_left && s->state != ST_CLOSING) {
		s->state = ST_RELAY;
		progress = true;
	}
	return progress;
}
