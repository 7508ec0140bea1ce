// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf tier, first fixture: load the pktcount skeleton, run it with BPF_PROG_TEST_RUN on crafted
 * frames and read the per-CPU map back, summed over every possible CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bpf/pktcount.h"
#include "pktcount.skel.h"
#include "tests/lib/pkt.h"

static struct pktcount_val sum_slot(struct pktcount_bpf *skel, __u32 slot)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pktcount_val *vals = calloc((size_t)ncpu, sizeof(*vals)), sum = { 0 };

	assert_non_null(vals);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.pktcount), &slot, vals), 0);
	for (int i = 0; i < ncpu; i++) {
		sum.packets += vals[i].packets;
		sum.bytes += vals[i].bytes;
	}
	free(vals);
	return sum;
}

static int run(struct pktcount_bpf *skel, const void *frame, size_t len, int repeat)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
			    .repeat = repeat);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pktcount_tc), &opts);

	assert_int_equal(err, 0);
	assert_int_equal(opts.retval, 0); /* TC_ACT_OK: the counter never drops */
	return err;
}

static int setup(void **state)
{
	struct pktcount_bpf *skel = pktcount_bpf__open_and_load();

	if (!skel) {
		print_error("pktcount: load failed (are you root, is BPF enabled?)\n");
		return -1;
	}
	*state = skel;
	return 0;
}

static int teardown(void **state)
{
	pktcount_bpf__destroy(*state);
	return 0;
}

static void test_tcp_v4_counted(void **state)
{
	struct pktcount_bpf *skel = *state;
	unsigned char frame[256];
	struct pkt_spec s = { .family = AF_INET, .saddr = "192.0.2.10", .daddr = "203.0.113.25",
			      .sport = 40000, .dport = 25, .tcp_flags = TH_SYN };
	struct pktcount_val before = sum_slot(skel, PKTCOUNT_TCP), after;
	int len = pkt_build(&s, frame, sizeof(frame));

	assert_true(len > 0);
	run(skel, frame, (size_t)len, 1000);
	after = sum_slot(skel, PKTCOUNT_TCP);
	assert_int_equal(after.packets - before.packets, 1000);
	assert_int_equal(after.bytes - before.bytes, 1000ull * (unsigned)len);
}

static void test_udp_v6_vs_tcp(void **state)
{
	struct pktcount_bpf *skel = *state;
	unsigned char frame[256];
	struct pkt_spec s = { .family = AF_INET6, .saddr = "2001:db8::10", .daddr = "2001:db8::25",
			      .sport = 5353, .dport = 53, .ip_proto = 17, .payload = "x",
			      .payload_len = 1 };
	struct pktcount_val tcp0 = sum_slot(skel, PKTCOUNT_TCP);
	struct pktcount_val udp0 = sum_slot(skel, PKTCOUNT_UDP);
	int len = pkt_build(&s, frame, sizeof(frame));

	assert_true(len > 0);
	run(skel, frame, (size_t)len, 7);
	assert_int_equal(sum_slot(skel, PKTCOUNT_UDP).packets - udp0.packets, 7);
	assert_int_equal(sum_slot(skel, PKTCOUNT_TCP).packets, tcp0.packets);
}

static void test_non_ip_is_other(void **state)
{
	struct pktcount_bpf *skel = *state;
	unsigned char frame[64] = { 0 };
	struct pktcount_val o0 = sum_slot(skel, PKTCOUNT_OTHER);
	struct pktcount_val t0 = sum_slot(skel, PKTCOUNT_TCP);

	/* An ARP frame (ethertype 0x0806).  Truncated IP cannot be fed: test_run rejects it. */
	frame[12] = 0x08;
	frame[13] = 0x06;
	run(skel, frame, sizeof(frame), 3);
	assert_int_equal(sum_slot(skel, PKTCOUNT_OTHER).packets - o0.packets, 3);
	assert_int_equal(sum_slot(skel, PKTCOUNT_TCP).packets, t0.packets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_v4_counted),
		cmocka_unit_test(test_udp_v6_vs_tcp),
		cmocka_unit_test(test_non_ip_is_other),
	};

	return cmocka_run_group_tests_name("bpf_pktcount", tests, setup, teardown);
}
