// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/worker.h"
#include "bpf/steer.h"
#include "daemon/anvil.h"
#include "daemon/destkern.h"
#include "daemon/destpol.h"
#include "daemon/gateway.h"
#include "lib/log.h"
#include "lib/sockutil.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * A steered connection (bpf_sk_assign, TPROXY) keeps its original destination as its local
 * address, which is not where the listener is bound; a connection made to the listener itself
 * has the listener's address (or, for a wildcard listener, its port).  An accepted socket has the
 * listener's family (a v4 client of a dual-stack v6 listener is v4-mapped).
 */
static bool was_steered(const struct listener *li, const struct sockaddr_storage *local)
{
	if (!li->transparent || local->ss_family != li->addr.ss_family)
		return false;
	if (local->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)local, *l = (const void *)&li->addr;

		return a->sin_port != l->sin_port ||
		       (l->sin_addr.s_addr != htonl(INADDR_ANY) &&
			a->sin_addr.s_addr != l->sin_addr.s_addr);
	}
	if (local->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)local, *l = (const void *)&li->addr;

		return a->sin6_port != l->sin6_port ||
		       (!IN6_IS_ADDR_UNSPECIFIED(&l->sin6_addr) &&
			!IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &l->sin6_addr));
	}
	return false;
}

/*
 * Accept-path warnings come once a second at most: a flood of refused clients (or a listener
 * that keeps failing) must not become a flood of log lines.
 */
static void __attribute__((format(printf, 2, 3))) accept_warn(struct worker *w, const char *fmt,
							     ...)
{
	uint64_t now = loop_now_ms();
	char msg[256];
	va_list ap;

	if (w->warn_ms && now - w->warn_ms < 1000) {
		w->warn_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("worker=%u %s (%lu more like it since the last line)", w->id, msg,
		 w->warn_suppressed);
	w->warn_ms = now;
	w->warn_suppressed = 0;
}

/* A client we do not take: the reply, then close.  It has sent nothing yet (it waits for a
 * greeting), so closing does not reset the connection before it reads the 421. */
static void refuse(struct worker *w, int fd, const char *reply)
{
	if (write(fd, reply, strlen(reply)) < 0)
		log_debug("worker=%u refusal reply: %s", w->id, strerror(errno));
	close(fd);
}

/*
 * EMFILE/ENFILE: the connection stays in the accept queue and level-triggered epoll would
 * report it again at once (a busy loop, and the client hears nothing).  The spare descriptor
 * makes room for one accept: the client gets a 421 and the spare is taken again.  True when a
 * connection was refused this way.
 */
static bool refuse_with_spare(struct worker *w, struct listener *li)
{
	int fd;

	if (w->spare_fd < 0)
		return false;
	close(w->spare_fd);
	fd = accept4(li->ev.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(w, fd, w->nofd_reply);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

static void on_backoff(struct loop_timer *t)
{
	struct listener *li = (struct listener *)((char *)t - offsetof(struct listener, backoff));

	if (loop_watch(li->w->loop, &li->ev, EPOLLIN))
		log_warn("worker=%u listener: %s", li->w->id, strerror(errno));
}

/* Stop watching a listener that cannot accept for a second, rather than spin on it. */
static void listener_backoff(struct listener *li)
{
	loop_watch(li->w->loop, &li->ev, 0);
	loop_timer_arm(li->w->loop, &li->backoff, 1000);
}

/*
 * Inbound: one external address may hold inbound_client_connection_limit sessions and open
 * inbound_client_rate_limit a minute.  Each session holds a connection to the inside MTA, which
 * charges them all to the gateway: without these, idle connections from one sender exhaust the
 * inside MTA's per-client limit for everyone.  False: refused (fd closed).
 */
static bool admit_client(struct worker *w, int fd, const struct sockaddr_storage *peer)
{
	enum anvil_verdict v = anvil_connect(w->gw->anvil, peer, loop_now_ms());
	char ip[64], reply[400];

	if (v == ANVIL_OK)
		return true;
	tg_addr_text(peer, ip, sizeof(ip), NULL, 0);
	snprintf(reply, sizeof(reply), "421 4.7.0 %s Error: too many connections from %s\r\n",
		 w->gw->cfg.hostname, ip);
	refuse(w, fd, reply);
	accept_warn(w, "refused a connection from %s: %s", ip,
		    v == ANVIL_TOO_MANY ? "inbound_client_connection_limit reached"
					: "inbound_client_rate_limit reached");
	return false;
}

static void on_accept(struct loop_ev *ev, uint32_t events)
{
	struct listener *li = (struct listener *)ev;
	struct worker *w = li->w;
	struct gateway *g = w->gw;

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage local = { 0 }, peer = { 0 };
		socklen_t len = sizeof(local), plen = sizeof(peer);
		int fd = accept4(ev->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int err = errno;

		if (fd < 0) {
			if (err == EAGAIN || err == EINTR || err == ECONNABORTED)
				return;
			if ((err == EMFILE || err == ENFILE) && refuse_with_spare(w, li)) {
				accept_warn(w, "refused a connection: out of file descriptors (%s)",
					    strerror(err));
				continue;
			}
			accept_warn(w, "accept: %s; not accepting for 1s", strerror(err));
			listener_backoff(li);
			return;
		}
		/* max_sessions is the daemon's, over all workers (the descriptors are shared) */
		if (atomic_load(&g->ctr.sessions_active) >= g->cfg.max_sessions) {
			refuse(w, fd, w->busy_reply);
			accept_warn(w, "refused a connection: max_sessions=%u reached",
				    g->cfg.max_sessions);
			continue;
		}
		if (li->role == ROLE_INBOUND && !admit_client(w, fd, &peer))
			continue;
		/* the original destination of a steered connection (read once, here) */
		if (getsockname(fd, (struct sockaddr *)&local, &len))
			local.ss_family = AF_UNSPEC;
		if (session_start(&w->host, li->role, fd, &peer, &local, was_steered(li, &local)) &&
		    li->role == ROLE_INBOUND)
			anvil_disconnect(g->anvil, &peer);
	}
}

int worker_kill(struct worker *w, uint64_t id)
{
	uint64_t one = 1;
	int rc = -ENOENT;

	if (!session_host_has(&w->host, id))
		return -ENOENT;
	pthread_mutex_lock(&w->lock);
	if (w->nkill == sizeof(w->kill_ids) / sizeof(w->kill_ids[0])) {
		rc = -EBUSY;
	} else {
		w->kill_ids[w->nkill++] = id;
		rc = 0;
	}
	pthread_mutex_unlock(&w->lock);
	if (!rc && write(w->wake.fd, &one, sizeof(one)) < 0)
		log_warn("worker=%u wake: %s", w->id, strerror(errno));
	return rc;
}

/* Runs on the worker: end the sessions the control thread asked for. */
static void do_kills(struct worker *w)
{
	uint64_t ids[64];
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->nkill;
	memcpy(ids, w->kill_ids, n * sizeof(ids[0]));
	w->nkill = 0;
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < n; i++)
		session_host_kill(&w->host, ids[i]); /* -ENOENT: it ended meanwhile */
}

static void on_wake(struct loop_ev *ev, uint32_t events)
{
	struct worker *w = (struct worker *)((char *)ev - offsetof(struct worker, wake));
	uint64_t v;

	(void)events;
	if (read(ev->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker wake: %s", strerror(errno));
	do_kills(w);
}

static int listen_on(struct worker *w, const struct config_addr *a, enum session_role role,
		     bool transparent, bool steering)
{
	struct sockaddr_storage ss = a->ss;
	struct listener *li;
	socklen_t len;
	int fd;

	if (w->nlisteners >= WORKER_MAX_LISTENERS)
		return -ENOSPC;
	/* A steering listener gets a port of its own (a lone socket cannot share one) on loopback:
	 * bpf_sk_assign ignores where it is bound, and an ephemeral port on the configured
	 * address could be reachable past a firewall that only knows the configured port. */
	if (steering && ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		a6->sin6_addr = in6addr_loopback;
		a6->sin6_port = 0;
	} else if (steering) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a4->sin_port = 0;
	}
	/* A steering listener is no SO_REUSEPORT socket: before Linux 6.5 bpf_sk_assign refuses
	 * one (bpf/steer.h). */
	fd = tg_listen_socket((const struct sockaddr *)&ss, a->len, transparent, !steering);
	if (fd < 0) {
		log_err("listen %s (%s%s): %s", a->text,
			role == ROLE_OUTBOUND ? "outbound" : "inbound",
			steering ? ", steering" : transparent ? ", transparent" : "",
			strerror(-fd));
		return fd;
	}
	li = &w->listeners[w->nlisteners++];
	li->w = w;
	li->role = role;
	li->transparent = transparent;
	li->steering = steering;
	len = sizeof(li->addr);
	if (getsockname(fd, (struct sockaddr *)&li->addr, &len))
		li->addr = ss;
	li->ev.fn = on_accept;
	li->ev.fd = fd;
	loop_timer_init(&li->backoff, on_backoff);
	return loop_watch(w->loop, &li->ev, EPOLLIN);
}

/* Has this worker a steering listener of the role for the family yet? */
static bool has_steering(const struct worker *w, enum session_role role, int family)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].steering && w->listeners[i].role == role &&
		    w->listeners[i].addr.ss_family == family)
			return true;
	return false;
}

/*
 * The configured address, in the workers' SO_REUSEPORT group (direct connections; TPROXY too when
 * transparent); and with the BPF datapath, the worker's steering listener for the first address
 * of each family: loopback of that family, a port of its own (tg_listen, bpf/steer.h; the
 * enforcer also reads worker 0's outbound ones as "the daemon is alive").
 */
static int add_listener(struct worker *w, const struct config_addr *a, enum session_role role,
			bool transparent, bool steered)
{
	int err = listen_on(w, a, role, transparent, false);

	if (!err && transparent && steered && !has_steering(w, role, a->ss.ss_family))
		err = listen_on(w, a, role, true, true);
	return err;
}

/* dns_server ("ip", "ip:port", "[ip6]:port") as libunbound writes a forwarder ("ip@port"). */
static int unbound_forwarder(const char *s, char *out, size_t len)
{
	const char *colon = strrchr(s, ':');
	int n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		n = rb[1] ? snprintf(out, len, "%.*s@%s", (int)(rb - s - 1), s + 1, rb + 2)
			  : snprintf(out, len, "%.*s", (int)(rb - s - 1), s + 1);
	} else if (colon && strchr(s, ':') == colon) {
		n = snprintf(out, len, "%.*s@%s", (int)(colon - s), s, colon + 1);
	} else {
		n = snprintf(out, len, "%s", s); /* an address without port, v4 or v6 */
	}
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* Each lookup's result, for the kernel enforcer's view of shared MX addresses (destkern.h). */
static void worker_dest_stored(void *arg, const struct policy_dane_domain *v, uint64_t expires_ms)
{
	struct gateway *g = arg;

	destkern_post(g->destkern, v, expires_ms);
}

/*
 * The worker's recipient-domain lookups (DANE, MTA-STS): its own validating resolver.  Here, on
 * the main thread before privileges are dropped, so the trust anchor is read as root; a
 * resolver that cannot start is a start-up error, never DANE silently off.
 */
static int worker_destpol(struct worker *w)
{
	const struct config *c = &w->gw->cfg;
	struct destpol_opts o = {
		.sz = sizeof(o),
		.trust_anchor = c->dane_trust_anchor,
		.dane = c->outbound_dane,
		.ttl_s = c->destination_cache_ttl,
		.timeout_s = c->destination_lookup_timeout,
		.stored = worker_dest_stored,
		.stored_arg = w->gw,
	};
	char fwd[128], err[256] = "";
	int rc;

	if (!c->outbound_dane && !c->outbound_mta_sts)
		return 0;
	if (c->dns_server) {
		if (unbound_forwarder(c->dns_server, fwd, sizeof(fwd))) {
			log_err("worker=%u destination lookups: dns_server=%s is not ip[:port]",
				w->id, c->dns_server);
			return -EINVAL;
		}
		o.forwarder = fwd;
	}
	rc = destpol_new(w->loop, &o, &w->host.destpol, err, sizeof(err));
	if (rc)
		log_err("worker=%u destination lookups (outbound_dane/outbound_mta_sts, "
			"dane_trust_anchor=%s, dns_server=%s): %s",
			w->id, c->dane_trust_anchor ? c->dane_trust_anchor : POLICY_DANE_ROOT_KEY,
			c->dns_server ? c->dns_server : "none: recursion from the root", err);
	return rc;
}

int worker_new(struct gateway *gw, unsigned int id, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	const struct config *c = &gw->cfg;
	/* the BPF datapath (datapath_open) takes steered connections on this worker's own */
	bool bpf = (c->inside_ifs.n || c->outside_ifs.n) && id < TG_LISTEN_WORKERS;
	int err;

	if (!w)
		return -ENOMEM;
	w->id = id;
	w->gw = gw;
	w->wake.fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	snprintf(w->busy_reply, sizeof(w->busy_reply),
		 "421 4.3.2 %s Error: too many sessions, try later\r\n", c->hostname);
	snprintf(w->nofd_reply, sizeof(w->nofd_reply),
		 "421 4.3.2 %s Error: out of resources, try later\r\n", c->hostname);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->spare_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = loop_new(&w->loop);
	if (!err)
		err = session_host_init(&w->host, gw, w->loop, id);
	if (!err)
		err = worker_destpol(w);
	if (err)
		goto fail;
	w->wake.fn = on_wake;
	w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake.fd < 0 || loop_watch(w->loop, &w->wake, EPOLLIN)) {
		err = -errno;
		goto fail;
	}
	for (unsigned int i = 0; i < c->n_outbound_listen; i++)
		if ((err = add_listener(w, &c->outbound_listen[i], ROLE_OUTBOUND,
					c->outbound_transparent, bpf)))
			goto fail;
	for (unsigned int i = 0; i < c->n_inbound_listen; i++)
		if ((err = add_listener(w, &c->inbound_listen[i], ROLE_INBOUND,
					c->steer_inbound, bpf)))
			goto fail;
	*out = w;
	return 0;
fail:
	worker_free(w);
	return err;
}

static void close_listeners(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		loop_timer_disarm(w->loop, &w->listeners[i].backoff);
		loop_unwatch(w->loop, &w->listeners[i].ev);
		close(w->listeners[i].ev.fd);
	}
	w->nlisteners = 0;
}

/*
 * glibc keeps what a burst of sessions freed in its arenas, so the process would stay at its
 * peak RSS for good.  A worker without sessions gives it back (malloc_trim also releases the
 * free pages inside the heaps, not only its top), at most once per interval: the trim walks
 * and locks every arena, not something to do at every idle moment of a busy gateway.
 */
#define WORKER_TRIM_INTERVAL_MS 1000

static void worker_idle_trim(struct worker *w)
{
	unsigned int pooled;
	uint64_t now;

	if (!w->trim_due || w->host.nsessions)
		return;
	now = loop_now_ms();
	if (now - w->last_trim_ms < WORKER_TRIM_INTERVAL_MS)
		return;
	w->trim_due = false;
	w->last_trim_ms = now;
	/* what the pools keep first, so that malloc_trim can return it too */
	pooled = session_host_trim(&w->host);
	/* hits/misses since the start: how often the pools spared a malloc */
	log_debug("worker=%u idle: heap trimmed pooled=%u returned=%s pool_hits=%llu/%llu/%llu "
		  "pool_misses=%llu/%llu/%llu (session/buf/bounce)",
		  w->id, pooled, malloc_trim(0) ? "yes" : "no",
		  (unsigned long long)w->host.session_pool.hits,
		  (unsigned long long)w->host.buf_pool.hits,
		  (unsigned long long)w->host.bounce_pool.hits,
		  (unsigned long long)w->host.session_pool.misses,
		  (unsigned long long)w->host.buf_pool.misses,
		  (unsigned long long)w->host.bounce_pool.misses);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	bool aborted = false;

	while (!atomic_load(&w->stop) || w->host.nsessions) {
		if (atomic_load(&w->stop)) {
			if (w->nlisteners)
				close_listeners(w);
			/* no session will take an idle connection again: QUIT them now */
			(void)session_reuse_tick(&w->host, true);
			if (!aborted && loop_now_ms() >= w->stop_deadline_ms) {
				/* Deadline: whoever is still here hears we are going away, after
				 * the MX's reply to a message end it already has. */
				aborted = true;
				session_host_shutdown(&w->host,
						      "421 4.3.2 Error: service shutting down\r\n");
			}
		}
		if (loop_run_once(w->loop, 200) < 0)
			break;
		if (session_reap(&w->host))
			w->trim_due = true;
		/* a policy swap drops the idle connections; those that ended are memory to trim */
		if (session_reuse_tick(&w->host, false))
			w->trim_due = true;
		worker_idle_trim(w);
	}
	session_reap(&w->host);
	close_listeners(w);
	return NULL;
}

int worker_start(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	if (err)
		return -err;
	w->running = true;
	return 0;
}

void worker_stop(struct worker *w, uint64_t deadline_ms)
{
	uint64_t one = 1;

	w->stop_deadline_ms = deadline_ms;
	atomic_store(&w->stop, true);
	if (write(w->wake.fd, &one, sizeof(one)) < 0)
		log_warn("worker=%u wake: %s", w->id, strerror(errno));
}

void worker_join(struct worker *w)
{
	if (w->running)
		pthread_join(w->thread, NULL);
	w->running = false;
}

void worker_free(struct worker *w)
{
	struct destpol *dp;

	if (!w)
		return;
	close_listeners(w);
	if (w->wake.fd >= 0)
		close(w->wake.fd);
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	dp = w->host.destpol;
	/* the sessions first: they cancel their waits */
	session_host_fini(&w->host);
	destpol_free(dp);
	loop_free(w->loop);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void worker_foreach_session(struct worker *w, void (*fn)(const struct session_view *v, void *ctx),
			    void *ctx)
{
	session_host_foreach(&w->host, fn, ctx);
}
