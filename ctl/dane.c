// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl dane check DOMAIN: what the gateway would do for DOMAIN under DANE (RFC 7672) and
 * why, in the manner of Postfix's posttls-finger.  The lookup is policy/dane.c's, over
 * libunbound with the daemon's trust anchor and DNS server, driven by epoll as a worker drives
 * it; with --connect each MX host that DANE applies to gets a STARTTLS session per address with
 * the SSL ktls/dane.c configures (ctl/dane_probe.c), ended by QUIT before any MAIL.
 *
 * Exit status: 0 deliver (or DANE does not apply: other policy decides), 1 the check could not
 * run, 2 usage (as every tlsgatectl command), 3 defer (a DNSSEC lookup failure or the
 * deadline) or, with --connect, an address where no TLS session was authenticated as DANE asks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ctl/conf.h"
#include "ctl/dane_probe.h"
#include "ctl/print.h"
#include "policy/dane.h"

#define DANE_TIMEOUT_MS 20000
#define EXIT_DEFER 3

enum { CMD_CHECK, CMD_HELP };

static const struct ctl_word commands[] = {
	{"check", CMD_CHECK},
	{"help", CMD_HELP},
	{NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tlsgatectl dane check DOMAIN [--host] [--connect] [--port PORT] [-j]\n"
		"                  [--config FILE] [--ta FILE] [--dns IP[:PORT]] [--timeout SEC]\n"
		"  --host      DOMAIN is an MX host (a [host] next hop): no MX lookup\n"
		"  --connect   STARTTLS to each address DANE applies to; QUIT before MAIL\n"
		"  --ta        trust anchor file (config dane_trust_anchor, default %s)\n"
		"  --dns       forwarder (config dns_server; none: recursion from the root)\n"
		"  --timeout   deadline for the whole check (default %d s)\n"
		"Exit: 0 deliver or no DANE, 1 error, 2 usage, 3 defer or verification failed\n",
		POLICY_DANE_ROOT_KEY, DANE_TIMEOUT_MS / 1000);
}

struct check {
	const char *name;
	bool host_only, connect, json;
	unsigned int port;
	const char *config, *ta, *dns;
	char *conf_ta, *conf_dns; /* from the configuration file */
	char fwd[INET6_ADDRSTRLEN + 8];
	int timeout_ms;
	uint64_t start, deadline;

	/* the lookup */
	struct policy_dane_domain d;
	bool done, timed_out;
	uint64_t lookup_ms, longest_ms;

	/* --connect: per host, per address (v4 then v6) */
	struct ctl_dane_probe (*probe)[2 * POLICY_DANE_MAX_ADDRS];
	bool probed[POLICY_DANE_MAX_HOSTS];
	size_t nfailed;
	const char *failed_host;
	char failed_addr[INET6_ADDRSTRLEN];
	const struct ctl_dane_probe *failed;
};

/* ---- the daemon's configuration: the two keys this command needs -------------------------- */

/* dane_trust_anchor and dns_server from tlsgate.conf (ctl/conf.h). */
static int read_config(struct check *k)
{
	static const char *const keys[] = { "dane_trust_anchor", "dns_server", NULL };
	char *values[2] = { NULL, NULL };
	int rc = ctl_conf_read(k->config, keys, values);

	k->conf_ta = values[0];
	k->conf_dns = values[1];
	return rc;
}

/* dns_server's "IP[:PORT]" (policy/dns.c) as libunbound's "IP[@PORT]"; IPv6 as it is. */
static int forwarder(struct check *k, const char *s)
{
	const char *colon = strrchr(s, ':');

	if (strlen(s) >= sizeof(k->fwd))
		return ctl_usage_error("dane: DNS server '%s' too long\n", s);
	snprintf(k->fwd, sizeof(k->fwd), "%s", s);
	if (colon && strchr(s, ':') == colon)
		k->fwd[colon - s] = '@';
	return 0;
}

/* ---- the lookup ---------------------------------------------------------------------------- */

static void on_result(void *arg, const struct policy_dane_domain *d)
{
	struct check *k = arg;

	if (policy_dane_domain_copy(&k->d, d))
		k->d.state = POLICY_DANE_FAILED; /* an empty copy: reported as a failure below */
	k->done = true;
}

/*
 * The worker's way: the resolver's fd in epoll, never a blocking call; at the deadline the
 * lookup is cancelled.  The longest time spent inside the module is kept (a worker must never
 * block on DNS; tests/e2e/test_dane_resolve.sh reads it with -v).
 */
static int lookup(struct check *k)
{
	struct policy_dane_resolver_opts o = {.sz = sizeof(o)};
	struct policy_dane_resolver *r = NULL;
	struct epoll_event ev = {.events = EPOLLIN};
	struct policy_dane_transport tr;
	struct policy_dane_lookup *l;
	char err[256] = "";
	uint64_t t;
	int ep = -1, rc;

	o.trust_anchor = k->ta ? k->ta : k->conf_ta && *k->conf_ta ? k->conf_ta : NULL;
	o.forwarder = k->fwd[0] ? k->fwd : NULL;
	rc = policy_dane_resolver_new(&o, &r, err, sizeof(err));
	if (rc)
		return ctl_fail("dane resolver", rc, err);
	policy_dane_transport_of(r, &tr);
	t = ctl_dane_now_ms();
	rc = k->host_only ? policy_dane_lookup_host(&tr, k->name, on_result, k, &l)
			  : policy_dane_lookup_domain(&tr, k->name, on_result, k, &l);
	if (rc) {
		rc = ctl_fail("dane lookup", rc, rc == -EINVAL ? "not a domain name" : NULL);
		goto out;
	}
	k->longest_ms = ctl_dane_now_ms() - t;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, policy_dane_fd(r), &ev)) {
		rc = ctl_fail("epoll", -errno, NULL);
		policy_dane_lookup_cancel(l);
		goto out;
	}
	while (!k->done) {
		uint64_t now = ctl_dane_now_ms();
		int n = epoll_wait(ep, &ev, 1, now < k->deadline ? (int)(k->deadline - now) : 0);

		if (n < 0 && errno == EINTR)
			continue;
		t = ctl_dane_now_ms();
		if (n <= 0) {
			policy_dane_lookup_cancel(l);
			k->timed_out = true;
		} else if ((rc = policy_dane_process(r))) {
			rc = ctl_fail("dane lookup", rc, NULL);
			policy_dane_lookup_cancel(l);
			goto out;
		}
		if (ctl_dane_now_ms() - t > k->longest_ms)
			k->longest_ms = ctl_dane_now_ms() - t;
		if (k->timed_out)
			break;
	}
	rc = 0;
out:
	k->lookup_ms = ctl_dane_now_ms() - k->start;
	if (ep >= 0)
		close(ep);
	policy_dane_resolver_free(r);
	return rc;
}

/* ---- the verdict ------------------------------------------------------------------------------
 */

enum action { ACT_DELIVER, ACT_DEFER, ACT_NONE };

struct verdict {
	enum action action;
	bool authenticated;
	char text[1024]; /* after "deliver: ", "defer 4.7.5: ", "no DANE: " */
};

static void records(const struct policy_dane_host *h, char *buf, size_t len)
{
	size_t n = strlen(buf);

	for (size_t i = 0; i < h->ntlsa && n < len; i++) {
		char d[32];

		policy_dane_tlsa_desc(&h->tlsa[i], d, sizeof(d));
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", d);
	}
}

/*
 * As the relay would decide it: hosts are tried by preference, and a host whose lookup failed is
 * skipped (deferred), so the first host that is not FAILED decides; when all failed, defer.  With
 * --connect any address that did not pass makes it a defer: mail that reached it would stay
 * queued.
 */
static void decide(const struct check *k, struct verdict *v)
{
	const struct policy_dane_domain *d = &k->d;
	const struct policy_dane_host *h = NULL;
	size_t n;

	memset(v, 0, sizeof(*v));
	if (k->timed_out) {
		v->action = ACT_DEFER;
		snprintf(v->text, sizeof(v->text), "DNS lookup timed out after %d ms",
			 k->timeout_ms);
		return;
	}
	if (d->state == POLICY_DANE_FAILED && !d->nhost) {
		v->action = ACT_DEFER;
		snprintf(v->text, sizeof(v->text), "%s",
			 d->reason[0] ? d->reason : "lookup failed");
		return;
	}
	for (size_t i = 0; i < d->nhost && !h; i++)
		if (d->host[i].state != POLICY_DANE_FAILED)
			h = &d->host[i];
	if (!h && d->nhost) {
		v->action = ACT_DEFER;
		snprintf(v->text, sizeof(v->text), "%s: %s", d->host[0].name, d->host[0].reason);
		return;
	}
	if (!h || h->state == POLICY_DANE_NONE) {
		v->action = ACT_NONE;
		snprintf(v->text, sizeof(v->text), "%s%s%s", h ? h->name : "", h ? ": " : "",
			 h ? h->reason : d->reason);
		return;
	}
	if (k->nfailed) {
		const char *why = k->failed->detail;

		v->action = ACT_DEFER;
		if (!strncmp(why, "failed: ", 8))
			why += 8;
		snprintf(v->text, sizeof(v->text), "%s[%s]: %s", k->failed_host, k->failed_addr,
			 why);
		return;
	}
	v->action = ACT_DELIVER;
	if (h->state == POLICY_DANE_UNUSABLE_ALL) {
		snprintf(v->text, sizeof(v->text),
			 "TLS mandatory, not authenticated (all TLSA records unusable)");
		return;
	}
	v->authenticated = true;
	snprintf(v->text, sizeof(v->text), "TLS mandatory, authenticated by DANE (%s: ", h->name);
	records(h, v->text, sizeof(v->text));
	n = strlen(v->text);
	snprintf(v->text + n, sizeof(v->text) - n, ")");
}

static const char *action_name(enum action a)
{
	return a == ACT_DELIVER ? "deliver" : a == ACT_DEFER ? "defer" : "none";
}

/* ---- --connect ------------------------------------------------------------------------------- */

static void host_addr(const struct policy_dane_host *h, size_t i, struct sockaddr_storage *ss,
		      socklen_t *sl, unsigned int port, char *text, size_t tlen)
{
	memset(ss, 0, sizeof(*ss));
	if (i < h->n4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		memcpy(&s->sin_addr, h->addr4[i], 4);
		*sl = sizeof(*s);
		inet_ntop(AF_INET, h->addr4[i], text, (socklen_t)tlen);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		memcpy(&s->sin6_addr, h->addr6[i - h->n4], 16);
		*sl = sizeof(*s);
		inet_ntop(AF_INET6, h->addr6[i - h->n4], text, (socklen_t)tlen);
	}
}

static int connect_all(struct check *k)
{
	char helo[256];

	if (gethostname(helo, sizeof(helo)) || !helo[0] || !strchr(helo, '.'))
		snprintf(helo, sizeof(helo), "localhost.localdomain");
	helo[sizeof(helo) - 1] = '\0';
	k->probe = calloc(k->d.nhost ? k->d.nhost : 1, sizeof(*k->probe));
	if (!k->probe)
		return ctl_fail("dane check", -ENOMEM, NULL);
	for (size_t hi = 0; hi < k->d.nhost; hi++) {
		const struct policy_dane_host *h = &k->d.host[hi];

		if (h->state != POLICY_DANE_USABLE && h->state != POLICY_DANE_UNUSABLE_ALL)
			continue;
		k->probed[hi] = true;
		for (size_t i = 0; i < h->n4 + h->n6; i++) {
			struct ctl_dane_probe *p = &k->probe[hi][i];
			struct sockaddr_storage ss;
			char a[INET6_ADDRSTRLEN];
			socklen_t sl;
			int rc;

			host_addr(h, i, &ss, &sl, k->port, a, sizeof(a));
			rc = ctl_dane_probe((struct sockaddr *)&ss, sl, h, k->d.domain, helo,
					    k->deadline, p);
			if (rc)
				return ctl_fail("dane check", rc, NULL);
			if (p->result == CTL_DANE_PROBE_FAILED ||
			    p->result == CTL_DANE_PROBE_ERROR) {
				if (!k->nfailed++) {
					k->failed = p;
					k->failed_host = h->name;
					snprintf(k->failed_addr, sizeof(k->failed_addr), "%s", a);
				}
			}
		}
	}
	return 0;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void print_text(const struct check *k, const struct ctl_opts *o, const struct verdict *v)
{
	const struct policy_dane_domain *d = &k->d;

	if (k->timed_out)
		printf("%s: lookup cancelled at the deadline (%d ms)\n", k->name, k->timeout_ms);
	else
		printf("%s: DANE %s (%s)%s\n", d->domain, policy_dane_state_name(d->state),
		       d->reason, d->implicit_mx ? ", no MX: the domain is its own host" : "");
	for (size_t hi = 0; hi < d->nhost && !k->timed_out; hi++) {
		const struct policy_dane_host *h = &d->host[hi];
		char a[INET6_ADDRSTRLEN], recs[512] = "";

		printf("  %s pref %u [", h->name, h->pref);
		for (size_t i = 0; i < h->n4 + h->n6; i++) {
			struct sockaddr_storage ss;
			socklen_t sl;

			host_addr(h, i, &ss, &sl, k->port, a, sizeof(a));
			printf("%s%s", i ? " " : "", a);
		}
		records(h, recs, sizeof(recs));
		printf("]: %s%s%s (%s)", policy_dane_state_name(h->state), recs[0] ? ", " : "",
		       recs, h->reason);
		if (strcmp(h->base, h->name))
			printf(", TLSA base %s", h->base);
		printf("\n");
		for (size_t i = 0; k->probed[hi] && i < h->n4 + h->n6; i++) {
			const struct ctl_dane_probe *p = &k->probe[hi][i];
			struct sockaddr_storage ss;
			socklen_t sl;

			host_addr(h, i, &ss, &sl, k->port, a, sizeof(a));
			printf("    %s%s%s:%u %s", strchr(a, ':') ? "[" : "", a,
			       strchr(a, ':') ? "]" : "", k->port, p->detail);
			if (p->version[0])
				printf(" (%s %s, SNI %s)", p->version, p->cipher, p->sni);
			printf("\n");
		}
	}
	if (o->verbose)
		printf("lookup %llu ms, longest call into the resolver %llu ms\n",
		       (unsigned long long)k->lookup_ms, (unsigned long long)k->longest_ms);
	switch (v->action) {
	case ACT_DELIVER:
		printf("deliver: %s\n", v->text);
		break;
	case ACT_DEFER:
		printf("defer 4.7.5: %s\n", v->text);
		break;
	case ACT_NONE:
		printf("no DANE: %s — MTA-STS or the default applies\n", v->text);
		break;
	}
}

static int print_json(const struct check *k, const struct ctl_opts *o, const struct verdict *v)
{
	const struct policy_dane_domain *d = &k->d;
	struct jsonw *w = ctl_json(o);

	if (!w)
		return -ENOMEM;
	jsonw_start_object(w);
	jsonw_string_field(w, "domain", k->timed_out ? k->name : d->domain);
	jsonw_string_field(w, "state", k->timed_out ? "timeout" : policy_dane_state_name(d->state));
	jsonw_string_field(w, "reason",
			   k->timed_out ? "lookup cancelled at the deadline" : d->reason);
	jsonw_bool_field(w, "implicit_mx", d->implicit_mx);
	jsonw_name(w, "hosts");
	jsonw_start_array(w);
	for (size_t hi = 0; hi < d->nhost && !k->timed_out; hi++) {
		const struct policy_dane_host *h = &d->host[hi];

		jsonw_start_object(w);
		jsonw_string_field(w, "name", h->name);
		jsonw_u64_field(w, "pref", h->pref);
		jsonw_string_field(w, "base", h->base);
		jsonw_string_field(w, "state", policy_dane_state_name(h->state));
		jsonw_string_field(w, "reason", h->reason);
		jsonw_name(w, "addresses");
		jsonw_start_array(w);
		for (size_t i = 0; i < h->n4 + h->n6; i++) {
			struct sockaddr_storage ss;
			char a[INET6_ADDRSTRLEN];
			socklen_t sl;

			host_addr(h, i, &ss, &sl, k->port, a, sizeof(a));
			jsonw_string(w, a);
		}
		jsonw_end_array(w);
		jsonw_name(w, "records");
		jsonw_start_array(w);
		for (size_t i = 0; i < h->ntlsa; i++) {
			char r[32];

			policy_dane_tlsa_desc(&h->tlsa[i], r, sizeof(r));
			jsonw_string(w, r);
		}
		jsonw_end_array(w);
		jsonw_u64_field(w, "unusable", h->nunusable);
		if (k->probed[hi]) {
			jsonw_name(w, "connections");
			jsonw_start_array(w);
			for (size_t i = 0; i < h->n4 + h->n6; i++) {
				const struct ctl_dane_probe *p = &k->probe[hi][i];
				struct sockaddr_storage ss;
				char a[INET6_ADDRSTRLEN];
				socklen_t sl;

				host_addr(h, i, &ss, &sl, k->port, a, sizeof(a));
				jsonw_start_object(w);
				jsonw_string_field(w, "address", a);
				jsonw_u64_field(w, "port", k->port);
				jsonw_string_field(w, "result",
						   ctl_dane_probe_result_name(p->result));
				jsonw_string_field(w, "detail", p->detail);
				jsonw_string_field_opt(w, "tls_version", p->version);
				jsonw_string_field_opt(w, "cipher", p->cipher);
				jsonw_string_field_opt(w, "sni", p->sni);
				jsonw_end_object(w);
			}
			jsonw_end_array(w);
		}
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "verdict");
	jsonw_start_object(w);
	jsonw_string_field(w, "action", action_name(v->action));
	jsonw_string_field_opt(w, "status", v->action == ACT_DEFER ? "4.7.5" : NULL);
	jsonw_bool_field(w, "authenticated", v->authenticated);
	jsonw_string_field(w, "reason", v->text);
	jsonw_end_object(w);
	jsonw_u64_field(w, "lookup_ms", k->lookup_ms);
	jsonw_u64_field(w, "longest_call_ms", k->longest_ms);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	return 0;
}

/* ---- the command ----------------------------------------------------------------------------- */

static int parse_args(struct check *k, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "--host")) {
			k->host_only = true;
		} else if (!strcmp(a, "--connect")) {
			k->connect = true;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			k->json = true;
		} else if (more && !strcmp(a, "--port")) {
			char *end;
			unsigned long p = strtoul(argv[++i], &end, 10);

			if (*end || !p || p > 65535)
				return ctl_usage_error("dane: bad port '%s'\n", argv[i]);
			k->port = (unsigned int)p;
		} else if (more && !strcmp(a, "--ta")) {
			k->ta = argv[++i];
		} else if (more && !strcmp(a, "--dns")) {
			k->dns = argv[++i];
		} else if (more && (!strcmp(a, "--config") || !strcmp(a, "-c"))) {
			k->config = argv[++i];
		} else if (more && !strcmp(a, "--timeout")) {
			char *end;
			double s = strtod(argv[++i], &end);

			if (*end || !(s > 0 && s <= 3600))
				return ctl_usage_error("dane: --timeout wants seconds (0 < SEC <= "
						       "3600)\n");
			k->timeout_ms = (int)(s * 1000);
		} else if (a[0] == '-' || k->name) {
			usage(stderr);
			return 2;
		} else {
			k->name = a;
		}
	}
	if (!k->name) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int dane_check(int argc, char **argv, const struct ctl_opts *o)
{
	struct check k = {.port = 25};
	struct ctl_opts lo = *o;
	struct verdict v;
	int rc;

	k.timeout_ms = o->timeout_set ? o->timeout_ms : DANE_TIMEOUT_MS;
	k.json = o->json;
	rc = parse_args(&k, argc, argv);
	if (rc)
		return rc;
	lo.json = k.json;
	rc = read_config(&k);
	if (rc)
		goto out;
	if (k.dns || (k.conf_dns && *k.conf_dns)) {
		rc = forwarder(&k, k.dns ? k.dns : k.conf_dns);
		if (rc)
			goto out;
	}
	k.start = ctl_dane_now_ms();
	k.deadline = k.start + (uint64_t)k.timeout_ms;
	rc = lookup(&k);
	if (rc)
		goto out;
	if (k.connect && !k.timed_out) {
		/* OpenSSL writes with write(2): an MX that closes early must not kill us. */
		signal(SIGPIPE, SIG_IGN);
		rc = connect_all(&k);
		if (rc)
			goto out;
	}
	decide(&k, &v);
	if (lo.json) {
		rc = print_json(&k, &lo, &v);
		if (rc) {
			rc = ctl_fail("dane check", rc, NULL);
			goto out;
		}
	} else {
		print_text(&k, &lo, &v);
	}
	if (fflush(stdout)) {
		rc = ctl_fail("stdout", -errno, NULL);
		goto out;
	}
	rc = v.action == ACT_DEFER ? EXIT_DEFER : 0;
out:
	policy_dane_domain_clear(&k.d);
	free(k.probe);
	free(k.conf_ta);
	free(k.conf_dns);
	return rc;
}

int ctl_dane(int argc, char **argv, const struct ctl_opts *o)
{
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	switch (ctl_choose(argv[0], commands, "dane command")) {
	case CMD_CHECK:
		return dane_check(argc - 1, argv + 1, o);
	case CMD_HELP:
		usage(stdout);
		return 0;
	}
	return 2;
}
