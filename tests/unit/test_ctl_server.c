// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control plane end to end over real NETLINK_USERSOCK sockets: control/server.c with
 * a test ops table in this process, control/client.c in forked children (ctl_harness.h).
 * Requests and replies, dump paging, extended acks, malformed and oversized requests, a client
 * that never reads, RUNDIR/ctl.  Events: test_ctl_events.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl_harness.h"
#include "control/client.h"
#include "control/runfile.h"
#include "control/server.h"
#include "lib/log.h"

/* ---- the test daemon: ops over a little state in this process ---- */

struct tctx {
	uint32_t nrules; /* rules with ids 16, 18, 20, ... */
	int dump_calls;
	uint32_t afters[64];
	int adds;
	char last_line[256];
	char import_name[64];
	size_t import_len;
	uint64_t import_sum;
	uint64_t killed;
	int status_calls;
};

static struct tctx T;

static uint32_t rule_id(uint32_t i)
{
	return 16 + 2 * i;
}

static int op_status(void *ctx, struct nlproto_status *st)
{
	(void)ctx;
	T.status_calls++;
	snprintf(st->version, sizeof(st->version), "9.9.9-test");
	st->uptime = 42;
	st->ktls = false;
	snprintf(st->ktls_reason, sizeof(st->ktls_reason), "kernel has no tls ULP");
	st->sessions = 3;
	st->rules_out = T.nrules;
	return 0;
}

static int op_policy_dump(void *ctx, int dir, uint32_t after, control_rule_cb cb, void *arg)
{
	char key[64];

	(void)ctx;
	(void)dir;
	if (T.dump_calls < 64)
		T.afters[T.dump_calls] = after;
	T.dump_calls++;
	for (uint32_t i = 0; i < T.nrules; i++) {
		struct nlproto_rule r = {.id = rule_id(i), .level = "encrypt", .key = key};
		int err;

		if (r.id <= after)
			continue;
		snprintf(key, sizeof(key), "d%u.example.org", i);
		err = cb(arg, &r);
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

static int op_policy_add(void *ctx, enum nlproto_dir dir, const char *line, control_rule_cb cb,
			 void *arg, char *msg, size_t msglen)
{
	struct nlproto_rule r = {.id = 16, .dir = dir, .key = "example.org", .level = "encrypt"};

	(void)ctx;
	T.adds++;
	snprintf(T.last_line, sizeof(T.last_line), "%s", line);
	if (strstr(line, "encrpyt")) {
		snprintf(msg, msglen, "policy add:1:13: unknown security level 'encrpyt'");
		return -EINVAL;
	}
	snprintf(msg, msglen, "added rule 16");
	return cb(arg, &r) < 0 ? -EIO : 0;
}

static int op_policy_import(void *ctx, enum nlproto_dir dir, const char *name, const char *data,
			    size_t len, char *msg, size_t msglen)
{
	(void)ctx;
	(void)dir;
	snprintf(T.import_name, sizeof(T.import_name), "%s", name);
	T.import_len = len;
	T.import_sum = 0;
	for (size_t i = 0; i < len; i++)
		T.import_sum = T.import_sum * 31 + (unsigned char)data[i];
	snprintf(msg, msglen, "imported %zu bytes", len);
	return 0;
}

static int op_session_dump(void *ctx, uint64_t after, control_session_cb cb, void *arg)
{
	(void)ctx;
	for (uint64_t id = after + 1; id <= 5; id++) {
		struct nlproto_session s = {
			.id = id, .client_addr = "192.0.2.10", .state = "relay"};
		int err;

		if (id == T.killed)
			continue;
		err = cb(arg, &s);
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

static int op_session_kill(void *ctx, uint64_t id, char *msg, size_t msglen)
{
	(void)ctx;
	if (id > 5 || id == T.killed) {
		snprintf(msg, msglen, "no session %llu", (unsigned long long)id);
		return -ENOENT;
	}
	T.killed = id;
	return 0;
}

static const struct control_ops ops = {
	.status = op_status,
	.policy_dump = op_policy_dump,
	.policy_add = op_policy_add,
	.policy_import = op_policy_import,
	.session_dump = op_session_dump,
	.session_kill = op_session_kill,
};

static int setup(void **state)
{
	static struct harness h;
	struct control_server_opts o = {0};

	memset(&T, 0, sizeof(T));
	if (harness_open(&h, &o, &ops, NULL))
		return -1;
	*state = &h;
	return 0;
}

static int setup_small(void **state)
{
	static struct harness h;
	struct control_server_opts o = {.max_request = 65536};

	memset(&T, 0, sizeof(T));
	if (harness_open(&h, &o, &ops, NULL))
		return -1;
	*state = &h;
	return 0;
}

static int teardown(void **state)
{
	harness_close(*state);
	return 0;
}

/* In a child: connect, or exit 10. */
static struct control_client *connect_or_exit(struct harness *h)
{
	struct control_client *c;

	if (control_client_open(h->dir, 5000, &c, h->sh->msg, sizeof(h->sh->msg)))
		_exit(10);
	return c;
}

/* ---- status ---- */

static int status_cb(void *arg, const struct nlmsghdr *nlh)
{
	struct harness *h = arg;
	struct nlproto_status st;

	if (nlh->nlmsg_type != NLPROTO_MSG_STATUS ||
	    nlproto_parse_status(nlh, &st, h->sh->msg, sizeof(h->sh->msg)))
		return -EBADMSG;
	snprintf(h->sh->text, sizeof(h->sh->text), "%s|%u|%llu|%s|%s", st.version, st.pid,
		 (unsigned long long)st.uptime, st.ktls_reason, st.log_level);
	h->sh->count++;
	return 0;
}

static int child_status(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_STATUS_GET, 0, 0);

	(void)arg;
	h->sh->err = control_client_call(c, req, status_cb, h, h->sh->msg, sizeof(h->sh->msg));
	nlmsg_free(req);
	control_client_close(c);
	return 0;
}

static void test_status(void **state)
{
	struct harness *h = *state;
	char want[256];

	assert_int_equal(harness_run(h, child_status, NULL), 0);
	assert_int_equal(h->sh->err, 0);
	assert_int_equal(h->sh->count, 1);
	/* pid and log level are filled by the server itself */
	snprintf(want, sizeof(want), "9.9.9-test|%d|42|kernel has no tls ULP|%s", (int)getpid(),
		 tg_log_level_name(tg_log_get_level()));
	assert_string_equal(h->sh->text, want);
	assert_int_equal(T.status_calls, 1);
}

/* ---- dump paging ---- */

static int rule_ids_cb(void *arg, const struct nlmsghdr *nlh)
{
	struct harness *h = arg;
	const char *mb[4];
	struct nlproto_rule r;
	char msg[128];

	if (nlh->nlmsg_type != NLPROTO_MSG_POLICY || !(nlh->nlmsg_flags & NLM_F_MULTI) ||
	    nlproto_parse_rule(nlh, &r, mb, 4, msg, sizeof(msg)) || h->sh->count == 8192)
		return -EBADMSG;
	h->sh->ids[h->sh->count++] = r.id;
	return 0;
}

static int child_dump(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_POLICY_GET, NLM_F_DUMP, 0);

	(void)arg;
	h->sh->err = control_client_call(c, req, rule_ids_cb, h, h->sh->msg, sizeof(h->sh->msg));
	nlmsg_free(req);
	control_client_close(c);
	return 0;
}

static void test_dump_paging(void **state)
{
	struct harness *h = *state;
	struct control_server_stats st;
	int pages;

	T.nrules = 3000;
	assert_int_equal(harness_run(h, child_dump, NULL), 0);
	assert_int_equal(h->sh->err, 0);
	/* every rule exactly once, in order, although it took several pages */
	assert_int_equal(h->sh->count, 3000);
	for (uint32_t i = 0; i < 3000; i++)
		assert_int_equal(h->sh->ids[i], rule_id(i));
	control_server_stats(h->cs, &st);
	pages = T.dump_calls;
	assert_true(pages > 3);
	assert_int_equal(st.pages, pages);
	/* each page resumed after the last id of the one before */
	assert_int_equal(T.afters[0], 0);
	for (int p = 1; p < pages && p < 64; p++) {
		assert_true(T.afters[p] > T.afters[p - 1]);
		assert_int_equal((T.afters[p] - 16) % 2, 0);
	}
	/* an empty list is one empty page */
	T.nrules = 0;
	T.dump_calls = 0;
	h->sh->count = 0;
	assert_int_equal(harness_run(h, child_dump, NULL), 0);
	assert_int_equal(h->sh->err, 0);
	assert_int_equal(h->sh->count, 0);
	assert_int_equal(T.dump_calls, 1);
}

/* ---- writes: ack with text, errors with extended ack text ---- */

static int added_cb(void *arg, const struct nlmsghdr *nlh)
{
	struct harness *h = arg;
	const char *mb[4];
	struct nlproto_rule r;
	char msg[128];

	if (nlh->nlmsg_type != NLPROTO_MSG_POLICY || nlproto_parse_rule(nlh, &r, mb, 4, msg, 128))
		return -EBADMSG;
	h->sh->ids[h->sh->count++] = r.id;
	return 0;
}

static int add(struct control_client *c, struct harness *h, const char *line, int slot)
{
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_POLICY_ADD, 0, 0);

	nla_put_string(req, NLPROTO_A_LINE, line);
	h->sh->errs[slot] = control_client_call(c, req, added_cb, h, h->sh->msgs[slot], 512);
	nlmsg_free(req);
	return h->sh->errs[slot];
}

static int child_add(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);

	(void)arg;
	add(c, h, "example.org encrypt protocols=>=TLSv1.2", 0);
	add(c, h, "example.org encrpyt", 1);
	control_client_close(c);
	return 0;
}

static void test_add_ack_and_extended_error(void **state)
{
	struct harness *h = *state;

	assert_int_equal(harness_run(h, child_add, NULL), 0);
	assert_int_equal(h->sh->errs[0], 0);
	assert_string_equal(h->sh->msgs[0], "added rule 16");
	assert_int_equal(h->sh->count, 1); /* the failed add returned no rule */
	assert_int_equal(h->sh->ids[0], 16);
	assert_int_equal(h->sh->errs[1], -EINVAL);
	assert_string_equal(h->sh->msgs[1], "policy add:1:13: unknown security level 'encrpyt'");
	assert_int_equal(T.adds, 2);
	assert_string_equal(T.last_line, "example.org encrpyt");
}

/* ---- requests the server must refuse ---- */

static int call_raw(struct control_client *c, struct harness *h, struct nl_msg *req, int slot)
{
	h->sh->errs[slot] = control_client_call(c, req, NULL, NULL, h->sh->msgs[slot], 512);
	nlmsg_free(req);
	return 0;
}

static int child_refused(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);

	(void)arg;
	/* a request type this daemon does not know */
	call_raw(c, h, control_client_msg(0x7f, 0, 0), 0);
	/* no protocol version */
	call_raw(c, h, nlmsg_alloc_simple(NLPROTO_MSG_STATUS_GET, NLM_F_REQUEST), 1);
	/* policy add without a line */
	call_raw(c, h, control_client_msg(NLPROTO_MSG_POLICY_ADD, 0, 0), 2);
	/* an op the daemon did not implement */
	call_raw(c, h, control_client_msg(NLPROTO_MSG_RELOAD, 0, 0), 3);
	/* policy show must be a dump */
	call_raw(c, h, control_client_msg(NLPROTO_MSG_POLICY_GET, 0, 0), 4);
	control_client_close(c);
	return 0;
}

static void test_refused_requests(void **state)
{
	struct harness *h = *state;

	assert_int_equal(harness_run(h, child_refused, NULL), 0);
	assert_int_equal(h->sh->errs[0], -EOPNOTSUPP);
	assert_string_equal(h->sh->msgs[0],
			    "unknown request message type 0x7f (this tlsgated speaks control "
			    "protocol 1)");
	assert_int_equal(h->sh->errs[1], -EPROTO);
	assert_string_equal(h->sh->msgs[1], "no protocol version attribute");
	assert_int_equal(h->sh->errs[2], -EINVAL);
	assert_string_equal(h->sh->msgs[2], "malformed request: the policy line missing");
	assert_int_equal(h->sh->errs[3], -EOPNOTSUPP);
	assert_string_equal(h->sh->msgs[3], "reload is not supported by this tlsgated");
	assert_int_equal(h->sh->errs[4], -EINVAL);
	assert_int_equal(T.adds, 0);
}

/* ---- garbage on the wire ---- */

static int child_garbage(struct harness *h, void *arg)
{
	struct control_runinfo ri;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK}, me = {.nl_family = AF_NETLINK};
	struct nlmsghdr lie = {
		.nlmsg_len = 1000,
		.nlmsg_type = NLPROTO_MSG_STATUS_GET,
		.nlmsg_flags = NLM_F_REQUEST,
		.nlmsg_seq = 77,
	};
	struct timeval tv = {.tv_sec = 5};
	unsigned char junk[300], buf[8192];
	const char *text;
	int fd, e;
	ssize_t n;

	(void)arg;
	if (control_runfile_read(h->dir, &ri, h->sh->msg, sizeof(h->sh->msg)))
		return 10;
	to.nl_pid = ri.port;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)))
		return 11;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* bytes that are no message at all, a stray ack, random junk: no answer, no crash */
	sendto(fd, "abc", 3, 0, (struct sockaddr *)&to, sizeof(to));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to, sizeof(to));
	/* a header that claims 1000 bytes, 16 sent: answered, from the header */
	sendto(fd, &lie, sizeof(lie), 0, (struct sockaddr *)&to, sizeof(to));
	/* (the junk may look like a truncated request too and get its own answer first) */
	do {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)NLMSG_HDRLEN)
			return 12;
	} while (((struct nlmsghdr *)buf)->nlmsg_seq != 77);
	h->sh->ids[0] = ((struct nlmsghdr *)buf)->nlmsg_seq;
	if (((struct nlmsghdr *)buf)->nlmsg_type != NLMSG_ERROR ||
	    nlproto_error_parse((struct nlmsghdr *)buf, &e, &text))
		return 13;
	h->sh->errs[0] = e;
	snprintf(h->sh->msgs[0], sizeof(h->sh->msgs[0]), "%s", text ? text : "");
	close(fd);
	/* and the daemon still answers properly */
	child_status(h, NULL);
	return 0;
}

static void test_garbage_datagrams(void **state)
{
	struct harness *h = *state;
	struct control_server_stats st;

	assert_int_equal(harness_run(h, child_garbage, NULL), 0);
	assert_int_equal(h->sh->ids[0], 77);
	assert_int_equal(h->sh->errs[0], -EBADMSG);
	assert_string_equal(h->sh->msgs[0],
			    "truncated message: its header says 1000 bytes, 16 arrived");
	control_server_stats(h->cs, &st);
	assert_true(st.malformed >= 3);
	/* the daemon went on: the status asked afterwards was answered */
	assert_int_equal(T.status_calls, 1);
	assert_int_equal(h->sh->err, 0);
	assert_int_equal(h->sh->count, 1);
}

/* ---- size limits ---- */

static int child_big(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);
	size_t len = *(size_t *)arg;
	char *data = malloc(len);
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_POLICY_IMPORT, 0, len + 4096);

	memset(data, 'x', len);
	nla_put_string(req, NLPROTO_A_FILE_NAME, "big");
	nlproto_put_data(req, data, len);
	h->sh->errs[0] = control_client_call(c, req, NULL, NULL, h->sh->msgs[0], 512);
	nlmsg_free(req);
	free(data);
	control_client_close(c);
	child_status(h, NULL);
	return 0;
}

static void test_oversized_request(void **state)
{
	struct harness *h = *state;
	size_t len = 100000;

	assert_int_equal(harness_run(h, child_big, &len), 0);
	assert_int_equal(h->sh->errs[0], -EMSGSIZE);
	assert_non_null(strstr(h->sh->msgs[0], "larger than the 65536 this tlsgated reads"));
	assert_int_equal(T.import_len, 0); /* the op never saw it */
	assert_int_equal(h->sh->err, 0);   /* the daemon answered the next request */
}

static void test_import_arrives_intact(void **state)
{
	struct harness *h = *state;
	size_t len = 1000000;
	uint64_t sum = 0;

	assert_int_equal(harness_run(h, child_big, &len), 0);
	assert_int_equal(h->sh->errs[0], 0);
	assert_string_equal(h->sh->msgs[0], "imported 1000000 bytes");
	assert_string_equal(T.import_name, "big");
	assert_int_equal(T.import_len, len);
	for (size_t i = 0; i < len; i++)
		sum = sum * 31 + 'x';
	assert_int_equal(T.import_sum, sum);
}

/* ---- a client that never reads its replies ---- */

static void test_slow_client_never_blocks(void **state)
{
	struct harness *h = *state;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = control_server_port(h->cs)};
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_STATUS_GET, NLM_F_ACK, 0);
	struct control_server_stats st;
	int fd, small = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	/* the smallest receive queue the kernel allows; and we never read it */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 200; i++) {
		assert_true(sendto(fd, nlmsg_hdr(req), nlmsg_hdr(req)->nlmsg_len, 0,
				   (struct sockaddr *)&to, sizeof(to)) > 0);
		/* serve as we go: the server's own queue must not be what overflows */
		assert_int_equal(control_server_handle(h->cs), 0);
	}
	control_server_stats(h->cs, &st);
	assert_int_equal(T.status_calls, 200);
	assert_true(st.send_failed > 100); /* dropped, not waited for */
	nlmsg_free(req);
	close(fd);
	/* everyone else is still served */
	assert_int_equal(harness_run(h, child_status, NULL), 0);
	assert_int_equal(h->sh->err, 0);
}

/* ---- sessions ---- */

static int session_cb(void *arg, const struct nlmsghdr *nlh)
{
	struct harness *h = arg;
	struct nlproto_session s;

	if (nlh->nlmsg_type != NLPROTO_MSG_SESSION ||
	    nlproto_parse_session(nlh, &s, h->sh->msg, sizeof(h->sh->msg)))
		return -EBADMSG;
	h->sh->ids[h->sh->count++] = s.id;
	return 0;
}

static int session_req(struct control_client *c, struct harness *h, uint16_t type, uint64_t id,
		       int slot)
{
	struct nl_msg *req = control_client_msg(type, id ? 0 : NLM_F_DUMP, 0);

	if (id)
		nla_put_u64(req, NLPROTO_A_SESS_ID, id);
	h->sh->errs[slot] = control_client_call(c, req, session_cb, h, h->sh->msgs[slot], 512);
	nlmsg_free(req);
	return 0;
}

static int child_sessions(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);

	(void)arg;
	session_req(c, h, NLPROTO_MSG_SESSION_GET, 3, 0); /* ids[0] = 3 */
	session_req(c, h, NLPROTO_MSG_SESSION_GET, 99, 1);
	session_req(c, h, NLPROTO_MSG_SESSION_KILL, 2, 2);
	session_req(c, h, NLPROTO_MSG_SESSION_KILL, 2, 3);
	session_req(c, h, NLPROTO_MSG_SESSION_GET, 0, 4); /* dump: 1 3 4 5 */
	control_client_close(c);
	return 0;
}

static void test_sessions(void **state)
{
	struct harness *h = *state;

	assert_int_equal(harness_run(h, child_sessions, NULL), 0);
	assert_int_equal(h->sh->errs[0], 0);
	assert_int_equal(h->sh->errs[1], -ENOENT);
	assert_string_equal(h->sh->msgs[1], "no session 99");
	assert_int_equal(h->sh->errs[2], 0);
	assert_int_equal(T.killed, 2);
	assert_int_equal(h->sh->errs[3], -ENOENT);
	assert_int_equal(h->sh->errs[4], 0);
	assert_int_equal(h->sh->count, 5);
	assert_int_equal(h->sh->ids[0], 3);
	assert_int_equal(h->sh->ids[1], 1);
	assert_int_equal(h->sh->ids[2], 3);
	assert_int_equal(h->sh->ids[3], 4);
	assert_int_equal(h->sh->ids[4], 5);
}

/* ---- log level: the server's default when the daemon has no op ---- */

static int child_log(struct harness *h, void *arg)
{
	struct control_client *c = connect_or_exit(h);
	struct nl_msg *req = control_client_msg(NLPROTO_MSG_LOG_LEVEL, 0, 0);

	(void)arg;
	nla_put_string(req, NLPROTO_A_LOG_LEVEL, "loud");
	call_raw(c, h, req, 0);
	req = control_client_msg(NLPROTO_MSG_LOG_LEVEL, 0, 0);
	nla_put_string(req, NLPROTO_A_LOG_LEVEL, "err");
	call_raw(c, h, req, 1);
	control_client_close(c);
	return 0;
}

static void test_log_level(void **state)
{
	struct harness *h = *state;
	enum tg_log_level before = tg_log_get_level();

	assert_int_equal(harness_run(h, child_log, NULL), 0);
	assert_int_equal(h->sh->errs[0], -EINVAL);
	assert_string_equal(h->sh->msgs[0],
			    "unknown log level 'loud' (expected err, warn, info, debug)");
	assert_int_equal(h->sh->errs[1], 0);
	assert_int_equal(tg_log_get_level(), TG_LOG_ERR);
	tg_log_set_level(before);
}

/* ---- RUNDIR/ctl ---- */

static void test_runfile(void **state)
{
	struct harness *h = *state;
	struct control_runinfo ri, dead = {.port = 5, .events_group = 23, .protocol = 1};
	struct control_client *c;
	char path[128], msg[512], want[256];
	struct stat st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ctl", h->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(control_runfile_read(h->dir, &ri, msg, sizeof(msg)), 0);
	assert_int_equal(ri.pid, getpid());
	assert_int_equal(ri.port, control_server_port(h->cs));
	assert_int_equal(ri.events_group, NLPROTO_EVENTS_GROUP);
	assert_int_equal(ri.protocol, NLPROTO_VERSION);
	assert_int_equal(ri.owner, getuid());
	/* another daemon's file is left alone */
	assert_int_equal(control_runfile_remove(h->dir, getpid(), ri.port + 1), 0);
	assert_int_equal(stat(path, &st), 0);

	/* a file naming a process that is gone: stale, said so */
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	dead.pid = pid;
	assert_int_equal(control_runfile_write(h->dir, &dead), 0);
	assert_int_equal(control_client_open(h->dir, 1000, &c, msg, sizeof(msg)), -ESRCH);
	snprintf(want, sizeof(want), "tlsgated is not running (stale %s: pid %d gone)", path,
		 (int)pid);
	assert_string_equal(msg, want);

	/* garbled */
	{
		FILE *f = fopen(path, "w");

		fputs("pid=12x\nport=1\n", f);
		fclose(f);
	}
	assert_int_equal(control_runfile_read(h->dir, &ri, msg, sizeof(msg)), -EINVAL);
	{
		FILE *f = fopen(path, "w");

		fputs("pid= 12\nport=1\n", f);
		fclose(f);
	}
	assert_int_equal(control_runfile_read(h->dir, &ri, msg, sizeof(msg)), -EINVAL);
	/* A long line is one line: its tail is not read as "port=9" (found by fuzz_runfile). */
	{
		FILE *f = fopen(path, "w");

		fprintf(f, "pid=%d\nport=7\n", (int)getpid());
		for (int i = 0; i < 255; i++)
			fputc('x', f);
		fputs("port=9\n", f);
		fclose(f);
	}
	assert_int_equal(control_runfile_read(h->dir, &ri, msg, sizeof(msg)), 0);
	assert_int_equal(ri.port, 7);

	/* no file at all */
	unlink(path);
	assert_int_equal(control_client_open(h->dir, 1000, &c, msg, sizeof(msg)), -ENOENT);
	snprintf(want, sizeof(want), "tlsgated is not running (no %s)", path);
	assert_string_equal(msg, want);
}

/* Closing the server removes its file. */
static void test_close_removes_runfile(void **state)
{
	struct harness h;
	struct control_server_opts o = {0};
	char path[128];

	(void)state;
	assert_int_equal(harness_open(&h, &o, &ops, NULL), 0);
	snprintf(path, sizeof(path), "%s/ctl", h.dir);
	assert_int_equal(access(path, F_OK), 0);
	control_server_close(h.cs);
	h.cs = NULL;
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	harness_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_ack_and_extended_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_datagrams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_import_arrives_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runfile, setup, teardown),
		cmocka_unit_test(test_close_removes_runfile),
	};

	tg_log_init("test_ctl_server", 0);
	tg_log_set_level(TG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
