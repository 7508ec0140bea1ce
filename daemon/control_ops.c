// SPDX-License-Identifier: GPL-2.0-only
/*
 * What tlsgatectl can ask of the running daemon (control/server.h's ops), on the main
 * thread.  Policy edits go through policy/store.c (the table file is edited in place and
 * atomically, then the new snapshot is resolved, swapped in and pushed to the kernel), so a
 * change survives a restart and `policy show` after it equals before.
 */
#include "control/server.h"
#include "daemon/nic.h"
#include "daemon/counters.h"
#include "daemon/events.h"
#include "daemon/outcome.h"
#include "daemon/session.h"
#include "daemon/sts_fetch.h"
#include "daemon/tlsrpt.h"
#include "daemon/supervisor.h"
#include "daemon/worker.h"
#include "lib/log.h"
#include "lib/sockutil.h"
#include "lib/version.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const key_type_names[] = {
	[POLICY_KEY_DOMAIN] = "domain",
	[POLICY_KEY_SUBDOMAINS] = "subdomains",
	[POLICY_KEY_HOST] = "host",
	[POLICY_KEY_ADDR] = "addr",
	[POLICY_KEY_DEFAULT] = "default",
};

/* The wire's direction values are its own (control/nlproto.h); the policy's may change. */
static enum nlproto_dir wire_dir(enum policy_dir d)
{
	return d == POLICY_INBOUND ? NLPROTO_DIR_INBOUND : NLPROTO_DIR_OUTBOUND;
}

static enum policy_dir policy_dir_of(enum nlproto_dir d)
{
	return d == NLPROTO_DIR_INBOUND ? POLICY_INBOUND : POLICY_OUTBOUND;
}

static int put_rule(const struct gateway *g, const struct policy_rule *r, control_rule_cb cb,
		    void *arg)
{
	struct nlproto_rule nr = { 0 };
	char text[1024];

	policy_rule_format(r, text, sizeof(text));
	nr.id = r->id;
	nr.dir = wire_dir(r->dir);
	nr.key_type = key_type_names[r->key_type];
	nr.key = r->key ? r->key : "default";
	nr.port = r->port;
	nr.level = policy_level_name(r->level);
	nr.min_version = (uint32_t)r->min_version;
	nr.max_version = (uint32_t)r->max_version;
	nr.protocols = r->protocols;
	nr.text = text;
	nr.ciphers = r->ciphers;
	nr.exclude = r->exclude;
	nr.match = (const char *const *)r->match;
	nr.nmatch = r->nmatch;
	nr.servername = r->servername;
	nr.file = r->file;
	nr.line = r->line;
	nr.mode = gateway_rule_monitor(g, r) ? "monitor" : "enforce";
	return cb(arg, &nr);
}

static int cmp_rule_id(const void *a, const void *b)
{
	uint32_t x = (*(const struct policy_rule *const *)a)->id;
	uint32_t y = (*(const struct policy_rule *const *)b)->id;

	return x < y ? -1 : x > y;
}

static int op_policy_dump(void *ctx, int dir, uint32_t after_id, control_rule_cb cb, void *arg)
{
	struct supervisor *sv = ctx;
	struct policy *p = gateway_policy_get(sv->g);
	const struct policy_rule **v = NULL;
	size_t n = 0, cap;
	int rc = 0;

	if (!p)
		return 0;
	cap = policy_rule_count(p, POLICY_OUTBOUND) + policy_rule_count(p, POLICY_INBOUND);
	v = calloc(cap + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (int d = 0; d < 2; d++) {
		if (dir != CONTROL_DIR_ANY && dir != (int)wire_dir((enum policy_dir)d))
			continue;
		for (size_t i = 0; i < policy_rule_count(p, (enum policy_dir)d); i++) {
			const struct policy_rule *r = policy_rule_at(p, (enum policy_dir)d, i);

			if (r->id > after_id)
				v[n++] = r;
		}
	}
	qsort(v, n, sizeof(*v), cmp_rule_id);
	for (size_t i = 0; i < n; i++) {
		rc = put_rule(sv->g, v[i], cb, arg);
		if (rc) {
			rc = rc > 0 ? 0 : rc; /* 1: the page is full */
			break;
		}
	}
out:
	free(v);
	policy_put(p);
	return rc;
}

/* Apply a policy edit made by policy/store.c. */
static int edited(struct supervisor *sv, int rc, struct policy *np, const struct policy_error *e,
		  char *msg, size_t msglen, const char *what)
{
	if (rc) {
		snprintf(msg, msglen, "%s", e->msg[0] ? e->msg : strerror(-rc));
		log_warn("control: %s refused: %s", what, msg);
		return rc;
	}
	log_info("control: %s", what);
	supervisor_apply_policy(sv, np);	/* logs the table's warnings */
	return 0;
}

static int op_policy_add(void *ctx, enum nlproto_dir wdir, const char *line, control_rule_cb cb,
			 void *arg, char *msg, size_t msglen)
{
	enum policy_dir dir = policy_dir_of(wdir);
	struct supervisor *sv = ctx;
	struct policy *old = gateway_policy_get(sv->g), *np = NULL;
	struct policy_error e = { { 0 } };
	struct policy_rule r = { 0 };
	char what[600];
	int rc;

	rc = policy_store_add(old, dir, line, &np, &e);
	snprintf(what, sizeof(what), "policy add %s \"%s\"", dir == POLICY_INBOUND ? "inbound"
										   : "outbound", line);
	policy_put(old);
	rc = edited(sv, rc, np, &e, msg, msglen, what);
	if (rc)
		return rc;
	/* Tell the CLI the rule as it now stands (its id). */
	if (!policy_rule_parse(dir, "policy add", line, &r, &e)) {
		struct policy *cur = gateway_policy_get(sv->g);
		const struct policy_rule *found = policy_rule_find(cur, dir, r.key);

		if (found && cb)
			put_rule(sv->g, found, cb, arg);
		policy_rule_clear(&r);
		policy_put(cur);
	}
	return 0;
}

static int op_policy_del(void *ctx, enum nlproto_dir wdir, const char *key, char *msg,
			 size_t msglen)
{
	enum policy_dir dir = policy_dir_of(wdir);
	struct supervisor *sv = ctx;
	struct policy *old = gateway_policy_get(sv->g), *np = NULL;
	struct policy_error e = { { 0 } };
	char what[400];
	int rc = policy_store_del(old, dir, key, &np, &e);

	policy_put(old);
	snprintf(what, sizeof(what), "policy del %s %s", dir == POLICY_INBOUND ? "inbound"
									      : "outbound", key);
	return edited(sv, rc, np, &e, msg, msglen, what);
}

/* The import data arrives over the socket: give policy/store.c a private file of it. */
static int op_policy_import(void *ctx, enum nlproto_dir wdir, const char *name, const char *data,
			    size_t len, char *msg, size_t msglen)
{
	enum policy_dir dir = policy_dir_of(wdir);
	struct supervisor *sv = ctx;
	struct policy *old = gateway_policy_get(sv->g), *np = NULL;
	struct policy_error e = { { 0 } };
	char tmp[512], what[600];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s/import.XXXXXX",
		 sv->g->cfg.state_dir && !access(sv->g->cfg.state_dir, W_OK) ? sv->g->cfg.state_dir
									      : "/tmp");
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, msglen, "cannot stage the import: %s", strerror(errno));
		policy_put(old);
		return rc;
	}
	rc = write(fd, data, len) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	if (!rc)
		rc = policy_store_import(old, dir, tmp, &np, &e);
	unlink(tmp);
	policy_put(old);
	if (rc && e.msg[0]) {
		/* errors cite the admin's file name, not our staging file */
		char *at = strstr(e.msg, tmp);

		if (at) {
			char fixed[sizeof(e.msg)];

			snprintf(fixed, sizeof(fixed), "%.*s%s%s", (int)(at - e.msg), e.msg, name,
				 at + strlen(tmp));
			snprintf(e.msg, sizeof(e.msg), "%s", fixed);
		}
	}
	snprintf(what, sizeof(what), "policy import %s from %s", dir == POLICY_INBOUND ? "inbound"
										      : "outbound", name);
	rc = edited(sv, rc, np, &e, msg, msglen, what);
	if (!rc && np && policy_warning_count(np))
		snprintf(msg, msglen, "imported %zu rules from %s, %zu warnings (logged; `tlsgatectl "
			 "policy check %s` lists them)", policy_rule_count(np, dir), name,
			 policy_warning_count(np), name);
	else if (!rc && np)
		snprintf(msg, msglen, "imported %zu rules from %s", policy_rule_count(np, dir), name);
	return rc;
}

/* Every diagnostic, one "file:line:col: ..." per line, as many as the reply holds. */
static int op_policy_check(void *ctx, enum nlproto_dir wdir, const char *name, const char *data,
			   size_t len, char *msg, size_t msglen)
{
	enum policy_dir dir = policy_dir_of(wdir);
	struct policy_diags d = { 0 };
	size_t n = 0, used, shown = 0;
	int rc = policy_parse_table_diags(dir, name, data, len, NULL, &n, &d);

	(void)ctx;
	if (rc && !d.n) {
		snprintf(msg, msglen, "%s: %s", name, strerror(-rc));
		goto out;
	}
	if (rc)
		used = (size_t)snprintf(msg, msglen, "%s: %zu errors, %zu warnings (the table would "
					"be refused)", name, d.nerrors, d.nwarnings);
	else
		used = (size_t)snprintf(msg, msglen, "%s: %zu rules, no errors, %zu warnings",
					name, n, d.nwarnings);
	for (size_t i = 0; i < d.n && used < msglen; i++) {
		size_t left = msglen - used, need = strlen(d.v[i].msg) + 12;

		if (need + 48 > left)	/* keep room for the count of the rest */
			break;
		used += (size_t)snprintf(msg + used, left, "\n%s: %s",
					 d.v[i].error ? "error" : "warning", d.v[i].msg);
		shown++;
	}
	if (shown < d.nerrors + d.nwarnings && used < msglen)
		snprintf(msg + used, msglen - used, "\n... and %zu more",
			 d.nerrors + d.nwarnings - shown);
out:
	policy_diags_free(&d);
	return rc;
}

/* ---- sessions: the daemon's view turned into wire format ---------------------------------- */

static const char *addr_port(const struct sockaddr_storage *ss, char *ip, size_t iplen,
			     uint16_t *port)
{
	tg_addr_text(ss, ip, iplen, NULL, 0);
	*port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					 : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ip;
}

/* "tx=kernel rx=user(x)" -> "kernel", "user(x)"; "plain" -> "plain", "plain" */
static void split_ktls(const char *st, char *tx, char *rx, size_t len)
{
	const char *t = strstr(st, "tx="), *r = strstr(st, "rx=");

	snprintf(tx, len, "%.*s", t ? (int)strcspn(t + 3, " ") : (int)strlen(st), t ? t + 3 : st);
	snprintf(rx, len, "%.*s", r ? (int)strcspn(r + 3, " ") : (int)strlen(st), r ? r + 3 : st);
}

/* A session on the wire, with its own copies of every string: the session may change or end
 * once the host's lock is released. */
struct wire_session {
	struct nlproto_session ns;
	char state[32], tx[64], rx[64], cip[64], dip[64], name[256], tlsv[16], cipher[64],
		level[16], conf[64];
};

/* Copy a string that the session's thread may be rewriting: bounded, always terminated. */
static const char *copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (!src)
		return NULL;
	n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return dst;
}

static void wire_session(const struct session_view *v, struct wire_session *w)
{
	struct nlproto_session *ns = &w->ns;

	memset(w, 0, sizeof(*w));
	ns->id = v->id;
	ns->role = v->role == ROLE_OUTBOUND ? NLPROTO_DIR_OUTBOUND : NLPROTO_DIR_INBOUND;
	ns->client_addr = addr_port(v->client, w->cip, sizeof(w->cip), &ns->client_port);
	ns->dest_addr = addr_port(v->dest, w->dip, sizeof(w->dip), &ns->dest_port);
	ns->dest_name = copy(w->name, sizeof(w->name), v->dest_name);
	ns->state = copy(w->state, sizeof(w->state), v->state);
	ns->tls_version = copy(w->tlsv, sizeof(w->tlsv), v->tls_version);
	ns->cipher = copy(w->cipher, sizeof(w->cipher), v->cipher);
	split_ktls(v->ktls, w->tx, w->rx, sizeof(w->tx));
	ns->ktls_tx = w->tx;
	ns->ktls_rx = w->rx;
	ns->ktls_conf = copy(w->conf, sizeof(w->conf), v->ktls_conf);
	ns->conn_uses = v->conn_uses;
	ns->tls_resumed = v->tls_resumed;
	if (v->rule) {
		ns->rule_id = v->rule->id;
		ns->level = copy(w->level, sizeof(w->level), policy_level_name(v->rule->level));
	}
	ns->bytes_c2s = v->bytes_c2s;
	ns->bytes_s2c = v->bytes_s2c;
	ns->start_ms = v->start_ms;
}

static int cmp_wire(const void *a, const void *b)
{
	uint64_t x = ((const struct wire_session *)a)->ns.id;
	uint64_t y = ((const struct wire_session *)b)->ns.id;

	return x < y ? -1 : x > y;
}

struct dump {
	uint64_t after_id;
	struct wire_session *v;
	size_t n, cap;
	int err;
};

static void dump_one(const struct session_view *sv, void *ctx)
{
	struct dump *d = ctx;

	if (d->err || sv->id <= d->after_id)
		return;
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct wire_session *nv = realloc(d->v, nc * sizeof(*nv));

		if (!nv) {
			d->err = -ENOMEM;
			return;
		}
		d->v = nv;
		d->cap = nc;
	}
	wire_session(sv, &d->v[d->n++]);
}

static int op_session_dump(void *ctx, uint64_t after_id, control_session_cb cb, void *arg)
{
	struct supervisor *sv = ctx;
	struct dump d = { .after_id = after_id };
	int rc = 0;

	for (unsigned int i = 0; i < sv->nworkers; i++)
		if (sv->workers[i])
			worker_foreach_session(sv->workers[i], dump_one, &d);
	rc = d.err;
	if (rc)
		goto out;
	if (d.n)
		qsort(d.v, d.n, sizeof(*d.v), cmp_wire);
	for (size_t i = 0; i < d.n; i++) {
		rc = cb(arg, &d.v[i].ns);
		if (rc) {
			rc = rc > 0 ? 0 : rc;
			break;
		}
	}
out:
	free(d.v);
	return rc;
}

static int op_session_kill(void *ctx, uint64_t id, char *msg, size_t msglen)
{
	struct supervisor *sv = ctx;

	for (unsigned int i = 0; i < sv->nworkers; i++) {
		int rc = sv->workers[i] ? worker_kill(sv->workers[i], id) : -ENOENT;

		if (rc == -ENOENT)
			continue;
		if (!rc) {
			snprintf(msg, msglen, "session %llu: ending (the client gets a 421)",
				 (unsigned long long)id);
			log_info("control: session %llu killed by the administrator",
				 (unsigned long long)id);
		}
		return rc;
	}
	snprintf(msg, msglen, "no session %llu", (unsigned long long)id);
	return -ENOENT;
}

static int op_reload(void *ctx, char *msg, size_t msglen)
{
	return supervisor_reload(ctx, msg, msglen);
}

/* ---- MTA-STS ---- */

static struct sts_fetch *sts_of(void *ctx, char *msg, size_t msglen)
{
	struct supervisor *sv = ctx;

	if (!sv->g->sts)
		snprintf(msg, msglen, "MTA-STS is unavailable (see the log: the cache directory)");
	return sv->g->sts;
}

static int op_sts_show(void *ctx, const char *domain, control_sts_cb cb, void *arg, char *msg,
		       size_t msglen)
{
	struct sts_fetch *f = sts_of(ctx, msg, msglen);
	struct policy_sts_entry *e = NULL;
	struct policy_sts_state st = { 0 };
	char d[POLICY_STS_NAME_MAX];
	struct nlproto_sts w = { 0 };
	int rc;

	if (!f)
		return -EOPNOTSUPP;
	if (!policy_sts_domain_norm(domain, d)) {
		snprintf(msg, msglen, "'%s' is not a domain name", domain);
		return -EINVAL;
	}
	if (policy_sts_cache_get(sts_fetch_cache(f), d, &e, &st)) {
		snprintf(msg, msglen, "nothing known of %s (try: tlsgatectl sts refresh %s)", d, d);
		return -ENOENT;
	}
	w.domain = d;
	if (e) {
		w.id = e->id;
		w.mode = policy_sts_mode_name(e->pol.mode);
		w.mx = (const char *const *)e->pol.mx;
		w.nmx = e->pol.nmx;
		w.max_age = e->pol.max_age;
		w.fetched = (uint64_t)e->fetched;
		w.expires = (uint64_t)e->expires;
	}
	w.pending = st.pending;
	w.error = st.error;
	w.last_attempt = (uint64_t)st.last_attempt;
	w.last_check = (uint64_t)st.last_check;
	w.failures = st.failures;
	w.fetches = st.fetches;
	rc = cb(arg, &w);
	policy_sts_entry_put(e);
	return rc;
}

static int op_sts_refresh(void *ctx, const char *domain, bool force, char *msg, size_t msglen)
{
	struct sts_fetch *f = sts_of(ctx, msg, msglen);
	int rc;

	if (!f)
		return -EOPNOTSUPP;
	rc = sts_fetch_refresh(f, domain, force);
	if (rc == -EINVAL)
		snprintf(msg, msglen, "'%s' is not a domain name", domain);
	else if (rc == -EBUSY)
		snprintf(msg, msglen, "too many refreshes queued; try again");
	return rc;
}

static int op_sts_purge(void *ctx, const char *domain, char *msg, size_t msglen)
{
	struct sts_fetch *f = sts_of(ctx, msg, msglen);
	char d[POLICY_STS_NAME_MAX];
	int rc;

	if (!f)
		return -EOPNOTSUPP;
	if (!policy_sts_domain_norm(domain, d)) {
		snprintf(msg, msglen, "'%s' is not a domain name", domain);
		return -EINVAL;
	}
	rc = policy_sts_cache_purge(sts_fetch_cache(f), d);
	if (rc == -ENOENT)
		snprintf(msg, msglen, "nothing cached for %s", d);
	else if (!rc)
		log_info("mta-sts purge domain=%s", d);
	return rc;
}

static void status_listener(struct nlproto_status *st, const struct config_addr *a,
			    const char *role)
{
	if (st->nlistener >= NLPROTO_STATUS_LISTENERS)
		return;
	snprintf(st->listener[st->nlistener].addr, sizeof(st->listener[0].addr), "%.63s", a->text);
	snprintf(st->listener[st->nlistener].role, sizeof(st->listener[0].role), "%s", role);
	st->nlistener++;
}

static int op_status(void *ctx, struct nlproto_status *st)
{
	static const char *const vnames[KTLS_NVERSIONS] = { "TLSv1.2", "TLSv1.3" };
	struct supervisor *sv = ctx;
	struct gateway *g = sv->g;
	const struct config *c = &g->cfg;
	struct policy *p = gateway_policy_get(g);
	const char *why = ktls_caps_unavailable_reason(&g->caps);
	struct timespec ts;
	uint64_t up_s = (loop_now_ms() - g->started_ms) / 1000u;

	snprintf(st->version, sizeof(st->version), "%s", TLSGATE_VERSION);
	clock_gettime(CLOCK_REALTIME, &ts);
	st->uptime = up_s;
	st->start = (uint64_t)ts.tv_sec - up_s;
	st->ktls = !why && c->ktls;
	snprintf(st->ktls_reason, sizeof(st->ktls_reason), "%s",
		 !c->ktls ? "disabled by configuration (ktls = no)" : why ? why : "");
	for (int v = 0; v < KTLS_NVERSIONS; v++) {
		for (int ci = 0; ci < KTLS_NCIPHERS && st->ncipher < NLPROTO_STATUS_CIPHERS; ci++) {
			struct nlproto_status_cipher *x = &st->cipher[st->ncipher++];

			snprintf(x->tls_version, sizeof(x->tls_version), "%s", vnames[v]);
			snprintf(x->name, sizeof(x->name), "%s", ktls_cipher_name((enum ktls_cipher)ci));
			x->tx = g->caps.tx[v][ci];
			x->rx = g->caps.rx[v][ci];
		}
	}
	nic_status(g->nic, st);
	for (unsigned int i = 0; i < c->n_outbound_listen; i++)
		status_listener(st, &c->outbound_listen[i],
				c->outbound_transparent ? "outbound (transparent)" : "outbound");
	for (unsigned int i = 0; i < c->n_inbound_listen; i++)
		status_listener(st, &c->inbound_listen[i], "inbound");
	st->sessions = (uint32_t)atomic_load(&g->ctr.sessions_active);
	st->sessions_total = atomic_load(&g->ctr.sessions_outbound) +
			     atomic_load(&g->ctr.sessions_inbound);
	if (p) {
		st->rules_out = (uint32_t)policy_rule_count(p, POLICY_OUTBOUND);
		st->rules_in = (uint32_t)policy_rule_count(p, POLICY_INBOUND);
		policy_put(p);
	}
	return 0;
}

static int op_metrics(void *ctx, control_metric_cb cb, void *arg)
{
	struct supervisor *sv = ctx;

	int err = counters_report(&sv->g->ctr, cb, arg);

	return err ?: nic_report(sv->g->nic, cb, arg);
}

/* ---- events: the daemon's, published on the control socket's multicast group ---------------- */

static const enum nlproto_event_type wire_event_type[] = {
	[EVENT_SESSION_START] = NLPROTO_EV_SESSION_START,
	[EVENT_SESSION_TLS] = NLPROTO_EV_SESSION_TLS,
	[EVENT_SESSION_END] = NLPROTO_EV_SESSION_END,
	[EVENT_DROP] = NLPROTO_EV_DROP,
};

void supervisor_event_sink(const struct event *ev, void *ctx)
{
	struct control_server *cs = ctx;
	struct nlproto_event ne = { .rule_id = ev->rule_id, .level = ev->level,
				    .subject = ev->subject, .detail = ev->detail,
				    .src = ev->src, .dst = ev->dst };
	struct wire_session ws;
	struct timespec ts;

	if ((size_t)ev->type >= sizeof(wire_event_type) / sizeof(wire_event_type[0]) ||
	    !wire_event_type[ev->type])
		return;
	ne.type = wire_event_type[ev->type];
	clock_gettime(CLOCK_REALTIME, &ts);
	ne.time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (ev->session) {
		wire_session(ev->session, &ws);
		ne.session = &ws.ns;
		ne.rule_id = ws.ns.rule_id;
		ne.level = ws.ns.level;
		ne.src = ev->session->client_txt;
		ne.dst = ev->session->dest_txt;
		ne.subject = ev->session->ids;
	}
	control_server_publish_event(cs, &ne); /* never blocks: MSG_DONTWAIT */
}

/* ---- TLS reports ---- */

static struct tlsrpt *tlsrpt_of(void *ctx, char *msg, size_t msglen)
{
	struct supervisor *sv = ctx;

	if (!sv->g->tlsrpt)
		snprintf(msg, msglen, "TLS reporting is off (tlsrpt = yes in tlsgate.conf, or see "
			 "the log)");
	return sv->g->tlsrpt;
}

static int op_tlsrpt_status(void *ctx, struct nlproto_tlsrpt *w, char *msg, size_t msglen)
{
	static struct tlsrpt_status st; /* the strings live until the next call (one thread) */
	struct tlsrpt *t = tlsrpt_of(ctx, msg, msglen);

	if (!t)
		return -ENOTSUP;
	tlsrpt_status_get(t, &st);
	memset(w, 0, sizeof(*w));
	w->mode = st.fleet ? "fleet" : "daily";
	w->day_start = (uint64_t)st.day_start;
	w->domains = st.domains;
	w->sessions = st.sessions;
	w->failures = st.failures;
	w->spooled = st.spooled;
	w->delivered = st.delivered;
	w->given_up = st.given_up;
	w->failed_attempts = st.failed_attempts;
	w->datagrams = st.datagrams;
	w->datagram_errors = st.datagram_errors;
	w->error = st.last_error;
	return 0;
}

static int op_tlsrpt_flush(void *ctx, char *msg, size_t msglen)
{
	struct tlsrpt *t = tlsrpt_of(ctx, msg, msglen);

	if (!t)
		return -ENOTSUP;
	log_info("tlsrpt: flush asked for");
	/* what sessions published and the main loop has not taken yet belongs in it */
	outcome_drain(((struct supervisor *)ctx)->g->outcomes);
	return tlsrpt_flush(t);
}

const struct control_ops supervisor_control_ops = {
	.status = op_status,
	.policy_dump = op_policy_dump,
	.policy_add = op_policy_add,
	.policy_del = op_policy_del,
	.policy_import = op_policy_import,
	.policy_check = op_policy_check,
	.session_dump = op_session_dump,
	.session_kill = op_session_kill,
	.reload = op_reload,
	.log_level = NULL, /* the server sets the process-wide level */
	.sts_show = op_sts_show,
	.sts_refresh = op_sts_refresh,
	.sts_purge = op_sts_purge,
	.metrics = op_metrics,
	.tlsrpt_status = op_tlsrpt_status,
	.tlsrpt_flush = op_tlsrpt_flush,
};
