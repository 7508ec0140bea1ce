// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl status | reload | log level [LEVEL]: the daemon as a whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ctl/print.h"
#include "lib/log.h"

struct status_out {
	struct nlproto_status st;
	bool got;
	char msg[256];
};

static int status_reply(void *arg, const struct nlmsghdr *nlh)
{
	struct status_out *out = arg;

	if (nlh->nlmsg_type != NLPROTO_MSG_STATUS)
		return 0;
	if (nlproto_parse_status(nlh, &out->st, out->msg, sizeof(out->msg))) {
		/* what was wrong with it; the failed call is reported after this */
		fprintf(stderr, "tlsgatectl: status: %s\n", out->msg);
		return -EBADMSG;
	}
	out->got = true;
	return 0;
}

/* Ask for the status; 0 or exit status 1 after saying why. */
static int get_status(const struct ctl_opts *o, struct status_out *out, uint32_t *proto)
{
	char msg[NLPROTO_TEXT_MAX];
	int rc = ctl_request(o, "status", control_client_msg(NLPROTO_MSG_STATUS_GET, 0, 0),
			     status_reply, out, msg, sizeof(msg), proto);

	if (!rc && !out->got)
		rc = ctl_fail("status", -EBADMSG, "tlsgated answered without a status");
	return rc;
}

static void print_text(const struct nlproto_status *st, uint32_t proto)
{
	char up[48], since[40];

	ctl_duration_str(st->uptime, up, sizeof(up));
	ctl_time_str(st->start * 1000, since, sizeof(since));
	printf("tlsgated %s pid %u up %s (since %s) protocol %u log %s\n",
	       st->version[0] ? st->version : "?", st->pid, up, since, proto,
	       st->log_level[0] ? st->log_level : "?");
	if (st->ktls)
		printf("ktls: available\n");
	else
		printf("ktls: unavailable (%s)\n",
		       st->ktls_reason[0] ? st->ktls_reason : "unknown");
	for (size_t i = 0; i < st->ncipher; i++)
		printf("    %-8s %-18s tx %-3s rx %s\n", st->cipher[i].tls_version,
		       st->cipher[i].name, st->cipher[i].tx ? "yes" : "no",
		       st->cipher[i].rx ? "yes" : "no");
	if (!st->nnic)
		printf("nic offload: no interfaces reported\n");
	for (size_t i = 0; i < st->nnic; i++) {
		const struct nlproto_status_nic *n = &st->nic[i];

		/* "unsupported" is ethtool's "off [fixed]": the driver does not offer it */
		printf("nic %-16s driver %s nic_offload %s\n", n->ifname,
		       n->driver[0] ? n->driver : "?", n->mode[0] ? n->mode : "auto");
		printf("    tls-hw-tx-offload %-11s tls-hw-rx-offload %-11s tls-hw-record %-11s "
		       "tx-checksum %s\n",
		       nlproto_offload_name(n->tx), nlproto_offload_name(n->rx),
		       nlproto_offload_name(n->record), nlproto_offload_name(n->tx_csum));
		printf("    sessions offloaded now: tx %u rx %u\n", n->tx_sessions, n->rx_sessions);
		for (size_t k = 0; k < n->nstat; k++)
			printf("    %-32s %" PRIu64 "\n", n->stat[k].name, n->stat[k].value);
		if (n->error[0])
			printf("    error: %s\n", n->error);
	}
	if (st->tls_device)
		printf("kernel tls device: TlsCurrTxDevice %" PRIu64 " TlsCurrRxDevice %" PRIu64
		       " TlsRxDeviceResync %" PRIu64 "\n",
		       st->tls_curr_tx_device, st->tls_curr_rx_device, st->tls_rx_device_resync);
	if (!st->nlistener)
		printf("listeners: none\n");
	for (size_t i = 0; i < st->nlistener; i++)
		printf("listener %s %s\n", st->listener[i].addr, st->listener[i].role);
	printf("sessions: %u active, %" PRIu64 " since start\n", st->sessions, st->sessions_total);
	printf("policy: %u outbound rules, %u inbound rules\n", st->rules_out, st->rules_in);
}

static void print_json(const struct ctl_opts *o, const struct nlproto_status *st, uint32_t proto)
{
	struct jsonw *w = ctl_json(o);
	char since[40];

	if (!w)
		return;
	ctl_time_str(st->start * 1000, since, sizeof(since));
	jsonw_start_object(w);
	jsonw_string_field(w, "version", st->version);
	jsonw_u64_field(w, "pid", st->pid);
	jsonw_u64_field(w, "protocol", proto);
	jsonw_u64_field(w, "uptime", st->uptime);
	jsonw_string_field(w, "start", since);
	jsonw_string_field(w, "log_level", st->log_level);
	jsonw_name(w, "ktls");
	jsonw_start_object(w);
	jsonw_bool_field(w, "available", st->ktls);
	if (!st->ktls)
		jsonw_string_field(w, "reason", st->ktls_reason);
	jsonw_name(w, "ciphers");
	jsonw_start_array(w);
	for (size_t i = 0; i < st->ncipher; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "tls_version", st->cipher[i].tls_version);
		jsonw_string_field(w, "cipher", st->cipher[i].name);
		jsonw_bool_field(w, "tx", st->cipher[i].tx);
		jsonw_bool_field(w, "rx", st->cipher[i].rx);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_name(w, "nic_offload");
	jsonw_start_array(w);
	for (size_t i = 0; i < st->nnic; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "ifname", st->nic[i].ifname);
		jsonw_string_field(w, "tls_hw_tx_offload", nlproto_offload_name(st->nic[i].tx));
		jsonw_string_field(w, "tls_hw_rx_offload", nlproto_offload_name(st->nic[i].rx));
		jsonw_string_field(w, "tls_hw_record", nlproto_offload_name(st->nic[i].record));
		jsonw_string_field(w, "tx_checksum", nlproto_offload_name(st->nic[i].tx_csum));
		jsonw_string_field(w, "driver", st->nic[i].driver);
		jsonw_string_field(w, "mode", st->nic[i].mode);
		if (st->nic[i].error[0])
			jsonw_string_field(w, "error", st->nic[i].error);
		jsonw_u64_field(w, "tx_sessions_offloaded", st->nic[i].tx_sessions);
		jsonw_u64_field(w, "rx_sessions_offloaded", st->nic[i].rx_sessions);
		jsonw_name(w, "device_counters");
		jsonw_start_object(w);
		for (size_t k = 0; k < st->nic[i].nstat; k++)
			jsonw_u64_field(w, st->nic[i].stat[k].name, st->nic[i].stat[k].value);
		jsonw_end_object(w);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "listeners");
	jsonw_start_array(w);
	for (size_t i = 0; i < st->nlistener; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "addr", st->listener[i].addr);
		jsonw_string_field(w, "role", st->listener[i].role);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "sessions");
	jsonw_start_object(w);
	jsonw_u64_field(w, "active", st->sessions);
	jsonw_u64_field(w, "total", st->sessions_total);
	jsonw_end_object(w);
	jsonw_name(w, "policy");
	jsonw_start_object(w);
	jsonw_u64_field(w, "outbound_rules", st->rules_out);
	jsonw_u64_field(w, "inbound_rules", st->rules_in);
	jsonw_end_object(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
}

int ctl_status(int argc, char **argv, const struct ctl_opts *o)
{
	struct status_out out = {.got = false};
	uint32_t proto = 0;

	if (argc && ctl_matches(argv[0], "help")) {
		printf("Usage: tlsgatectl [-j] status\n");
		return 0;
	}
	if (argc && !ctl_matches(argv[0], "show"))
		return ctl_usage_error("status: unexpected '%s' (try: tlsgatectl status)", argv[0]);
	if (get_status(o, &out, &proto))
		return 1;
	if (o->json)
		print_json(o, &out.st, proto);
	else
		print_text(&out.st, proto);
	return 0;
}

/* A request that changes something and answers with an ack (and maybe a summary). */
static int simple(const struct ctl_opts *o, const char *what, struct nl_msg *req)
{
	char msg[NLPROTO_TEXT_MAX];
	int rc = ctl_request(o, what, req, NULL, NULL, msg, sizeof(msg), NULL);

	if (rc)
		return rc;
	if (o->json)
		return ctl_json_ok(o, msg) ? 1 : 0;
	printf("%s: %s\n", what, msg[0] ? msg : "ok");
	return 0;
}

int ctl_reload(int argc, char **argv, const struct ctl_opts *o)
{
	if (argc)
		return ctl_usage_error("reload takes no arguments (got '%s')", argv[0]);
	return simple(o, "reload", control_client_msg(NLPROTO_MSG_RELOAD, 0, 0));
}

int ctl_log(int argc, char **argv, const struct ctl_opts *o)
{
	static const struct ctl_word commands[] = {{"level", 0}, {"help", 1}, {NULL, 0}};
	struct status_out out = {.got = false};
	struct nl_msg *req;
	uint32_t proto;
	int cmd;

	if (!argc)
		return ctl_usage_error("log wants a command: tlsgatectl log level [LEVEL]");
	cmd = ctl_choose(argv[0], commands, "log command");
	if (cmd == 1) {
		printf("Usage: tlsgatectl log level [err | warn | info | debug]\n");
		return 0;
	}
	if (cmd < 0)
		return 2;
	if (argc == 1) {
		/* The current level is part of the status. */
		if (get_status(o, &out, &proto))
			return 1;
		printf("%s\n", out.st.log_level);
		return 0;
	}
	if (argc > 2 || tg_log_level_parse(argv[1]) < 0)
		return ctl_usage_error("log level wants one of err, warn, info, debug");
	req = control_client_msg(NLPROTO_MSG_LOG_LEVEL, 0, 0);
	if (req && nla_put_string(req, NLPROTO_A_LOG_LEVEL, argv[1]) < 0) {
		nlmsg_free(req);
		req = NULL;
	}
	return simple(o, "log level", req);
}
