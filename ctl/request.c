// SPDX-License-Identifier: GPL-2.0-only
/*
 * Talking to tlsgated: connect to RUNDIR/ctl, send one request, hand each object of the answer
 * to the command's callback, and say what went wrong in the words an operator reads.
 */
#include <errno.h>
#include <stdio.h>

#include "control/runfile.h"
#include "ctl/print.h"

#include <netlink/msg.h>

int ctl_connect(const struct ctl_opts *o, struct control_client **c)
{
	char msg[512];
	int err;

	err = control_client_open(o->run_dir ? o->run_dir : CTL_RUN_DIR, o->timeout_ms, c, msg,
			      sizeof(msg));
	if (err) {
		fprintf(stderr, "tlsgatectl: %s\n", msg);
		return 1;
	}
	return 0;
}


int ctl_request(const struct ctl_opts *o, const char *what, struct nl_msg *req, control_reply_cb cb,
		void *arg, char *msg, size_t msglen, uint32_t *proto)
{
	struct control_client *c = NULL;
	int err, rc = 1;

	msg[0] = '\0';
	if (!req)
		return ctl_fail(what, -ENOMEM, NULL);
	if (ctl_connect(o, &c))
		goto out;
	err = control_client_call(c, req, cb, arg, msg, msglen);
	if (err) {
		ctl_fail(what, err, msg);
		goto out;
	}
	if (proto)
		*proto = control_client_daemon(c)->protocol;
	rc = 0;
out:
	control_client_close(c);
	nlmsg_free(req);
	return rc;
}
