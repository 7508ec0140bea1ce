// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: what tlsgatectl does with a datagram from the daemon (or from anyone on the event
 * group): walk the netlink messages and decode each with every decoder of control/nlproto*.c.
 * Beyond the sanitizers, it traps when a decoder says yes to something it should not have: a
 * string it hands out that is not NUL-terminated inside the message.
 *
 * Seeds (tests/fuzz/corpus/nlproto_reply/): replies as the daemon sends them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "control/nlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct nlmsghdr *cur;

/* A decoded string must lie inside the current message, NUL-terminated there. */
static void inside(const char *s)
{
	const char *lo = (const char *)cur, *hi = lo + cur->nlmsg_len;

	if (!s)
		return;
	if (s < lo || s >= hi || !memchr(s, '\0', (size_t)(hi - s)))
		__builtin_trap();
}

static void decode(const struct nlmsghdr *nlh)
{
	struct nlproto_session s, es;
	struct nlproto_status st;
	struct nlproto_event ev;
	struct nlproto_rule r;
	const char *text, *mb[8];
	uint64_t cursor;
	char msg[256];
	bool more;
	int e;

	cur = nlh;
	if (nlproto_error_parse(nlh, &e, &text) == 0)
		inside(text);
	nlproto_done_parse(nlh, &e, &more, &cursor);
	if (nlproto_parse_rule(nlh, &r, mb, 8, msg, sizeof(msg)) == 0) {
		inside(r.key);
		inside(r.level);
		inside(r.text);
		for (size_t i = 0; i < r.nmatch; i++)
			inside(r.match[i]);
	}
	if (nlproto_parse_session(nlh, &s, msg, sizeof(msg)) == 0) {
		inside(s.client_addr);
		inside(s.dest_name);
		inside(s.ktls_rx);
	}
	if (nlproto_parse_status(nlh, &st, msg, sizeof(msg)) == 0 &&
	    (st.ncipher > NLPROTO_STATUS_CIPHERS || st.nnic > NLPROTO_STATUS_NICS ||
	     st.nlistener > NLPROTO_STATUS_LISTENERS ||
	     !memchr(st.ktls_reason, '\0', sizeof(st.ktls_reason))))
		__builtin_trap();
	if (nlproto_parse_event(nlh, &ev, &es, msg, sizeof(msg)) == 0) {
		inside(ev.subject);
		inside(ev.detail);
		if (ev.session)
			inside(ev.session->state);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an aligned copy, as recv() gives the CLI */
	uint32_t *buf = malloc(size + 4);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = size > 1 << 20 ? 1 << 20 : (int)size;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem))
		decode(nlh);
	free(buf);
	return 0;
}
