// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: RUNDIR/ctl as tlsgatectl reads it (control/runfile.c), the input being the file.
 * Beyond the sanitizers it traps when a promise breaks:
 *   - the verdict and the values are a reference reading's: whole lines, key=digits, pid and
 *     port required, unknown keys ignored, the last of a key counting;
 *   - control_runfile_remove removes the file only when it names exactly that pid and port;
 *   - what control_runfile_write writes reads back as the same values.
 * kill(pid, 0) on the pid read sends no signal; it only tells a stale file (-ESRCH).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/runfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                              \
	do {                                                                                  \
		if (!(x)) {                                                                   \
			fprintf(stderr, "fuzz_runfile: %s:%d: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                     \
		}                                                                             \
	} while (0)

static char dir[64], path[96];

static bool model(const uint8_t *d, size_t len, struct control_runinfo *ri)
{
	bool pid = false, port = false;
	size_t off = 0;

	memset(ri, 0, sizeof(*ri));
	if (len > 4096 || memchr(d, '\0', len))
		return false;
	while (off < len) {
		const uint8_t *line = d + off, *nl = memchr(line, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - line) : len - off, klen, vlen;
		const uint8_t *eq = memchr(line, '=', llen);
		uint64_t v = 0;

		off += llen + 1;
		if (!eq)
			continue;
		klen = (size_t)(eq - line);
		vlen = llen - klen - 1;
		if (!vlen || vlen > 10)
			return false;
		for (size_t i = 0; i < vlen; i++) {
			if (eq[1 + i] < '0' || eq[1 + i] > '9')
				return false;
			v = v * 10 + (uint64_t)(eq[1 + i] - '0');
		}
		if (v > UINT32_MAX)
			return false;
		if (klen == 3 && !memcmp(line, "pid", 3)) {
			if (!v || v > INT32_MAX)
				return false;
			ri->pid = (pid_t)v;
			pid = true;
		} else if (klen == 4 && !memcmp(line, "port", 4)) {
			ri->port = (uint32_t)v;
			port = true;
		} else if (klen == 12 && !memcmp(line, "events_group", 12)) {
			ri->events_group = (uint32_t)v;
		} else if (klen == 8 && !memcmp(line, "protocol", 8)) {
			ri->protocol = (uint32_t)v;
		}
	}
	return pid && port && ri->events_group <= 32;
}

static void put(const uint8_t *d, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	check(fd >= 0);
	check(write(fd, d, len) == (ssize_t)len);
	close(fd);
}

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static bool exists(void)
{
	struct stat st;

	return !stat(path, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_runinfo want, got, back;
	bool ok = model(data, size, &want);
	char msg[512];
	int rc;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_runfile.XXXXXX");
		check(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/%s", dir, CTL_RUN_FILE);
		atexit(cleanup);
	}
	put(data, size);
	msg[0] = '\0';
	rc = control_runfile_read(dir, &got, msg, sizeof(msg));
	if (!ok) {
		check(rc == -EINVAL && strstr(msg, "garbled"));
		check(!control_runfile_remove(dir, 1, 1) && exists());
		goto out;
	}
	check(rc == 0 || rc == -ESRCH);
	check(got.pid == want.pid && got.port == want.port);
	check(got.events_group == want.events_group && got.protocol == want.protocol);
	check(got.owner == getuid());
	if (rc)
		check(strstr(msg, "stale"));
	/* remove: only for exactly this daemon */
	check(!control_runfile_remove(dir, want.pid, want.port + 1) && exists());
	check(!control_runfile_remove(dir, want.pid == 1 ? 2 : 1, want.port) && exists());
	check(!control_runfile_remove(dir, want.pid, want.port) && !exists());
	/* and what the daemon writes reads back */
	check(!control_runfile_write(dir, &want));
	rc = control_runfile_read(dir, &back, msg, sizeof(msg));
	check(rc == 0 || rc == -ESRCH);
	check(back.pid == want.pid && back.port == want.port);
	check(back.events_group == want.events_group && back.protocol == want.protocol);
out:
	unlink(path);
	return 0;
}
