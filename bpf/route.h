/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local delivery bpf_sk_assign needs: a steered packet's destination is not a local address,
 * so routing would forward it.  For both families:
 *     ip rule add fwmark MARK lookup TABLE pref TG_RULE_PREF
 *     ip route add local default dev lo table TABLE
 * in the current network namespace, over rtnetlink (libnl-route-3).
 */
#ifndef TLSGATE_BPF_ROUTE_H
#define TLSGATE_BPF_ROUTE_H

#include <stdint.h>

#define TG_RULE_PREF 1000

/* Adds what is missing (an existing identical rule or route is fine); 0 or -errno. */
int tg_route_add(uint32_t mark, uint32_t table);
/* Removes both rules and both routes; missing ones are fine; 0 or the first -errno. */
int tg_route_del(uint32_t mark, uint32_t table);

#endif
