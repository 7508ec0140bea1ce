/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's own counters as metric families (daemon/counters.c). */
#ifndef TLSGATE_DAEMON_COUNTERS_H
#define TLSGATE_DAEMON_COUNTERS_H

#include "control/server.h"
#include "daemon/gateway.h"

/*
 * Every counter of c, one family at a time through cb (control/server.h's metrics op): 0, or
 * cb's first failure.  Values are read one by one, not as one snapshot.
 */
int counters_report(const struct gateway_counters *c, control_metric_cb cb, void *arg);

#endif
