// SPDX-License-Identifier: GPL-2.0-only
/*
 * Destination policy per RCPT, micro part (bench/bench_dest.sh): the CPU a worker spends on the
 * parts of the check daemon/session_dest.c makes for every recipient once its caches are warm.
 *
 *   destpol_get       a cached domain (1000 cached, over a canned transport: implicit MX,
 *                     A 192.0.2.25, TLSA 3 1 1, all secure)
 *   tls_peer_dane     on a peer kept from a real handshake (tests/lib/tls_fixture): memo hit
 *                     and memo miss (scratch SSL + X509_verify_cert), DANE-EE(3) and DANE-TA(2)
 *   tls_peer_sts      on the same kept peer (WebPKI verdict taken at keep time, name check)
 *   sts_fetch_lookup  of a cached enforce policy (+ policy_sts_entry_put), and the MX match
 *   rcpt_dane         what a DANE recipient costs: destpol_get + tls_peer_dane (memo hit) on the
 *                     verdict destpol returned
 *   rcpt_sts          what an MTA-STS recipient costs: destpol_get + sts_fetch_lookup +
 *                     policy_sts_mx_match + tls_peer_sts + policy_sts_entry_put
 *
 * Each figure: ROUNDS rounds of N calls, thread CPU time (CLOCK_THREAD_CPUTIME_ID) per call in
 * ns; the median round, with the lowest and highest.  Prints one JSON object on stdout.
 *
 *   bench_dest            exits 1 when a warm per-RCPT composite exceeds 20 000 ns, 2 on error
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/destpol.h"
#include "daemon/loop.h"
#include "daemon/sts_fetch.h"
#include "daemon/tls_client.h"
#include "daemon/tls_peer.h"
#include "lib/log.h"
#include "tests/lib/tls_fixture.h"

#define ROUNDS 7
#define DOMAINS 1000
#define LIMIT_RCPT_NS 20000 /* issue 14: <= 20 us per RCPT with warm caches */

#define T_A 1
#define T_TLSA 52

#define die(...)                                                                                 \
	do {                                                                                     \
		fprintf(stderr, "bench_dest: " __VA_ARGS__);                                     \
		fprintf(stderr, "\n");                                                           \
		exit(2);                                                                         \
	} while (0)

/* ---- a canned DNS transport: every domain its own host, A 192.0.2.25, TLSA 3 1 1 ---------- */

struct fq {
	uint16_t type;
	policy_dane_done_fn done;
	void *arg;
	bool live;
};

static struct fq fq[8 * DOMAINS + 16]; /* MX, A, AAAA, TLSA for 2 x DOMAINS */
static size_t nfq;
static unsigned char tlsa_rdata[3 + 32];

static int fake_start(void *t, const char *name, uint16_t type, policy_dane_done_fn done,
		      void *arg, int *id)
{
	(void)t;
	(void)name;
	if (nfq == sizeof(fq) / sizeof(fq[0]))
		return -ENOMEM;
	fq[nfq] = (struct fq){ .type = type, .done = done, .arg = arg, .live = true };
	*id = (int)++nfq;
	return 0;
}

static void fake_cancel(void *t, int id)
{
	(void)t;
	fq[id - 1].live = false;
}

static const struct policy_dane_transport fake_tr = { fake_start, fake_cancel, NULL };

/* Answer every live query, and those the answers start (appended while this runs). */
static void pump(void)
{
	static const unsigned char a1[] = { 192, 0, 2, 25 };

	for (size_t i = 0; i < nfq; i++) {
		const unsigned char *data[1] = { a1 };
		size_t len[1] = { sizeof(a1) };
		struct policy_dane_answer a = { .secure = true, .data = data, .len = len };

		if (!fq[i].live)
			continue;
		fq[i].live = false;
		if (fq[i].type == T_A) {
			a.n = 1;
		} else if (fq[i].type == T_TLSA) {
			data[0] = tlsa_rdata;
			len[0] = sizeof(tlsa_rdata);
			a.n = 1;
		}
		fq[i].done(fq[i].arg, &a);
	}
}

/* ---- timing ------------------------------------------------------------------------------ */

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct fig {
	const char *name, *what;
	double med, min, max;
	long calls;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fig_of(struct fig *f, double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_d);
	f->med = v[ROUNDS / 2];
	f->min = v[0];
	f->max = v[ROUNDS - 1];
}

/* ---- the kept peer ------------------------------------------------------------------------ */

struct pki {
	EVP_PKEY *key;
	X509 *cert;
};

static struct pki root, mx;
static SSL_CTX *relay_ctx;
static X509_STORE *webpki;

static void issue(struct pki *c, const char *cn, const char *const *dns, bool ca,
		  const struct pki *by)
{
	if (tls_fixture_issue(cn, dns, ca, by ? by->cert : NULL, by ? by->key : NULL, &c->key,
			      &c->cert))
		die("cannot issue %s", cn);
}

static void digest_of(X509 *c, bool spki, unsigned char out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = spki ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der) : i2d_X509(c, &der);

	if (n <= 0 || !EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		die("digest");
	OPENSSL_free(der);
}

/* A TLS 1.3 handshake with the fixture's server (mx.dane.example, chain with the root), kept as
 * the relay keeps its up leg's peer, the SSL freed. */
static struct tls_peer *kept_peer(void)
{
	struct tls_fixture_opts so = { .version = TLS1_3_VERSION, .key = mx.key, .cert = mx.cert,
				       .chain = root.cert };
	SSL_CTX *sctx = tls_fixture_server_ctx(&so);
	struct tls_peer *p = NULL;
	SSL *c, *s;
	int sv[2];

	if (!sctx || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("server context");
	c = SSL_new(relay_ctx);
	s = SSL_new(sctx);
	if (!c || !s || tls_fixture_handshake(c, s, sv[0], sv[1]) ||
	    tls_peer_keep(c, webpki, &p))
		die("handshake");
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(sctx);
	close(sv[0]);
	close(sv[1]);
	return p;
}

static void host_of(struct policy_dane_host *h, const char *name, uint8_t usage,
		    unsigned char *d)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->base, sizeof(h->base), "%s", name);
	h->state = POLICY_DANE_USABLE;
	h->ntlsa = 1;
	h->tlsa[0] = (struct policy_dane_tlsa){ .usage = usage, .selector = 1, .mtype = 1,
						.len = 32, .data = d };
}

/* ---- main --------------------------------------------------------------------------------- */

int main(void)
{
	/* the wildcard lets DANE-TA name-check the implicit-MX hosts dN/tN.dane.example */
	static const char *const n_mx[] = { "mx.dane.example", "*.dane.example", NULL };
	static const char sts_text[] =
		"version: STSv1\nmode: enforce\nmx: mx.dane.example\nmax_age: 86400\n";
	static char names[DOMAINS][64], tnames[DOMAINS][64];
	unsigned char leaf_d[32], root_d[32], w1[32], w2[32];
	struct policy_dane_host ee, ee_w1, ee_w2, ta;
	struct destpol_opts dopt = { .sz = sizeof(dopt), .dane = true };
	struct sts_fetch_opts sopt = { 0 };
	struct policy_sts_state st = { 0 };
	struct policy_sts_entry *e;
	struct destpol *dp;
	struct loop *l;
	struct sts_fetch *sf;
	struct tls_peer *peer;
	struct config cfg;
	char dir[] = "/tmp/tg-bench-dest.XXXXXX", sub[96], text[256], err[256];
	const struct policy_dane_domain *v;
	double r[ROUNDS];
	volatile int sink = 0;
	struct fig figs[12];
	size_t nfig = 0;
	int64_t now = (int64_t)time(NULL);
	bool pass;

	tg_log_set_level(TG_LOG_WARN);
	issue(&root, "Bench Root", NULL, true, NULL);
	issue(&mx, "mx.dane.example", n_mx, false, &root);
	webpki = X509_STORE_new();
	if (!webpki || X509_STORE_add_cert(webpki, root.cert) != 1)
		die("store");
	config_defaults(&cfg);
	free(cfg.tls_ca_file);
	cfg.tls_ca_file = NULL;
	relay_ctx = tls_client_ctx_new(&cfg, err, sizeof(err));
	config_free(&cfg);
	if (!relay_ctx)
		die("client context: %s", err);
	peer = kept_peer();
	digest_of(mx.cert, true, leaf_d);
	digest_of(root.cert, true, root_d);
	memset(w1, 1, sizeof(w1));
	memset(w2, 2, sizeof(w2));
	tlsa_rdata[0] = 3, tlsa_rdata[1] = 1, tlsa_rdata[2] = 1;
	memcpy(tlsa_rdata + 3, leaf_d, 32);
	host_of(&ee, "mx.dane.example", 3, leaf_d);
	host_of(&ee_w1, "mx.dane.example", 3, w1);
	host_of(&ee_w2, "mx.dane.example", 3, w2);
	host_of(&ta, "mx.dane.example", 2, root_d);

	/* destpol with DOMAINS verdicts cached */
	if (loop_new(&l) || destpol_new_transport(l, &dopt, &fake_tr, &dp))
		die("destpol");
	for (int i = 0; i < DOMAINS; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d.dane.example", i);
		if (destpol_get(dp, names[i], &v, NULL) != 0)
			die("destpol_get %s: not a miss", names[i]);
		pump();
	}
	/* and as many with a DANE-TA(2) 1 1 record for the root */
	tlsa_rdata[0] = 2;
	memcpy(tlsa_rdata + 3, root_d, 32);
	for (int i = 0; i < DOMAINS; i++) {
		snprintf(tnames[i], sizeof(tnames[i]), "t%d.dane.example", i);
		if (destpol_get(dp, tnames[i], &v, NULL) != 0)
			die("destpol_get %s: not a miss", tnames[i]);
		pump();
	}
	for (int i = 0; i < DOMAINS; i++)
		if (destpol_get(dp, names[i], &v, NULL) != 1 || v->nhost != 1 ||
		    v->host[0].state != POLICY_DANE_USABLE ||
		    destpol_get(dp, tnames[i], &v, NULL) != 1 || v->nhost != 1 ||
		    v->host[0].state != POLICY_DANE_USABLE ||
		    tls_peer_dane(peer, relay_ctx, &v->host[0], tnames[i], text, sizeof(text)))
			die("destpol: %s not cached as DANE (%s)", names[i], text);

	/* the MTA-STS cache with d*.dane.example's policy in force, checked a minute ago */
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(sub, sizeof(sub), "%s/mta-sts", dir);
	sopt.cache_dir = sub;
	if (sts_fetch_new(l, &sopt, &sf))
		die("sts_fetch_new");
	st.last_check = now - 60;
	st.last_attempt = now - 60;
	st.next_check = now + 3600;
	for (int i = 0; i < DOMAINS; i++) {
		if (policy_sts_entry_new(names[i], "id1", now, sts_text, strlen(sts_text), &e, text,
					 sizeof(text)) ||
		    policy_sts_cache_put(sts_fetch_cache(sf), e) ||
		    policy_sts_cache_set_state(sts_fetch_cache(sf), names[i], &st))
			die("sts cache: %s", text);
	}

#define MEASURE(fname, fwhat, n, body)                                                           \
	do {                                                                                     \
		struct fig *f_ = &figs[nfig++];                                                  \
		for (int k_ = 0; k_ < ROUNDS; k_++) {                                            \
			double t0_ = cpu_ns();                                                   \
			for (long i = 0; i < (n); i++) {                                         \
				body;                                                            \
			}                                                                        \
			r[k_] = (cpu_ns() - t0_) / (double)(n);                                  \
		}                                                                                \
		f_->name = fname;                                                                \
		f_->what = fwhat;                                                                \
		f_->calls = (n);                                                                 \
		fig_of(f_, r);                                                                   \
	} while (0)

	MEASURE("destpol_get_hit", "destpol_get, a cached domain (1000 cached)", 200000,
		sink += destpol_get(dp, names[i % DOMAINS], &v, NULL));
	MEASURE("dane_memo_ee", "tls_peer_dane, memo hit, DANE-EE(3) 1 1", 200000,
		sink += tls_peer_dane(peer, relay_ctx, &ee, "d1.dane.example", text, sizeof(text)));
	MEASURE("dane_memo_ta", "tls_peer_dane, memo hit, DANE-TA(2) 1 1", 200000,
		sink += tls_peer_dane(peer, relay_ctx, &ta, "d1.dane.example", text, sizeof(text)));
	{
		/* three questions in turn through the memo's slots: every call verifies again */
		const struct policy_dane_host *q[3] = { &ee, &ee_w1, &ee_w2 };
		static const char *const nh[3] = { "n1.example", "n2.example", "n3.example" };

		MEASURE("dane_miss_ee", "tls_peer_dane, memo miss (scratch SSL + verify), DANE-EE",
			2000, sink += tls_peer_dane(peer, relay_ctx, q[i % 3], NULL, text,
						    sizeof(text)));
		MEASURE("dane_miss_ta", "tls_peer_dane, memo miss (scratch SSL + verify), DANE-TA",
			2000, sink += tls_peer_dane(peer, relay_ctx, &ta, nh[i % 3], text,
						    sizeof(text)));
	}
	MEASURE("sts_peer", "tls_peer_sts on the kept peer", 200000,
		sink += tls_peer_sts(peer, "mx.dane.example", text, sizeof(text), NULL));
	MEASURE("sts_lookup", "sts_fetch_lookup of a cached policy + policy_sts_entry_put", 200000, {
		sink += (int)sts_fetch_lookup(sf, names[i % DOMAINS], &e);
		policy_sts_entry_put(e);
	});
	if (sts_fetch_lookup(sf, names[0], &e) != STS_LOOKUP_POLICY)
		die("sts: the cached policy is not returned");
	MEASURE("sts_mx_match", "policy_sts_mx_match", 200000,
		sink += policy_sts_mx_match(&e->pol, "mx.dane.example"));
	policy_sts_entry_put(e);
	/*
	 * What one recipient at a DANE domain costs: the verdict destpol returns, checked as
	 * session_dest.c checks it (the recipient domain is the next hop, part of the memo's
	 * question).  Many recipients at one domain on a connection: memo hits.  Every recipient at
	 * another domain on the same connection: a memo miss each, a verification each.
	 */
	MEASURE("rcpt_dane", "per RCPT, DANE domain, RCPTs at one domain: destpol_get + "
		"tls_peer_dane (memo hit)", 200000, {
			if (destpol_get(dp, names[7], &v, NULL) == 1)
				sink += tls_peer_dane(peer, relay_ctx, &v->host[0], names[7], text,
						      sizeof(text));
		});
	MEASURE("rcpt_dane_domains_ee", "per RCPT, DANE-EE, each RCPT another domain on the same "
		"connection: destpol_get + tls_peer_dane (memo miss)", 20000, {
			const char *dom = names[i % DOMAINS];

			if (destpol_get(dp, dom, &v, NULL) == 1)
				sink += tls_peer_dane(peer, relay_ctx, &v->host[0], dom, text,
						      sizeof(text));
		});
	MEASURE("rcpt_dane_domains_ta", "per RCPT, DANE-TA, each RCPT another domain on the same "
		"connection: destpol_get + tls_peer_dane (memo miss)", 2000, {
			const char *dom = tnames[i % DOMAINS];

			if (destpol_get(dp, dom, &v, NULL) == 1)
				sink += tls_peer_dane(peer, relay_ctx, &v->host[0], dom, text,
						      sizeof(text));
		});
	MEASURE("rcpt_sts", "per RCPT, MTA-STS domain: destpol_get + sts_fetch_lookup + "
		"policy_sts_mx_match + tls_peer_sts", 200000, {
			const char *dom = names[i % DOMAINS];

			if (destpol_get(dp, dom, &v, NULL) == 1 &&
			    sts_fetch_lookup(sf, dom, &e) == STS_LOOKUP_POLICY) {
				if (policy_sts_mx_match(&e->pol, v->host[0].name))
					sink += tls_peer_sts(peer, v->host[0].name, text,
							     sizeof(text), NULL);
				policy_sts_entry_put(e);
			}
		});
	if (tls_peer_dane(peer, relay_ctx, &ee, NULL, text, sizeof(text)) ||
	    tls_peer_sts(peer, "mx.dane.example", text, sizeof(text), NULL))
		die("the kept peer does not pass: %s", text);

	/* the limit is for warm caches: rcpt_dane (memo hit) and rcpt_sts; the memo-miss figures
	 * are reported against it, not judged */
	pass = true;
	for (size_t i = 0; i < nfig; i++)
		if (!strcmp(figs[i].name, "rcpt_dane") || !strcmp(figs[i].name, "rcpt_sts"))
			pass = pass && figs[i].med <= LIMIT_RCPT_NS;
	printf("{\"rounds\": %d, \"unit\": \"ns CPU per call (thread CPU time), median round\", "
	       "\"limit_rcpt_ns\": %d, \"figures\": [",
	       ROUNDS, LIMIT_RCPT_NS);
	for (size_t i = 0; i < nfig; i++)
		printf("%s{\"name\": \"%s\", \"what\": \"%s\", \"calls_per_round\": %ld, "
		       "\"median_ns\": %.0f, \"min_ns\": %.0f, \"max_ns\": %.0f}",
		       i ? ", " : "", figs[i].name, figs[i].what, figs[i].calls, figs[i].med,
		       figs[i].min, figs[i].max);
	printf("], \"pass\": %s}\n", pass ? "true" : "false");

	sts_fetch_free(sf);
	destpol_free(dp);
	loop_free(l);
	tls_peer_free(peer);
	X509_STORE_free(webpki);
	SSL_CTX_free(relay_ctx);
	EVP_PKEY_free(root.key);
	X509_free(root.cert);
	EVP_PKEY_free(mx.key);
	X509_free(mx.cert);
	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	if (system(sub))
		fprintf(stderr, "bench_dest: could not remove %s\n", dir);
	(void)sink;
	return pass ? 0 : 1;
}
