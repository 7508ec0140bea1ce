// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon/diag_helper.c, played by a compromised daemon: the helper is started as the daemon
 * starts it (as root, one thread) for the user nobody, then attacked from that uid and over its
 * channels.  Asserts: its credentials are exactly uid nobody with CAP_NET_ADMIN effective,
 * permitted and bounding, nothing inheritable or ambient, no_new_privs; it holds its channels,
 * its sock_diag socket and /dev/null only; from the same uid ptrace, /proc/PID/mem and
 * process_vm_readv fail; empty, short, oversized and wrong-magic datagrams each get -EBADMSG and
 * it answers on; a socket of another user is -EPERM, a tuple with the wrong cookie is not found;
 * threads asking at once each get their own answer; a dead helper is -EPIPE; the
 * helper exits when its daemon dies.  (On this host, with fs.suid_dumpable 0, the uid change
 * alone would make it non-dumpable and the capability rule alone would stop ptrace; the
 * explicit PR_SET_DUMPABLE 0 is for suid_dumpable 1 or 2.)  Needs root (skipped otherwise).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/diag_helper.h"

#define NOBODY 65534
#define OTHER_UID 4242

static struct privdrop pd_nobody = {.drop = true, .uid = NOBODY, .gid = NOBODY, .name = "nobody"};

/* A connected loopback TCP pair; the client socket is created with euid `owner`. */
static void tcp_pair(uid_t owner, int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	/* the socket's owner (sk_uid) is the creator's fsuid */
	assert_int_equal(setresuid((uid_t)-1, owner, (uid_t)-1), 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setresuid((uid_t)-1, 0, (uid_t)-1), 0);
	assert_true(*client >= 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*server >= 0);
	close(l);
}

static int setup(void **state)
{
	struct diag_helper *h;

	if (geteuid())
		skip(); /* the helper is started by root */
	assert_int_equal(diag_helper_start(&pd_nobody, 2, &h), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	diag_helper_stop(*state);
	return 0;
}

/* The value of "Key:" in /proc/PID/status. */
static void status_field(pid_t pid, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	val[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			snprintf(val, len, "%s", line + strlen(key) + 1);
			val[strcspn(val, "\n")] = '\0';
			while (val[0] && (val[strlen(val) - 1] == ' ' || val[strlen(val) - 1] == '\t'))
				val[strlen(val) - 1] = '\0';
			memmove(val, val + strspn(val, " \t"), strlen(val + strspn(val, " \t")) + 1);
		}
	fclose(f);
}

static void test_credentials(void **state)
{
	pid_t pid = diag_helper_pid(*state);
	struct stat st;
	char v[128];

	status_field(pid, "Name", v, sizeof(v));
	assert_string_equal(v, "tlsgated-diag");
	status_field(pid, "Uid", v, sizeof(v));
	assert_string_equal(v, "65534\t65534\t65534\t65534");
	status_field(pid, "Gid", v, sizeof(v));
	assert_string_equal(v, "65534\t65534\t65534\t65534");
	status_field(pid, "Groups", v, sizeof(v));
	assert_string_equal(v, "65534");
	/* CAP_NET_ADMIN is bit 12 */
	status_field(pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, "0000000000001000");
	status_field(pid, "CapPrm", v, sizeof(v));
	assert_string_equal(v, "0000000000001000");
	status_field(pid, "CapBnd", v, sizeof(v));
	assert_string_equal(v, "0000000000001000");
	status_field(pid, "CapInh", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapAmb", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	/* not dumpable: its /proc files are root's, not its user's (proc_pid_make_inode) */
	snprintf(v, sizeof(v), "/proc/%d/mem", (int)pid);
	assert_int_equal(stat(v, &st), 0);
	assert_int_equal(st.st_uid, 0);
}

/* Its fds: 0-2 on /dev/null, its two channel ends, one netlink socket; nothing of ours. */
static void test_fds(void **state)
{
	int canary = open("/dev/zero", O_RDONLY); /* a non-CLOEXEC fd the daemon has */
	struct diag_helper *h;
	char path[64], target[128];
	int sockets = 0, devnull = 0, other = 0;

	(void)state;
	assert_true(canary >= 0);
	assert_int_equal(diag_helper_start(&pd_nobody, 2, &h), 0);
	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)diag_helper_pid(h), fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, "socket:", 7))
			sockets++;
		else if (!strcmp(target, "/dev/null"))
			devnull++;
		else
			other++, print_message("# helper fd %d -> %s\n", fd, target);
	}
	assert_int_equal(sockets, 3);
	assert_int_equal(devnull, 3);
	assert_int_equal(other, 0);
	diag_helper_stop(h);
	close(canary);
}

/* From the daemon's uid (nobody here): no way into the helper's memory. */
static void test_same_uid_cannot_read_it(void **state)
{
	pid_t pid = diag_helper_pid(*state), child;
	int st;

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char path[64], buf[16];
		struct iovec local = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct iovec remote = {.iov_base = (void *)&pd_nobody, .iov_len = sizeof(buf)};
		int fails = 0, fd;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDONLY);
		fails += fd < 0 && (errno == EACCES || errno == EPERM);
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		fails += open(path, O_RDONLY) < 0;
		fails += ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0 && errno == EPERM;
		fails += ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0 && errno == EPERM;
		fails += process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 && errno == EPERM;
		_exit(fails);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5); /* all five refused */
	assert_int_equal(kill(pid, 0), 0);	  /* and it is still there */
}

static void raw_answer(int fd, struct diag_helper_ans *a)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(fd, a, sizeof(*a), 0), (ssize_t)sizeof(*a));
	assert_int_equal(a->magic, DIAG_HELPER_MAGIC);
}

static void test_malformed_requests(void **state)
{
	struct diag_helper *h = *state;
	int fd = diag_helper_channel_fd(h, 0), c, s;
	static char big[65536];
	struct diag_helper_req req = {.magic = DIAG_HELPER_MAGIC, .seq = 77};
	const size_t sizes[] = {0, 1, sizeof(req) - 1, sizeof(req) + 1, sizeof(req) + 64,
				sizeof(req) + 65, sizeof(big)};
	struct diag_helper_ans a;
	struct hw_tls_diag d;

	memset(big, 0x41, sizeof(big));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memcpy(big, &req, sizeof(req));
		assert_int_equal(send(fd, big, sizes[i], 0), (ssize_t)sizes[i]);
		raw_answer(fd, &a);
		assert_int_equal(a.err, -EBADMSG);
		assert_int_equal(a.seq, 0);
	}
	/* the right size with the wrong magic */
	req.magic = 0xdeadbeef;
	assert_int_equal(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	raw_answer(fd, &a);
	assert_int_equal(a.err, -EBADMSG);
	/* a well-formed request for a family sock_diag has no TCP in */
	req.magic = DIAG_HELPER_MAGIC;
	req.id.family = AF_UNIX;
	assert_int_equal(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	raw_answer(fd, &a);
	assert_int_equal(a.seq, 77);
	assert_int_equal(a.err, -EAFNOSUPPORT);
	/* a real socket's tuple with another cookie: not that socket */
	tcp_pair(0, &c, &s);
	assert_int_equal(hw_diag_id_of(c, &req.id), 0);
	req.id.cookie++;
	assert_int_equal(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	raw_answer(fd, &a);
	/* the kernel says -ENOENT (6.x; -ESTALE before) */
	assert_true(a.err == -ENOENT || a.err == -ESTALE);
	assert_false(a.d.found);
	/* ... and it still answers properly */
	assert_int_equal(diag_helper_ask(h, c, &d), 0);
	assert_true(d.found);
	assert_int_equal(d.uid, 0);
	close(c);
	close(s);
}

/* Another user's socket is not the daemon's to ask about. */
static void test_other_users_socket(void **state)
{
	struct hw_tls_diag d;
	int c, s;

	tcp_pair(OTHER_UID, &c, &s);
	assert_int_equal(diag_helper_ask(*state, c, &d), -EPERM);
	assert_false(d.found);
	close(c);
	close(s);
	tcp_pair(NOBODY, &c, &s);
	assert_int_equal(diag_helper_ask(*state, c, &d), 0);
	assert_true(d.found);
	assert_int_equal(d.uid, NOBODY);
	close(c);
	close(s);
}

struct asker {
	struct diag_helper *h;
	int fd;
	int want; /* 0 (found) or -EPERM */
	int bad;
};

static void *ask_loop(void *p)
{
	struct asker *a = p;

	for (int i = 0; i < 300; i++) {
		struct hw_tls_diag d;
		int rc = diag_helper_ask(a->h, a->fd, &d);

		a->bad += rc != a->want || (rc == 0 && (!d.found || d.uid != 0));
	}
	return NULL;
}

/* Six threads on two channels, half asking about root's sockets (answered), half about another
 * user's (refused): an answer given to the wrong thread would show. */
static void test_concurrent(void **state)
{
	struct asker as[6];
	pthread_t th[6];
	int peer[6];

	for (int i = 0; i < 6; i++) {
		as[i] = (struct asker){.h = *state, .want = i % 2 ? -EPERM : 0};
		tcp_pair(i % 2 ? OTHER_UID : 0, &as[i].fd, &peer[i]);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ask_loop, &as[i]), 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(as[i].bad, 0);
		close(as[i].fd);
		close(peer[i]);
	}
}

static void wait_gone(pid_t pid)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = pfd, .events = POLLIN};

	assert_true(pfd >= 0);
	assert_int_equal(poll(&p, 1, 5000), 1); /* readable: the process exited */
	close(pfd);
}

/* A helper killed (by anyone) is -EPIPE from then on; relaying is the caller's. */
static void test_dead_helper(void **state)
{
	struct diag_helper *h;
	struct hw_tls_diag d;
	int c, s;

	(void)state;
	assert_int_equal(diag_helper_start(&pd_nobody, 1, &h), 0);
	tcp_pair(0, &c, &s);
	assert_int_equal(diag_helper_ask(h, c, &d), 0);
	assert_int_equal(kill(diag_helper_pid(h), SIGKILL), 0);
	wait_gone(diag_helper_pid(h));
	assert_int_equal(diag_helper_ask(h, c, &d), -EPIPE);
	assert_int_equal(diag_helper_ask(h, c, &d), -EPIPE);
	diag_helper_stop(h);
	close(c);
	close(s);
}

/* The daemon is killed: its helper goes with it. */
static void test_dies_with_daemon(void **state)
{
	int pipefd[2], st;
	pid_t daemon, helper = 0;

	(void)state;
	/* orphans come to us, so that the helper's exit can be waited for */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe(pipefd), 0);
	daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0) {
		struct diag_helper *h;

		close(pipefd[0]);
		if (diag_helper_start(&pd_nobody, 2, &h))
			_exit(1);
		helper = diag_helper_pid(h);
		if (write(pipefd[1], &helper, sizeof(helper)) != sizeof(helper))
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &helper, sizeof(helper)), (ssize_t)sizeof(helper));
	close(pipefd[0]);
	assert_int_equal(kill(helper, 0), 0);
	assert_int_equal(kill(daemon, SIGKILL), 0);
	assert_int_equal(waitpid(daemon, &st, 0), daemon);
	wait_gone(helper);
	assert_int_equal(waitpid(helper, &st, 0), helper);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_uid_cannot_read_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_users_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_helper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dies_with_daemon, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
