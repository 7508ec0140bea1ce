// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control request handlers: each checks the attributes its request needs, calls the daemon's op
 * (control_server.h) and puts the answer into the reply.  Credentials and attribute validity
 * were checked by the dispatcher in control_server.c.
 */
#include "control/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

static int unsupported(const char *what, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s is not supported by this tlsgated", what);
	return -EOPNOTSUPP;
}

static int need(const struct nlattr *a, const char *what, char *msg, size_t msglen)
{
	if (a)
		return 0;
	snprintf(msg, msglen, "malformed request: %s missing", what);
	return -EINVAL;
}

static bool is_dump(const struct control_request *rq)
{
	return (rq->nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

static int get_dir(const struct control_request *rq, int dflt, int *dir, char *msg, size_t msglen)
{
	const struct nlattr *a = rq->tb[NLPROTO_A_DIR];
	uint8_t v;

	*dir = dflt;
	if (!a)
		return 0;
	v = nla_get_u8(a);
	if (v != NLPROTO_DIR_OUTBOUND && v != NLPROTO_DIR_INBOUND) {
		snprintf(msg, msglen, "malformed request: direction %u", v);
		return -EINVAL;
	}
	*dir = v;
	return 0;
}

/* An op failed: make sure the admin reads something. */
static int op_result(int err, char *msg, size_t msglen)
{
	if (err > 0)
		err = 0;
	if (err && !msg[0])
		snprintf(msg, msglen, "%s", strerror(-err));
	return err;
}

/* The dump page ends: DONE, with the cursor when the page filled before the list ended. */
static int end_page(struct control_reply *rp, int err, char *msg, size_t msglen)
{
	if (err >= 0 && rp->err)
		err = rp->err;
	if (err < 0)
		return op_result(err, msg, msglen);
	err = control_reply_add(rp,
			    nlproto_done_new(rp->req->nlmsg_seq, rp->port, rp->full, rp->last_id));
	if (!err)
		rp->s->stats.pages++;
	return err;
}

/* ---- status ---- */

static int do_status(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
		     char *msg, size_t msglen)
{
	struct nlproto_status st = {0};
	struct nl_msg *m;
	int err;

	if (!s->ops->status)
		return unsupported("status", msg, msglen);
	st.pid = (uint32_t)getpid();
	snprintf(st.log_level, sizeof(st.log_level), "%s", tg_log_level_name(tg_log_get_level()));
	err = s->ops->status(s->ctx, &st);
	if (err)
		return op_result(err, msg, msglen);
	m = nlproto_msg_new(NLPROTO_MSG_STATUS, 0, rq->nlh->nlmsg_seq, rp->port, 0);
	if (!m)
		return -ENOMEM;
	err = nlproto_put_status(m, &st);
	if (err) {
		nlmsg_free(m);
		return err;
	}
	return control_reply_add(rp, m);
}

/* ---- policy ---- */

/* A rule for the reply: a dump entry (paged) or the rule an add made. */
static int rule_cb(void *arg, const struct nlproto_rule *r)
{
	struct control_reply *rp = arg;
	bool dump = (rp->req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct nl_msg *m;
	int err;

	if (rp->full || rp->err)
		return rp->err ? rp->err : 1;
	m = nlproto_msg_new(NLPROTO_MSG_POLICY, dump ? NLM_F_MULTI : 0, rp->req->nlmsg_seq,
			    rp->port, 0);
	if (!m)
		return rp->err = -ENOMEM;
	err = nlproto_put_rule(m, r);
	if (err) {
		nlmsg_free(m);
		return rp->err = err;
	}
	if (!dump)
		return rp->err = control_reply_add(rp, m);
	err = control_reply_entry(rp, m, r->id);
	if (err < 0)
		rp->err = err;
	return err;
}

static int do_policy_get(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			 char *msg, size_t msglen)
{
	uint64_t after = nlproto_u64(rq->tb[NLPROTO_A_CURSOR], 0);
	int dir, err;

	if (!is_dump(rq)) {
		snprintf(msg, msglen, "malformed request: policy show is a dump (NLM_F_DUMP)");
		return -EINVAL;
	}
	if (!s->ops->policy_dump)
		return unsupported("policy show", msg, msglen);
	err = get_dir(rq, CONTROL_DIR_ANY, &dir, msg, msglen);
	if (err)
		return err;
	if (after > UINT32_MAX) {
		snprintf(msg, msglen, "malformed request: rule cursor %llu",
			 (unsigned long long)after);
		return -EINVAL;
	}
	err = s->ops->policy_dump(s->ctx, dir, (uint32_t)after, rule_cb, rp);
	return end_page(rp, err, msg, msglen);
}

static int do_policy_add(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			 char *msg, size_t msglen)
{
	int dir, err;

	if (!s->ops->policy_add)
		return unsupported("policy add", msg, msglen);
	err = need(rq->tb[NLPROTO_A_LINE], "the policy line", msg, msglen);
	err = err ?: get_dir(rq, NLPROTO_DIR_OUTBOUND, &dir, msg, msglen);
	if (err)
		return err;
	err = s->ops->policy_add(s->ctx, (enum nlproto_dir)dir, nlproto_str(rq->tb[NLPROTO_A_LINE]),
				 rule_cb, rp, msg, msglen);
	if (!err && rp->err)
		err = rp->err;
	return op_result(err, msg, msglen);
}

static int do_policy_del(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			 char *msg, size_t msglen)
{
	int dir, err;

	(void)rp;
	if (!s->ops->policy_del)
		return unsupported("policy del", msg, msglen);
	err = need(rq->tb[NLPROTO_A_KEY], "the rule key", msg, msglen);
	err = err ?: get_dir(rq, NLPROTO_DIR_OUTBOUND, &dir, msg, msglen);
	if (err)
		return err;
	err = s->ops->policy_del(s->ctx, (enum nlproto_dir)dir, nlproto_str(rq->tb[NLPROTO_A_KEY]),
				 msg, msglen);
	return op_result(err, msg, msglen);
}

/* import and check: the file arrives in the request (the daemon opens nothing on the CLI's
 * behalf, so a reader cannot make it read /etc/shadow and quote it back in an error). */
static int do_policy_file(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			  char *msg, size_t msglen)
{
	bool import = rq->nlh->nlmsg_type == NLPROTO_MSG_POLICY_IMPORT;
	int (*op)(void *, enum nlproto_dir, const char *, const char *, size_t, char *, size_t) =
		import ? s->ops->policy_import : s->ops->policy_check;
	const char *name = nlproto_str(rq->tb[NLPROTO_A_FILE_NAME]);
	char *data = NULL;
	size_t len = 0, nul;
	int dir, err;

	(void)rp;
	if (!op)
		return unsupported(import ? "policy import" : "policy check", msg, msglen);
	err = get_dir(rq, NLPROTO_DIR_OUTBOUND, &dir, msg, msglen);
	if (err)
		return err;
	err = nlproto_get_data(rq->nlh, &data, &len);
	if (err)
		return err;
	/* C parsers would stop at a NUL and silently ignore the rest of the table. */
	nul = strlen(data);
	if (nul != len) {
		snprintf(msg, msglen, "%s: NUL byte at offset %zu: not a policy table",
			 name ? name : "-", nul);
		err = -EINVAL;
		goto out;
	}
	err = op_result(op(s->ctx, (enum nlproto_dir)dir, name ? name : "-", data, len, msg, msglen),
			msg, msglen);
out:
	free(data);
	return err;
}

/* ---- sessions ---- */

static int session_cb(void *arg, const struct nlproto_session *ses)
{
	struct control_reply *rp = arg;
	bool dump = !rp->want_id;
	struct nl_msg *m;
	int err;

	if (rp->full || rp->err || rp->found)
		return rp->err ? rp->err : 1;
	/* session show N asks the dump for ids > N-1: the first one is N, or N is gone. */
	if (!dump && ses->id != rp->want_id)
		return 1;
	m = nlproto_msg_new(NLPROTO_MSG_SESSION, dump ? NLM_F_MULTI : 0, rp->req->nlmsg_seq,
			    rp->port, 0);
	if (!m)
		return rp->err = -ENOMEM;
	err = nlproto_put_session(m, ses);
	if (err) {
		nlmsg_free(m);
		return rp->err = err;
	}
	if (!dump) {
		rp->found = true;
		return (rp->err = control_reply_add(rp, m)) ?: 1;
	}
	err = control_reply_entry(rp, m, ses->id);
	if (err < 0)
		rp->err = err;
	return err;
}

static int do_session_get(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			  char *msg, size_t msglen)
{
	int err;

	if (!s->ops->session_dump)
		return unsupported("session list", msg, msglen);
	if (is_dump(rq)) {
		err = s->ops->session_dump(s->ctx, nlproto_u64(rq->tb[NLPROTO_A_CURSOR], 0),
					   session_cb, rp);
		return end_page(rp, err, msg, msglen);
	}
	err = need(rq->tb[NLPROTO_A_SESS_ID], "the session id", msg, msglen);
	if (err)
		return err;
	rp->want_id = nla_get_u64(rq->tb[NLPROTO_A_SESS_ID]);
	if (!rp->want_id) {
		snprintf(msg, msglen, "no session 0 (session ids start at 1)");
		return -ENOENT;
	}
	err = s->ops->session_dump(s->ctx, rp->want_id - 1, session_cb, rp);
	if (!err && rp->err)
		err = rp->err;
	if (!err && !rp->found) {
		snprintf(msg, msglen, "no session %llu", (unsigned long long)rp->want_id);
		err = -ENOENT;
	}
	return op_result(err, msg, msglen);
}

static int do_session_kill(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			   char *msg, size_t msglen)
{
	int err;

	(void)rp;
	if (!s->ops->session_kill)
		return unsupported("session kill", msg, msglen);
	err = need(rq->tb[NLPROTO_A_SESS_ID], "the session id", msg, msglen);
	if (err)
		return err;
	err = s->ops->session_kill(s->ctx, nla_get_u64(rq->tb[NLPROTO_A_SESS_ID]), msg, msglen);
	return op_result(err, msg, msglen);
}

/* ---- daemon ---- */

static int do_reload(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
		     char *msg, size_t msglen)
{
	(void)rq;
	(void)rp;
	if (!s->ops->reload)
		return unsupported("reload", msg, msglen);
	return op_result(s->ops->reload(s->ctx, msg, msglen), msg, msglen);
}

static int do_log_level(struct control_server *s, const struct control_request *rq, struct control_reply *rp,
			char *msg, size_t msglen)
{
	const char *name;
	int level, err;

	(void)rp;
	err = need(rq->tb[NLPROTO_A_LOG_LEVEL], "the log level", msg, msglen);
	if (err)
		return err;
	name = nlproto_str(rq->tb[NLPROTO_A_LOG_LEVEL]);
	level = tg_log_level_parse(name);
	if (level < 0) {
		snprintf(msg, msglen, "unknown log level '%s' (expected err, warn, info, debug)",
			 name);
		return -EINVAL;
	}
	if (!s->ops->log_level) {
		tg_log_set_level((enum tg_log_level)level);
		return 0;
	}
	return op_result(s->ops->log_level(s->ctx, (enum tg_log_level)level, msg, msglen), msg,
			 msglen);
}

/* ---- MTA-STS ---- */

static int sts_cb(void *arg, const struct nlproto_sts *st)
{
	struct control_reply *rp = arg;
	struct nl_msg *m;
	int err;

	m = nlproto_msg_new(NLPROTO_MSG_STS, 0, rp->req->nlmsg_seq, rp->port, 0);
	if (!m)
		return rp->err = -ENOMEM;
	err = nlproto_put_sts(m, st);
	if (err) {
		nlmsg_free(m);
		return rp->err = err;
	}
	return rp->err = control_reply_add(rp, m);
}

static int do_sts(struct control_server *s, const struct control_request *rq,
		  struct control_reply *rp, char *msg, size_t msglen)
{
	uint16_t type = rq->nlh->nlmsg_type;
	const char *domain;
	int err;

	err = need(rq->tb[NLPROTO_A_STS_DOMAIN], "the domain", msg, msglen);
	if (err)
		return err;
	domain = nlproto_str(rq->tb[NLPROTO_A_STS_DOMAIN]);
	if (type == NLPROTO_MSG_STS_GET) {
		if (!s->ops->sts_show)
			return unsupported("sts show", msg, msglen);
		err = s->ops->sts_show(s->ctx, domain, sts_cb, rp, msg, msglen);
		if (!err && rp->err)
			err = rp->err;
	} else if (type == NLPROTO_MSG_STS_REFRESH) {
		if (!s->ops->sts_refresh)
			return unsupported("sts refresh", msg, msglen);
		err = s->ops->sts_refresh(s->ctx, domain,
					  nlproto_u64(rq->tb[NLPROTO_A_STS_FORCE], 0) != 0, msg,
					  msglen);
	} else {
		if (!s->ops->sts_purge)
			return unsupported("sts purge", msg, msglen);
		err = s->ops->sts_purge(s->ctx, domain, msg, msglen);
	}
	return op_result(err, msg, msglen);
}

/* ---- the daemon's counters ---- */

static int metric_cb(void *arg, const struct nlproto_metric *mf)
{
	return nlproto_put_metric(arg, mf);
}

/* One message holds them all: a few dozen samples, far from a page. */
static int do_metrics(struct control_server *s, const struct control_request *rq,
		      struct control_reply *rp, char *msg, size_t msglen)
{
	struct nl_msg *m;
	int err;

	if (!s->ops->metrics)
		return unsupported("stats", msg, msglen);
	m = nlproto_msg_new(NLPROTO_MSG_METRICS, 0, rq->nlh->nlmsg_seq, rp->port, 0);
	if (!m)
		return -ENOMEM;
	err = s->ops->metrics(s->ctx, metric_cb, m);
	if (err) {
		nlmsg_free(m);
		return op_result(err, msg, msglen);
	}
	return control_reply_add(rp, m);
}

/* ---- TLS reports ---- */

static int do_tlsrpt(struct control_server *s, const struct control_request *rq,
		     struct control_reply *rp, char *msg, size_t msglen)
{
	struct nlproto_tlsrpt t;
	struct nl_msg *m;
	int err;

	if (rq->nlh->nlmsg_type == NLPROTO_MSG_TLSRPT_FLUSH) {
		if (!s->ops->tlsrpt_flush)
			return unsupported("tlsrpt flush", msg, msglen);
		return op_result(s->ops->tlsrpt_flush(s->ctx, msg, msglen), msg, msglen);
	}
	if (!s->ops->tlsrpt_status)
		return unsupported("tlsrpt status", msg, msglen);
	err = s->ops->tlsrpt_status(s->ctx, &t, msg, msglen);
	if (err)
		return op_result(err, msg, msglen);
	m = nlproto_msg_new(NLPROTO_MSG_TLSRPT, 0, rq->nlh->nlmsg_seq, rp->port, 0);
	if (!m)
		return -ENOMEM;
	err = nlproto_put_tlsrpt(m, &t);
	if (err) {
		nlmsg_free(m);
		return err;
	}
	return control_reply_add(rp, m);
}

static const struct control_handler handlers[] = {
	{NLPROTO_MSG_STATUS_GET, CTL_ACCESS_READ, do_status},
	{NLPROTO_MSG_POLICY_GET, CTL_ACCESS_READ, do_policy_get},
	{NLPROTO_MSG_POLICY_CHECK, CTL_ACCESS_READ, do_policy_file},
	{NLPROTO_MSG_SESSION_GET, CTL_ACCESS_READ, do_session_get},
	{NLPROTO_MSG_POLICY_ADD, CTL_ACCESS_WRITE, do_policy_add},
	{NLPROTO_MSG_POLICY_DEL, CTL_ACCESS_WRITE, do_policy_del},
	{NLPROTO_MSG_POLICY_IMPORT, CTL_ACCESS_WRITE, do_policy_file},
	{NLPROTO_MSG_SESSION_KILL, CTL_ACCESS_WRITE, do_session_kill},
	{NLPROTO_MSG_RELOAD, CTL_ACCESS_WRITE, do_reload},
	{NLPROTO_MSG_LOG_LEVEL, CTL_ACCESS_WRITE, do_log_level},
	{NLPROTO_MSG_STS_GET, CTL_ACCESS_READ, do_sts},
	{NLPROTO_MSG_STS_REFRESH, CTL_ACCESS_WRITE, do_sts},
	{NLPROTO_MSG_STS_PURGE, CTL_ACCESS_WRITE, do_sts},
	{NLPROTO_MSG_METRICS_GET, CTL_ACCESS_READ, do_metrics},
	{NLPROTO_MSG_TLSRPT_GET, CTL_ACCESS_READ, do_tlsrpt},
	{NLPROTO_MSG_TLSRPT_FLUSH, CTL_ACCESS_WRITE, do_tlsrpt},
};

const struct control_handler *control_handler_find(uint16_t type)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type)
			return &handlers[i];
	return NULL;
}
