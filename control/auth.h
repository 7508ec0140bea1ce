/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who may ask tlsgated what.  Every control request arrives with SCM_CREDENTIALS that the kernel
 * filled in or validated (a sender can claim only its own pid and uids without CAP_SYS_ADMIN /
 * CAP_SETUID); those are what we trust.  Reading (status, policy show/check, session list) is
 * for root and members of the admin group (default "tlsgate"); changing anything is root only.
 */
#ifndef TLSGATE_CONTROL_AUTH_H
#define TLSGATE_CONTROL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CTL_GROUP "tlsgate"

enum control_access {
	CTL_ACCESS_READ,
	CTL_ACCESS_WRITE,
};

struct control_auth {
	char group[64];	 /* the admin group's name, for messages */
	bool have_group; /* it exists on this host */
	gid_t gid;
};

/*
 * Resolve the group once, at start-up: getgrnam() may go to NSS (LDAP...) and block, which the
 * event loop must never do per request.  A missing group is not an error: reading is then root
 * only, and requests are told why.
 */
void control_auth_init(struct control_auth *a, const char *group);

/*
 * 0 when cred may do `what` (a command name for the message), else -EPERM with the reason in msg.
 * cred NULL (no SCM_CREDENTIALS: cannot happen with SO_PASSCRED on) is refused.
 */
int control_auth_check(const struct control_auth *a, const struct ucred *cred, enum control_access need,
		   const char *what, char *msg, size_t msglen);

/*
 * Whether live process `pid`, whose real uid must be `uid`, holds `gid` (effective gid or a
 * supplementary group), from /proc/PID/status.  1 yes, 0 no; -ESRCH when the process is gone
 * (or invisible in our pid namespace), -EPERM when that pid now belongs to another uid.
 */
int control_auth_proc_has_group(pid_t pid, uid_t uid, gid_t gid);

#endif
