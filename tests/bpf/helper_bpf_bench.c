// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark of steer and enforce with BPF_PROG_TEST_RUN: nanoseconds per packet for typical
 * packets, with a policy of PREFIXES prefixes (default 100 000) in the LPM trie.  Prints JSON
 * (bench/bench_bpf.sh turns it into bench/results/bpf.{json,md}).
 *
 *   helper_bpf_bench [PREFIXES]
 *
 * Stateless cases run the same frame `repeat` times in the kernel (its own timer, no syscall in
 * the number).  Stateful cases (a TLS stream, a command line) need a new segment every time:
 * one test run each, the kernel's per-run duration summed.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf/loader.h"
#include "policy/policy.h"
#include "lib/jsonw.h"
#include "tests/lib/bpffs.h"
#include "tests/lib/pkt.h"

#define RELAY_MARK 0x100
#define REPEAT 1000000
#define STREAM_SEGS 20000
#define MSS 1400

static struct tg_bpf *h;

struct result {
	const char *name;
	const char *prog;
	double ns;
	unsigned long runs;
};

static struct result results[16];
static int nresults;

static int run(enum tg_bpf_prog prog, const void *frame, int len, uint32_t mark, int repeat,
	       __u32 *duration, __u32 *retval)
{
	struct __sk_buff ctx = { .mark = mark };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err = bpf_prog_test_run_opts(tg_bpf_prog_fd(h, prog), &o);

	*duration = o.duration;
	*retval = o.retval;
	return err;
}

static const char *prog_name(enum tg_bpf_prog p)
{
	return p == TG_PROG_STEER_INSIDE ? "steer_inside" :
	       p == TG_PROG_ENFORCE_EGRESS ? "enforce_egress" : "enforce_ingress";
}

static int stateless(const char *name, enum tg_bpf_prog prog, const struct pkt_spec *p,
		     uint32_t mark)
{
	unsigned char frame[2048];
	int len = pkt_build(p, frame, sizeof(frame));
	__u32 d, rv;

	if (len < 0 || run(prog, frame, len, mark, REPEAT, &d, &rv))
		return -1;
	results[nresults++] = (struct result){ name, prog_name(prog), d, REPEAT };
	return 0;
}

static struct pkt_spec seg(const char *dst, uint16_t sport, uint32_t seq, uint8_t flags,
			   const void *payload, size_t len)
{
	return (struct pkt_spec){ .family = AF_INET, .saddr = "192.0.2.10", .daddr = dst,
				  .sport = sport, .dport = 25, .seq = seq, .tcp_flags = flags,
				  .payload = payload, .payload_len = len };
}

/*
 * The stateless relay case measured the way the stateful ones are (one run per call): what the
 * per-call timer itself adds, to read the stateful numbers against.
 */
static int one_by_one(const char *name, enum tg_bpf_prog prog, const struct pkt_spec *p,
		      uint32_t mark)
{
	unsigned char frame[2048];
	unsigned long long total = 0;
	int len = pkt_build(p, frame, sizeof(frame));
	__u32 d, rv;

	for (int i = 0; i < STREAM_SEGS; i++) {
		if (len < 0 || run(prog, frame, len, mark, 1, &d, &rv))
			return -1;
		total += d;
	}
	results[nresults++] = (struct result){ name, prog_name(prog), (double)total / STREAM_SEGS,
					       STREAM_SEGS };
	return 0;
}

/* Feed one flow's client side up to TLS (untimed), through enforce_egress/ingress. */
static int flow_to_tls(uint16_t cport, uint32_t *cseq)
{
	static const char *srv[] = { "220 mx ESMTP\r\n", "250 mx\r\n", "220 go\r\n" };
	static const char *cli[] = { "EHLO client\r\n", "STARTTLS\r\n" };
	unsigned char frame[2048];
	uint32_t sseq = 9000001;
	struct pkt_spec p;
	__u32 d, rv;
	int len;

	*cseq = 1000;
	p = seg("203.0.113.25", cport, (*cseq)++, TH_SYN, NULL, 0);
	len = pkt_build(&p, frame, sizeof(frame));
	if (run(TG_PROG_ENFORCE_EGRESS, frame, len, 0, 1, &d, &rv))
		return -1;
	for (int i = 0; i < 3; i++) {
		p = (struct pkt_spec){ .family = AF_INET, .saddr = "203.0.113.25",
				       .daddr = "192.0.2.10", .sport = 25, .dport = cport,
				       .seq = sseq, .tcp_flags = TH_ACK | TH_PUSH,
				       .payload = srv[i], .payload_len = strlen(srv[i]) };
		sseq += (uint32_t)strlen(srv[i]);
		len = pkt_build(&p, frame, sizeof(frame));
		if (run(TG_PROG_ENFORCE_INGRESS, frame, len, 0, 1, &d, &rv))
			return -1;
		if (i == 2)
			break;
		p = seg("203.0.113.25", cport, *cseq, TH_ACK | TH_PUSH, cli[i], strlen(cli[i]));
		*cseq += (uint32_t)strlen(cli[i]);
		len = pkt_build(&p, frame, sizeof(frame));
		if (run(TG_PROG_ENFORCE_EGRESS, frame, len, 0, 1, &d, &rv) || rv != (__u32)-1)
			return -1;
	}
	return 0;
}

/* A TLS stream of 16 KiB records in MSS segments through a tracked (non-relay) flow. */
static int tls_stream(void)
{
	static unsigned char stream[(STREAM_SEGS + 1) * MSS];
	unsigned char frame[2048];
	unsigned long long total = 0;
	uint32_t cseq;
	size_t off = 0;
	__u32 d, rv;

	/* records of 16384 + 5 bytes back to back */
	for (size_t pos = 0; pos + 5 <= sizeof(stream); pos += 5 + 16384) {
		stream[pos] = 23;
		stream[pos + 1] = 3;
		stream[pos + 2] = 3;
		stream[pos + 3] = 0x40;
		stream[pos + 4] = 0;
	}
	if (flow_to_tls(41000, &cseq))
		return -1;
	for (int i = 0; i < STREAM_SEGS; i++, off += MSS) {
		struct pkt_spec p = seg("203.0.113.25", 41000, cseq + (uint32_t)off,
					TH_ACK | TH_PUSH, stream + off, MSS);
		int len = pkt_build(&p, frame, sizeof(frame));

		if (run(TG_PROG_ENFORCE_EGRESS, frame, len, 0, 1, &d, &rv) || rv != (__u32)-1) {
			fprintf(stderr, "tls stream: segment %d dropped\n", i);
			return -1;
		}
		total += d;
	}
	results[nresults++] = (struct result){ "enforce: TLS data segment of a tracked flow (1400 B)",
					       "enforce_egress", (double)total / STREAM_SEGS,
					       STREAM_SEGS };
	return 0;
}

/* The first command line of a new tracked flow: the line scanner. */
static int command_line(void)
{
	static const char ehlo[] = "EHLO client.example.org\r\n";
	unsigned char frame[2048];
	unsigned long long total = 0;
	const int n = 20000;
	__u32 d, rv;

	for (int i = 0; i < n; i++) {
		uint16_t cport = (uint16_t)(20000 + i);
		struct pkt_spec p = seg("203.0.113.25", cport, 5000, TH_SYN, NULL, 0);
		int len = pkt_build(&p, frame, sizeof(frame));

		if (run(TG_PROG_ENFORCE_EGRESS, frame, len, 0, 1, &d, &rv))
			return -1;
		p = seg("203.0.113.25", cport, 5001, TH_ACK | TH_PUSH, ehlo, strlen(ehlo));
		len = pkt_build(&p, frame, sizeof(frame));
		if (run(TG_PROG_ENFORCE_EGRESS, frame, len, 0, 1, &d, &rv) || rv != (__u32)-1)
			return -1;
		total += d;
	}
	results[nresults++] = (struct result){ "enforce: EHLO line of a tracked flow (scan)",
					       "enforce_egress", (double)total / n, (unsigned long)n };
	return 0;
}

/* PREFIXES prefixes: IPv4 /16../32 spread over the documentation and other ranges, IPv6 /48
 * ../128 under 2001:db8::/32, and the benchmark's own destination. */
static int fill_policy(unsigned int nprefix)
{
	struct tg_bpf_policy_entry *e = calloc(nprefix + 1, sizeof(*e));
	unsigned int seed = 42;
	int err;

	if (!e)
		return -ENOMEM;
	for (unsigned int i = 0; i < nprefix; i++) {
		unsigned int r = rand_r(&seed);

		e[i].dir = POLICY_OUTBOUND;
		e[i].rule_id = 1000 + i;
		e[i].level = (i & 1) ? POLICY_ENCRYPT : POLICY_MAY;
		if (i % 4 == 3) {
			e[i].family = AF_INET6;
			memcpy(e[i].addr, "\x20\x01\x0d\xb8", 4);
			for (int b = 4; b < 16; b++)
				e[i].addr[b] = (uint8_t)rand_r(&seed);
			e[i].prefix_len = (uint8_t)(48 + r % 81);
		} else {
			uint32_t a = (uint32_t)rand_r(&seed) ^ ((uint32_t)rand_r(&seed) << 16);

			memcpy(e[i].addr, &a, 4);
			e[i].family = AF_INET;
			e[i].prefix_len = (uint8_t)(16 + r % 17);
		}
	}
	e[nprefix] = (struct tg_bpf_policy_entry){ POLICY_OUTBOUND, AF_INET, { 203, 0, 113, 25 },
						   32, 7, POLICY_ENCRYPT, 0, 0 };
	err = tg_bpf_policy_replace(h, e, nprefix + 1);
	free(e);
	return err;
}

static void print_json(const struct utsname *u, unsigned int nprefix)
{
	struct jsonw *w = jsonw_new(stdout);

	if (!w)
		return;
	jsonw_pretty(w, true);
	jsonw_start_object(w);
	jsonw_string_field(w, "kernel", u->release);
	jsonw_u64_field(w, "policy_prefixes", nprefix);
	jsonw_name(w, "cases");
	jsonw_start_array(w);
	for (int i = 0; i < nresults; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "name", results[i].name);
		jsonw_string_field(w, "prog", results[i].prog);
		/* whole nanoseconds: the timer's resolution makes fractions noise */
		jsonw_u64_field(w, "ns_per_packet", (uint64_t)(results[i].ns + 0.5));
		jsonw_u64_field(w, "runs", results[i].runs);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "target");
	jsonw_start_object(w);
	jsonw_string_field(w, "case", results[0].name);
	jsonw_u64_field(w, "max_ns", 100);
	jsonw_u64_field(w, "ns", (uint64_t)(results[0].ns + 0.5));
	jsonw_bool_field(w, "met", results[0].ns <= 100);
	jsonw_end_object(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
}

int main(int argc, char **argv)
{
	unsigned int nprefix = argc > 1 ? (unsigned int)atoi(argv[1]) : 100000;
	struct tg_bpf_opts o = { .sz = sizeof(o), .relay_mark = RELAY_MARK };
	static unsigned char data[MSS];
	char pin_dir[64];
	struct utsname u;
	int err;

	libbpf_set_print(NULL);
	memset(data, 0x17, sizeof(data));
	if (tg_test_bpffs())
		return 77;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tlsgate-bench-%d", (int)getpid());
	o.pin_dir = pin_dir;
	err = tg_bpf_open(&o, &h);
	if (!err)
		err = fill_policy(nprefix);
	if (err) {
		fprintf(stderr, "helper_bpf_bench: setup: %s\n", strerror(-err));
		goto out;
	}
	{
		struct pkt_spec relay_data = seg("203.0.113.25", 40000, 77777, TH_ACK | TH_PUSH,
						 data, MSS);
		struct pkt_spec relay_syn = seg("198.51.100.77", 40001, 1, TH_SYN, NULL, 0);
		struct pkt_spec other = seg("203.0.113.25", 40002, 1, TH_ACK | TH_PUSH, data, MSS);
		struct pkt_spec reply = seg("203.0.113.25", 40003, 1, TH_ACK, NULL, 0);
		struct pkt_spec syn = seg("203.0.113.25", 40004, 1, TH_SYN, NULL, 0);

		other.dport = 443;
		reply.saddr = "203.0.113.25";
		reply.daddr = "192.0.2.10";
		reply.sport = 25;
		reply.dport = 40003;
		reply.payload = data;
		reply.payload_len = MSS;
		err = stateless("enforce: relay data segment (1400 B, marked)",
				TG_PROG_ENFORCE_EGRESS, &relay_data, RELAY_MARK) ||
		      stateless("enforce: relay SYN (marked; LPM lookup for the rule)",
				TG_PROG_ENFORCE_EGRESS, &relay_syn, RELAY_MARK) ||
		      stateless("enforce: reply segment of an untracked (relay) flow",
				TG_PROG_ENFORCE_INGRESS, &reply, 0) ||
		      stateless("enforce: non-SMTP segment (port 443)", TG_PROG_ENFORCE_EGRESS,
				&other, 0) ||
		      stateless("steer: non-SMTP segment (port 443)", TG_PROG_STEER_INSIDE, &other,
				0) ||
		      stateless("steer: SYN to port 25, daemon down (no listener)",
				TG_PROG_STEER_INSIDE, &syn, 0) ||
		      stateless("steer: daemon's own marked SYN", TG_PROG_STEER_INSIDE, &syn,
				RELAY_MARK) ||
		      one_by_one("enforce: relay data segment, one run per call (timer reference)",
				 TG_PROG_ENFORCE_EGRESS, &relay_data, RELAY_MARK) ||
		      tls_stream() || command_line();
	}
	if (err) {
		fprintf(stderr, "helper_bpf_bench: a case failed\n");
		goto out;
	}
	uname(&u);
	print_json(&u, nprefix + 1);
out:
	if (h) {
		tg_bpf_detach(h);
		tg_bpf_close(h);
	}
	return err ? 1 : 0;
}
