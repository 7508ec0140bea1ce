// SPDX-License-Identifier: GPL-2.0-only
/*
 * What tlsgatectl can ask of the running daemon (control/server.h's ops), on the main
 * thread.  Policy edits go through policy/store.c (the table file is edited in place and
 * atomically, then the new snapshot is resolved, swapped in and pushed to the kernel), so a
 * change survives a restart and `policy show` after it equals before.
 */
#include "control/server.h"
#include "daemon/session.h"
#include "daemon/supervisor.h"
#include "daemon/worker.h"
#include "lib/log.h"
#include "lib/version.h"
#include "policy/policy.h"

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

static int put_rule(const struct policy_rule *r, control_rule_cb cb, void *arg)
{
	struct nlproto_rule nr = { 0 };
	char text[1024];

	policy_rule_format(r, text, sizeof(text));
	nr.id = r->id;
	nr.dir = r->dir;
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
		if (dir != CTL_DIR_ANY && dir != d)
			continue;
		for (size_t i = 0; i < policy_rule_count(p, (enum policy_dir)d); i++) {
			const struct policy_rule *r = policy_rule_at(p, (enum policy_dir)d, i);

			if (r->id > after_id)
				v[n++] = r;
		}
	}
	qsort(v, n, sizeof(*v), cmp_rule_id);
	for (size_t i = 0; i < n; i++) {
		rc = put_rule(v[i], cb, arg);
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
	supervisor_apply_policy(sv, np);
	return 0;
}

static int op_policy_add(void *ctx, enum policy_dir dir, const char *line, control_rule_cb cb,
			 void *arg, char *msg, size_t msglen)
{
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
			put_rule(found, cb, arg);
		policy_rule_clear(&r);
		policy_put(cur);
	}
	return 0;
}

static int op_policy_del(void *ctx, enum policy_dir dir, const char *key, char *msg,
			 size_t msglen)
{
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
static int op_policy_import(void *ctx, enum policy_dir dir, const char *name, const char *data,
			    size_t len, char *msg, size_t msglen)
{
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
	if (!rc && np)
		snprintf(msg, msglen, "imported %zu rules from %s", policy_rule_count(np, dir), name);
	return rc;
}

static int op_policy_check(void *ctx, enum policy_dir dir, const char *name, const char *data,
			   size_t len, char *msg, size_t msglen)
{
	struct policy_error e = { { 0 } };
	struct policy_rule *rules = NULL;
	size_t n = 0;
	int rc = policy_parse_table(dir, name, data, len, &rules, &n, &e);

	(void)ctx;
	if (rc) {
		snprintf(msg, msglen, "%s", e.msg[0] ? e.msg : strerror(-rc));
		return rc;
	}
	snprintf(msg, msglen, "%s: %zu rules, no errors", name, n);
	policy_rules_free(rules, n);
	return 0;
}

struct dumped {
	struct nlproto_session ns;
	char state[32], tx[64], rx[64], cip[64], dip[64], name[256], tlsv[16], cipher[64],
		level[16];
};

static int cmp_dumped(const void *a, const void *b)
{
	uint64_t x = ((const struct dumped *)a)->ns.id, y = ((const struct dumped *)b)->ns.id;

	return x < y ? -1 : x > y;
}

/* Copy a string that another thread may be rewriting: bounded, always terminated. */
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

static int op_session_dump(void *ctx, uint64_t after_id, control_session_cb cb, void *arg)
{
	struct supervisor *sv = ctx;
	struct dumped *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	for (unsigned int i = 0; i < sv->nworkers; i++) {
		struct worker *w = sv->workers[i];

		if (!w)
			continue;
		pthread_mutex_lock(&w->lock);
		for (struct session *s = w->sessions; s; s = s->next) {
			struct dumped *d;
			struct nlproto_session tmp;

			if (s->id <= after_id)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct dumped *nv = realloc(v, nc * sizeof(*v));

				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
				cap = nc;
			}
			d = &v[n++];
			memset(d, 0, sizeof(*d));
			session_describe(s, &tmp, d->state, sizeof(d->state), d->tx, d->rx,
					 sizeof(d->tx));
			d->ns = tmp;
			d->ns.client_addr = copy(d->cip, sizeof(d->cip), tmp.client_addr);
			d->ns.dest_addr = copy(d->dip, sizeof(d->dip), tmp.dest_addr);
			d->ns.dest_name = copy(d->name, sizeof(d->name), tmp.dest_name);
			d->ns.tls_version = copy(d->tlsv, sizeof(d->tlsv), tmp.tls_version);
			d->ns.cipher = copy(d->cipher, sizeof(d->cipher), tmp.cipher);
			d->ns.level = copy(d->level, sizeof(d->level), tmp.level);
			d->ns.state = d->state;
			d->ns.ktls_tx = d->tx;
			d->ns.ktls_rx = d->rx;
		}
		pthread_mutex_unlock(&w->lock);
		if (rc)
			goto out;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_dumped);
	for (size_t i = 0; i < n; i++) {
		rc = cb(arg, &v[i].ns);
		if (rc) {
			rc = rc > 0 ? 0 : rc;
			break;
		}
	}
out:
	free(v);
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
	/* NIC offload is not probed yet (hw/): no entries rather than a guess. */
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
};
