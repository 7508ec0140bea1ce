// SPDX-License-Identifier: GPL-2.0-only
/*
 * A Received: chain judged as a whole (received_verdict.h): the walk over whose word each hop
 * is, the counts, the plain sentence and its header, and the streaming scan the inbound relay
 * uses.  Everything here reads hops newest first.
 */
#include "smtp/received_verdict.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void received_walk_init(struct received_walk *w, const struct received_own *own)
{
	memset(w, 0, sizeof(*w));
	w->own = own;
	w->active = own && own->n;
}

void received_walk_hop(struct received_walk *w, struct received_hop *h, bool written_by_us)
{
	bool fact;

	h->trust = RECEIVED_TRUST_UNKNOWN;
	h->first_receipt = false;
	if (written_by_us)
		w->active = true;
	if (!w->active)
		return;
	fact = !w->received &&
	       (written_by_us || w->trusted || (w->own && received_own_writer(w->own, h)));
	if (!fact) {
		h->trust = RECEIVED_TRUST_CLAIM;
		return;
	}
	h->trust = RECEIVED_TRUST_OWN;
	/* "from X by X" names X by the sender's HELO: with an address that is not ours it is
	 * a transfer from outside, whatever the sender called itself */
	if (h->local == RECEIVED_LOCAL_SAME_HOST && h->from_addr[0] &&
	    !(w->own && received_own_sender(w->own, h)))
		h->local = RECEIVED_LOCAL_NO;
	if (h->local != RECEIVED_LOCAL_NO) {
		/* a step inside one server: the header below is that server's too */
		w->trusted = true;
		return;
	}
	if (w->own && received_own_sender(w->own, h)) {
		h->local = RECEIVED_LOCAL_INTERNAL;
		w->trusted = true;
		return;
	}
	h->first_receipt = true;
	w->received = true;
	w->trusted = false;
}

void received_chain_walk(struct received_chain *c, const struct received_own *own)
{
	struct received_walk w;

	received_walk_init(&w, own);
	for (size_t i = 0; i < c->n; i++)
		received_walk_hop(&w, &c->hop[i], false);
}

void received_verdict_init(struct received_verdict *v)
{
	memset(v, 0, sizeof(*v));
}

static void set_name(char *dst, const char *src)
{
	snprintf(dst, RECEIVED_NAME_SIZE, "%s", src);
}

void received_verdict_add(struct received_verdict *v, const struct received_hop *h)
{
	char words[32];

	v->hops++;
	if (h->local == RECEIVED_LOCAL_INTERNAL) {
		v->internal++;
		return;
	}
	if (h->local != RECEIVED_LOCAL_NO)
		return;
	v->transfers++;
	if (h->trust == RECEIVED_TRUST_CLAIM)
		v->claims++;
	if (!v->have_last) {
		v->have_last = true;
		v->last = h->tls;
		if (h->tls == RECEIVED_TLS_YES && h->tls_version[0])
			snprintf(v->last_tls, sizeof(v->last_tls), "%s",
				 received_tls_words(h, words, sizeof(words)));
	}
	switch (h->tls) {
	case RECEIVED_TLS_YES:
		v->encrypted++;
		if (received_tls_outdated(h) && !v->outdated++) {
			set_name(v->old_from, received_sender_name(h));
			set_name(v->old_to, received_receiver_name(h));
			snprintf(v->old_tls, sizeof(v->old_tls), "%s",
				 received_tls_words(h, words, sizeof(words)));
		}
		break;
	case RECEIVED_TLS_NO:
		if (!v->plaintext++) {
			set_name(v->plain_from, received_sender_name(h));
			set_name(v->plain_to, received_receiver_name(h));
			v->plain_claim = h->trust == RECEIVED_TRUST_CLAIM;
		}
		break;
	default:
		v->unrecorded++;
	}
}

void received_verdict(const struct received_chain *c, struct received_verdict *v)
{
	received_verdict_init(v);
	for (size_t i = 0; i < c->n; i++)
		received_verdict_add(v, &c->hop[i]);
}

const char *received_verdict_summary(const struct received_verdict *v)
{
	if (v->plaintext)
		return "WARNING: at least one hop between servers was NOT encrypted.";
	if (v->encrypted)
		return "Every hop that recorded its security was encrypted.";
	if (v->unrecorded)
		return "No hop recorded whether it was encrypted.";
	return "No transfer between servers was recorded, so there is nothing to judge.";
}

struct out {
	char *buf;
	size_t len, n;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (o->n + 1 >= o->len)
		return;
	va_start(ap, fmt);
	m = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	o->n += (size_t)m;
	if (o->n >= o->len)
		o->n = o->len - 1;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

size_t received_verdict_words(const struct received_verdict *v, char *buf, size_t len)
{
	struct out o = {buf, len, 0};

	if (!len)
		return 0;
	buf[0] = '\0';
	if (!v->transfers) {
		put(&o, "No transfer between mail servers was recorded.");
		return o.n;
	}
	if (v->plaintext) {
		put(&o, "NOT encrypted between %s and %s", v->plain_from, v->plain_to);
		if (v->plain_claim)
			put(&o, " (as the sender's servers recorded it)");
		if (v->plaintext > 1)
			put(&o, " and on %zu more hop%s", v->plaintext - 1,
			    plural(v->plaintext - 1));
		put(&o, ".");
		return o.n;
	}
	if (!v->encrypted) {
		put(&o, "No hop recorded whether it was encrypted.");
		return o.n;
	}
	if (v->unrecorded)
		put(&o, "Encrypted on %zu of %zu hops; the others did not record it", v->encrypted,
		    v->transfers);
	else
		put(&o, "Encrypted on every recorded hop");
	if (v->last == RECEIVED_TLS_YES && v->last_tls[0])
		put(&o, "; the last hop used %s", v->last_tls);
	if (v->outdated)
		put(&o, "; %s to %s used %s, an outdated version", v->old_from, v->old_to,
		    v->old_tls);
	if (v->claims)
		put(&o, "; %zu earlier hop%s as the sender's servers recorded %s", v->claims,
		    plural(v->claims), v->claims == 1 ? "it" : "them");
	put(&o, ".");
	return o.n;
}

int received_verdict_header(const struct received_verdict *v, char *buf, size_t len)
{
	char words[1024];
	size_t n = 0, col;
	const char *w = words;

	received_verdict_words(v, words, sizeof(words));
	col = (size_t)snprintf(buf, len, "%s:", RECEIVED_VERDICT_HEADER);
	if (col >= len)
		return -ENOSPC;
	n = col;
	while (*w) {
		size_t wl = strcspn(w, " ");

		if (wl) {
			/* fold before a word that would pass 78 columns (not before the first) */
			if (col + 1 + wl > 78 && col > sizeof(RECEIVED_VERDICT_HEADER)) {
				if (n + 2 >= len)
					return -ENOSPC;
				memcpy(buf + n, "\r\n", 2);
				n += 2;
				col = 0;
			}
			if (n + 1 + wl >= len)
				return -ENOSPC;
			buf[n++] = ' ';
			memcpy(buf + n, w, wl);
			n += wl;
			col += 1 + wl;
		}
		w += wl;
		while (*w == ' ')
			w++;
	}
	if (n + 3 > len)
		return -ENOSPC;
	memcpy(buf + n, "\r\n", 3);
	return (int)(n + 2);
}

bool received_field_is(const char *p, size_t n, const char *name)
{
	size_t nl = strlen(name), i;

	if (n <= nl || strncasecmp(p, name, nl))
		return false;
	for (i = nl; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i < n && p[i] == ':';
}

bool received_field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (!i)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* ------------------------------------------------------------------------------------------ */
/* The streaming scan */

void received_scan_init(struct received_scan *sc, const struct received_own *own)
{
	received_walk_init(&sc->walk, own);
	received_verdict_init(&sc->v);
	sc->in_received = false;
	sc->len = 0;
}

static void scan_hop(struct received_scan *sc, const char *field, size_t len, bool ours)
{
	const char *colon = memchr(field, ':', len);

	/* as explain reads it: the newest RECEIVED_MAX_HOPS */
	if (!colon || sc->v.hops >= RECEIVED_MAX_HOPS)
		return;
	received_parse_field(colon + 1, len - (size_t)(colon + 1 - field), &sc->hop);
	received_walk_hop(&sc->walk, &sc->hop, ours);
	received_verdict_add(&sc->v, &sc->hop);
}

void received_scan_ours(struct received_scan *sc, const char *field, size_t len)
{
	scan_hop(sc, field, len, true);
}

void received_scan_field(struct received_scan *sc, bool received)
{
	if (sc->in_received)
		scan_hop(sc, sc->field, sc->len, false);
	sc->in_received = received;
	sc->len = 0;
}

void received_scan_bytes(struct received_scan *sc, const char *p, size_t n)
{
	size_t room = sizeof(sc->field) - sc->len;

	if (!sc->in_received)
		return;
	if (n > room)
		n = room;
	memcpy(sc->field + sc->len, p, n);
	sc->len += n;
}

void received_scan_end(struct received_scan *sc)
{
	received_scan_field(sc, false);
}
