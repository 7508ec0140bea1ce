// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgated: the SMTP-aware TLS relay of the gateway appliance.
 *
 *   tlsgated [-c FILE] [-f] [-d] [-o key=value]...     run
 *   tlsgated --probe                                    what the kernel offers, then exit
 *   tlsgated --check-config [-c FILE]                   load configuration and policy, exit
 *
 * The main thread owns signals, reloads and the control socket; workers (one per CPU,
 * SO_REUSEPORT) own the sessions.  Set-up runs as root; then the process becomes `user`
 * (daemon/privdrop.h) before the first worker starts.
 */
#include "daemon/nic.h"
#include "daemon/gateway.h"
#include "daemon/tls_client.h"
#include "daemon/tls_peer.h"
#include "daemon/tls_server.h"
#include "daemon/supervisor.h"
#include "daemon/datapath.h"
#include "ktls/ktls.h"
#include "lib/log.h"
#include "lib/version.h"
#include "policy/policy.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/tlsgate/tlsgate.conf"
#define MAX_OVERRIDES 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tlsgated [-c FILE] [-f] [-d] [-o key=value]...\n"
		"       tlsgated --probe | --check-config [-c FILE] | --detach | --version\n"
		"  -c FILE          configuration (default " DEFAULT_CONFIG ")\n"
		"  -o key=value     override one configuration key\n"
		"  -f               stay in the foreground (systemd, tests)\n"
		"  -d               debug logging\n"
		"  --probe          report what the kernel offers (kTLS) and exit\n"
		"  --check-config   load the configuration, certificates and policy, then exit\n"
		"  --detach         remove the BPF programs, routes and pins a previous run left\n");
}

static int probe(struct gateway *g)
{
	int err = ktls_probe(&g->caps);

	if (err) {
		log_err("ktls probe failed: %s", strerror(-err));
		return err;
	}
	ktls_caps_format(&g->caps, g->caps_line, sizeof(g->caps_line));
	return 0;
}

static int load_policy(struct gateway *g, struct policy **out)
{
	struct policy_error perr = { { 0 } };
	int err = policy_load(g->cfg.outbound_policy, g->cfg.inbound_policy, out, &perr);

	if (err)
		log_err("policy: %s", perr.msg[0] ? perr.msg : strerror(-err));
	else
		supervisor_policy_log_warnings(*out);
	return err;
}

/*
 * Descriptors: a session holds its two sockets and, once a body went through splice(), a pipe
 * (two more).  The soft RLIMIT_NOFILE (1024 in a shell) goes up to the hard one, and
 * max_sessions (daemon-wide) down to what the descriptors allow beside the daemon's own
 * (listeners, epoll and wake-up descriptors per worker, the control socket, BPF, DNS): running
 * out is refused at accept with a 421 instead of failing sessions half-way.
 */
#define SESSION_FDS 4
#define FDS_RESERVED 64

static void fit_descriptors(struct gateway *g)
{
	struct config *c = &g->cfg;
	unsigned long long reserve, fit;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int workers = c->workers ? c->workers : ncpu > 0 ? (unsigned int)ncpu : 1;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			log_warn("RLIMIT_NOFILE: cannot raise %llu to %llu: %s",
				 (unsigned long long)was, (unsigned long long)rl.rlim_max,
				 strerror(errno));
			rl.rlim_cur = was;
		} else {
			log_info("RLIMIT_NOFILE raised from %llu to %llu", (unsigned long long)was,
				 (unsigned long long)rl.rlim_cur);
		}
	}
	reserve = FDS_RESERVED + (unsigned long long)workers *
					 (4 + c->n_outbound_listen + c->n_inbound_listen);
	fit = rl.rlim_cur > reserve + SESSION_FDS ? (rl.rlim_cur - reserve) / SESSION_FDS : 1;
	if (c->max_sessions > fit) {
		log_warn("max_sessions=%u lowered to %llu: RLIMIT_NOFILE=%llu allows %u descriptors "
			 "for each session beside the daemon's own %llu",
			 c->max_sessions, fit, (unsigned long long)rl.rlim_cur, SESSION_FDS, reserve);
		c->max_sessions = (unsigned int)fit;
	}
}

static int setup(struct gateway *g, const char *file, const char *const *overrides)
{
	char err[512];
	struct policy *p = NULL;
	int rc;

	config_defaults(&g->cfg);
	rc = config_load(&g->cfg, file, overrides, err, sizeof(err));
	if (rc) {
		log_err("config: %s", err);
		return rc;
	}
	if (!g->cfg.hostname) {
		char host[256];

		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "localhost");
		g->cfg.hostname = strdup(host);
	}
	if (g->cfg.n_inbound_listen && !g->cfg.has_inbound_next_hop && !g->cfg.steer_inbound) {
		log_err("config: inbound_listen needs inbound_next_hop (where the mail goes), or "
			"steer_inbound = yes (mail goes to the inside MX the sender addressed)");
		return -EINVAL;
	}
	if (!g->cfg.n_outbound_listen && !g->cfg.n_inbound_listen) {
		log_err("config: nothing to do: set outbound_listen and/or inbound_listen");
		return -EINVAL;
	}
	if (nic_config_check(&g->cfg, err, sizeof(err))) {
		log_err("config: %s", err);
		return -EINVAL;
	}
	fit_descriptors(g);
	rc = privdrop_resolve(&g->cfg, &g->priv);
	if (rc)
		return rc;
	rc = probe(g);
	if (rc)
		return rc;
	rc = load_policy(g, &p);
	if (rc)
		return rc;
	gateway_policy_set(g, p);
	g->client_ctx = tls_client_ctx_new(&g->cfg, err, sizeof(err));
	if (!g->client_ctx) {
		log_err("tls: %s", err);
		return -EINVAL;
	}
	g->server_ctx = tls_server_ctx_new(&g->cfg, err, sizeof(err));
	if (!g->server_ctx && err[0]) {
		log_err("tls: %s", err);
		return -EINVAL;
	}
	if (!g->cfg.ktls) {
		/* ktls = no: OpenSSL would still put TX in the kernel by itself */
		SSL_CTX_clear_options(g->client_ctx, SSL_OP_ENABLE_KTLS);
		if (g->server_ctx)
			SSL_CTX_clear_options(g->server_ctx, SSL_OP_ENABLE_KTLS);
	}
	if (g->cfg.outbound_mta_sts && g->cfg.n_outbound_listen) {
		/* the MX certificates an MTA-STS policy asks for are checked against the same
		 * WebPKI roots as the policy servers' (read now: before privileges are dropped) */
		rc = tls_peer_store_new(g->cfg.mta_sts_ca_file, &g->sts_store, err, sizeof(err));
		if (rc) {
			log_err("mta_sts_ca_file=%s: %s", g->cfg.mta_sts_ca_file ? g->cfg.mta_sts_ca_file
										 : "(default paths)", err);
			return rc;
		}
	}
	if (g->cfg.n_inbound_listen && !g->server_ctx)
		log_warn("inbound: no inbound_cert configured: STARTTLS will not be offered");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", no_argument, NULL, 'P' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "detach", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *overrides[MAX_OVERRIDES + 1] = { NULL };
	const char *file = NULL;
	static struct gateway g;
	int c, n_over = 0, mode = 0, rc;

	tg_log_init("tlsgated", 0);
	pthread_mutex_init(&g.policy_lock, NULL);
	while ((c = getopt_long(argc, argv, "c:o:fdh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'o':
			if (n_over >= MAX_OVERRIDES) {
				fprintf(stderr, "tlsgated: too many -o\n");
				return 2;
			}
			overrides[n_over++] = optarg;
			break;
		case 'f':
			break; /* always foreground: systemd runs us as Type=simple */
		case 'd':
			tg_log_set_level(TG_LOG_DEBUG);
			break;
		case 'P':
		case 'C':
		case 'D':
			mode = c;
			break;
		case 'V':
			printf("tlsgated %s\n", TLSGATE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (mode == 'P') {
		if (probe(&g))
			return 1;
		printf("ktls: %s\n", g.caps_line);
		return 0;
	}
	if (!file && access(DEFAULT_CONFIG, R_OK) == 0)
		file = DEFAULT_CONFIG;
	if (mode == 'D') {
		/* Remove what a previous run left attached (filters, routes, pins): package
		 * removal, or an admin who wants the kernel half gone. */
		char err[256];

		config_defaults(&g.cfg);
		if (config_load(&g.cfg, file, overrides, err, sizeof(err))) {
			fprintf(stderr, "tlsgated: config: %s\n", err);
			return 1;
		}
		return datapath_detach(g.cfg.bpf_pin_dir) ? 1 : 0;
	}
	rc = setup(&g, file, overrides);
	if (rc)
		return 1;
	log_info("ktls: %s", g.caps_line);
	if (mode == 'C') {
		printf("configuration ok\n");
		return 0;
	}
	g.started_ms = loop_now_ms();
	rc = supervisor_run(&g);
	return rc ? 1 : 0;
}
