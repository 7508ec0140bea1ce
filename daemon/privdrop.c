// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/privdrop.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int privdrop_resolve(const struct config *c, struct privdrop *pd)
{
	const char *name = c->user && c->user[0] ? c->user : PRIVDROP_DEFAULT_USER;
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	memset(pd, 0, sizeof(*pd));
	snprintf(pd->name, sizeof(pd->name), "%s", name);
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (!res && (c->user && c->user[0])) {
		log_err("privileges user=%s error=\"%s\"", name,
			rc ? strerror(rc) : "no such user");
		return rc ? -rc : -ENOENT;
	}
	if (!res || !pw.pw_uid) {
		/* Said loudly: this is the configuration that gives an exploit root. */
		if (res)
			log_warn("privileges user=%s: tlsgated keeps root and every capability while "
				 "it reads the network",
				 name);
		else
			log_warn("privileges user=%s does not exist: tlsgated keeps root and every "
				 "capability while it reads the network (create it: adduser --system "
				 "--group %s; or set user = root to say this is intended)",
				 name, name);
		return 0;
	}
	if (c->relay_mark) {
		log_err("privileges user=%s: relay_mark = %#x needs CAP_NET_ADMIN in the workers, "
			"which they do not keep: remove relay_mark (the enforcer knows the relay's "
			"sockets from tg_relay) or set user = root",
			name, c->relay_mark);
		return -EINVAL;
	}
	pd->drop = true;
	pd->uid = pw.pw_uid;
	pd->gid = pw.pw_gid;
	return 0;
}

static bool dir_is_empty(int fd)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	bool empty = true;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/*
 * run_dir and state_dir become the user's.  Only a directory we create here or find empty is
 * taken over: a misconfigured run_dir = /run must not hand /run to the daemon's user.
 */
static int own_dir(const char *key, const char *dir, mode_t mode, const struct privdrop *pd)
{
	bool created;
	struct stat st;
	int fd, rc = 0;

	if (!dir || !dir[0])
		return 0;
	created = !mkdir(dir, mode);
	if (!created && errno != EEXIST) {
		rc = -errno;
		log_err("privileges %s=%s error=\"mkdir: %s\"", key, dir, strerror(errno));
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		log_err("privileges %s=%s error=\"%s\"", key, dir, strerror(errno));
		goto out;
	}
	if (st.st_uid == pd->uid)
		goto out;
	if (!created && !dir_is_empty(fd)) {
		rc = -EPERM;
		log_err("privileges %s=%s is owned by uid %u, not by user=%s, and not empty: "
			"tlsgated does not take it over (chown %s it)",
			key, dir, st.st_uid, pd->name, pd->name);
		goto out;
	}
	if (fchown(fd, pd->uid, pd->gid)) {
		rc = -errno;
		log_err("privileges %s=%s error=\"chown: %s\"", key, dir, strerror(errno));
		goto out;
	}
	log_info("privileges %s=%s now owned by user=%s", key, dir, pd->name);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Can pd's user create and rename files in dir?  (access() would answer for root.) */
static bool user_can_write_dir(const char *dir, const struct privdrop *pd)
{
	struct stat st;

	if (stat(dir, &st))
		return false;
	if (st.st_uid == pd->uid)
		return st.st_mode & S_IWUSR;
	if (st.st_gid == pd->gid)
		return st.st_mode & S_IWGRP;
	return st.st_mode & S_IWOTH;
}

/*
 * A policy file is rewritten by `tlsgatectl policy add|del|import` (a temporary file next to
 * it, renamed over it, owner and mode kept): the file must be the user's, its directory
 * writable by the user.  The file is given; the directory (/etc/tlsgate) is the admin's to open
 * (the package makes it root:tlsgate 1775): without it edits fail, and we say so now.
 */
static int own_policy(const char *key, const char *path, const struct privdrop *pd)
{
	char *copy, *dir;
	struct stat st;
	int fd, rc = 0;

	if (!path || !path[0])
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* policy_load has said what it thinks of that */
		rc = -errno;
		log_err("privileges %s=%s error=\"%s\"", key, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		log_err("privileges %s=%s error=not-a-regular-file", key, path);
		goto out;
	}
	if ((st.st_uid != pd->uid || st.st_gid != pd->gid) && fchown(fd, pd->uid, pd->gid)) {
		rc = -errno;
		log_err("privileges %s=%s error=\"chown: %s\"", key, path, strerror(errno));
		goto out;
	}
	copy = strdup(path);
	dir = copy ? dirname(copy) : NULL;
	if (dir && !user_can_write_dir(dir, pd))
		log_warn("privileges %s=%s: directory %s is not writable by user=%s: tlsgatectl "
			 "policy add/del/import will fail (make it group %s, mode 1775)",
			 key, path, dir, pd->name, pd->name);
	free(copy);
out:
	close(fd);
	return rc;
}

int privdrop_prepare(const struct config *c, const struct privdrop *pd)
{
	int rc;

	if (!pd->drop)
		return 0;
	rc = own_dir("run_dir", c->run_dir, 0755, pd);
	if (!rc)
		rc = own_dir("state_dir", c->state_dir, 0750, pd);
	if (!rc)
		rc = own_policy("outbound_policy", c->outbound_policy, pd);
	if (!rc)
		rc = own_policy("inbound_policy", c->inbound_policy, pd);
	return rc;
}

int privdrop_give(const struct privdrop *pd, const char *path)
{
	int rc = 0;

	if (pd->drop && lchown(path, pd->uid, pd->gid)) {
		rc = -errno;
		log_err("privileges %s error=\"chown: %s\"", path, strerror(errno));
	}
	return rc;
}

/* Capabilities are per thread: the drop must happen while this thread is the only one. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

static int caps_clear(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

int privdrop_apply(const struct privdrop *pd)
{
	struct __user_cap_data_struct caps[2];
	uid_t ru = 0, eu = 0, su = 0;
	gid_t rg = 0, eg = 0, sg = 0; /* for the log when getresuid itself fails */
	const char *step;
	int n, rc = 0;

	if (!pd->drop)
		return 0;
	n = thread_count();
	if (n != 1) {
		log_err("privileges: %d threads before the drop (want 1): not dropping halfway", n);
		return -EBUSY;
	}
	step = "no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto fail;
	/* The bounding set too, where we may (CAP_SETPCAP); after the uid change with
	 * no_new_privs nothing could bring a capability back anyway. */
	for (unsigned long cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM)
			break; /* EINVAL: past the kernel's last capability */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		step = "ambient";
		goto fail;
	}
	step = "setgroups";
	if (setgroups(1, &pd->gid))
		goto fail;
	step = "setresgid";
	if (setresgid(pd->gid, pd->gid, pd->gid))
		goto fail;
	/* Leaving uid 0 clears permitted and effective (no SECBIT_KEEP_CAPS); a start as the
	 * user itself with ambient capabilities is cleared by the capset below. */
	step = "setresuid";
	if (setresuid(pd->uid, pd->uid, pd->uid))
		goto fail;
	step = "capset";
	rc = caps_clear();
	if (rc)
		goto fail_rc;
	/* Trust, but check: what a failed step above would have left. */
	step = "check";
	rc = caps_get(caps);
	if (rc)
		goto fail_rc;
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != pd->uid ||
	    eu != pd->uid || su != pd->uid || rg != pd->gid || eg != pd->gid || sg != pd->gid ||
	    caps[0].effective || caps[1].effective || caps[0].permitted || caps[1].permitted ||
	    caps[0].inheritable || caps[1].inheritable || !setresuid(0, 0, 0)) {
		rc = -EPERM;
		log_err("privileges: still privileged after the drop (uid %u/%u/%u gid %u/%u/%u "
			"cap_eff %#x%08x)",
			ru, eu, su, rg, eg, sg, caps[1].effective, caps[0].effective);
		return rc;
	}
	log_info("privileges dropped user=%s uid=%u gid=%u capabilities=none no_new_privs=1",
		 pd->name, pd->uid, pd->gid);
	return 0;
fail:
	rc = -errno;
fail_rc:
	log_err("privileges: cannot become user=%s (uid %u gid %u): %s: %s", pd->name, pd->uid,
		pd->gid, step, strerror(-rc));
	return rc;
}
