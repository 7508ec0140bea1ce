// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/datapath.h"
#include "bpf/loader.h"
#include "daemon/events.h"
#include "daemon/gateway.h"
#include "lib/log.h"
#include "policy/destaddr.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int add_excludes(struct tg_bpf *h, const struct config_prefixes *l)
{
	for (unsigned int i = 0; i < l->n; i++) {
		const struct config_prefix *p = &l->p[i];
		int rc = tg_bpf_exclude_add(h, p->family, p->addr, p->len);

		if (rc) {
			char a[64];

			inet_ntop(p->family, p->addr, a, sizeof(a));
			log_err("steer_exclude %s/%u: %s", a, p->len, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* NULL-terminated argv of the names in l (pointers into l). */
static void iface_argv(const struct config_ifaces *l, const char **argv)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		argv[i] = l->name[i];
	argv[i] = NULL;
}

int datapath_open(struct gateway *g, struct tg_bpf **out)
{
	const struct config *c = &g->cfg;
	const char *in[CONFIG_MAX_IFS + 1], *outs[CONFIG_MAX_IFS + 1];
	struct tg_bpf_opts o = { .sz = sizeof(o) };
	int rc;

	*out = NULL;
	if (!c->inside_ifs.n && !c->outside_ifs.n)
		return 0;
	iface_argv(&c->inside_ifs, in);
	iface_argv(&c->outside_ifs, outs);
	if (c->relay_mark == TG_STEER_MARK_DEFAULT) {
		/* our own outbound sockets would be routed to ourselves */
		log_err("relay_mark %#x is the steering mark: choose another", c->relay_mark);
		return -EINVAL;
	}
	o.pin_dir = c->bpf_pin_dir;
	o.inside = in;
	o.outside = outs;
	o.steer_inbound = c->steer_inbound;
	o.ports = c->steer_port_list.n ? c->steer_port_list.port : NULL;
	o.nports = c->steer_port_list.n;
	o.enforce_ports = c->enforce_port_list.port;
	o.nenforce_ports = c->enforce_port_list.n;
	o.tls_ports = c->implicit_tls_port_list.port;
	o.ntls_ports = c->implicit_tls_port_list.n;
	o.relay_mark = c->relay_mark;
	o.may_down = c->may_down_enforce ? TG_MAY_DOWN_ENFORCE : TG_MAY_DOWN_PASS;
	o.default_rule[TG_DIR_OUTBOUND] = POLICY_ID_DEFAULT_OUT;
	o.default_rule[TG_DIR_INBOUND] = POLICY_ID_DEFAULT_IN;
	rc = tg_bpf_open(&o, out);
	if (rc) {
		log_err("bpf: cannot load/attach (inside=%s outside=%s pin_dir=%s): %s",
			c->inside_interfaces ? c->inside_interfaces : "-",
			c->outside_interfaces ? c->outside_interfaces : "-", c->bpf_pin_dir,
			strerror(-rc));
		return rc;
	}
	if ((rc = add_excludes(*out, &c->steer_exclude_list))) {
		tg_bpf_close(*out);
		*out = NULL;
		return rc;
	}
	log_info("bpf: attached steer=%s enforce=%s ports=%s pin_dir=%s may_down=%s",
		 c->inside_interfaces ? c->inside_interfaces : "-",
		 c->outside_interfaces ? c->outside_interfaces : "-", c->steer_ports, c->bpf_pin_dir,
		 c->may_down_enforce ? "enforce" : "pass");
	return 0;
}

/* How many workers have a listener in fd (the rest: none, e.g. beyond TG_LISTEN_WORKERS). */
static unsigned int with_listener(const int (*fd)[2], unsigned int n)
{
	while (n && fd[n - 1][0] < 0 && fd[n - 1][1] < 0)
		n--;
	return n;
}

int datapath_listeners(struct gateway *g, struct tg_bpf *h, const int (*out)[2],
		       const int (*in)[2], unsigned int nworkers)
{
	unsigned int n = with_listener(out, nworkers), nin = with_listener(in, nworkers);
	int rc;

	if (!h)
		return 0;
	rc = tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, out, n);
	if (rc) {
		log_err("bpf: cannot register the steering listeners (%u workers): %s", n,
			strerror(-rc));
		return rc;
	}
	log_info("bpf: steering over %u workers' listeners%s", n,
		 g->cfg.steer_inbound ? " (outbound)" : "");
	if (!g->cfg.steer_inbound)
		return 0;
	if (!nin) {
		log_err("bpf: steer_inbound = yes but no inbound_listen address to steer to");
		return -EINVAL;
	}
	rc = tg_bpf_set_listeners(h, TG_DIR_INBOUND, in, nin);
	if (rc)
		log_err("bpf: cannot register the inbound steering listeners: %s", strerror(-rc));
	else
		log_info("bpf: steering over %u workers' listeners (inbound)", nin);
	return rc;
}

int datapath_policy(struct tg_bpf *h, const struct policy *p, const struct config *c,
		    const struct policy_destaddr_addr *dest, size_t ndest, size_t seen)
{
	const bool table_monitor[2] = { c->outbound_policy_monitor, c->inbound_policy_monitor };
	struct tg_bpf_policy_entry *e[2] = { NULL, NULL }, *all = NULL, *merged = NULL;
	size_t n[2] = { 0, 0 }, nmerged = 0, added = 0;
	int rc = 0;

	if (!h || !p)
		return 0;
	rc = policy_lpm_entries(p, POLICY_OUTBOUND, &e[0], &n[0]);
	rc = rc ?: policy_lpm_entries(p, POLICY_INBOUND, &e[1], &n[1]);
	if (rc)
		goto out;
	all = calloc(n[0] + n[1] + 1, sizeof(*all));
	if (!all) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(all, e[0], n[0] * sizeof(*all));
	memcpy(all + n[0], e[1], n[1] * sizeof(*all));
	for (size_t i = 0; i < n[0] + n[1]; i++)
		if (table_monitor[i < n[0] ? POLICY_OUTBOUND : POLICY_INBOUND])
			all[i].flags |= TG_POL_F_MONITOR;
	/* the table's entries win where they are; the destinations' addresses fill the rest */
	rc = policy_destaddr_entries(all, n[0] + n[1], dest, ndest, POLICY_ID_DEST_POLICY, &merged,
				     &nmerged, &added);
	if (rc)
		goto out;
	rc = tg_bpf_policy_replace(h, merged, nmerged);
	if (rc)
		log_err("bpf: policy update failed (%zu entries): %s", nmerged, strerror(-rc));
	else
		log_info("bpf: policy in the kernel: %zu outbound and %zu inbound prefixes, "
			 "destination_policy=%zu (required=%zu seen=%zu)",
			 n[0], n[1], added, ndest, seen);
out:
	free(e[0]);
	free(e[1]);
	free(all);
	free(merged);
	return rc;
}

static void on_event(const struct tg_event *ev, void *ctx)
{
	char line[512], src[64], dst[64];
	struct event nev = { .type = EVENT_DROP };
	int fam = ev->family == TG_FAM_V6 ? AF_INET6 : AF_INET;

	(void)ctx;
	const char *rn = policy_id_reserved_name(ev->rule_id);

	tg_bpf_event_format(ev, line, sizeof(line));
	if (ev->flags & TG_EV_F_MONITOR)
		/* a monitor rule: the flow passed */
		log_info("enforce would have been refused (monitor): %s%s%s%s", line,
			 rn ? " rule_name=\"" : "", rn ? rn : "", rn ? "\"" : "");
	else
		log_warn("enforce drop %s%s%s%s", line, rn ? " rule_name=\"" : "", rn ? rn : "",
			 rn ? "\"" : "");
	inet_ntop(fam, ev->caddr, src, sizeof(src));
	inet_ntop(fam, ev->saddr, dst, sizeof(dst));
	nev.rule_id = ev->rule_id;
	nev.level = policy_level_name((enum policy_level)ev->level);
	nev.subject = ev->flags & TG_EV_F_MONITOR
		? "would have been refused (monitor): plaintext SMTP to a TLS-required destination"
		: "plaintext SMTP to a TLS-required destination";
	nev.detail = line;
	nev.src = src;
	nev.dst = dst;
	events_publish(&nev);
}

void datapath_events(struct tg_bpf *h)
{
	if (h)
		tg_bpf_events_poll(h, 0, on_event, NULL);
}

void datapath_relay_socket(const struct gateway *g, int fd, const char *ids)
{
	const struct config *c = &g->cfg;
	int rc;

	if (c->relay_mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &c->relay_mark,
					sizeof(c->relay_mark)))
		log_warn("session=%s SO_MARK %#x: %s", ids, c->relay_mark, strerror(errno));
	if (!g->bpf)
		return;
	rc = tg_bpf_relay_socket(g->bpf, fd);
	if (rc)
		log_warn("session=%s bpf relay register: %s (the kernel enforcer will not know this "
			 "is the relay)",
			 ids, strerror(-rc));
}

void datapath_keep_runtime(struct tg_bpf *h)
{
	if (!h)
		return;
	tg_bpf_keep_runtime(h);
	log_info("bpf: set-up done: keeping only tg_policy, tg_listen, tg_events and tg_relay open");
}

int datapath_detach(const char *pin_dir)
{
	struct tg_bpf *h = NULL;
	int rc = tg_bpf_open_pinned(pin_dir, &h);

	if (rc) {
		fprintf(stderr, "tlsgated: nothing to detach in %s: %s\n", pin_dir, strerror(-rc));
		return rc;
	}
	rc = tg_bpf_detach(h);
	tg_bpf_close(h);
	if (rc)
		fprintf(stderr, "tlsgated: detach: %s\n", strerror(-rc));
	else
		printf("tlsgated: filters, routes and pins under %s removed\n", pin_dir);
	return rc;
}
