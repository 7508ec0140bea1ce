// SPDX-License-Identifier: GPL-2.0-only
/* RUNDIR/ctl: written by the control server, read by tlsgatectl (see control_runfile.h). */
#include "control/runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_of(char *buf, size_t len, const char *run_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", run_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int control_runfile_write(const char *run_dir, const struct control_runinfo *ri)
{
	char path[4096], tmp[4096], text[256];
	int fd = -1, err, n;

	err = path_of(path, sizeof(path), run_dir, CTL_RUN_FILE);
	err = err ?: path_of(tmp, sizeof(tmp), run_dir, "." CTL_RUN_FILE ".XXXXXX");
	if (err)
		return err;
	if (mkdir(run_dir, 0755) && errno != EEXIST)
		return -errno;
	n = snprintf(text, sizeof(text),
		     "pid=%d\nport=%" PRIu32 "\nevents_group=%" PRIu32 "\nprotocol=%" PRIu32 "\n",
		     (int)ri->pid, ri->port, ri->events_group, ri->protocol);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	/* Readers are root and the tlsgate group, maybe others: the content is no secret. */
	errno = 0;
	if (fchmod(fd, 0644) || write(fd, text, (size_t)n) != n || fsync(fd)) {
		err = errno ? -errno : -EIO;
		goto out;
	}
	if (rename(tmp, path)) {
		err = -errno;
		goto out;
	}
	err = 0;
out:
	close(fd);
	if (err)
		unlink(tmp);
	return err;
}

/* The file is a few dozen bytes; anything near this is not ours. */
#define RUNFILE_MAX 4096

/* A decimal number, digits only, up to UINT32_MAX (strtoull would take " 5", "+5", "-1"). */
static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (!len || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/*
 * Whole lines of the whole file: read line by line into a fixed buffer, a long line came back
 * as two, and the second was read as a line of its own.
 */
static int parse(FILE *f, struct control_runinfo *ri)
{
	char buf[RUNFILE_MAX + 1];
	bool have_pid = false, have_port = false;
	size_t len = fread(buf, 1, sizeof(buf), f), off = 0;

	if (ferror(f))
		return -EIO;
	if (len > RUNFILE_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off), *eq;
		size_t llen = nl ? (size_t)(nl - line) : len - off;
		uint32_t v;

		off += llen + 1;
		eq = memchr(line, '=', llen);
		if (!eq)
			continue;
		if (parse_u32(eq + 1, llen - (size_t)(eq + 1 - line), &v))
			return -EINVAL;
#define KEY_IS(k) ((size_t)(eq - line) == strlen(k) && !memcmp(line, k, strlen(k)))
		if (KEY_IS("pid")) {
			if (!v || v > INT32_MAX)
				return -EINVAL;
			ri->pid = (pid_t)v;
			have_pid = true;
		} else if (KEY_IS("port")) {
			ri->port = v;
			have_port = true;
		} else if (KEY_IS("events_group")) {
			ri->events_group = v;
		} else if (KEY_IS("protocol")) {
			ri->protocol = v;
		}
#undef KEY_IS
	}
	if (!have_pid || !have_port || ri->events_group > 32)
		return -EINVAL;
	return 0;
}

int control_runfile_read(const char *run_dir, struct control_runinfo *ri, char *msg, size_t msglen)
{
	char path[4096];
	struct stat st;
	FILE *f;
	int err;

	memset(ri, 0, sizeof(*ri));
	err = path_of(path, sizeof(path), run_dir, CTL_RUN_FILE);
	if (err) {
		snprintf(msg, msglen, "run directory name too long");
		return err;
	}
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		if (err == -ENOENT)
			snprintf(msg, msglen, "tlsgated is not running (no %s)", path);
		else
			snprintf(msg, msglen, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fileno(f), &st)) {
		err = -errno;
		snprintf(msg, msglen, "cannot stat %s: %s", path, strerror(-err));
		goto out;
	}
	ri->owner = st.st_uid;
	err = parse(f, ri);
	if (err) {
		snprintf(msg, msglen, "%s is garbled (want pid=, port= lines)", path);
		goto out;
	}
	/* EPERM means alive but not ours to signal: a non-root CLI asking a root daemon. */
	if (kill(ri->pid, 0) && errno == ESRCH) {
		err = -ESRCH;
		snprintf(msg, msglen, "tlsgated is not running (stale %s: pid %d gone)", path,
			 (int)ri->pid);
	}
out:
	fclose(f);
	return err;
}

int control_runfile_remove(const char *run_dir, pid_t pid, uint32_t port)
{
	struct control_runinfo ri = {0};
	char path[4096];
	FILE *f;
	int err;

	err = path_of(path, sizeof(path), run_dir, CTL_RUN_FILE);
	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	err = parse(f, &ri);
	fclose(f);
	if (err || ri.pid != pid || ri.port != port)
		return 0;
	return unlink(path) ? -errno : 0;
}
