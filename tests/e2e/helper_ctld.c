// SPDX-License-Identifier: GPL-2.0-only
/*
 * helper_ctld: a stand-in for tlsgated's control side, for driving the real tlsgatectl in e2e
 * tests.  It runs the real control server (control/server.c) with an in-memory ops table:
 * rules added, deleted, imported and checked (a small "KEY LEVEL [ATTR=VALUE...]" parser with
 * file:line:col errors), synthetic sessions, and a real kTLS probe for `status`.
 *
 *   helper_ctld RUNDIR [--group NAME] [--events-group N] [--sessions N]
 *
 * Prints "ready port=P" once RUNDIR/ctl is written.  Then reads commands on stdin, answering
 * each with one line ("ok" or "error ..."), so a test knows when it took effect:
 *   publish session-start ID | publish session-tls ID | publish policy ID | publish drop
 *   stats      (prints the server's counters)
 * EOF on stdin or SIGTERM: removes RUNDIR/ctl and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/server.h"
#include "ktls/ktls.h"

#define MAX_RULES 4096
#define MAX_MATCH 8

struct rule {
	uint32_t id;
	enum nlproto_dir dir;
	char *key, *level, *protocols, *ciphers, *exclude, *servername, *file;
	char *match[MAX_MATCH];
	size_t nmatch;
	unsigned int line;
};

struct session {
	uint64_t id;
	bool live;
	char client[32], dest[32], name[64];
	uint16_t cport;
	uint64_t start_ms;
};

static struct state {
	struct rule rules[MAX_RULES];
	size_t nrules;
	uint32_t next_id;
	struct session sess[64];
	size_t nsess;
	time_t start;
	struct control_server *cs;
} st = {.next_id = 16};

static volatile sig_atomic_t stop;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rule_free(struct rule *r)
{
	free(r->key);
	free(r->level);
	free(r->protocols);
	free(r->ciphers);
	free(r->exclude);
	free(r->servername);
	free(r->file);
	for (size_t i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	memset(r, 0, sizeof(*r));
}

/* ---- a small policy line parser: enough to test the transport, not the policy engine ---- */

static const char *const levels[] = {"none",   "may",	 "encrypt", "fingerprint",
				     "verify", "secure", NULL};

static int parse_attr(struct rule *r, char *tok)
{
	char *eq = strchr(tok, '=');

	if (!eq)
		return -1;
	*eq++ = '\0';
	if (!strcmp(tok, "protocols"))
		r->protocols = strdup(eq);
	else if (!strcmp(tok, "ciphers"))
		r->ciphers = strdup(eq);
	else if (!strcmp(tok, "exclude"))
		r->exclude = strdup(eq);
	else if (!strcmp(tok, "servername"))
		r->servername = strdup(eq);
	else if (!strcmp(tok, "match"))
		for (char *m = strtok(eq, ":"); m && r->nmatch < MAX_MATCH; m = strtok(NULL, ":"))
			r->match[r->nmatch++] = strdup(m);
	else
		return -1;
	return 0;
}

/* One line; 0 ok, 1 blank/comment, -EINVAL with "name:line:col: why" in msg. */
static int parse_line(const char *name, unsigned int lineno, const char *text, struct rule *r,
		      char *msg, size_t msglen)
{
	char buf[NLPROTO_LINE_MAX], *save = NULL, *tok;
	int n = 0;

	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		int col = (int)(tok - buf) + 1;

		if (n == 0 && tok[0] == '#')
			return 1;
		if (n == 0) {
			r->key = strdup(tok);
		} else if (n == 1) {
			size_t i;

			for (i = 0; levels[i] && strcmp(levels[i], tok); i++)
				;
			if (!levels[i]) {
				snprintf(msg, msglen,
					 "%s:%u:%d: unknown security level '%s' (expected none, "
					 "may, encrypt, fingerprint, verify, secure)",
					 name, lineno, col, tok);
				goto bad;
			}
			r->level = strdup(tok);
		} else {
			char word[256];

			snprintf(word, sizeof(word), "%s", tok); /* parse_attr cuts at '=' */
			if (parse_attr(r, tok)) {
				snprintf(msg, msglen, "%s:%u:%d: unknown attribute '%s'", name,
					 lineno, col, word);
				goto bad;
			}
		}
		n++;
	}
	if (n == 0)
		return 1;
	if (n == 1) {
		snprintf(msg, msglen, "%s:%u:%zu: missing security level after '%s'", name, lineno,
			 strlen(text) + 1, r->key);
		goto bad;
	}
	r->file = strdup(name);
	r->line = lineno;
	return 0;
bad:
	rule_free(r);
	return -EINVAL;
}

static void to_wire(const struct rule *r, struct nlproto_rule *w)
{
	memset(w, 0, sizeof(*w));
	w->id = r->id;
	w->dir = r->dir;
	w->key_type = r->key[0] == '.' ? "subdomains" : r->key[0] == '[' ? "host" : "domain";
	w->key = r->key;
	w->level = r->level;
	w->protocols = r->protocols;
	w->ciphers = r->ciphers;
	w->exclude = r->exclude;
	w->servername = r->servername;
	w->match = (const char *const *)r->match;
	w->nmatch = r->nmatch;
	w->file = r->file;
	w->line = r->line;
}

static struct rule *find(enum nlproto_dir dir, const char *key)
{
	for (size_t i = 0; i < st.nrules; i++)
		if (st.rules[i].dir == dir && !strcmp(st.rules[i].key, key))
			return &st.rules[i];
	return NULL;
}

/* ---- ops ---- */

static int op_status(void *ctx, struct nlproto_status *s)
{
	static const char *const vers[] = {"TLSv1.2", "TLSv1.3"};
	struct ktls_caps caps;
	size_t live = 0;

	(void)ctx;
	snprintf(s->version, sizeof(s->version), "0.1.0-helper");
	s->start = (uint64_t)st.start;
	s->uptime = (uint64_t)(time(NULL) - st.start);
	if (ktls_probe(&caps) == 0) {
		s->ktls = caps.ulp;
		if (!caps.ulp)
			snprintf(s->ktls_reason, sizeof(s->ktls_reason), "%s",
				 ktls_caps_unavailable_reason(&caps));
		for (int v = 0; v < KTLS_NVERSIONS; v++) {
			for (int c = 0; c < KTLS_NCIPHERS; c++) {
				struct nlproto_status_cipher *sc = &s->cipher[s->ncipher++];

				snprintf(sc->tls_version, sizeof(sc->tls_version), "%s", vers[v]);
				snprintf(sc->name, sizeof(sc->name), "%s",
					 ktls_cipher_name((enum ktls_cipher)c));
				sc->tx = caps.tx[v][c];
				sc->rx = caps.rx[v][c];
			}
		}
	}
	snprintf(s->listener[0].addr, sizeof(s->listener[0].addr), "127.0.0.1:10025");
	snprintf(s->listener[0].role, sizeof(s->listener[0].role), "outbound-transparent");
	s->nlistener = 1;
	for (size_t i = 0; i < st.nsess; i++)
		live += st.sess[i].live;
	s->sessions = (uint32_t)live;
	s->sessions_total = st.nsess;
	for (size_t i = 0; i < st.nrules; i++) {
		if (st.rules[i].dir == NLPROTO_DIR_OUTBOUND)
			s->rules_out++;
		else
			s->rules_in++;
	}
	return 0;
}

static int op_policy_dump(void *ctx, int dir, uint32_t after, control_rule_cb cb, void *arg)
{
	(void)ctx;
	/* rules[] is kept in id order (ids only grow; removal keeps the order) */
	for (size_t i = 0; i < st.nrules; i++) {
		struct nlproto_rule w;
		int r;

		if (st.rules[i].id <= after || (dir != CONTROL_DIR_ANY && (int)st.rules[i].dir != dir))
			continue;
		to_wire(&st.rules[i], &w);
		r = cb(arg, &w);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

static void remove_at(size_t i)
{
	rule_free(&st.rules[i]);
	memmove(&st.rules[i], &st.rules[i + 1], (st.nrules - i - 1) * sizeof(st.rules[0]));
	st.nrules--;
}

static int op_policy_add(void *ctx, enum nlproto_dir dir, const char *line, control_rule_cb cb,
			 void *arg, char *msg, size_t msglen)
{
	struct nlproto_rule w;
	struct rule r, *old;
	int err;

	(void)ctx;
	err = parse_line("policy add", 1, line, &r, msg, msglen);
	if (err)
		return err < 0 ? err : (snprintf(msg, msglen, "empty policy line"), -EINVAL);
	r.dir = dir;
	old = find(dir, r.key);
	if (old) {
		snprintf(msg, msglen, "%s already has a rule (id %u): del it first", r.key,
			 old->id);
		rule_free(&r);
		return -EEXIST;
	}
	if (st.nrules == MAX_RULES) {
		rule_free(&r);
		return -ENOSPC;
	}
	r.id = st.next_id++;
	st.rules[st.nrules++] = r;
	old = &st.rules[st.nrules - 1];
	to_wire(old, &w);
	return cb(arg, &w) < 0 ? -EIO : 0;
}

static int op_policy_del(void *ctx, enum nlproto_dir dir, const char *key, char *msg, size_t msglen)
{
	struct rule *r = find(dir, key);

	(void)ctx;
	if (!r) {
		snprintf(msg, msglen, "no %s rule for key %s", nlproto_dir_name(dir), key);
		return -ENOENT;
	}
	snprintf(msg, msglen, "deleted rule %u (%s)", r->id, key);
	remove_at((size_t)(r - st.rules));
	return 0;
}

/* Parse a whole table into rules[] (all or nothing).  Count, or -EINVAL with msg. */
static int parse_table(enum nlproto_dir dir, const char *name, const char *data, struct rule *out,
		       size_t cap, char *msg, size_t msglen)
{
	unsigned int lineno = 0;
	size_t n = 0;

	for (const char *p = data; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[NLPROTO_LINE_MAX];
		int err;

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
		err = parse_line(name, ++lineno, line, &out[n], msg, msglen);
		if (err > 0)
			continue;
		if (err < 0 || n + 1 == cap) {
			if (!err)
				snprintf(msg, msglen, "%s: too many rules", name);
			while (n)
				rule_free(&out[--n]);
			return -EINVAL;
		}
		out[n++].dir = dir;
	}
	return (int)n;
}

static int op_policy_file(enum nlproto_dir dir, const char *name, const char *data, bool import,
			  char *msg, size_t msglen)
{
	static struct rule tmp[MAX_RULES];
	int n = parse_table(dir, name, data, tmp, MAX_RULES, msg, msglen);

	if (n < 0)
		return n;
	if (!import) {
		for (int i = 0; i < n; i++)
			rule_free(&tmp[i]);
		snprintf(msg, msglen, "%s: %d rules, no errors", name, n);
		return 0;
	}
	for (size_t i = st.nrules; i-- > 0;)
		if (st.rules[i].dir == dir)
			remove_at(i);
	for (int i = 0; i < n && st.nrules < MAX_RULES; i++) {
		struct rule *old = find(dir, tmp[i].key);

		if (old) { /* a later line with the same key wins, as in Postfix maps */
			tmp[i].id = old->id;
			rule_free(old);
			*old = tmp[i];
			continue;
		}
		tmp[i].id = st.next_id++;
		st.rules[st.nrules++] = tmp[i];
	}
	snprintf(msg, msglen, "imported %d %s rules from %s", n, nlproto_dir_name(dir), name);
	return 0;
}

static int op_policy_import(void *ctx, enum nlproto_dir dir, const char *name, const char *data,
			    size_t len, char *msg, size_t msglen)
{
	(void)ctx;
	(void)len;
	return op_policy_file(dir, name, data, true, msg, msglen);
}

static int op_policy_check(void *ctx, enum nlproto_dir dir, const char *name, const char *data,
			   size_t len, char *msg, size_t msglen)
{
	(void)ctx;
	(void)len;
	return op_policy_file(dir, name, data, false, msg, msglen);
}

static void session_to_wire(const struct session *s, struct nlproto_session *w)
{
	memset(w, 0, sizeof(*w));
	w->id = s->id;
	w->role = NLPROTO_DIR_OUTBOUND;
	w->client_addr = s->client;
	w->client_port = s->cport;
	w->dest_name = s->name;
	w->dest_addr = s->dest;
	w->dest_port = 25;
	w->state = "relay";
	w->tls_version = "TLSv1.3";
	w->cipher = "TLS_AES_256_GCM_SHA384";
	w->ktls_tx = "user";
	w->ktls_rx = "user";
	w->rule_id = 16;
	w->level = "encrypt";
	w->bytes_c2s = 1000 * s->id;
	w->bytes_s2c = 2000 * s->id;
	w->start_ms = s->start_ms;
}

static int op_session_dump(void *ctx, uint64_t after, control_session_cb cb, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < st.nsess; i++) {
		struct nlproto_session w;
		int r;

		if (!st.sess[i].live || st.sess[i].id <= after)
			continue;
		session_to_wire(&st.sess[i], &w);
		r = cb(arg, &w);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

static struct session *session_find(uint64_t id)
{
	for (size_t i = 0; i < st.nsess; i++)
		if (st.sess[i].live && st.sess[i].id == id)
			return &st.sess[i];
	return NULL;
}

static int publish(enum nlproto_event_type type, struct session *s)
{
	struct nlproto_session w;
	struct nlproto_event ev = {.type = type, .time_ms = now_ms()};

	if (s) {
		session_to_wire(s, &w);
		ev.session = &w;
	}
	switch (type) {
	case NLPROTO_EV_POLICY:
		ev.rule_id = 16;
		ev.level = "encrypt";
		ev.subject = "example.org";
		ev.detail = "exact";
		break;
	case NLPROTO_EV_DROP:
		ev.rule_id = 16;
		ev.level = "encrypt";
		ev.src = "192.0.2.10:41236";
		ev.dst = "203.0.113.25:25";
		ev.detail = "plaintext-data";
		break;
	case NLPROTO_EV_SESSION_END:
		ev.detail = "killed by tlsgatectl";
		break;
	default:
		break;
	}
	return control_server_publish_event(st.cs, &ev);
}

static int op_session_kill(void *ctx, uint64_t id, char *msg, size_t msglen)
{
	struct session *s = session_find(id);

	(void)ctx;
	if (!s) {
		snprintf(msg, msglen, "no session %" PRIu64, id);
		return -ENOENT;
	}
	s->live = false;
	publish(NLPROTO_EV_SESSION_END, s);
	snprintf(msg, msglen, "session %" PRIu64 " ended (421 sent to the client)", id);
	return 0;
}

static int op_reload(void *ctx, char *msg, size_t msglen)
{
	(void)ctx;
	snprintf(msg, msglen, "reloaded: %zu rules", st.nrules);
	return 0;
}

static const struct control_ops ops = {
	.status = op_status,
	.policy_dump = op_policy_dump,
	.policy_add = op_policy_add,
	.policy_del = op_policy_del,
	.policy_import = op_policy_import,
	.policy_check = op_policy_check,
	.session_dump = op_session_dump,
	.session_kill = op_session_kill,
	.reload = op_reload,
	/* log_level: NULL, so the server's own default (tg_log_set_level) is used */
};

/* ---- stdin commands ---- */

static void command(char *line)
{
	char what[32] = "", type[32] = "";
	unsigned long long id = 0;
	struct control_server_stats s;
	int n = sscanf(line, "%31s %31s %llu", what, type, &id), err = -EINVAL;

	if (n >= 1 && !strcmp(what, "stats")) {
		control_server_stats(st.cs, &s);
		printf("requests=%" PRIu64 " denied=%" PRIu64 " errors=%" PRIu64
		       " malformed=%" PRIu64 " pages=%" PRIu64 " events=%" PRIu64 "\n",
		       s.requests, s.denied, s.errors, s.malformed, s.pages, s.events);
		return;
	}
	if (n >= 2 && !strcmp(what, "publish")) {
		if (!strcmp(type, "drop"))
			err = publish(NLPROTO_EV_DROP, NULL);
		else if (n == 3 && !session_find(id))
			err = -ENOENT;
		else if (n == 3 && !strcmp(type, "session-start"))
			err = publish(NLPROTO_EV_SESSION_START, session_find(id));
		else if (n == 3 && !strcmp(type, "session-tls"))
			err = publish(NLPROTO_EV_SESSION_TLS, session_find(id));
		else if (n == 3 && !strcmp(type, "policy"))
			err = publish(NLPROTO_EV_POLICY, session_find(id));
	}
	if (err)
		printf("error %s\n", strerror(-err));
	else
		printf("ok\n");
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"group", required_argument, NULL, 'g'},
		{"events-group", required_argument, NULL, 'e'},
		{"sessions", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct control_server_opts so = {0};
	struct sigaction sa = {.sa_handler = on_term};
	char line[512];
	size_t have = 0;
	int c, nsess = 3, err;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'g')
			so.group = optarg;
		else if (c == 'e')
			so.events_group = (uint32_t)atoi(optarg);
		else if (c == 's')
			nsess = atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || nsess < 0 || nsess > 64) {
		fprintf(stderr, "usage: helper_ctld RUNDIR [--group NAME] [--events-group N] "
				"[--sessions N<=64]\n");
		return 2;
	}
	tg_log_init("helper_ctld", 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	st.start = time(NULL);
	for (int i = 0; i < nsess; i++) {
		struct session *s = &st.sess[st.nsess++];

		s->id = (uint64_t)i + 1;
		s->live = true;
		snprintf(s->client, sizeof(s->client), "192.0.2.%d", 10 + i);
		s->cport = (uint16_t)(41000 + i);
		snprintf(s->dest, sizeof(s->dest), "203.0.113.25");
		snprintf(s->name, sizeof(s->name), "mx%d.example.org", i + 1);
		s->start_ms = now_ms() - 1000 * (uint64_t)(i + 1);
	}
	so.run_dir = argv[optind];
	err = control_server_open(&so, &ops, NULL, &st.cs);
	if (err) {
		fprintf(stderr, "helper_ctld: control_server_open: %s\n", strerror(-err));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready port=%u\n", control_server_port(st.cs));
	while (!stop) {
		struct pollfd pfd[2] = {
			{.fd = control_server_fd(st.cs), .events = POLLIN},
			{.fd = STDIN_FILENO, .events = POLLIN},
		};

		if (poll(pfd, 2, -1) < 0)
			continue; /* EINTR: stop is set */
		if (pfd[0].revents & POLLIN)
			control_server_handle(st.cs);
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			/* read(), not stdio: several lines in one read must not hide from poll() */
			ssize_t n = read(STDIN_FILENO, line + have, sizeof(line) - 1 - have);
			char *nl;

			if (n <= 0)
				break;
			have += (size_t)n;
			line[have] = '\0';
			while ((nl = strchr(line, '\n'))) {
				*nl = '\0';
				command(line);
				have -= (size_t)(nl + 1 - line);
				memmove(line, nl + 1, have + 1);
			}
			if (have == sizeof(line) - 1)
				have = 0; /* an overlong line: drop it */
		}
	}
	control_server_close(st.cs);
	for (size_t i = 0; i < st.nrules; i++)
		rule_free(&st.rules[i]);
	return 0;
}
