/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RUNDIR/ctl: how tlsgatectl finds tlsgated's netlink port without guessing.  The daemon writes
 * it atomically once its socket is bound and removes it on exit; the CLI reads it and tells a
 * missing daemon from a stale file.  Format, one key=value per line (unknown keys ignored):
 *     pid=1234
 *     port=1234
 *     events_group=23
 *     protocol=1
 */
#ifndef TLSGATE_CONTROL_RUNFILE_H
#define TLSGATE_CONTROL_RUNFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_RUN_DIR "/run/tlsgate"
#define CTL_RUN_FILE "ctl"

struct control_runinfo {
	pid_t pid;
	uint32_t port;	       /* netlink port id of the daemon's control socket */
	uint32_t events_group; /* multicast group the daemon publishes events to */
	uint32_t protocol;     /* NLPROTO_VERSION of the daemon */
	uid_t owner;	       /* read: the file's owner; replies must come from this uid */
};

/* Write run_dir/ctl (creating run_dir, mode 0755) by temp file, fsync and rename.  0 / -errno. */
int control_runfile_write(const char *run_dir, const struct control_runinfo *ri);

/*
 * Read run_dir/ctl and check that its daemon is alive.  -ENOENT "tlsgated is not running (no
 * /run/tlsgate/ctl)", -ESRCH "... (stale /run/tlsgate/ctl: pid N gone)", -EINVAL garbled, or
 * another -errno; msg says it in words.
 */
int control_runfile_read(const char *run_dir, struct control_runinfo *ri, char *msg, size_t msglen);

/* Remove run_dir/ctl if it still names this pid and port (never a newer daemon's file). */
int control_runfile_remove(const char *run_dir, pid_t pid, uint32_t port);

#endif
