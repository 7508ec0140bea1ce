// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf tier: the steering program with BPF_PROG_TEST_RUN.  Verdict, skb->mark out and counters for
 * SMTP and other ports, the relay mark, excluded sources, with and without the daemon's listener,
 * and an established socket found by its tuple while no listener is there, a TIME_WAIT socket
 * for a SYN only then.  IPv4 and IPv6,
 * untagged and VLAN-tagged.  The choice among the workers' listeners: by the flow hash (a model
 * of it with the seed the loader wrote), the same for every segment of a flow, an even split,
 * and an empty slot passing its flows to the next worker.
 *
 * BPF_PROG_TEST_RUN does not run a program "at tc ingress", so bpf_sk_assign refuses there
 * (-EOPNOTSUPP) and steer counts a steer error and lets the packet go on: here that counter
 * moving is the sign that a socket was picked and assigned.  The e2e test (test_steer.sh) shows
 * the real delivery, the mark and the flows-steered counter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf/loader.h"
#include "bpf/steer.h"
#include "policy/policy.h"
#include "bpf/metrics.h"
#include "tests/lib/bpffs.h"
#include "tests/lib/pkt.h"

#define RELAY_MARK 0x100
#define V_PASS (-1)

static struct tg_bpf *h;
static char pin_dir[64];
static int ls4 = -1, ls6 = -1;
static enum tg_bpf_prog prog = TG_PROG_STEER_INSIDE;

struct fam {
	int family;
	uint16_t vlan;
	const char *client, *excluded, *server;
};

static const struct fam fams[] = {
	{ AF_INET, 0, "192.0.2.10", "192.0.2.99", "203.0.113.25" },
	{ AF_INET, 7, "192.0.2.10", "192.0.2.99", "203.0.113.25" },
	{ AF_INET6, 0, "2001:db8:1::10", "2001:db8:1::99", "2001:db8:2::25" },
	{ AF_INET6, 7, "2001:db8:1::10", "2001:db8:1::99", "2001:db8:2::25" },
};

static struct tg_counters counters(void)
{
	struct tg_metrics m;
	struct tg_counters c;

	assert_int_equal(tg_metrics_read(pin_dir, &m), 0);
	c = m.global;
	tg_metrics_free(&m);
	return c;
}

/* Run one segment through steer_inside; *mark_out gets skb->mark afterwards. */
static int run(const struct fam *f, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, uint8_t flags, uint32_t mark, uint32_t *mark_out)
{
	struct __sk_buff in = { .mark = mark }, out = { 0 };
	unsigned char frame[256];
	struct pkt_spec p = { .family = f->family, .vlan = f->vlan, .saddr = src, .daddr = dst,
			      .sport = sport, .dport = dport, .tcp_flags = flags, .seq = 1 };
	int len = pkt_build(&p, frame, sizeof(frame));
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .ctx_in = &in, .ctx_size_in = sizeof(in), .ctx_out = &out,
			    .ctx_size_out = sizeof(out));

	assert_true(len > 0);
	assert_int_equal(bpf_prog_test_run_opts(tg_bpf_prog_fd(h, prog), &o), 0);
	*mark_out = out.mark;
	return (int)o.retval;
}

/* Was a socket picked and assigned?  (see the top of the file) */
static bool picked(const struct fam *f, const char *src, const char *dst, uint16_t sport,
		   uint16_t dport, uint8_t flags)
{
	struct tg_counters c0 = counters(), c1;
	uint32_t mark;
	int v = run(f, src, dst, sport, dport, flags, 0, &mark);

	c1 = counters();
	assert_int_equal(v, V_PASS);
	assert_int_equal(mark, 0);
	return c1.v[TG_CTR_STEER_ERRORS] == c0.v[TG_CTR_STEER_ERRORS] + 1;
}

static void test_not_steered_without_listener(void **state)
{
	(void)state;
	assert_int_equal(tg_bpf_set_listener(h, -1, -1), 0);
	for (size_t i = 0; i < 4; i++) {
		const struct fam *f = &fams[i];

		assert_false(picked(f, f->client, f->server, 40000, 25, TH_SYN));
	}
}

static void test_steered_to_listener(void **state)
{
	(void)state;
	assert_int_equal(tg_bpf_set_listener(h, ls4, ls6), 0);
	for (size_t i = 0; i < 4; i++) {
		const struct fam *f = &fams[i];

		assert_true(picked(f, f->client, f->server, 40001, 25, TH_SYN));
		assert_true(picked(f, f->client, f->server, 40001, 25, TH_ACK));
	}
	/* only IPv4's listener: IPv6 is not steered */
	assert_int_equal(tg_bpf_set_listener(h, ls4, -1), 0);
	assert_true(picked(&fams[0], fams[0].client, fams[0].server, 40001, 25, TH_SYN));
	assert_false(picked(&fams[2], fams[2].client, fams[2].server, 40001, 25, TH_SYN));
}

static void test_never_steered(void **state)
{
	struct tg_counters c0 = counters(), c1;
	uint32_t mark;

	(void)state;
	assert_int_equal(tg_bpf_set_listener(h, ls4, ls6), 0);
	for (size_t i = 0; i < 4; i++) {
		const struct fam *f = &fams[i];

		/* another port */
		assert_false(picked(f, f->client, f->server, 40002, 587, TH_SYN));
		/* the daemon's own connection */
		assert_int_equal(run(f, f->client, f->server, 40002, 25, TH_SYN, RELAY_MARK, &mark),
				 V_PASS);
		assert_int_equal(mark, RELAY_MARK);
		/* an excluded inside host */
		assert_false(picked(f, f->excluded, f->server, 40002, 25, TH_SYN));
		/* ... while its neighbour is steered */
		assert_true(picked(f, f->client, f->server, 40002, 25, TH_SYN));
	}
	c1 = counters();
	assert_int_equal(c1.v[TG_CTR_FLOWS_STEERED], c0.v[TG_CTR_FLOWS_STEERED]);
	assert_int_equal(c1.v[TG_CTR_STEER_ERRORS] - c0.v[TG_CTR_STEER_ERRORS], 4);
}

/* A loopback connection with no listener in tg_listen, its server port steered. */
struct lo_conn {
	int l, c, a;		/* listener, client, accepted */
	uint16_t sport, cport;	/* server and client ports */
};

static void lo_connect(struct lo_conn *lc)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in ca;
	socklen_t sl = sizeof(sa), cl = sizeof(ca);

	lc->l = socket(AF_INET, SOCK_STREAM, 0);
	lc->c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tg_bpf_set_listener(h, -1, -1), 0);
	assert_int_equal(bind(lc->l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lc->l, 1), 0);
	assert_int_equal(getsockname(lc->l, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(connect(lc->c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	lc->a = accept(lc->l, NULL, NULL);
	assert_true(lc->a >= 0);
	assert_int_equal(getsockname(lc->c, (struct sockaddr *)&ca, &cl), 0);
	lc->sport = ntohs(sa.sin_port);
	lc->cport = ntohs(ca.sin_port);
	/* the port must be an SMTP port for steering to look at all: reconfigure it */
	{
		uint16_t ports[2] = { 25, lc->sport };
		struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir,
					 .relay_mark = RELAY_MARK, .ports = ports, .nports = 2 };

		tg_bpf_close(h);
		assert_int_equal(tg_bpf_open(&o, &h), 0);
	}
}

/* An established socket for the tuple is used even with no listener in the map. */
static void test_established_socket_wins(void **state)
{
	struct lo_conn lc;

	(void)state;
	lo_connect(&lc);
	assert_true(picked(&fams[0], "127.0.0.1", "127.0.0.1", lc.cport, lc.sport, TH_ACK));
	/* the listener found by that lookup alone is not ours: a SYN is not steered */
	assert_false(picked(&fams[0], "127.0.0.1", "127.0.0.1", 40004, lc.sport, TH_SYN));
	close(lc.a);
	close(lc.c);
	close(lc.l);
}

/* Is there a TIME_WAIT socket with local port lport and remote port rport (/proc/net/tcp)? */
static bool time_wait(uint16_t lport, uint16_t rport)
{
	unsigned int lp, rp, st;
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/net/tcp", "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 && lp == lport &&
			rp == rport && st == 6;
	fclose(f);
	return found;
}

/*
 * A connection that the server side closed first leaves that side a TIME_WAIT socket.  With no
 * daemon listener, a SYN on its tuple (a client reusing the port) goes to the TIME_WAIT socket:
 * left to the stack, early demux would attach it and ip_forward() drop the SYN (see
 * pick_socket(); test_steer_workers.sh plays it through a gateway).
 */
static void test_syn_on_time_wait_without_listener(void **state)
{
	struct lo_conn lc;
	int i;

	(void)state;
	lo_connect(&lc);
	close(lc.l);
	close(lc.a); /* the server side first: its FIN, then the client's, and it is in TIME_WAIT */
	close(lc.c);
	for (i = 0; i < 200 && !time_wait(lc.sport, lc.cport); i++)
		usleep(5000); /* loopback: the FINs and ACKs are processed in softirq, soon */
	assert_true(time_wait(lc.sport, lc.cport));
	assert_true(picked(&fams[0], "127.0.0.1", "127.0.0.1", lc.cport, lc.sport, TH_SYN));
	/* the client's reset to the TIME_WAIT socket's ACK goes there too (as it always did) */
	assert_true(picked(&fams[0], "127.0.0.1", "127.0.0.1", lc.cport, lc.sport, TH_RST));
	/* another tuple: nothing to pick */
	assert_false(picked(&fams[0], "127.0.0.1", "127.0.0.1", lc.cport ^ 1, lc.sport, TH_SYN));
}

/* steer_outside (inbound): the same decisions for an outside client's connection, to the
 * inbound listeners only (an outbound listener would give it the wrong role), and the other way
 * round for steer_inside. */
static void test_outside_inbound(void **state)
{
	(void)state;
	prog = TG_PROG_STEER_OUTSIDE;
	assert_int_equal(tg_bpf_set_listener(h, ls4, ls6), 0);
	assert_int_equal(tg_bpf_set_inbound_listener(h, -1, -1), 0);
	assert_false(picked(&fams[0], "198.51.100.7", "192.0.2.25", 40005, 25, TH_SYN));
	assert_false(picked(&fams[2], "2001:db8:2::7", "2001:db8:1::25", 40005, 25, TH_SYN));
	assert_int_equal(tg_bpf_set_listener(h, -1, -1), 0);
	assert_int_equal(tg_bpf_set_inbound_listener(h, ls4, ls6), 0);
	assert_true(picked(&fams[0], "198.51.100.7", "192.0.2.25", 40005, 25, TH_SYN));
	assert_true(picked(&fams[2], "2001:db8:2::7", "2001:db8:1::25", 40005, 25, TH_SYN));
	assert_false(picked(&fams[0], "198.51.100.7", "192.0.2.25", 40005, 80, TH_SYN));
	prog = TG_PROG_STEER_INSIDE;
	assert_false(picked(&fams[0], fams[0].client, fams[0].server, 40006, 25, TH_SYN));
	prog = TG_PROG_STEER_OUTSIDE;
	assert_int_equal(tg_bpf_set_inbound_listener(h, -1, -1), 0);
	assert_false(picked(&fams[0], "198.51.100.7", "192.0.2.25", 40005, 25, TH_SYN));
	prog = TG_PROG_STEER_INSIDE;
}

/* An upgrade over the pins of 0.3 (a 2-slot tg_listen): the loader replaces that stateless map
 * instead of failing, and inbound steering has its slots. */
static void test_upgrade_replaces_small_listen_map(void **state)
{
	char path[128];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct tg_bpf_opts o = { .sz = sizeof(o), .pin_dir = pin_dir, .relay_mark = RELAY_MARK };
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/tg_listen", pin_dir);
	tg_bpf_close(h);
	h = NULL;
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "tg_listen", 4, 8, 2, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	assert_int_equal(tg_bpf_open(&o, &h), 0);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	assert_int_equal(info.max_entries, TG_LISTEN_SLOTS);
	assert_int_equal(tg_bpf_set_inbound_listener(h, ls4, ls6), 0);
	assert_int_equal(tg_bpf_set_inbound_listener(h, -1, -1), 0);
}

static int listener(int family)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)))
		return -1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		return -1;
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				bind(fd, (struct sockaddr *)&s6, sizeof(s6)))
		return -1;
	return listen(fd, 16) ? -1 : fd;
}

/* ---- the choice among the workers' listeners ---------------------------------------------- */

/* A connected socket (not listening): in a worker's slot it marks "this worker was chosen" as
 * "not steered", so picked() tells which worker a flow went to. */
static int connected(int family, int *peer, int *lst)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	int l = listener(family), c = socket(family, SOCK_STREAM, 0);

	assert_true(l >= 0 && c >= 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, sl), 0);
	*peer = accept(l, NULL, NULL);
	assert_true(*peer >= 0);
	*lst = l;
	return c;
}

/* The worker the program must choose among n for this flow: the loader's seed and the shared
 * hash, as bpf/steer.h defines them. */
static unsigned int model_worker(const struct fam *f, const char *src, const char *dst,
				 uint16_t sport, uint16_t dport, unsigned int n)
{
	struct tg_config *c = calloc(1, sizeof(*c));
	char path[128];
	uint32_t w[9], zero = 0, seed;
	unsigned int nw = f->family == AF_INET ? 3 : 9, al = f->family == AF_INET ? 4 : 16;
	int fd;

	assert_non_null(c);
	snprintf(path, sizeof(path), "%s/tg_config", pin_dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, c), 0);
	close(fd);
	seed = c->steer_seed;
	free(c);
	assert_int_equal(inet_pton(f->family, src, &w[0]), 1);
	assert_int_equal(inet_pton(f->family, dst, (char *)&w[0] + al), 1);
	w[nw - 1] = (uint32_t)htons(sport) | (uint32_t)htons(dport) << 16;
	return tg_steer_hash(seed, w, nw) % n;
}

/*
 * Two workers: worker 0 listens, worker 1's slot holds a connected socket.  Each flow goes where
 * the model says, its SYN, a retransmitted SYN and its ACK alike, and the flows split evenly.
 */
static void test_workers_chosen_by_flow_hash(void **state)
{
	int est[2], peer[2], lst[2];
	int fd[2][2];
	unsigned int n0[4] = { 0 }, total = 400;

	(void)state;
	for (int i = 0; i < 2; i++)
		est[i] = connected(i ? AF_INET6 : AF_INET, &peer[i], &lst[i]);
	fd[0][0] = ls4;
	fd[0][1] = ls6;
	fd[1][0] = est[0];
	fd[1][1] = est[1];
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, (const int(*)[2])fd, 2), 0);
	for (size_t i = 0; i < 4; i++) {
		const struct fam *f = &fams[i];

		for (unsigned int k = 0; k < total; k++) {
			uint16_t sport = (uint16_t)(20000 + k * 7);
			bool w0 = model_worker(f, f->client, f->server, sport, 25, 2) == 0;

			assert_int_equal(picked(f, f->client, f->server, sport, 25, TH_SYN), w0);
			if (k % 16 == 0) {
				/* the retransmitted SYN and the handshake's ACK: the same worker */
				assert_int_equal(picked(f, f->client, f->server, sport, 25, TH_SYN),
						 w0);
				assert_int_equal(picked(f, f->client, f->server, sport, 25, TH_ACK),
						 w0);
			}
			n0[i] += w0;
		}
		/* the 60/40 bound, on the choice itself */
		assert_in_range(n0[i], total * 2 / 5, total * 3 / 5);
	}
	/* another client address moves flows too: the hash covers the addresses */
	{
		unsigned int moved = 0;

		for (unsigned int k = 0; k < 64; k++)
			moved += model_worker(&fams[0], "192.0.2.11", fams[0].server, 30000 + k, 25,
					      2) != model_worker(&fams[0], fams[0].client,
								 fams[0].server, 30000 + k, 25, 2);
		assert_in_range(moved, 8, 56);
	}
	/* back to one worker: every flow goes to it */
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, (const int(*)[2])fd, 1), 0);
	for (unsigned int k = 0; k < 32; k++)
		assert_true(picked(&fams[0], fams[0].client, fams[0].server, 20000 + k, 25,
				   TH_SYN));
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, NULL, 0), 0);
	assert_false(picked(&fams[0], fams[0].client, fams[0].server, 20000, 25, TH_SYN));
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, (const int(*)[2])fd,
					      TG_LISTEN_WORKERS + 1), -EINVAL);
	for (int i = 0; i < 2; i++) {
		close(est[i]);
		close(peer[i]);
		close(lst[i]);
	}
}

/*
 * A worker whose listener is gone (its slot empty: a closed socket leaves the SOCKMAP) passes its
 * flows to the next worker, wrapping around; the other workers keep theirs.  Three workers:
 * 0 listens, 1 holds a connected socket, 2 is empty: flows of 0 and 2 (-> 0) are steered.
 */
static void test_empty_slot_passes_to_next_worker(void **state)
{
	int est, peer, lst, fd[3][2], gone;
	unsigned int seen[3] = { 0 };

	(void)state;
	est = connected(AF_INET, &peer, &lst);
	gone = listener(AF_INET);
	assert_true(gone >= 0);
	fd[0][0] = ls4;
	fd[1][0] = est;
	fd[2][0] = gone;
	fd[0][1] = fd[1][1] = fd[2][1] = -1;
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, (const int(*)[2])fd, 3), 0);
	close(gone); /* worker 2's listener closes: its slot empties by itself */
	for (unsigned int k = 0; k < 300; k++) {
		uint16_t sport = (uint16_t)(41000 + k);
		const struct fam *f = &fams[0];
		unsigned int w = model_worker(f, f->client, f->server, sport, 25, 3);

		seen[w]++;
		assert_int_equal(picked(f, f->client, f->server, sport, 25, TH_SYN), w != 1);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_int_equal(tg_bpf_set_listeners(h, TG_DIR_OUTBOUND, NULL, 0), 0);
	close(est);
	close(peer);
	close(lst);
}

static int setup(void **state)
{
	struct tg_bpf_opts o = { .sz = sizeof(o), .relay_mark = RELAY_MARK };
	unsigned char a4[4], a6[16];
	int err;

	(void)state;
	if (!getenv("TG_BPF_VERBOSE"))
		libbpf_set_print(NULL);
	err = tg_test_bpffs();
	if (err) {
		print_error("steer: no bpffs: %s\n", strerror(-err));
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tlsgate-test-steer-%d", (int)getpid());
	o.pin_dir = pin_dir;
	err = tg_bpf_open(&o, &h);
	if (err) {
		print_error("steer: load failed: %s\n", strerror(-err));
		return -1;
	}
	inet_pton(AF_INET, "192.0.2.99", a4);
	inet_pton(AF_INET6, "2001:db8:1::99", a6);
	if (tg_bpf_exclude_add(h, AF_INET, a4, 32) || tg_bpf_exclude_add(h, AF_INET6, a6, 128))
		return -1;
	ls4 = listener(AF_INET);
	ls6 = listener(AF_INET6);
	return ls4 < 0 || ls6 < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (h) {
		tg_bpf_detach(h);
		tg_bpf_close(h);
	}
	close(ls4);
	close(ls6);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_steered_without_listener),
		cmocka_unit_test(test_steered_to_listener),
		cmocka_unit_test(test_never_steered),
		cmocka_unit_test(test_outside_inbound),
		cmocka_unit_test(test_established_socket_wins),
		cmocka_unit_test(test_syn_on_time_wait_without_listener),
		cmocka_unit_test(test_upgrade_replaces_small_listen_map),
		cmocka_unit_test(test_workers_chosen_by_flow_hash),
		cmocka_unit_test(test_empty_slot_passes_to_next_worker),
	};

	return cmocka_run_group_tests_name("bpf_steer", tests, setup, teardown);
}
