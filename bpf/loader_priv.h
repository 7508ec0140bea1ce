/* SPDX-License-Identifier: GPL-2.0-only */
/* The loader's handle, shared by bpf/loader.c and bpf/events.c only. */
#ifndef TLSGATE_BPF_LOADER_PRIV_H
#define TLSGATE_BPF_LOADER_PRIV_H

#include <limits.h>

#include "bpf/loader.h"

/* The maps, by pinned name; every handle holds its own fd of each. */
enum tg_map_id {
	TG_MAP_CONFIG,
	TG_MAP_POLICY,
	TG_MAP_LISTEN,
	TG_MAP_STATS,
	TG_MAP_RULE_STATS,
	TG_MAP_EXCLUDE,
	TG_MAP_FLOWS,
	TG_MAP_EVENTS,
	TG_MAP_ATTACH,
	TG_MAP_PLAIN,
	TG_MAP_RELAY,
	TG_MAP_N,
};

struct steer_bpf;
struct enforce_bpf;
struct ring_buffer;

struct tg_bpf {
	char pin_dir[PATH_MAX];
	struct steer_bpf *steer;	/* NULL when opened from pins */
	struct enforce_bpf *enf;
	int map_fd[TG_MAP_N];
	int prog_fd[4];			/* by enum tg_bpf_prog; -1 when not loaded here */
	int trie_fd[2];			/* the two policy tries, used in turn (-1: none) */
	int trie_live;			/* which of them is in tg_policy now (-1: neither) */
	struct ring_buffer *rb;
	tg_bpf_event_cb cb;
	void *cb_ctx;
	__u64 *base_ports;		/* TG_PORT_WORDS: the configured policed ports (NULL from pins) */
};

extern const char *const tg_map_names[TG_MAP_N];

#endif
