// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control request authorisation (see control_auth.h).
 *
 * Group membership is read from /proc/PID/status of the sender, not from the group database
 * (getgrouplist).  SCM_CREDENTIALS carries a pid, uid and gid but no supplementary groups, and
 * of the two ways to learn them the process's own list is the one that matches how the kernel
 * grants file access: a process that dropped its groups (a sandboxed service running as a member
 * user, setgroups(0, NULL)) stays out, and `sg tlsgate -c 'tlsgatectl status'` or newgrp work as
 * they do for files.  getgrouplist would also mean an NSS lookup per request, which may block the
 * event loop.  The known weakness is pid reuse between send and check; requiring the process's
 * real uid to equal the kernel-attested uid means a reused pid can only ever belong to the same
 * user, and then only read access is at stake.
 */
#include "control/auth.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void control_auth_init(struct control_auth *a, const char *group)
{
	struct group *gr;

	memset(a, 0, sizeof(*a));
	snprintf(a->group, sizeof(a->group), "%s", group ? group : CTL_GROUP);
	gr = getgrnam(a->group);
	if (gr) {
		a->have_group = true;
		a->gid = gr->gr_gid;
	}
}

/* "Uid:\t0\t0\t0\t0" -> the first (real) id. */
static int first_id(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s ? -EINVAL : 0;
}

/* Is gid in a whitespace-separated list of ids ("Groups:\t4 24 27 ")? */
static bool in_list(const char *s, gid_t gid)
{
	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s)
			break;
		if (v == gid)
			return true;
		s = end;
	}
	return false;
}

int control_auth_proc_has_group(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], *line = NULL;
	bool uid_ok = false, member = false;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned long v;

		if (!strncmp(line, "Uid:", 4)) {
			err = first_id(line + 4, &v);
			if (err)
				goto out;
			uid_ok = v == uid;
		} else if (!strncmp(line, "Gid:", 4)) {
			/* real, effective, saved, fs: any of the first two counts, as for files */
			char *p = line + 4, *end;

			for (int i = 0; i < 2; i++, p = end) {
				v = strtoul(p, &end, 10);
				if (end == p)
					break;
				member |= v == gid;
			}
		} else if (!strncmp(line, "Groups:", 7)) {
			member |= in_list(line + 7, gid);
		}
	}
	err = !uid_ok ? -EPERM : member;
out:
	free(line);
	fclose(f);
	return err;
}

int control_auth_check(const struct control_auth *a, const struct ucred *cred, enum control_access need,
		   const char *what, char *msg, size_t msglen)
{
	int r;

	if (!cred) {
		snprintf(msg, msglen, "permission denied: %s: request carried no credentials",
			 what);
		return -EPERM;
	}
	if (cred->uid == 0)
		return 0;
	if (need == CTL_ACCESS_WRITE) {
		snprintf(msg, msglen,
			 "permission denied: %s changes tlsgated and needs root (request from uid "
			 "%u)",
			 what, (unsigned int)cred->uid);
		return -EPERM;
	}
	if (!a->have_group) {
		snprintf(msg, msglen,
			 "permission denied: %s needs root or group %s, which does not exist on "
			 "this host (request from uid %u)",
			 what, a->group, (unsigned int)cred->uid);
		return -EPERM;
	}
	if (cred->gid == a->gid)
		return 0;
	r = control_auth_proc_has_group(cred->pid, cred->uid, a->gid);
	if (r == 1)
		return 0;
	if (r < 0)
		snprintf(msg, msglen,
			 "permission denied: %s needs root or group %s; the groups of pid %d "
			 "(uid %u) could not be verified: %s",
			 what, a->group, (int)cred->pid, (unsigned int)cred->uid, strerror(-r));
	else
		snprintf(msg, msglen,
			 "permission denied: %s needs root or membership in group %s (request from "
			 "uid %u)",
			 what, a->group, (unsigned int)cred->uid);
	return -EPERM;
}
