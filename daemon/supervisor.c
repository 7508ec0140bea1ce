// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/diag_helper.h"
#include "daemon/nic.h"
#include "daemon/supervisor.h"
#include "daemon/outcome.h"
#include "daemon/anvil.h"
#include "bpf/loader.h"
#include "daemon/datapath.h"
#include "daemon/destkern.h"
#include "control/runfile.h"
#include "control/server.h"
#include "daemon/events.h"
#include "daemon/posture_sink.h"
#include "daemon/privdrop.h"
#include "daemon/sts_fetch.h"
#include "daemon/tlsrpt.h"
#include "daemon/worker.h"
#include "lib/log.h"
#include "lib/version.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_signal(struct loop_ev *ev, uint32_t events)
{
	struct supervisor *sv = (struct supervisor *)((char *)ev - offsetof(struct supervisor, sig_ev));
	struct signalfd_siginfo si;
	char msg[512];

	(void)events;
	if (read(ev->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		supervisor_reload(sv, msg, sizeof(msg));
		return;
	}
	log_info("signal %u: stopping (sessions get %us to finish)", si.ssi_signo,
		 sv->g->cfg.shutdown_timeout);
	sv->stop = true;
}

static void on_ctl(struct loop_ev *ev, uint32_t events)
{
	struct supervisor *sv = (struct supervisor *)((char *)ev - offsetof(struct supervisor, ctl_ev));
	int rc;

	(void)events;
	rc = control_server_handle(sv->ctl);
	if (rc)
		log_warn("control socket: %s", strerror(-rc));
}

static void on_bpf(struct loop_ev *ev, uint32_t events)
{
	struct supervisor *sv = (struct supervisor *)((char *)ev - offsetof(struct supervisor, bpf_ev));

	(void)events;
	datapath_events(sv->bpf);
}

/* Each worker's steering listeners (v4, v6) of a role: fd[i] for worker i, -1 where none. */
static void steering_fds(const struct supervisor *sv, enum session_role role, int (*fd)[2])
{
	for (unsigned int w = 0; w < sv->nworkers; w++) {
		const struct worker *wk = sv->workers[w];

		fd[w][0] = fd[w][1] = -1;
		for (size_t i = 0; i < wk->nlisteners; i++) {
			const struct listener *li = &wk->listeners[i];

			if (li->role != role || !li->steering)
				continue;
			fd[w][li->addr.ss_family == AF_INET6] = li->ev.fd;
		}
	}
}

static int open_control(struct supervisor *sv)
{
	struct control_server_opts o = { .run_dir = sv->g->cfg.run_dir, .group = sv->g->cfg.ctl_group };
	int rc;

	if (sv->g->cfg.run_dir && sv->g->cfg.run_dir[0] && access(sv->g->cfg.run_dir, W_OK) &&
	    errno == ENOENT && mkdir(sv->g->cfg.run_dir, 0755) && errno != EEXIST)
		log_warn("run_dir %s: %s", sv->g->cfg.run_dir, strerror(errno));
	rc = control_server_open(&o, &supervisor_control_ops, sv, &sv->ctl);
	if (rc) {
		log_err("control socket (run_dir=%s): %s", sv->g->cfg.run_dir, strerror(-rc));
		return rc;
	}
	sv->ctl_ev.fn = on_ctl;
	sv->ctl_ev.fd = control_server_fd(sv->ctl);
	events_attach(supervisor_event_sink, sv->ctl);
	return loop_watch(sv->loop, &sv->ctl_ev, EPOLLIN);
}

/* A new MTA-STS policy may make a looked-up domain's MX addresses TLS-required. */
static void on_sts_stored(void *arg, const char *domain)
{
	struct gateway *g = arg;

	(void)domain;
	destkern_touch(g->destkern);
}

/*
 * The kernel's view of the destinations' own policies: with BPF, enforce_destination_policy
 * and destination lookups (outbound_dane or outbound_mta_sts), before the workers that post
 * into it.  Bounded by POLICY_DESTADDR_MAX_PAIRS (domain, address) pairs.
 */
static int open_destkern(struct supervisor *sv)
{
	const struct config *c = &sv->g->cfg;
	int rc;

	if (!sv->bpf || !c->enforce_destination_policy ||
	    (!c->outbound_dane && !c->outbound_mta_sts))
		return 0;
	rc = destkern_new(sv->loop, 0, supervisor_dest_changed, sv, &sv->g->destkern);
	if (rc)
		log_err("enforce_destination_policy: %s", strerror(-rc));
	return rc;
}

/* MTA-STS: the fetcher runs on this loop.  Without a usable cache directory there is none
 * (logged); nothing else depends on it yet. */
static void open_sts(struct supervisor *sv)
{
	const struct config *c = &sv->g->cfg;
	struct sts_fetch_opts o = {
		.ca_file = c->mta_sts_ca_file,
		.nameserver = c->dns_server,
		.timeout_s = c->mta_sts_timeout,
		.max_entries = c->mta_sts_cache_max,
	};
	char dir[4096];
	int rc;

	snprintf(dir, sizeof(dir), "%s/mta-sts", c->state_dir ? c->state_dir : ".");
	o.cache_dir = dir;
	o.stored = on_sts_stored;
	o.stored_arg = sv->g;
	rc = sts_fetch_new(sv->loop, &o, &sv->g->sts);
	if (rc)
		log_err("mta-sts: unavailable (cache %s): %s", dir, strerror(-rc));
}

/* TLS reports (RFC 8460): a sink of the outcomes, added before the workers publish.  Writes
 * STATE_DIR/tlsrpt as the user.  A reporter that cannot start is logged; mail flows on. */
static void open_tlsrpt(struct supervisor *sv)
{
	const struct config *c = &sv->g->cfg;
	struct tlsrpt_opts o = {
		.org = c->tlsrpt_organization,
		.contact = c->tlsrpt_contact,
		.submitter = c->hostname,
		.sender = c->tlsrpt_sender,
		.submission = c->tlsrpt_submission,
		.dkim_key = c->tlsrpt_dkim_key,
		.dkim_selector = c->tlsrpt_dkim_selector,
		.dkim_domain = c->tlsrpt_dkim_domain,
		.nameserver = c->dns_server,
		.ca_file = c->mta_sts_ca_file,
		.fleet_socket = c->tlsrpt_socket,
		.timeout_s = c->tlsrpt_timeout,
		.retry_min_s = c->tlsrpt_retry,
		.sts = sv->g->sts,
	};
	char dir[4096];
	int rc;

	if (!c->tlsrpt || !sv->g->outcomes)
		return;
	snprintf(dir, sizeof(dir), "%s/tlsrpt", c->state_dir ? c->state_dir : ".");
	o.dir = dir;
	rc = tlsrpt_new(sv->loop, &o, &sv->g->tlsrpt);
	if (rc) {
		log_err("tlsrpt: reporter unavailable (%s): %s", dir, strerror(-rc));
		return;
	}
	rc = outcome_sink_add(sv->g->outcomes, tlsrpt_sink, sv->g->tlsrpt);
	if (rc)
		log_err("tlsrpt: cannot listen to outcomes: %s", strerror(-rc));
}

int supervisor_run(struct gateway *g)
{
	struct supervisor sv = { .g = g };
	sigset_t set;
	int rc;
	struct policy *p;

	sv.nworkers = g->cfg.workers ? g->cfg.workers : (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	sv.workers = calloc(sv.nworkers, sizeof(*sv.workers));
	if (!sv.workers)
		return -ENOMEM;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread exists, so only this thread takes them (signalfd). */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = loop_new(&sv.loop);
	if (rc)
		goto out;
	sv.sig_ev.fn = on_signal;
	sv.sig_ev.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sv.sig_ev.fd < 0 || loop_watch(sv.loop, &sv.sig_ev, EPOLLIN)) {
		rc = -errno;
		goto out;
	}
	rc = supervisor_open_resolver(&sv);
	if (rc)
		goto out;
	rc = anvil_new(g->cfg.inbound_client_connection_limit, g->cfg.inbound_client_rate_limit,
		       &g->anvil);
	if (rc)
		goto out;
	rc = datapath_open(g, &sv.bpf);
	rc = rc ?: open_destkern(&sv);
	/* as root: nic_offload = on|off sets ethtool bits (CAP_NET_ADMIN) */
	rc = rc ?: nic_setup(&g->cfg, &g->nic);
	if (rc)
		goto out;
	/* before the workers: they publish what sessions learn (its sinks attach here too) */
	rc = outcome_queue_new(sv.loop, 0, &g->ctr.outcomes_dropped, &g->outcomes);
	if (rc)
		goto out;
	/* The policy loaded at start-up: resolve it and give the kernel its addresses. */
	p = gateway_policy_get(g);
	if (p) {
		supervisor_refresh_policy(&sv, p);
		policy_put(p);
	}
	/* Everything that needs privilege first (listeners on port 25 with IP_TRANSPARENT, the
	 * SOCKMAP, the control socket); then the drop; then the threads that read the network,
	 * so that none of them ever had a capability. */
	for (unsigned int i = 0; i < sv.nworkers; i++) {
		rc = worker_new(g, i, &sv.workers[i]);
		if (rc) {
			log_err("worker %u: %s", i, strerror(-rc));
			goto stop;
		}
	}
	if (sv.bpf) {
		int (*out)[2] = calloc(sv.nworkers, sizeof(*out));
		int (*in)[2] = calloc(sv.nworkers, sizeof(*in));

		rc = -ENOMEM;
		if (out && in) {
			steering_fds(&sv, ROLE_OUTBOUND, out);
			steering_fds(&sv, ROLE_INBOUND, in);
			rc = datapath_listeners(g, sv.bpf, out, in, sv.nworkers);
		}
		free(out);
		free(in);
		if (rc)
			goto stop;
	}
	if (sv.bpf) {
		sv.bpf_ev.fn = on_bpf;
		sv.bpf_ev.fd = tg_bpf_events_fd(sv.bpf);
		if (sv.bpf_ev.fd >= 0)
			loop_watch(sv.loop, &sv.bpf_ev, EPOLLIN);
		datapath_events(sv.bpf); /* what the enforcer dropped while we were down */
	}
	rc = privdrop_prepare(&g->cfg, &g->priv);
	if (rc)
		goto stop;
	rc = open_control(&sv);
	if (rc)
		goto stop;
	if (g->cfg.run_dir && g->cfg.run_dir[0]) {
		/* tlsgatectl believes replies from the runfile's owner (or root) only */
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", g->cfg.run_dir, CTL_RUN_FILE);
		rc = privdrop_give(&g->priv, path);
		if (rc)
			goto stop;
	}
	datapath_keep_runtime(sv.bpf);
	g->bpf = sv.bpf;
	/* The sock_diag helper: forked here, after every fd it must not hold exists (it closes
	 * them) and while this is the only thread (fork copies only the caller; its credentials
	 * are set in the child while still root).  Mail flows without it: sessions then show
	 * kernel=unknown. */
	if (g->priv.drop && g->cfg.ktls && diag_helper_start(&g->priv, sv.nworkers, &g->diag))
		g->diag = NULL;
	rc = privdrop_apply(&g->priv);
	if (rc)
		goto stop;
	/* MTA-STS fetches read the network (DNS, HTTPS) and write their cache as the user:
	 * after the drop, before the workers that look policies up */
	open_sts(&sv);
	open_tlsrpt(&sv);
	/* the posture files are the user's too; its sink must be there before any outcome.  Mail
	 * is relayed without it when the directory cannot be used (logged). */
	posture_sink_open(g, sv.loop, &sv.posture);
	for (unsigned int i = 0; i < sv.nworkers; i++) {
		rc = worker_start(sv.workers[i]);
		if (rc) {
			log_err("worker %u: %s", i, strerror(-rc));
			goto stop;
		}
	}
	log_info("tlsgated %s started: workers=%u ktls=\"%s\" hostname=%s", TLSGATE_VERSION,
		 sv.nworkers, g->caps_line, g->cfg.hostname);
	while (!sv.stop) {
		rc = loop_run_once(sv.loop, -1);
		if (rc < 0) {
			log_err("main loop: %s", strerror(-rc));
			break;
		}
	}
	rc = 0;
stop:
	atomic_store(&g->stopping, true);
	/* Steering stops first (new connections reach the MX directly, still enforced), then the
	 * workers finish what they have. */
	if (sv.bpf) {
		tg_bpf_set_listeners(sv.bpf, TG_DIR_OUTBOUND, NULL, 0);
		tg_bpf_set_listeners(sv.bpf, TG_DIR_INBOUND, NULL, 0);
	}
	for (unsigned int i = 0; i < sv.nworkers; i++)
		if (sv.workers[i])
			worker_stop(sv.workers[i], loop_now_ms() + g->cfg.shutdown_timeout * 1000ull);
	for (unsigned int i = 0; i < sv.nworkers; i++) {
		if (sv.workers[i]) {
			worker_join(sv.workers[i]);
			worker_free(sv.workers[i]);
		}
	}
	log_info("tlsgated stopped");
out:
	destkern_free(g->destkern); /* the workers that posted are gone */
	g->destkern = NULL;
	diag_helper_stop(g->diag); /* the workers are gone */
	g->diag = NULL;
	nic_free(g->nic); /* the workers are gone */
	g->nic = NULL;
	anvil_free(g->anvil); /* the workers are gone */
	g->anvil = NULL;
	events_detach();
	control_server_close(sv.ctl);
	g->bpf = NULL; /* the workers are gone: draining sessions registered their sockets */
	if (sv.bpf)
		tg_bpf_close(sv.bpf); /* programs and pins stay: fail-closed */
	policy_resolver_free(sv.resolver);
	/* the workers are gone: what they published is drained, to sinks that still have what
	 * they read (the reporter reads MTA-STS policies) */
	outcome_queue_free(g->outcomes);
	g->outcomes = NULL;
	tlsrpt_free(g->tlsrpt); /* saves the day's counts */
	g->tlsrpt = NULL;
	sts_fetch_free(g->sts);
	g->sts = NULL;
	posture_sink_close(sv.posture); /* after the drain: the last outcomes are in the file */
	if (sv.sig_ev.fd >= 0)
		close(sv.sig_ev.fd);
	loop_free(sv.loop);
	free(sv.workers);
	return rc;
}
