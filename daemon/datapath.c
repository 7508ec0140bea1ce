// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/datapath.h"
#include "bpf/loader.h"
#include "daemon/events.h"
#include "daemon/gateway.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_IFS 16
#define MAX_PORTS 16

/* Split "a b,c" into argv (pointers into buf), NULL-terminated. */
static size_t split(char *buf, const char **argv, size_t max)
{
	char *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(buf, ", \t", &save); tok && n + 1 < max;
	     tok = strtok_r(NULL, ", \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	return n;
}

static int add_excludes(struct tg_bpf *h, const char *list)
{
	char *dup = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		unsigned char addr[16];
		char *slash = strchr(tok, '/');
		unsigned long plen;
		int fam = strchr(tok, ':') ? AF_INET6 : AF_INET;

		if (slash)
			*slash = '\0';
		plen = slash ? strtoul(slash + 1, NULL, 10) : (fam == AF_INET ? 32 : 128);
		if (inet_pton(fam, tok, addr) != 1 || plen > (fam == AF_INET ? 32u : 128u)) {
			log_err("steer_exclude: bad prefix '%s'", tok);
			rc = -EINVAL;
			break;
		}
		rc = tg_bpf_exclude_add(h, fam, addr, (unsigned int)plen);
		if (rc) {
			log_err("steer_exclude %s: %s", tok, strerror(-rc));
			break;
		}
	}
	free(dup);
	return rc;
}

int datapath_open(struct gateway *g, struct tg_bpf **out)
{
	const struct config *c = &g->cfg;
	char ibuf[256] = "", obuf[256] = "", pbuf[128] = "";
	const char *in[MAX_IFS], *outs[MAX_IFS], *pv[MAX_PORTS];
	uint16_t ports[MAX_PORTS];
	size_t np;
	struct tg_bpf_opts o = { .sz = sizeof(o) };
	int rc;

	*out = NULL;
	if (!c->inside_interfaces && !c->outside_interfaces)
		return 0;
	snprintf(ibuf, sizeof(ibuf), "%s", c->inside_interfaces ? c->inside_interfaces : "");
	snprintf(obuf, sizeof(obuf), "%s", c->outside_interfaces ? c->outside_interfaces : "");
	snprintf(pbuf, sizeof(pbuf), "%s", c->steer_ports ? c->steer_ports : "25");
	split(ibuf, in, MAX_IFS);
	split(obuf, outs, MAX_IFS);
	np = split(pbuf, pv, MAX_PORTS);
	for (size_t i = 0; i < np; i++) {
		unsigned long v = strtoul(pv[i], NULL, 10);

		if (!v || v > 65535) {
			log_err("steer_ports: bad port '%s'", pv[i]);
			return -EINVAL;
		}
		ports[i] = (uint16_t)v;
	}
	if (c->relay_mark == TG_STEER_MARK_DEFAULT) {
		/* our own outbound sockets would be routed to ourselves */
		log_err("relay_mark %#x is the steering mark: choose another", c->relay_mark);
		return -EINVAL;
	}
	o.pin_dir = c->bpf_pin_dir;
	o.inside = in;
	o.outside = outs;
	o.steer_inbound = c->steer_inbound;
	o.ports = ports;
	o.nports = np;
	o.relay_mark = c->relay_mark;
	o.may_down = c->may_down_enforce ? TG_MAY_DOWN_ENFORCE : TG_MAY_DOWN_PASS;
	o.default_rule[POLICY_OUTBOUND] = POLICY_ID_DEFAULT_OUT;
	o.default_rule[POLICY_INBOUND] = POLICY_ID_DEFAULT_IN;
	rc = tg_bpf_open(&o, out);
	if (rc) {
		log_err("bpf: cannot load/attach (inside=%s outside=%s pin_dir=%s): %s",
			c->inside_interfaces ? c->inside_interfaces : "-",
			c->outside_interfaces ? c->outside_interfaces : "-", c->bpf_pin_dir,
			strerror(-rc));
		return rc;
	}
	if (c->steer_exclude && (rc = add_excludes(*out, c->steer_exclude))) {
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

int datapath_listeners(struct gateway *g, struct tg_bpf *h, int fd4, int fd6, int in4, int in6)
{
	int rc;

	if (!h)
		return 0;
	rc = tg_bpf_set_listener(h, fd4, fd6);
	if (rc) {
		log_err("bpf: cannot register the transparent listener: %s", strerror(-rc));
		return rc;
	}
	if (!g->cfg.steer_inbound)
		return 0;
	if (in4 < 0 && in6 < 0) {
		log_err("bpf: steer_inbound = yes but no inbound_listen address to steer to");
		return -EINVAL;
	}
	rc = tg_bpf_set_inbound_listener(h, in4, in6);
	if (rc)
		log_err("bpf: cannot register the inbound transparent listener: %s", strerror(-rc));
	return rc;
}

int datapath_policy(struct tg_bpf *h, const struct policy *p)
{
	struct tg_bpf_policy_entry *e = NULL;
	struct policy_lpm_entry *lpm[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 }, total = 0;
	int rc = 0;

	if (!h || !p)
		return 0;
	for (int d = 0; d < 2; d++) {
		rc = policy_lpm_entries(p, (enum policy_dir)d, &lpm[d], &n[d]);
		if (rc)
			goto out;
	}
	e = calloc(n[0] + n[1] + 1, sizeof(*e));
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < n[d]; i++, total++) {
			e[total].dir = (enum policy_dir)d;
			e[total].family = lpm[d][i].family;
			memcpy(e[total].addr, lpm[d][i].addr, sizeof(e[total].addr));
			e[total].prefix_len = lpm[d][i].prefix_len;
			e[total].rule_id = lpm[d][i].rule_id;
			e[total].level = lpm[d][i].level;
		}
	}
	rc = tg_bpf_policy_replace(h, e, total);
	if (rc)
		log_err("bpf: policy update failed (%zu entries): %s", total, strerror(-rc));
	else
		log_info("bpf: policy in the kernel: %zu outbound and %zu inbound prefixes", n[0],
			 n[1]);
out:
	free(lpm[0]);
	free(lpm[1]);
	free(e);
	return rc;
}

static void on_event(const struct tg_event *ev, void *ctx)
{
	char line[512], src[64], dst[64];
	struct nlproto_event nev = { .type = NLPROTO_EV_DROP };
	struct timespec ts;
	int fam = ev->family == TG_FAM_V6 ? AF_INET6 : AF_INET;

	(void)ctx;
	tg_bpf_event_format(ev, line, sizeof(line));
	log_warn("enforce drop %s", line);
	inet_ntop(fam, ev->caddr, src, sizeof(src));
	inet_ntop(fam, ev->saddr, dst, sizeof(dst));
	clock_gettime(CLOCK_REALTIME, &ts);
	nev.time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	nev.rule_id = ev->rule_id;
	nev.level = policy_level_name((enum policy_level)ev->level);
	nev.subject = "plaintext SMTP to a TLS-required destination";
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
