/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's handle on the BPF half: load steer and enforce, pin them and their maps under a
 * pin directory, attach them with tc, and feed them (listener, policy, exclusions); read the
 * drop events.  Everything attached stays attached when the process exits or dies (fail-closed):
 * a restarted daemon calls tg_bpf_open() again and reuses the pinned maps (counters, flows,
 * events survive); only tg_bpf_detach() removes filters, routes and pins.
 *
 * The daemon, in this order:
 *     tg_bpf_open(&opts, &h)                   load/reuse, pin, routes, attach
 *     tg_bpf_policy_replace(h, entries, n)     after every policy (re)load
 *     tg_bpf_exclude_add(h, ...)               for each excluded inside prefix
 *     tg_bpf_set_listeners(h, dir, fds, n)     once listening: steering starts here
 *     loop: tg_bpf_events_fd(h) in epoll -> tg_bpf_events_poll(h, 0, cb, ctx)
 *     tg_bpf_close(h)                          on exit (everything stays attached)
 * and `tlsgated --detach`: tg_bpf_open_pinned(pin_dir, &h); tg_bpf_detach(h); tg_bpf_close(h).
 *
 * bpf/ is a leaf (lib/ only): steer.bpf.c and enforce.bpf.c with their shared headers (common.h,
 * steer.h, enforce.h, metrics.h; maps.bpf.h and parse.bpf.h on the BPF side only), loader.c
 * (this header), tc.c (clsact filters), route.c (the steering route via rtnetlink), metrics.c
 * (pinned counters), events.c (the drop ring buffer).  policy_entry.h is the one thing it takes
 * from outside: the policy as the kernel's LPM trie holds it.
 */
#ifndef TLSGATE_BPF_LOADER_H
#define TLSGATE_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/common.h"
#include "bpf/enforce.h"
#include "bpf/policy_entry.h"

struct tg_bpf;

#define TG_STEER_MARK_DEFAULT 0x7467	/* "tg" */
#define TG_ROUTE_TABLE_DEFAULT 0x7467

struct tg_bpf_opts {
	size_t sz;			/* sizeof(struct tg_bpf_opts) */
	const char *pin_dir;		/* NULL: TG_PIN_DIR_DEFAULT */
	const char *const *inside;	/* NULL-terminated names: steer_inside on tc ingress */
	const char *const *outside;	/* enforce_egress + enforce_ingress on tc egress/ingress */
	bool steer_inbound;		/* also steer_outside on the outside interfaces' ingress */
	const uint16_t *ports;		/* SMTP ports, steered and policed; NULL: just 25 */
	size_t nports;
	const uint16_t *enforce_ports;	/* SMTP ports policed but not steered (e.g. 587) */
	size_t nenforce_ports;
	const uint16_t *tls_ports;	/* implicit TLS (465): policed as TLS from the first byte */
	size_t ntls_ports;
	uint32_t steer_mark;		/* 0: TG_STEER_MARK_DEFAULT */
	uint32_t route_table;		/* 0: TG_ROUTE_TABLE_DEFAULT */
	uint32_t relay_mark;		/* a SO_MARK that also means the relay (0: none) */
	uint32_t relay_mask;		/* 0: 0xffffffff */
	enum tg_may_down may_down;	/* `may` destinations while the daemon is down */
	uint32_t default_rule[2];	/* by TG_DIR_*: rule when no prefix matches */
	uint8_t default_level[2];	/* TG_LEVEL_* (outbound: may, inbound: none, by default) */
	bool default_level_set;		/* false: use those defaults and ignore default_level */
};

/*
 * Load (reusing pinned maps), configure, pin, add routes if anything is steered, attach.  With
 * no interfaces it only loads and pins (tests, benchmarks).  0 or -errno; *out on success.
 */
int tg_bpf_open(const struct tg_bpf_opts *opts, struct tg_bpf **out);
/* Only the pinned maps of a pin directory (no load, no attach): detach, events, listener. */
int tg_bpf_open_pinned(const char *pin_dir, struct tg_bpf **out);
/* Free the handle; programs, filters, routes and pins stay. */
void tg_bpf_close(struct tg_bpf *h);
/* Remove our filters (and clsact where we created it), the routes and the pins. */
int tg_bpf_detach(struct tg_bpf *h);

/*
 * The listeners steered connections go to, per direction (TG_DIR_OUTBOUND: steer_inside;
 * TG_DIR_INBOUND: steer_outside, to an inside MX's address): fd[w] = { IPv4, IPv6 } of worker w
 * (-1: none of that family), n workers (at most TG_LISTEN_WORKERS; lone sockets, not in a
 * SO_REUSEPORT group: bpf/steer.h).  Each flow goes to one of them by its hash, always the same
 * one while the set stays; n = 0 stops steering (outbound: the enforcer considers the daemon
 * down).  Workers are added and removed so that no packet meets a half-written set.
 */
int tg_bpf_set_listeners(struct tg_bpf *h, int dir, const int (*fd)[2], unsigned int n);
/* One worker's (tests, helpers); both -1: steering stops. */
int tg_bpf_set_listener(struct tg_bpf *h, int fd4, int fd6);
int tg_bpf_set_inbound_listener(struct tg_bpf *h, int fd4, int fd6);

/*
 * Replace the whole policy.  Entries are sorted by prefix; a prefix's [host]:port entries
 * (port != 0, at most TG_POLICY_PORTS) follow its any-port entry.  The spare of two LPM tries
 * made at tg_bpf_open() is emptied, filled and then swapped into tg_policy's one slot with a
 * single map update, so every packet sees either the old or the new policy, never a mix; the
 * kernel waits for program runs still using the old trie before the update returns, so it is
 * the next spare.  No map is created here: this works without CAP_BPF.
 */
int tg_bpf_policy_replace(struct tg_bpf *h, const struct tg_bpf_policy_entry *e, size_t n);

/*
 * Register one of the caller's sockets as the relay's (tg_relay sk storage): the enforcer lets
 * its packets pass and steering leaves them alone.  Needs no capability (kernel >= 5.19 with
 * kernel.unprivileged_bpf_disabled set); only the caller's own fds can be named.  0 or -errno.
 */
int tg_bpf_relay_socket(struct tg_bpf *h, int sock_fd);
/*
 * After set-up, before the process drops its privileges: close every fd the running daemon does
 * not need (tg_config, tg_exclude, tg_flows, counters, tg_attach, programs and the skeletons).
 * A map fd stays writable without any capability; what is kept is tg_policy and its two tries
 * (policy swaps), tg_listen (steering stops at shutdown), tg_events (its ring buffer must be set
 * up before) and tg_relay.  tg_bpf_exclude_*() fail afterwards.
 */
void tg_bpf_keep_runtime(struct tg_bpf *h);

/* Inside source prefixes never steered (family AF_INET/AF_INET6, addr in network order). */
int tg_bpf_exclude_add(struct tg_bpf *h, int family, const void *addr, unsigned int prefix_len);
int tg_bpf_exclude_del(struct tg_bpf *h, int family, const void *addr, unsigned int prefix_len);

/* Drop events (bpf/events.c). */
typedef void (*tg_bpf_event_cb)(const struct tg_event *e, void *ctx);
/* A file descriptor that becomes readable when events are waiting (for epoll); or -errno. */
int tg_bpf_events_fd(struct tg_bpf *h);
/* Consume waiting events (waiting up to timeout_ms); the number consumed or -errno. */
int tg_bpf_events_poll(struct tg_bpf *h, int timeout_ms, tg_bpf_event_cb cb, void *ctx);
/* One log line: "reason=plaintext-mail rule=7 dir=outbound client=... server=... detail=MAIL". */
int tg_bpf_event_format(const struct tg_event *e, char *buf, size_t len);

/* For tests and benchmarks. */
enum tg_bpf_prog {
	TG_PROG_STEER_INSIDE,
	TG_PROG_STEER_OUTSIDE,
	TG_PROG_ENFORCE_EGRESS,
	TG_PROG_ENFORCE_INGRESS,
};
int tg_bpf_prog_fd(const struct tg_bpf *h, enum tg_bpf_prog p);
/* A map's fd by its pinned name ("tg_flows", ...); -ENOENT for an unknown name. */
int tg_bpf_map_fd(const struct tg_bpf *h, const char *name);
const char *tg_bpf_pin_dir(const struct tg_bpf *h);

#endif
