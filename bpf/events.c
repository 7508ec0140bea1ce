// SPDX-License-Identifier: GPL-2.0-only
/*
 * The enforcer's drop events: a libbpf ring_buffer consumer on the pinned tg_events map.  Events
 * written while no daemon ran wait in the ring (its consumer position lives in the map), so a
 * restarted daemon reads them.
 */
#include "bpf/loader_priv.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int sample(void *ctx, void *data, size_t size)
{
	struct tg_bpf *h = ctx;

	if (size < sizeof(struct tg_event) || !h->cb)
		return 0;
	h->cb(data, h->cb_ctx);
	return 0;
}

static int ensure_ring(struct tg_bpf *h)
{
	if (h->rb)
		return 0;
	h->rb = ring_buffer__new(h->map_fd[TG_MAP_EVENTS], sample, h, NULL);
	return h->rb ? 0 : -errno;
}

int tg_bpf_events_fd(struct tg_bpf *h)
{
	int err = ensure_ring(h);

	return err ? err : ring_buffer__epoll_fd(h->rb);
}

int tg_bpf_events_poll(struct tg_bpf *h, int timeout_ms, tg_bpf_event_cb cb, void *ctx)
{
	int err = ensure_ring(h), n;

	if (err)
		return err;
	h->cb = cb;
	h->cb_ctx = ctx;
	n = timeout_ms ? ring_buffer__poll(h->rb, timeout_ms) : ring_buffer__consume(h->rb);
	h->cb = NULL;
	return n;
}

static void fmt_addr(__u8 family, const __u8 *a, __u16 port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == TG_FAM_V4 ? AF_INET : AF_INET6, a, ip, sizeof(ip));
	snprintf(buf, len, family == TG_FAM_V4 ? "%s:%u" : "[%s]:%u", ip, port);
}

int tg_bpf_event_format(const struct tg_event *e, char *buf, size_t len)
{
	char c[INET6_ADDRSTRLEN + 10], s[INET6_ADDRSTRLEN + 10], detail[sizeof(e->detail) * 4 + 1];
	size_t j = 0;
	int n;

	fmt_addr(e->family, e->caddr, e->cport, c, sizeof(c));
	fmt_addr(e->family, e->saddr, e->sport, s, sizeof(s));
	/* a verb is printable; a record header is not: hex then */
	for (size_t i = 0; i < sizeof(e->detail) && e->detail[i]; i++) {
		if (e->detail[i] >= 0x21 && e->detail[i] < 0x7f && e->detail[i] != '"')
			detail[j++] = (char)e->detail[i];
		else
			j += (size_t)snprintf(detail + j, sizeof(detail) - j, "\\x%02x",
					      e->detail[i]);
	}
	detail[j] = 0;
	n = snprintf(buf, len,
		     "%s reason=%s rule=%u dir=%s level=%u client=%s server=%s detail=\"%s\"",
		     (e->flags & TG_EV_F_MONITOR) ? "bpf-would-drop mode=monitor" : "bpf-drop",
		     tg_drop_reason_name(e->reason), e->rule_id,
		     e->dir == TG_DIR_INBOUND ? "inbound" : "outbound",
		     e->level, c, s, detail);
	return n < 0 ? -EINVAL : n;
}
