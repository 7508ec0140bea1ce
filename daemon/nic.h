/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The outside interfaces' TLS offload (hw/ does the asking): probed at start, set per
 * `nic_offload` (auto: report; on/off: the ethtool bits, refusals logged with the reason),
 * re-read for `tlsgatectl status` and `stats`; and what sessions learn from the kernel about
 * their own sockets (daemon/session_nic.c): per-direction counts of sw / hw sessions, and the
 * sessions each interface carries in hardware now.
 */
#ifndef TLSGATE_DAEMON_NIC_H
#define TLSGATE_DAEMON_NIC_H

#include <stdbool.h>
#include <sys/socket.h>

#include "control/nlproto.h"
#include "control/server.h"
#include "daemon/config.h"
#include "hw/hw.h"

struct nic_table;
struct nic_entry;

/* nic_offload's syntax: "auto|on|off" for every outside interface, or "IF:MODE ...". */
int nic_config_check(const struct config *c, char *err, size_t errlen);

/* Probe (and set, as root, before the privilege drop) every outside interface.  0, or -ENOMEM;
 * an interface that cannot be probed or set is logged and reported, never fatal. */
int nic_setup(const struct config *c, struct nic_table **out);
void nic_free(struct nic_table *t);

/* For `tlsgatectl status` (re-reads the features and counters; main thread). */
void nic_status(struct nic_table *t, struct nlproto_status *st);
/* Metric families: features, driver counters, the kernel's device gauges, session counts. */
int nic_report(struct nic_table *t, control_metric_cb cb, void *arg);

/* Sessions (any worker).  The outside interface the kernel routes connected fd's packets out
 * of (RTM_GETROUTE with its source, mark and bound device), or NULL. */
struct nic_entry *nic_for_socket(struct nic_table *t, int fd);
const char *nic_entry_ifname(const struct nic_entry *e);
/* Its TLS TX offload is on now (as last read). */
bool nic_tx_offload_on(const struct nic_entry *e);
/* One session's kernel-reported kTLS state, counted per direction. */
void nic_count_conf(struct nic_table *t, enum hw_tls_conf tx, enum hw_tls_conf rx);
/* A session starts (+1) or stops (-1) being carried by e's hardware in tx / rx. */
void nic_hold(struct nic_entry *e, bool tx, bool rx, int delta);

#endif
