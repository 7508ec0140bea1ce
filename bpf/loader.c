// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading, pinning, attaching and detaching steer and enforce (see bpf/loader.h).
 *
 * Both objects declare their shared maps with LIBBPF_PIN_BY_NAME and are opened with the pin
 * directory as pin_root_path: the first load pins the maps, every later load (the second object,
 * a restarted daemon) reuses them, so counters, flows and undelivered events survive restarts.
 * Programs are pinned too, for bpftool and for fail-closed clarity; what keeps them running is
 * the tc filter's own reference.  tg_attach (a pinned map) records what was attached and whether
 * we created the clsact qdisc, so a detach by another process removes exactly that.
 */
#include "bpf/loader_priv.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/random.h>
#include <unistd.h>

#include "bpf/enforce.h"
#include "bpf/route.h"
#include "bpf/steer.h"
#include "bpf/tc.h"
#include "lib/log.h"

/* bpftool's generated skeletons mix int and size_t freely. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#include "enforce.skel.h"
#include "steer.skel.h"
#pragma GCC diagnostic pop

#define BPF_FS_MAGIC_NR 0xcafe4a11

const char *const tg_map_names[TG_MAP_N] = {
	[TG_MAP_CONFIG] = "tg_config",	     [TG_MAP_POLICY] = "tg_policy",
	[TG_MAP_LISTEN] = "tg_listen",	     [TG_MAP_STATS] = "tg_stats",
	[TG_MAP_RULE_STATS] = "tg_rule_stats", [TG_MAP_EXCLUDE] = "tg_exclude",
	[TG_MAP_FLOWS] = "tg_flows",	     [TG_MAP_EVENTS] = "tg_events",
	[TG_MAP_ATTACH] = "tg_attach",	     [TG_MAP_PLAIN] = "tg_plain",
	[TG_MAP_RELAY] = "tg_relay",
};

static const char *const prog_pins[4] = {
	[TG_PROG_STEER_INSIDE] = TG_PIN_PROG_STEER_IN,
	[TG_PROG_STEER_OUTSIDE] = TG_PIN_PROG_STEER_OUT,
	[TG_PROG_ENFORCE_EGRESS] = TG_PIN_PROG_ENF_EGRESS,
	[TG_PROG_ENFORCE_INGRESS] = TG_PIN_PROG_ENF_INGRESS,
};

static int pin_path(const struct tg_bpf *h, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", h->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct tg_bpf *handle_new(const char *pin_dir)
{
	struct tg_bpf *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	snprintf(h->pin_dir, sizeof(h->pin_dir), "%s", pin_dir ? pin_dir : TG_PIN_DIR_DEFAULT);
	for (int i = 0; i < TG_MAP_N; i++)
		h->map_fd[i] = -1;
	for (int i = 0; i < 4; i++)
		h->prog_fd[i] = -1;
	h->trie_fd[0] = h->trie_fd[1] = -1;
	h->trie_live = -1;
	return h;
}

/* The pin directory must be on bpffs; create it (one level) if needed. */
static int pin_dir_prepare(const char *dir)
{
	struct statfs st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (statfs(dir, &st))
		return -errno;
	if ((unsigned long)st.f_type != BPF_FS_MAGIC_NR) {
		log_err("bpf pin_dir=%s error=not-on-bpffs", dir);
		return -ENOTSUP;
	}
	return 0;
}

static int open_pinned_maps(struct tg_bpf *h)
{
	char path[PATH_MAX];
	int err;

	for (int i = 0; i < TG_MAP_N; i++) {
		err = pin_path(h, tg_map_names[i], path, sizeof(path));
		if (err)
			return err;
		h->map_fd[i] = bpf_obj_get(path);
		/* pins of a tlsgated before 0.5 have no tg_relay: --detach must still work */
		if (h->map_fd[i] < 0 && !(i == TG_MAP_RELAY && errno == ENOENT))
			return -errno;
	}
	return 0;
}

static void port_set(__u64 *bits, uint16_t port)
{
	bits[port >> 6] |= 1ULL << (port & 63);
}

static int write_config(struct tg_bpf *h, const struct tg_bpf_opts *o)
{
	static const uint16_t smtp = 25;
	struct tg_config *c = calloc(1, sizeof(*c));
	const uint16_t *ports = o->ports ? o->ports : &smtp;
	size_t nports = o->ports ? o->nports : 1;
	__u32 zero = 0;
	int err = 0;

	if (!c)
		return -ENOMEM;
	free(h->base_ports);
	h->base_ports = calloc(TG_PORT_WORDS, sizeof(__u64));
	if (!h->base_ports) {
		free(c);
		return -ENOMEM;
	}
	c->relay_mark = o->relay_mark;
	c->relay_mask = o->relay_mask ? o->relay_mask : 0xFFFFFFFF;
	c->steer_mark = o->steer_mark ? o->steer_mark : TG_STEER_MARK_DEFAULT;
	c->route_table = o->route_table ? o->route_table : TG_ROUTE_TABLE_DEFAULT;
	c->may_down = (__u8)o->may_down;
	/* the listeners are registered afterwards (listen_n 0 until then) */
	if (getrandom(&c->steer_seed, sizeof(c->steer_seed), 0) != sizeof(c->steer_seed))
		log_warn("bpf: getrandom for the steering seed: %s (flows are spread unseeded)",
			 strerror(errno));
	for (int d = 0; d < 2; d++) {
		c->default_rule[d] = o->default_rule[d];
		c->default_level[d] = o->default_level_set ? (__u8)o->default_level[d] :
				      d == TG_DIR_OUTBOUND ? TG_LEVEL_MAY : TG_LEVEL_NONE;
	}
	/* Implicit TLS ports are never STARTTLS ports: a port in both is implicit TLS. */
	for (size_t i = 0; i < o->ntls_ports; i++)
		port_set(c->tls_ports, o->tls_ports[i]);
	for (size_t i = 0; i < nports; i++) {
		port_set(c->steer_ports, ports[i]);
		port_set(c->ports, ports[i]);
	}
	for (size_t i = 0; i < o->nenforce_ports; i++)
		port_set(c->ports, o->enforce_ports[i]);
	for (int w = 0; w < TG_PORT_WORDS; w++) {
		c->ports[w] &= ~c->tls_ports[w];
		c->steer_ports[w] &= ~c->tls_ports[w];
	}
	/* what the policy's [host]:port rules add to c->ports is added at each policy replace */
	memcpy(h->base_ports, c->ports, TG_PORT_WORDS * sizeof(__u64));
	if (bpf_map_update_elem(h->map_fd[TG_MAP_CONFIG], &zero, c, BPF_ANY))
		err = -errno;
	free(c);
	return err;
}

static int new_policy_trie(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "tg_policy_trie", sizeof(struct tg_lpm_key),
				sizeof(struct tg_policy_val), TG_POLICY_MAX, &mo);

	return fd < 0 ? -errno : fd;
}

/*
 * The two tries policy swaps use in turn, created here, at set-up: creating a map needs CAP_BPF,
 * which the daemon no longer has when it reloads.  A fresh tg_policy has an empty slot; it gets
 * the first (empty) trie; an existing one (a previous run's policy) is kept until the first swap.
 */
static int policy_ensure(struct tg_bpf *h)
{
	__u32 zero = 0, id;

	for (int i = 0; i < 2; i++) {
		h->trie_fd[i] = new_policy_trie();
		if (h->trie_fd[i] < 0)
			return h->trie_fd[i];
	}
	if (!bpf_map_lookup_elem(h->map_fd[TG_MAP_POLICY], &zero, &id))
		return 0;
	if (bpf_map_update_elem(h->map_fd[TG_MAP_POLICY], &zero, &h->trie_fd[0], BPF_ANY))
		return -errno;
	h->trie_live = 0;
	return 0;
}

static int pin_progs(struct tg_bpf *h)
{
	struct bpf_program *progs[4] = {
		h->steer->progs.steer_inside, h->steer->progs.steer_outside,
		h->enf->progs.enforce_egress, h->enf->progs.enforce_ingress,
	};
	char path[PATH_MAX];
	int err;

	for (int i = 0; i < 4; i++) {
		h->prog_fd[i] = bpf_program__fd(progs[i]);
		err = pin_path(h, prog_pins[i], path, sizeof(path));
		if (err)
			return err;
		/* a restart replaces the pin of the previous instance */
		if (unlink(path) && errno != ENOENT)
			return -errno;
		err = bpf_program__pin(progs[i], path);
		if (err)
			return err;
	}
	return 0;
}

/*
 * tg_listen keeps nothing across restarts (the daemon registers its listeners each time it
 * starts) and grew from 2 slots to 4 (inbound listeners) in 0.4.0, then to 4 per worker (steering
 * listeners of their own); tg_flows' key and value grew with the flow's direction and the SYN
 * rules.  A pin of another shape would make the load fail
 * after an upgrade; replace it rather than make the admin run --detach (flows followed so far
 * are forgotten: a policed one is blocked at its next data segment, fail-closed).  Counters,
 * events and the policy are never replaced.  A size of 0 is not compared.
 */
static void replace_stale_pin(const struct tg_bpf *h, enum tg_map_id map, __u32 key_size,
			      __u32 value_size, __u32 max_entries)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	if (pin_path(h, tg_map_names[map], path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    ((key_size && info.key_size != key_size) ||
	     (value_size && info.value_size != value_size) || info.max_entries != max_entries)) {
		log_info("bpf: %s is of an older tlsgated (key %u value %u entries %u): replaced",
			 path, info.key_size, info.value_size, info.max_entries);
		if (unlink(path))
			log_warn("bpf: cannot remove %s: %s", path, strerror(errno));
	}
	close(fd);
}

/*
 * tg_policy's inner tries grew a per-port part (0.5.0): a pinned outer map keeps the inner
 * layout it was made with, so one holding tries of another value size is replaced (the daemon
 * pushes its policy at every start; until then the enforcer applies the default rule).
 */
static void replace_stale_policy(const struct tg_bpf *h)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), zero = 0, id;
	char path[512];
	int fd, inner;

	if (pin_path(h, tg_map_names[TG_MAP_POLICY], path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &zero, &id) && (inner = bpf_map_get_fd_by_id(id)) >= 0) {
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(inner, &info, &len) &&
		    info.value_size != sizeof(struct tg_policy_val)) {
			log_info("bpf: %s holds policy tries of an older tlsgated (value %u): "
				 "replaced", path, info.value_size);
			if (unlink(path))
				log_warn("bpf: cannot remove %s: %s", path, strerror(errno));
		}
		close(inner);
	}
	close(fd);
}

static int load_objects(struct tg_bpf *h)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = h->pin_dir);
	int err;

	replace_stale_pin(h, TG_MAP_LISTEN, 0, 0, TG_LISTEN_SLOTS);
	replace_stale_pin(h, TG_MAP_CONFIG, 0, sizeof(struct tg_config), 1);
	replace_stale_policy(h);
	replace_stale_pin(h, TG_MAP_FLOWS, sizeof(struct tg_flow_key), sizeof(struct tg_flow),
			  TG_FLOWS_MAX);
	h->enf = enforce_bpf__open_opts(&oo);
	if (!h->enf)
		return -errno;
	err = enforce_bpf__load(h->enf);
	if (err)
		goto incompatible;
	h->steer = steer_bpf__open_opts(&oo);
	if (!h->steer)
		return -errno;
	err = steer_bpf__load(h->steer);
	if (err)
		goto incompatible;
	return 0;
incompatible:
	log_err("bpf load pin_dir=%s err=%d hint=\"pinned maps of another version? "
		"tlsgated --detach removes them\"",
		h->pin_dir, err);
	return err;
}

/* OR add_flags into ifindex's attach record (creating it); -ENOSPC when the table is full. */
static int attach_record(struct tg_bpf *h, __u32 ifindex, __u32 add_flags)
{
	struct tg_attach_rec rec, free_rec = { 0 };
	__u32 free_slot = 0;

	for (__u32 i = 1; i < TG_ATTACH_MAX; i++) {
		if (bpf_map_lookup_elem(h->map_fd[TG_MAP_ATTACH], &i, &rec))
			return -errno;
		if (rec.ifindex == ifindex) {
			rec.flags |= add_flags;
			return bpf_map_update_elem(h->map_fd[TG_MAP_ATTACH], &i, &rec, BPF_ANY) ?
				       -errno :
				       0;
		}
		if (!rec.ifindex && !free_slot)
			free_slot = i;
	}
	if (!free_slot)
		return -ENOSPC;
	free_rec.ifindex = ifindex;
	free_rec.flags = add_flags;
	return bpf_map_update_elem(h->map_fd[TG_MAP_ATTACH], &free_slot, &free_rec, BPF_ANY) ?
		       -errno :
		       0;
}

static int attach_one(struct tg_bpf *h, const char *ifname, bool ingress, enum tg_bpf_prog prog,
		      __u32 prio, __u32 flag)
{
	int ifindex = (int)if_nametoindex(ifname), err;
	bool created = false;

	if (!ifindex) {
		log_err("bpf attach ifname=%s error=no-such-interface", ifname);
		return -ENODEV;
	}
	/* Record first: a crash between attach and record must not leave an unknown filter. */
	err = attach_record(h, (__u32)ifindex, flag);
	if (err)
		return err;
	err = tg_tc_attach_ex(ifindex, ingress, h->prog_fd[prog], prio, &created);
	if (err) {
		log_err("bpf attach ifname=%s prog=%s err=%d", ifname, prog_pins[prog], err);
		return err;
	}
	if (created)
		err = attach_record(h, (__u32)ifindex, TG_ATT_CLSACT);
	log_info("bpf attached ifname=%s prog=%s hook=%s prio=%u", ifname, prog_pins[prog],
		 ingress ? "ingress" : "egress", prio);
	return err;
}

static int attach_all(struct tg_bpf *h, const struct tg_bpf_opts *o)
{
	struct tg_attach_rec global = { .flags = TG_ATT_ROUTES };
	__u32 zero = 0;
	int err;

	if ((o->inside && o->inside[0]) || (o->steer_inbound && o->outside && o->outside[0])) {
		/* routes before the filters: a steered packet must never be forwarded instead */
		if (bpf_map_update_elem(h->map_fd[TG_MAP_ATTACH], &zero, &global, BPF_ANY))
			return -errno;
		err = tg_route_add(o->steer_mark ? o->steer_mark : TG_STEER_MARK_DEFAULT,
				   o->route_table ? o->route_table : TG_ROUTE_TABLE_DEFAULT);
		if (err)
			return err;
	}
	for (size_t i = 0; o->outside && o->outside[i]; i++) {
		err = attach_one(h, o->outside[i], false, TG_PROG_ENFORCE_EGRESS, TG_PRIO_ENFORCE,
				 TG_ATT_ENF_EGRESS);
		if (!err)
			err = attach_one(h, o->outside[i], true, TG_PROG_ENFORCE_INGRESS,
					 TG_PRIO_ENFORCE, TG_ATT_ENF_INGRESS);
		if (!err && o->steer_inbound)
			err = attach_one(h, o->outside[i], true, TG_PROG_STEER_OUTSIDE,
					 TG_PRIO_STEER, TG_ATT_STEER_OUT);
		if (err)
			return err;
	}
	for (size_t i = 0; o->inside && o->inside[i]; i++) {
		err = attach_one(h, o->inside[i], true, TG_PROG_STEER_INSIDE, TG_PRIO_STEER,
				 TG_ATT_STEER_IN);
		if (err)
			return err;
	}
	return 0;
}

int tg_bpf_open(const struct tg_bpf_opts *o, struct tg_bpf **out)
{
	struct tg_bpf *h;
	int err;

	if (!o || o->sz < sizeof(*o))
		return -EINVAL;
	h = handle_new(o->pin_dir);
	if (!h)
		return -ENOMEM;
	err = pin_dir_prepare(h->pin_dir);
	if (!err)
		err = load_objects(h);
	if (!err)
		err = open_pinned_maps(h);
	if (!err)
		err = write_config(h, o);
	if (!err)
		err = policy_ensure(h);
	if (!err)
		err = pin_progs(h);
	if (!err)
		err = attach_all(h, o);
	if (err) {
		/* What is attached stays (fail-closed); the caller may retry or detach. */
		log_err("bpf open pin_dir=%s err=%d (%s)", h->pin_dir, err, strerror(-err));
		tg_bpf_close(h);
		return err;
	}
	log_info("bpf loaded pin_dir=%s", h->pin_dir);
	*out = h;
	return 0;
}

int tg_bpf_open_pinned(const char *pin_dir, struct tg_bpf **out)
{
	struct tg_bpf *h = handle_new(pin_dir);
	int err;

	if (!h)
		return -ENOMEM;
	err = open_pinned_maps(h);
	if (err) {
		tg_bpf_close(h);
		return err;
	}
	*out = h;
	return 0;
}

void tg_bpf_close(struct tg_bpf *h)
{
	if (!h)
		return;
	ring_buffer__free(h->rb);
	for (int i = 0; i < TG_MAP_N; i++)
		if (h->map_fd[i] >= 0)
			close(h->map_fd[i]);
	for (int i = 0; i < 2; i++)
		if (h->trie_fd[i] >= 0)
			close(h->trie_fd[i]);
	steer_bpf__destroy(h->steer);
	enforce_bpf__destroy(h->enf);
	free(h->base_ports);
	free(h);
}

static void detach_iface(const struct tg_attach_rec *r, int *first_err)
{
	static const struct {
		__u32 flag;
		bool ingress;
		__u32 prio;
	} hooks[] = {
		{ TG_ATT_STEER_IN, true, TG_PRIO_STEER },
		{ TG_ATT_STEER_OUT, true, TG_PRIO_STEER },
		{ TG_ATT_ENF_EGRESS, false, TG_PRIO_ENFORCE },
		{ TG_ATT_ENF_INGRESS, true, TG_PRIO_ENFORCE },
	};
	int err;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!(r->flags & hooks[i].flag))
			continue;
		err = tg_tc_detach((int)r->ifindex, hooks[i].ingress, hooks[i].prio);
		/* -ENOENT: the interface or the filter is gone already */
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL && !*first_err)
			*first_err = err;
	}
	if (r->flags & TG_ATT_CLSACT) {
		err = tg_tc_destroy_hook((int)r->ifindex);
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL && !*first_err)
			*first_err = err;
	}
	log_info("bpf detached ifindex=%u flags=0x%x", r->ifindex, r->flags);
}

static int unpin_all(struct tg_bpf *h)
{
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i < TG_MAP_N + 4; i++) {
		const char *name = i < TG_MAP_N ? tg_map_names[i] : prog_pins[i - TG_MAP_N];

		if (pin_path(h, name, path, sizeof(path)))
			continue;
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	if (rmdir(h->pin_dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int tg_bpf_detach(struct tg_bpf *h)
{
	struct tg_attach_rec rec;
	struct tg_config *cfg = NULL;
	int err = 0, e;
	__u32 zero = 0;

	for (__u32 i = 1; i < TG_ATTACH_MAX; i++) {
		if (bpf_map_lookup_elem(h->map_fd[TG_MAP_ATTACH], &i, &rec) || !rec.ifindex)
			continue;
		detach_iface(&rec, &err);
	}
	if (!bpf_map_lookup_elem(h->map_fd[TG_MAP_ATTACH], &zero, &rec) &&
	    (rec.flags & TG_ATT_ROUTES)) {
		cfg = calloc(1, sizeof(*cfg));
		if (!cfg)
			return -ENOMEM;
		if (!bpf_map_lookup_elem(h->map_fd[TG_MAP_CONFIG], &zero, cfg)) {
			e = tg_route_del(cfg->steer_mark, cfg->route_table);
			if (e && !err)
				err = e;
		}
		free(cfg);
	}
	e = unpin_all(h);
	if (e && !err)
		err = e;
	log_info("bpf detached pin_dir=%s err=%d", h->pin_dir, err);
	return err;
}

/* tg_config.listen_n[dir] (read-modify-write: the rest of tg_config stays). */
static int listen_n(struct tg_bpf *h, int dir, __u32 *get, const __u32 *set)
{
	struct tg_config *c = calloc(1, sizeof(*c));
	__u32 zero = 0;
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (bpf_map_lookup_elem(h->map_fd[TG_MAP_CONFIG], &zero, c))
		err = -errno;
	else if (get)
		*get = c->listen_n[dir];
	if (!err && set) {
		c->listen_n[dir] = *set;
		if (bpf_map_update_elem(h->map_fd[TG_MAP_CONFIG], &zero, c, BPF_ANY))
			err = -errno;
	}
	free(c);
	return err;
}

int tg_bpf_set_listeners(struct tg_bpf *h, int dir, const int (*fd)[2], unsigned int n)
{
	const __u32 base = dir == TG_DIR_INBOUND ? TG_LISTEN_IN_V4 : TG_LISTEN_V4;
	__u32 old = 0, nn = n;
	int err;

	if ((dir != TG_DIR_OUTBOUND && dir != TG_DIR_INBOUND) || n > TG_LISTEN_WORKERS)
		return -EINVAL;
	err = listen_n(h, dir, &old, NULL);
	/* Fewer workers: the count first, so that no flow picks a slot about to be emptied
	 * (a flow that finds one empty goes to the next worker anyway); more: the slots first. */
	if (!err && nn < old)
		err = listen_n(h, dir, NULL, &nn);
	for (__u32 w = 0; !err && w < TG_LISTEN_WORKERS; w++) {
		for (__u32 f = 0; f < 2; f++) {
			int mfd = h->map_fd[TG_MAP_LISTEN];
			__u32 slot = TG_LISTEN_SLOT(base + f, w);
			__u64 v = w < n ? (__u64)fd[w][f] : (__u64)-1;

			if (w < n && fd[w][f] >= 0) {
				if (bpf_map_update_elem(mfd, &slot, &v, BPF_ANY))
					err = -errno;
			} else if (bpf_map_delete_elem(mfd, &slot) && errno != ENOENT &&
				   errno != EINVAL) {
				/* a SOCKMAP says EINVAL for an empty slot */
				err = -errno;
			}
			if (err)
				break;
		}
	}
	if (!err && nn >= old)
		err = listen_n(h, dir, NULL, &nn);
	return err;
}

int tg_bpf_set_listener(struct tg_bpf *h, int fd4, int fd6)
{
	const int fd[1][2] = { { fd4, fd6 } };

	return tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, fd, fd4 >= 0 || fd6 >= 0);
}

int tg_bpf_set_inbound_listener(struct tg_bpf *h, int fd4, int fd6)
{
	const int fd[1][2] = { { fd4, fd6 } };

	return tg_bpf_set_listeners(h, TG_DIR_INBOUND, fd, fd4 >= 0 || fd6 >= 0);
}

static int lpm_key(struct tg_lpm_key *k, __u8 dir, int family, const void *addr,
		   unsigned int plen)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET && plen <= 32) {
		memcpy(k->addr, addr, 4);
		k->family = TG_FAM_V4;
	} else if (family == AF_INET6 && plen <= 128) {
		memcpy(k->addr, addr, 16);
		k->family = TG_FAM_V6;
	} else {
		return -EINVAL;
	}
	k->dir = dir;
	k->prefixlen = TG_LPM_KIND_BITS + plen;
	return 0;
}

/*
 * The policed SMTP ports: the configured ones and each port a [host]:port rule names (such a
 * rule is enforced on its port whether or not that port is steered); implicit TLS ports stay
 * what they are.  Written before the policy that needs them, so a new port rule is never live
 * without its port.
 */
static int update_ports(struct tg_bpf *h, const struct tg_bpf_policy_entry *e, size_t n)
{
	struct tg_config *c;
	__u32 zero = 0;
	int err = 0;

	if (!h->base_ports)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (bpf_map_lookup_elem(h->map_fd[TG_MAP_CONFIG], &zero, c)) {
		err = -errno;
		goto out;
	}
	memcpy(c->ports, h->base_ports, TG_PORT_WORDS * sizeof(__u64));
	for (size_t i = 0; i < n; i++)
		if (e[i].port && !((c->tls_ports[e[i].port >> 6] >> (e[i].port & 63)) & 1))
			port_set(c->ports, e[i].port);
	if (bpf_map_update_elem(h->map_fd[TG_MAP_CONFIG], &zero, c, BPF_ANY))
		err = -errno;
out:
	free(c);
	return err;
}

static bool same_prefix(const struct tg_bpf_policy_entry *a, const struct tg_bpf_policy_entry *b)
{
	return a->dir == b->dir && a->family == b->family && a->prefix_len == b->prefix_len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Empty a trie that no program uses (LPM tries have no batch delete). */
static int trie_clear(int fd)
{
	struct tg_lpm_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			return -errno;
	return errno == ENOENT ? 0 : -errno;
}

/*
 * The trie to fill: the one not in tg_policy, emptied.  The swap that took it out waited for
 * every program run using it (the kernel does synchronize_rcu() on updates of a map of maps), so
 * no packet still looks into it.  A handle from tg_bpf_open_pinned() has no tries of its own
 * and creates one (that needs CAP_BPF).
 */
static int spare_trie(struct tg_bpf *h, int *idx)
{
	int i = h->trie_live == 0 ? 1 : 0, err;

	*idx = -1;
	if (h->trie_fd[i] < 0)
		return new_policy_trie();
	err = trie_clear(h->trie_fd[i]);
	if (err)
		return err;
	*idx = i;
	return h->trie_fd[i];
}

int tg_bpf_policy_replace(struct tg_bpf *h, const struct tg_bpf_policy_entry *e, size_t n)
{
	struct tg_policy_val v;
	struct tg_lpm_key k;
	__u32 zero = 0;
	int fd, idx, err;

	err = update_ports(h, e, n);
	if (err)
		return err;
	fd = spare_trie(h, &idx);
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < n;) {
		size_t np = 0, j;

		/* one trie value per prefix: its any-port entry, then its ports' entries */
		if (e[i].port) {
			log_err("bpf policy: a port entry without its prefix's any-port entry");
			err = -EINVAL;
			goto out;
		}
		err = lpm_key(&k, (__u8)e[i].dir, e[i].family, e[i].addr, e[i].prefix_len);
		if (err)
			goto out;
		memset(&v, 0, sizeof(v));
		v.rule_id = e[i].rule_id;
		v.level = e[i].level;
		v.flags = e[i].flags;
		for (j = i + 1; j < n && e[j].port && same_prefix(&e[i], &e[j]); j++) {
			if (np == TG_POLICY_PORTS) {
				log_err("bpf policy: more than %d port rules for one address",
					TG_POLICY_PORTS);
				err = -E2BIG;
				goto out;
			}
			v.port[np].port = e[j].port;
			v.port[np].level = e[j].level;
			v.port[np].flags = e[j].flags;
			v.port[np++].rule_id = e[j].rule_id;
		}
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		i = j;
	}
	/* the swap: one update of the outer slot */
	if (bpf_map_update_elem(h->map_fd[TG_MAP_POLICY], &zero, &fd, BPF_ANY))
		err = -errno;
	else if (idx >= 0)
		h->trie_live = idx;
out:
	if (idx < 0)
		close(fd);
	if (err)
		log_err("bpf policy replace entries=%zu err=%d", n, err);
	else
		log_info("bpf policy replaced entries=%zu", n);
	return err;
}

int tg_bpf_exclude_add(struct tg_bpf *h, int family, const void *addr, unsigned int prefix_len)
{
	struct tg_lpm_key k;
	__u32 one = 1;
	int err = lpm_key(&k, 0, family, addr, prefix_len);

	if (err)
		return err;
	return bpf_map_update_elem(h->map_fd[TG_MAP_EXCLUDE], &k, &one, BPF_ANY) ? -errno : 0;
}

int tg_bpf_exclude_del(struct tg_bpf *h, int family, const void *addr, unsigned int prefix_len)
{
	struct tg_lpm_key k;
	int err = lpm_key(&k, 0, family, addr, prefix_len);

	if (err)
		return err;
	return bpf_map_delete_elem(h->map_fd[TG_MAP_EXCLUDE], &k) ? -errno : 0;
}

int tg_bpf_relay_socket(struct tg_bpf *h, int sock_fd)
{
	__u32 v = TG_RELAY_SOCKET;

	if (h->map_fd[TG_MAP_RELAY] < 0)
		return -ENOENT;
	return bpf_map_update_elem(h->map_fd[TG_MAP_RELAY], &sock_fd, &v, BPF_ANY) ? -errno : 0;
}

void tg_bpf_keep_runtime(struct tg_bpf *h)
{
	/* tg_config: each policy replace adds the ports of [host]:port rules to the policed set
	 * (holding it gives no more than tg_policy does: the enforcement of every address) */
	static const enum tg_map_id keep[] = { TG_MAP_POLICY, TG_MAP_LISTEN, TG_MAP_EVENTS,
					       TG_MAP_RELAY, TG_MAP_CONFIG };

	for (int i = 0; i < TG_MAP_N; i++) {
		bool needed = false;

		for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++)
			needed |= keep[j] == (enum tg_map_id)i;
		if (!needed && h->map_fd[i] >= 0) {
			close(h->map_fd[i]);
			h->map_fd[i] = -1;
		}
	}
	/* the skeletons hold an fd of every map and program: the programs stay attached by tc's
	 * reference and pinned */
	steer_bpf__destroy(h->steer);
	enforce_bpf__destroy(h->enf);
	h->steer = NULL;
	h->enf = NULL;
	for (int i = 0; i < 4; i++)
		h->prog_fd[i] = -1;
}

int tg_bpf_prog_fd(const struct tg_bpf *h, enum tg_bpf_prog p)
{
	if ((unsigned int)p >= 4 || h->prog_fd[p] < 0)
		return -ENOENT;
	return h->prog_fd[p];
}

int tg_bpf_map_fd(const struct tg_bpf *h, const char *name)
{
	for (int i = 0; i < TG_MAP_N; i++)
		if (!strcmp(name, tg_map_names[i]))
			return h->map_fd[i];
	return -ENOENT;
}

const char *tg_bpf_pin_dir(const struct tg_bpf *h)
{
	return h->pin_dir;
}
