/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Privilege separation in time: tlsgated starts as root, does everything that needs privilege
 * (BPF load/attach/pins, tc filters, routes, listeners on port 25 with IP_TRANSPARENT, the
 * control socket, certificates), then becomes the configured `user` with no capabilities at all
 * before the first worker thread exists, so every thread that reads the network runs
 * unprivileged.  See docs/ARCHITECTURE.md, "Privileges".
 *
 *     privdrop_resolve(cfg, &pd)      at configuration time (--check-config reports errors too)
 *     privdrop_prepare(cfg, &pd)      as root: run_dir, state_dir and policy files owned by user
 *     privdrop_give(&pd, path)        one more file of the user's (the control runfile)
 *     privdrop_apply(&pd)             the drop; any failure is an error (never a silent root run)
 */
#ifndef TLSGATE_DAEMON_PRIVDROP_H
#define TLSGATE_DAEMON_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon/config.h"

#define PRIVDROP_DEFAULT_USER "tlsgate"

struct privdrop {
	bool drop;		/* false: stay as we are (user = root, or no such default user) */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Look the user up.  0 (pd filled) or -errno with the reason logged. */
int privdrop_resolve(const struct config *c, struct privdrop *pd);
/* Give the user the files it writes later.  0 or -errno (logged). */
int privdrop_prepare(const struct config *c, const struct privdrop *pd);
/* One more file for the user (the control runfile: clients trust replies from its owner). */
int privdrop_give(const struct privdrop *pd, const char *path);
/* Become the user with no capabilities, no_new_privs, and check it.  0 or -errno (logged). */
int privdrop_apply(const struct privdrop *pd);

#endif
