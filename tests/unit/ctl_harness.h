/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test harness for the control plane (test_ctl_*.c): the real control server runs in the test
 * process, single-threaded as in tlsgated, while clients run in forked children (fork from a
 * single-threaded process is safe) and talk to it over real NETLINK_USERSOCK sockets.  What a
 * child learns goes back through a shared anonymous mapping; its exit status says whether it
 * got that far.
 */
#ifndef TLSGATE_TESTS_UNIT_CTL_HARNESS_H
#define TLSGATE_TESTS_UNIT_CTL_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/server.h"

struct shared {
	volatile int ready;	    /* the child is set up: harness_run calls when_ready */
	int err;		    /* the child's last result */
	char msg[NLPROTO_TEXT_MAX]; /* and the text that came with it */
	int count;
	uint64_t ids[8192];
	char text[4096];
	int errs[8]; /* several results from one child */
	char msgs[8][512];
};

struct harness {
	char dir[64]; /* RUNDIR */
	struct control_server *cs;
	struct shared *sh;
};

static inline int harness_open(struct harness *h, const struct control_server_opts *base,
			       const struct control_ops *ops, void *ctx)
{
	struct control_server_opts o = *base;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/tg-ctl-test.XXXXXX");
	if (!mkdtemp(h->dir))
		return -errno;
	/* Unprivileged children must read RUNDIR/ctl, as tlsgatectl does for group members. */
	chmod(h->dir, 0755);
	h->sh = mmap(NULL, sizeof(*h->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if (h->sh == MAP_FAILED)
		return -errno;
	o.run_dir = h->dir;
	return control_server_open(&o, ops, ctx, &h->cs);
}

static inline void harness_close(struct harness *h)
{
	char path[96];

	control_server_close(h->cs);
	h->cs = NULL;
	snprintf(path, sizeof(path), "%s/ctl", h->dir);
	unlink(path);
	rmdir(h->dir);
	if (h->sh && h->sh != MAP_FAILED)
		munmap(h->sh, sizeof(*h->sh));
}

typedef int (*harness_child_fn)(struct harness *h, void *arg);
typedef void (*harness_ready_fn)(struct harness *h, void *arg);

/*
 * Run child(h, arg) in a forked process while serving requests here; once the child sets
 * h->sh->ready, when_ready(h, arg) runs here (once).  Returns the child's exit status (or
 * 128 + signal), after at most 30 s (then the child is killed and 255 returned).
 */
static inline int harness_run2(struct harness *h, harness_child_fn child,
			       harness_ready_fn when_ready, void *arg)
{
	bool readied = false;

	int pidfd, status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 254;
	if (pid == 0)
		_exit(child(h, arg));
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (int i = 0; i < 3000; i++) {
		struct pollfd pfd[2] = {
			{.fd = control_server_fd(h->cs), .events = POLLIN},
			{.fd = pidfd, .events = POLLIN},
		};

		if (poll(pfd, 2, 10) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			control_server_handle(h->cs);
		if (when_ready && !readied && h->sh->ready) {
			readied = true;
			when_ready(h, arg);
		}
		if (pidfd < 0 ? waitpid(pid, &status, WNOHANG) == pid : (pfd[1].revents & POLLIN))
			goto reap;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (pidfd >= 0)
		close(pidfd);
	return 255;
reap:
	if (pidfd >= 0) {
		waitpid(pid, &status, 0);
		close(pidfd);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int harness_run(struct harness *h, harness_child_fn child, void *arg)
{
	return harness_run2(h, child, NULL, arg);
}

#endif
