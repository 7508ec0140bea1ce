// SPDX-License-Identifier: GPL-2.0-only
/*
 * control/auth.c: who may read and who may change, decided from the kernel's
 * SCM_CREDENTIALS.  The decisive cases are real: forked children drop to `nobody` (with and
 * without the admin group as a supplementary group) and ask the real control server over
 * NETLINK_USERSOCK; the kernel, not the test, supplies their credentials.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl_harness.h"
#include "control/auth.h"
#include "control/client.h"
#include "lib/log.h"

/* ---- the decision itself ---- */

static void test_check_rules(void **state)
{
	struct control_auth a = {.group = "tlsgate", .have_group = true, .gid = 4242};
	struct control_auth none = {.group = "tlsgate", .have_group = false};
	struct ucred root = {.pid = getpid(), .uid = 0, .gid = 0};
	struct ucred user = {.pid = getpid(), .uid = 1000, .gid = 1000};
	struct ucred member = {.pid = getpid(), .uid = 1000, .gid = 4242};
	char msg[512];

	(void)state;
	assert_int_equal(control_auth_check(&a, &root, CTL_ACCESS_WRITE, "policy add", msg, 512), 0);
	assert_int_equal(control_auth_check(&none, &root, CTL_ACCESS_READ, "status", msg, 512), 0);
	assert_int_equal(control_auth_check(&a, &user, CTL_ACCESS_WRITE, "policy add", msg, 512),
			 -EPERM);
	assert_string_equal(msg, "permission denied: policy add changes tlsgated and needs root "
				 "(request from uid 1000)");
	/* primary group from the credentials themselves */
	assert_int_equal(control_auth_check(&a, &member, CTL_ACCESS_READ, "status", msg, 512), 0);
	assert_int_equal(control_auth_check(&a, &member, CTL_ACCESS_WRITE, "reload", msg, 512), -EPERM);
	/* the group does not exist: say so */
	assert_int_equal(control_auth_check(&none, &user, CTL_ACCESS_READ, "status", msg, 512), -EPERM);
	assert_non_null(strstr(msg, "group tlsgate, which does not exist on this host"));
	/* pid is ours but uid 1000 is not: the pid does not vouch for that uid */
	assert_int_equal(control_auth_check(&a, &user, CTL_ACCESS_READ, "status", msg, 512), -EPERM);
	assert_non_null(strstr(msg, "could not be verified"));
	assert_int_equal(control_auth_check(&a, NULL, CTL_ACCESS_READ, "status", msg, 512), -EPERM);
	assert_string_equal(msg, "permission denied: status: request carried no credentials");
}

static void test_proc_groups(void **state)
{
	gid_t groups[64];
	int n = getgroups(64, groups);
	pid_t pid;

	(void)state;
	assert_int_equal(control_auth_proc_has_group(getpid(), getuid(), getegid()), 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(control_auth_proc_has_group(getpid(), getuid(), groups[i]), 1);
	assert_int_equal(control_auth_proc_has_group(getpid(), getuid(), 54321), 0);
	assert_int_equal(control_auth_proc_has_group(getpid(), getuid() + 1, getegid()), -EPERM);
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	assert_int_equal(control_auth_proc_has_group(pid, getuid(), getegid()), -ESRCH);
	assert_int_equal(control_auth_proc_has_group(0, 0, 0), -ESRCH);
}

/* ---- for real: unprivileged children against the real server ---- */

static int adds, statuses;

static int op_status(void *ctx, struct nlproto_status *st)
{
	(void)ctx;
	statuses++;
	snprintf(st->version, sizeof(st->version), "test");
	return 0;
}

static int op_add(void *ctx, enum nlproto_dir dir, const char *line, control_rule_cb cb, void *arg,
		  char *msg, size_t msglen)
{
	(void)ctx;
	(void)dir;
	(void)line;
	(void)cb;
	(void)arg;
	(void)msg;
	(void)msglen;
	adds++;
	return 0;
}

static const struct control_ops ops = {.status = op_status, .policy_add = op_add};

/* The group the server admits readers from: one that exists here and that nobody lacks. */
static const char *admin_group(gid_t *gid)
{
	struct group *g = getgrgid(100); /* "users" on Debian */

	if (!g)
		return NULL;
	*gid = g->gr_gid;
	return g->gr_name;
}

struct who {
	bool with_group;
	gid_t gid;
};

static int ask(struct control_client *c, struct harness *h, uint16_t type, int slot)
{
	struct nl_msg *req = control_client_msg(type, 0, 0);

	if (type == NLPROTO_MSG_POLICY_ADD)
		nla_put_string(req, NLPROTO_A_LINE, "example.org encrypt");
	h->sh->errs[slot] = control_client_call(c, req, NULL, NULL, h->sh->msgs[slot], 512);
	nlmsg_free(req);
	return 0;
}

static int child_nobody(struct harness *h, void *arg)
{
	const struct who *w = arg;
	struct passwd *pw = getpwnam("nobody");
	struct control_monitor *m;
	struct control_client *c;

	if (!pw)
		return 20;
	if (setgroups(w->with_group ? 1 : 0, &w->gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid) ||
	    getuid() != pw->pw_uid || geteuid() != pw->pw_uid)
		return 21;
	if (control_client_open(h->dir, 5000, &c, h->sh->msg, sizeof(h->sh->msg)))
		return 22;
	ask(c, h, NLPROTO_MSG_STATUS_GET, 0);
	ask(c, h, NLPROTO_MSG_POLICY_ADD, 1);
	control_client_close(c);
	/* and events: the kernel keeps the unprivileged out of USERSOCK groups */
	h->sh->errs[2] = control_monitor_open(h->dir, &m, h->sh->msgs[2], 512);
	if (!h->sh->errs[2])
		control_monitor_close(m);
	return 0;
}

static int child_root(struct harness *h, void *arg)
{
	struct control_client *c;

	(void)arg;
	if (control_client_open(h->dir, 5000, &c, h->sh->msg, sizeof(h->sh->msg)))
		return 22;
	ask(c, h, NLPROTO_MSG_STATUS_GET, 0);
	ask(c, h, NLPROTO_MSG_POLICY_ADD, 1);
	control_client_close(c);
	return 0;
}

static void test_unprivileged_over_netlink(void **state)
{
	struct control_server_opts o = {0};
	struct control_server_stats st;
	struct harness h;
	struct who w = {0};
	char want[256];

	(void)state;
	if (geteuid() != 0 || !getpwnam("nobody"))
		skip(); /* dropping to another uid needs root, and a `nobody` user */
	o.group = admin_group(&w.gid);
	if (!o.group)
		skip();
	assert_int_equal(harness_open(&h, &o, &ops, NULL), 0);

	/* nobody, without the group: may neither read nor write */
	w.with_group = false;
	assert_int_equal(harness_run(&h, child_nobody, &w), 0);
	assert_int_equal(h.sh->errs[0], -EPERM);
	snprintf(want, sizeof(want),
		 "permission denied: status needs root or membership in group %s (request from "
		 "uid %u)",
		 o.group, (unsigned int)getpwnam("nobody")->pw_uid);
	assert_string_equal(h.sh->msgs[0], want);
	assert_int_equal(h.sh->errs[1], -EPERM);
	assert_non_null(strstr(h.sh->msgs[1], "policy add changes tlsgated and needs root"));
	assert_int_equal(h.sh->errs[2], -EPERM);
	assert_non_null(strstr(h.sh->msgs[2], "monitor needs root (CAP_NET_ADMIN)"));
	assert_int_equal(statuses, 0);
	assert_int_equal(adds, 0);

	/* nobody with the group as a supplementary group: reads, still no writes */
	w.with_group = true;
	assert_int_equal(harness_run(&h, child_nobody, &w), 0);
	assert_int_equal(h.sh->errs[0], 0);
	assert_int_equal(h.sh->errs[1], -EPERM);
	assert_int_equal(statuses, 1);
	assert_int_equal(adds, 0);

	/* root: both */
	assert_int_equal(harness_run(&h, child_root, NULL), 0);
	assert_int_equal(h.sh->errs[0], 0);
	assert_int_equal(h.sh->errs[1], 0);
	assert_int_equal(statuses, 2);
	assert_int_equal(adds, 1);

	control_server_stats(h.cs, &st);
	assert_int_equal(st.denied, 3);
	harness_close(&h);
}


/* ---- a flood from an unprivileged user ---- */

#define FLOOD_MSGS 100000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int nl_socket_to(struct harness *h, struct sockaddr_nl *to, int bufsz)
{
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);

	memset(to, 0, sizeof(*to));
	to->nl_family = AF_NETLINK;
	to->nl_pid = control_server_port(h->cs);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)))
		return -1;
	/* FORCE while still root: the datagram is as large as the (2.4 MB) */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	return fd;
}

/*
 * nobody sends one datagram of 100 000 STATUS_GET requests (each would be denied), then counts
 * the error replies it gets.
 */
static int child_flood(struct harness *h, void *arg)
{
	struct passwd *pw = getpwnam("nobody");
	struct nl_msg *one = control_client_msg(NLPROTO_MSG_STATUS_GET, NLM_F_ACK, 0);
	size_t len = nlmsg_hdr(one)->nlmsg_len, total = len * FLOOD_MSGS;
	struct timeval tv = {.tv_usec = 500000};
	struct sockaddr_nl to;
	char *buf = malloc(total), rx[8192];
	int fd = nl_socket_to(h, &to, 8 << 20);

	(void)arg;
	if (!pw || !buf || fd < 0)
		return 20;
	for (size_t i = 0; i < FLOOD_MSGS; i++) {
		memcpy(buf + i * len, nlmsg_hdr(one), len);
		((struct nlmsghdr *)(buf + i * len))->nlmsg_seq = (uint32_t)i + 1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return 21;
	if (sendto(fd, buf, total, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)total)
		return 22;
	h->sh->ready = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (recv(fd, rx, sizeof(rx), 0) > 0)
		h->sh->count++;
	close(fd);
	free(buf);
	nlmsg_free(one);
	return 0;
}

static void test_denied_flood(void **state)
{
	struct control_server_opts o = {0};
	struct control_server_stats st;
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_STATUS_GET, 0, 0);
	struct sockaddr_nl to;
	struct harness h;
	char rx[8192];
	uint64_t t0, took;
	int fd, status, big = 8 << 20;
	bool answered = false;
	gid_t gid;
	pid_t pid;

	(void)state;
	if (geteuid() != 0 || !getpwnam("nobody"))
		skip(); /* dropping to another uid needs root, and a `nobody` user */
	o.group = admin_group(&gid);
	if (!o.group)
		skip();
	assert_int_equal(harness_open(&h, &o, &ops, NULL), 0);
	setsockopt(control_server_fd(h.cs), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	statuses = 0;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_flood(&h, NULL));
	for (int i = 0; i < 1000 && !h.sh->ready; i++)
		usleep(10000); /* the flood is queued before root asks: nothing to poll for */
	assert_true(h.sh->ready);
	/* root asks while the flood waits in the queue ahead of it */
	fd = nl_socket_to(&h, &to, 65536);
	assert_true(fd >= 0);
	assert_true(sendto(fd, nlmsg_hdr(req), nlmsg_hdr(req)->nlmsg_len, 0,
			   (struct sockaddr *)&to, sizeof(to)) > 0);
	t0 = now_ms();
	for (int i = 0; i < 1000 && !answered; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		control_server_handle(h.cs);
		answered = poll(&p, 1, 0) == 1 && recv(fd, rx, sizeof(rx), 0) > 0;
	}
	took = now_ms() - t0;
	assert_true(answered);
	print_message("root's status answered %llu ms after it was sent, behind the flood\n",
		      (unsigned long long)took);
	assert_true(took < 100);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* one answer for the whole datagram; the work it caused was one credential check */
	assert_int_equal(h.sh->count, 1);
	assert_int_equal(statuses, 1);
	control_server_stats(h.cs, &st);
	assert_int_equal(st.denied, 1);
	close(fd);
	nlmsg_free(req);
	harness_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_rules),
		cmocka_unit_test(test_proc_groups),
		cmocka_unit_test(test_unprivileged_over_netlink),
		cmocka_unit_test(test_denied_flood),
	};

	tg_log_init("test_ctl_auth", 0);
	tg_log_set_level(TG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
