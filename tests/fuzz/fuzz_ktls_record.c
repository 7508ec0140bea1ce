// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: the meaning of non-data records in kernel RX (ktls/record.c), fed as the kernel
 * delivers them: a sequence of records, each a type and its decrypted content.  Input: one flags
 * byte (bit 0: TLS 1.3, bit 1: we are the server), then records as [type][length][content].
 * Beyond the sanitizers it traps when a promise breaks: a reason is printable, NUL-terminated
 * text; an error carries a negative errno; the stream goes on only after CONTINUE or KEYUPDATE;
 * a KeyUpdate is never reported in TLS 1.2, nor a ticket to a server; and the same handshake
 * bytes give the same tickets whether they come in one record or one byte per record.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ktls/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const struct ktls_ctl *c, const struct ktls_ctl_event *ev, size_t n)
{
	size_t len = strnlen(ev->why, sizeof(ev->why));

	if (len == sizeof(ev->why))
		__builtin_trap();
	for (size_t i = 0; i < len; i++)
		if (ev->why[i] < 0x20 || ev->why[i] > 0x7e)
			__builtin_trap();
	if (ev->what == KTLS_CTL_ERROR && (ev->err >= 0 || !len))
		__builtin_trap();
	if (ev->what != KTLS_CTL_ERROR && ev->err)
		__builtin_trap();
	if (ev->what == KTLS_CTL_KEYUPDATE && c->version != KTLS_TLS13)
		__builtin_trap();
	if (ev->tickets && (c->server || c->version != KTLS_TLS13))
		__builtin_trap();
	/* a message may end on this record's first byte; each further one takes 5 bytes or more */
	if (ev->tickets > 1 + n / 5 || ev->alerts > (n + 1) / 2)
		__builtin_trap();
}

/* Tickets in a handshake byte stream, fed whole or byte by byte; -1 when it ended otherwise. */
static long tickets(enum ktls_version v, const uint8_t *p, size_t n, bool bytewise)
{
	struct ktls_ctl c;
	struct ktls_ctl_event ev;
	long t = 0;

	ktls_ctl_init(&c, v, false);
	for (size_t off = 0; off < n;) {
		size_t k = bytewise ? 1 : n;

		ktls_ctl_feed(&c, KTLS_RT_HANDSHAKE, p + off, k, &ev);
		off += k;
		t += ev.tickets;
		if (ev.what != KTLS_CTL_CONTINUE)
			return -1;
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ktls_ctl c;
	struct ktls_ctl_event ev;
	enum ktls_version v;
	size_t off = 1;

	if (size < 1)
		return 0;
	v = data[0] & 1 ? KTLS_TLS13 : KTLS_TLS12;
	ktls_ctl_init(&c, v, data[0] & 2);
	while (off + 2 <= size) {
		uint8_t type = data[off];
		size_t n = data[off + 1];

		off += 2;
		if (n > size - off)
			n = size - off;
		ktls_ctl_feed(&c, type, data + off, n, &ev);
		check_event(&c, &ev, n);
		off += n;
		if (ev.what == KTLS_CTL_CLOSE || ev.what == KTLS_CTL_ERROR)
			break;
	}
	/* record boundaries do not change what a ticket stream means */
	if (size > 1) {
		long whole = tickets(v, data + 1, size - 1, false);

		if (whole >= 0 && whole != tickets(v, data + 1, size - 1, true))
			__builtin_trap();
	}
	return 0;
}
