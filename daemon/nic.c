// SPDX-License-Identifier: GPL-2.0-only
/*
 * The outside interfaces' TLS offload, for the daemon: nic_offload applied at start (as root:
 * FEATURES_SET needs CAP_NET_ADMIN), state re-read for status and metrics (reading needs no
 * privilege), and the per-session counts session_nic.c reports into.  A refusal never stops
 * the daemon: the interface runs as it is, and status says why.
 */
#include "daemon/nic.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum nic_mode { NIC_AUTO, NIC_ON, NIC_OFF };

struct nic_entry {
	char ifname[IF_NAMESIZE];
	enum nic_mode mode;
	char driver[32];
	struct hw_features ft;
	bool probed;
	char error[256]; /* why the probe or the set failed; "" when fine */
	atomic_bool tx_on;
	atomic_uint tx_hw, rx_hw; /* our sessions the NIC carries now */
};

struct nic_table {
	pthread_mutex_t lock; /* status and metrics re-read entries on the main thread */
	unsigned int n;
	struct nic_entry e[CONFIG_MAX_IFS];
	/* sessions by the kernel's report, [tx, rx][conf] */
	atomic_uint_fast64_t conf[2][HW_CONF_UNKNOWN + 1];
};

static int mode_word(const char *w, size_t n, enum nic_mode *m)
{
	if (n == 4 && !strncmp(w, "auto", 4))
		*m = NIC_AUTO;
	else if (n == 2 && !strncmp(w, "on", 2))
		*m = NIC_ON;
	else if (n == 3 && !strncmp(w, "off", 3))
		*m = NIC_OFF;
	else
		return -EINVAL;
	return 0;
}

static const char *mode_name(enum nic_mode m)
{
	return m == NIC_ON ? "on" : m == NIC_OFF ? "off" : "auto";
}

/* The mode of ifname in spec; -EINVAL with err for a malformed spec. */
static int mode_for(const char *spec, const char *ifname, enum nic_mode *out, char *err,
		    size_t errlen)
{
	const char *p = spec ? spec : "auto";
	enum nic_mode dflt = NIC_AUTO, m;
	bool found = false;

	while (*p) {
		size_t n = strcspn(p, ", \t");
		const char *colon = memchr(p, ':', n);

		if (!n) {
			p++;
			continue;
		}
		if (!colon) {
			if (mode_word(p, n, &dflt))
				goto bad;
		} else {
			if (mode_word(colon + 1, n - (size_t)(colon - p) - 1, &m) || colon == p)
				goto bad;
			if (ifname && strlen(ifname) == (size_t)(colon - p) &&
			    !strncmp(p, ifname, (size_t)(colon - p))) {
				*out = m;
				found = true;
			}
		}
		p += n;
		continue;
bad:
		snprintf(err, errlen, "nic_offload: '%.*s' is not auto, on, off or IFNAME:MODE",
			 (int)n, p);
		return -EINVAL;
	}
	if (!found)
		*out = dflt;
	return 0;
}

int nic_config_check(const struct config *c, char *err, size_t errlen)
{
	enum nic_mode m;

	return mode_for(c->nic_offload, NULL, &m, err, errlen);
}

static void probe_one(struct hw_ethtool *et, struct nic_entry *e)
{
	size_t n;
	int rc;

	e->error[0] = '\0';
	rc = hw_driver_name(e->ifname, e->driver, sizeof(e->driver));
	if (rc)
		snprintf(e->driver, sizeof(e->driver), "?");
	if (!et) {
		snprintf(e->error, sizeof(e->error), "no ethtool netlink in this kernel");
		return;
	}
	rc = hw_features_get(et, e->ifname, &e->ft, e->error, sizeof(e->error));
	e->probed = !rc;
	atomic_store(&e->tx_on, !rc && e->ft.f[HW_F_TLS_TX].active);
	(void)n;
}

int nic_setup(const struct config *c, struct nic_table **out)
{
	struct nic_table *t = calloc(1, sizeof(*t));
	struct hw_ethtool *et = NULL;
	char err[256];
	int rc;

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	if (!c->outside_ifs.n)
		return 0;
	rc = hw_ethtool_open(&et);
	if (rc)
		log_warn("nic offload: ethtool netlink unavailable: %s", strerror(-rc));
	for (unsigned int i = 0; i < c->outside_ifs.n; i++) {
		struct nic_entry *e = &t->e[t->n++];
		char why[512] = "";

		snprintf(e->ifname, sizeof(e->ifname), "%s", c->outside_ifs.name[i]);
		if (mode_for(c->nic_offload, e->ifname, &e->mode, err, sizeof(err)))
			e->mode = NIC_AUTO; /* checked at configuration time */
		probe_one(et, e);
		if (!e->probed) {
			log_warn("nic offload ifname=%s: cannot read its features: %s", e->ifname,
				 e->error);
			continue;
		}
		if (e->mode != NIC_AUTO) {
			rc = hw_features_set_tls(et, e->ifname, e->driver, e->mode == NIC_ON, &e->ft,
						 why, sizeof(why));
			atomic_store(&e->tx_on, e->ft.f[HW_F_TLS_TX].active);
			if (rc) {
				snprintf(e->error, sizeof(e->error), "%s", why);
				log_warn("nic offload ifname=%s driver=%s mode=%s refused: %s",
					 e->ifname, e->driver, mode_name(e->mode), why);
			}
		}
		log_info("nic offload ifname=%s driver=%s mode=%s tls-hw-tx-offload=\"%s\" "
			 "tls-hw-rx-offload=\"%s\" tls-hw-record=\"%s\" tx-checksum=%s",
			 e->ifname, e->driver, mode_name(e->mode),
			 hw_feat_state(&e->ft.f[HW_F_TLS_TX]), hw_feat_state(&e->ft.f[HW_F_TLS_RX]),
			 hw_feat_state(&e->ft.f[HW_F_TLS_RECORD]),
			 hw_tx_csum_active(&e->ft) ? "on" : "off");
	}
	hw_ethtool_close(et);
	return 0;
}

void nic_free(struct nic_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static uint8_t wire_offload(const struct hw_feature *f)
{
	if (!f->known || (!f->changeable && !f->active))
		return NLPROTO_OFFLOAD_UNSUPPORTED;
	return f->active ? NLPROTO_OFFLOAD_ON : NLPROTO_OFFLOAD_OFF;
}

void nic_status(struct nic_table *t, struct nlproto_status *st)
{
	struct hw_ethtool *et = NULL;
	struct hw_tls_stat ts;

	if (!t)
		return;
	if (!hw_tls_stat_read(&ts) && ts.present) {
		st->tls_device = true;
		st->tls_curr_tx_device = ts.curr_tx_device;
		st->tls_curr_rx_device = ts.curr_rx_device;
		st->tls_rx_device_resync = ts.rx_device_resync;
	}
	if (t->n && hw_ethtool_open(&et))
		et = NULL;
	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->n && st->nnic < NLPROTO_STATUS_NICS; i++) {
		struct nic_entry *e = &t->e[i];
		struct nlproto_status_nic *w = &st->nic[st->nnic++];
		char keep[256];
		struct hw_nic_stat hs[HW_NIC_STATS];
		size_t n = 0;

		/* a refusal at start stays the reason shown; a failed re-read replaces it */
		snprintf(keep, sizeof(keep), "%s", e->error);
		probe_one(et, e);
		if (e->probed)
			snprintf(e->error, sizeof(e->error), "%s", keep);
		snprintf(w->ifname, sizeof(w->ifname), "%s", e->ifname);
		snprintf(w->driver, sizeof(w->driver), "%s", e->driver);
		snprintf(w->mode, sizeof(w->mode), "%s", mode_name(e->mode));
		snprintf(w->error, sizeof(w->error), "%s", e->error);
		w->tx = wire_offload(&e->ft.f[HW_F_TLS_TX]);
		w->rx = wire_offload(&e->ft.f[HW_F_TLS_RX]);
		w->record = wire_offload(&e->ft.f[HW_F_TLS_RECORD]);
		w->tx_csum = hw_tx_csum_active(&e->ft) ? NLPROTO_OFFLOAD_ON : NLPROTO_OFFLOAD_OFF;
		w->tx_sessions = atomic_load(&e->tx_hw);
		w->rx_sessions = atomic_load(&e->rx_hw);
		if (!hw_tls_counters(e->ifname, hs, &n))
			for (size_t k = 0; k < n && w->nstat < NLPROTO_NIC_STATS; k++, w->nstat++) {
				snprintf(w->stat[w->nstat].name, sizeof(w->stat[0].name), "%.31s",
					 hs[k].name);
				w->stat[w->nstat].value = hs[k].value;
			}
	}
	pthread_mutex_unlock(&t->lock);
	hw_ethtool_close(et);
}

static int one_gauge(control_metric_cb cb, void *arg, const char *name, const char *type,
		     const char *help, const struct nlproto_sample *s, size_t n)
{
	struct nlproto_metric mf = {
		.name = name, .type = type, .help = help, .sample = s, .nsample = n};

	return n ? cb(arg, &mf) : 0;
}

/* Per-interface families, every interface's samples in one family each. */
static int report_nics(const struct nlproto_status *st, control_metric_cb cb, void *arg)
{
	static const char *const fname[3] = {"tls-hw-tx-offload", "tls-hw-rx-offload",
					     "tls-hw-record"};
	static const char *const dir[2] = {"tx", "rx"};
	enum { NF = 3 * NLPROTO_STATUS_NICS, NS = NLPROTO_NIC_STATS * NLPROTO_STATUS_NICS };
	struct {
		struct nlproto_label fl[NF][2], sl[2 * NLPROTO_STATUS_NICS][2], dl[NS][2];
		struct nlproto_sample avail[NF], on[NF], ss[2 * NLPROTO_STATUS_NICS], ds[NS];
	} *b = calloc(1, sizeof(*b));
	size_t nf = 0, nsess = 0, nd = 0;
	int err;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < st->nnic; i++) {
		const struct nlproto_status_nic *w = &st->nic[i];
		const uint8_t fv[3] = {w->tx, w->rx, w->record};

		for (int k = 0; k < 3; k++, nf++) {
			b->fl[nf][0] = (struct nlproto_label){"ifname", w->ifname};
			b->fl[nf][1] = (struct nlproto_label){"feature", fname[k]};
			b->avail[nf] = (struct nlproto_sample){b->fl[nf], 2,
							       fv[k] != NLPROTO_OFFLOAD_UNSUPPORTED};
			b->on[nf] = (struct nlproto_sample){b->fl[nf], 2, fv[k] == NLPROTO_OFFLOAD_ON};
		}
		for (int d = 0; d < 2; d++, nsess++) {
			b->sl[nsess][0] = (struct nlproto_label){"ifname", w->ifname};
			b->sl[nsess][1] = (struct nlproto_label){"direction", dir[d]};
			b->ss[nsess] = (struct nlproto_sample){b->sl[nsess], 2,
							       d ? w->rx_sessions : w->tx_sessions};
		}
		for (size_t k = 0; k < w->nstat && nd < NS; k++, nd++) {
			b->dl[nd][0] = (struct nlproto_label){"ifname", w->ifname};
			b->dl[nd][1] = (struct nlproto_label){"stat", w->stat[k].name};
			b->ds[nd] = (struct nlproto_sample){b->dl[nd], 2, w->stat[k].value};
		}
	}
	err = one_gauge(cb, arg, "nic_tls_feature_available", "gauge",
			"The outside interface's driver offers the TLS feature (ethtool: not fixed).",
			b->avail, nf);
	err = err ?: one_gauge(cb, arg, "nic_tls_feature_enabled", "gauge",
			       "The TLS feature is on (ethtool -k).", b->on, nf);
	err = err ?: one_gauge(cb, arg, "nic_sessions_offloaded", "gauge",
			       "tlsgated's sessions whose TLS the interface does now.", b->ss, nsess);
	err = err ?: one_gauge(cb, arg, "nic_tls_device_stat", "gauge",
			       "The driver's TLS counters (ethtool -S), as it reports them.", b->ds,
			       nd);
	free(b);
	return err;
}

int nic_report(struct nic_table *t, control_metric_cb cb, void *arg)
{
	static const char *const dir[2] = {"tx", "rx"};
	static const enum hw_tls_conf confs[] = {HW_CONF_SW, HW_CONF_HW, HW_CONF_HW_RECORD};
	struct nlproto_label cl[6][2];
	struct nlproto_sample cs[6];
	struct nlproto_status *st;
	size_t n = 0;
	int err;

	if (!t)
		return 0;
	for (int d = 0; d < 2; d++)
		for (size_t c = 0; c < 3; c++, n++) {
			cl[n][0] = (struct nlproto_label){"direction", dir[d]};
			cl[n][1] = (struct nlproto_label){"conf", hw_tls_conf_name(confs[c])};
			cs[n] = (struct nlproto_sample){cl[n], 2, atomic_load(&t->conf[d][confs[c]])};
		}
	err = one_gauge(cb, arg, "ktls_sessions_conf", "counter",
			"kTLS directions of sessions by what the kernel reported them to run on "
			"(sock_diag TLS_INFO_TXCONF/RXCONF): sw, hw (the NIC), hw-record.",
			cs, n);
	if (err)
		return err;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	nic_status(t, st);
	{
		struct nlproto_sample ks[3] = {{NULL, 0, st->tls_curr_tx_device},
					       {NULL, 0, st->tls_curr_rx_device},
					       {NULL, 0, st->tls_rx_device_resync}};
		struct nlproto_label kl[2][1] = {{{"direction", "tx"}}, {{"direction", "rx"}}};

		ks[0].label = kl[0];
		ks[0].nlabel = 1;
		ks[1].label = kl[1];
		ks[1].nlabel = 1;
		err = one_gauge(cb, arg, "ktls_device_sessions", "gauge",
				"kTLS sockets the NICs carry now, whoever owns them "
				"(/proc/net/tls_stat TlsCurrTxDevice, TlsCurrRxDevice).",
				ks, st->tls_device ? 2 : 0);
		err = err ?: one_gauge(cb, arg, "ktls_device_rx_resync", "counter",
				       "NIC RX resynchronisations (TlsRxDeviceResync).", &ks[2],
				       st->tls_device ? 1 : 0);
	}
	if (!err)
		err = report_nics(st, cb, arg);
	free(st);
	return err;
}

struct nic_entry *nic_for_socket(struct nic_table *t, int fd)
{
	char name[IF_NAMESIZE];
	int ifindex, rc;

	if (!t || !t->n)
		return NULL;
	/* the route's interface, not the local address's: they differ with a service address on
	 * lo or a dummy, or with policy routing by mark */
	rc = hw_route_egress(fd, &ifindex);
	if (rc) {
		log_debug("nic offload: no egress route for fd %d: %s", fd, strerror(-rc));
		return NULL;
	}
	if (!if_indextoname((unsigned int)ifindex, name))
		return NULL;
	for (unsigned int k = 0; k < t->n; k++)
		if (!strcmp(t->e[k].ifname, name))
			return &t->e[k];
	return NULL;
}

const char *nic_entry_ifname(const struct nic_entry *e)
{
	return e ? e->ifname : NULL;
}

bool nic_tx_offload_on(const struct nic_entry *e)
{
	return e && atomic_load(&e->tx_on);
}

void nic_count_conf(struct nic_table *t, enum hw_tls_conf tx, enum hw_tls_conf rx)
{
	if (!t)
		return;
	if ((unsigned int)tx <= HW_CONF_UNKNOWN)
		atomic_fetch_add(&t->conf[0][tx], 1);
	if ((unsigned int)rx <= HW_CONF_UNKNOWN)
		atomic_fetch_add(&t->conf[1][rx], 1);
}

void nic_hold(struct nic_entry *e, bool tx, bool rx, int delta)
{
	if (!e)
		return;
	if (tx)
		atomic_fetch_add(&e->tx_hw, (unsigned int)delta);
	if (rx)
		atomic_fetch_add(&e->rx_hw, (unsigned int)delta);
}
