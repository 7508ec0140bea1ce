// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events for `tlsgatectl monitor`: the control server publishes to its NETLINK_USERSOCK group,
 * a monitor in a forked child receives them, and an event anyone else sends to the same group
 * (any local user may) is not believed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/msg.h>

#include "ctl_harness.h"
#include "control/client.h"
#include "control/server.h"
#include "lib/log.h"

/* The daemon's requests play no part here. */
static const struct control_ops ops = {0};

static int setup(void **state)
{
	static struct harness h;
	struct control_server_opts o = {0};

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

static int child_monitor(struct harness *h, void *arg)
{
	struct control_monitor *m;
	struct nlproto_session sess;
	struct nlproto_event ev;
	int err;

	(void)arg;
	err = control_monitor_open(h->dir, &m, h->sh->msg, sizeof(h->sh->msg));
	h->sh->err = err;
	h->sh->ready = 1;
	if (err)
		return 0;
	for (int i = 0; i < 2; i++) {
		err = control_monitor_next(m, 5000, &ev, &sess, h->sh->msg, sizeof(h->sh->msg));
		h->sh->errs[i] = err;
		if (err)
			break;
		snprintf(h->sh->msgs[i], sizeof(h->sh->msgs[i]), "%s %s %llu",
			 nlproto_event_name(ev.type), ev.subject ? ev.subject : "-",
			 ev.session ? (unsigned long long)ev.session->id : 0ull);
	}
	control_monitor_close(m);
	return 0;
}

/* Anyone may send to a NETLINK_USERSOCK group; the monitor must not believe it. */
static void spoof_then_publish(struct harness *h, void *arg)
{
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	struct sockaddr_nl grp = {.nl_family = AF_NETLINK,
				  .nl_groups = 1u << (NLPROTO_EVENTS_GROUP - 1)};
	struct nlproto_event fake = {.type = NLPROTO_EV_DROP, .subject = "spoofed"};
	struct nlproto_session s = {.id = 7, .client_addr = "192.0.2.10"};
	struct nlproto_event real = {
		.type = NLPROTO_EV_SESSION_START, .session = &s, .subject = "real"};
	struct nl_msg *m = nlproto_msg_new(NLPROTO_MSG_EVENT, 0, 1, 0, 0);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);

	(void)arg;
	bind(fd, (struct sockaddr *)&me, sizeof(me));
	nlproto_put_event(m, &fake);
	sendto(fd, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len, 0, (struct sockaddr *)&grp, sizeof(grp));
	close(fd);
	nlmsg_free(m);
	control_server_publish_event(h->cs, &real);
	real.type = NLPROTO_EV_POLICY;
	real.subject = "example.org";
	control_server_publish_event(h->cs, &real);
}

static void test_events(void **state)
{
	struct harness *h = *state;
	struct control_server_stats st;

	if (geteuid() != 0)
		skip(); /* joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN */
	assert_int_equal(harness_run2(h, child_monitor, spoof_then_publish, NULL), 0);
	assert_int_equal(h->sh->err, 0);
	assert_int_equal(h->sh->errs[0], 0);
	assert_string_equal(h->sh->msgs[0], "session-start real 7");
	assert_int_equal(h->sh->errs[1], 0);
	assert_string_equal(h->sh->msgs[1], "policy example.org 7");
	control_server_stats(h->cs, &st);
	assert_int_equal(st.events, 2);
}

/* With no one listening, publishing is still quick and successful. */
static void test_publish_without_listeners(void **state)
{
	struct harness *h = *state;
	struct nlproto_event ev = {.type = NLPROTO_EV_DROP, .detail = "plaintext-data"};

	for (int i = 0; i < 1000; i++)
		assert_int_equal(control_server_publish_event(h->cs, &ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_without_listeners, setup, teardown),
	};

	tg_log_init("test_ctl_events", 0);
	tg_log_set_level(TG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
