// SPDX-License-Identifier: GPL-2.0-only
/*
 * A TLS leg and the NIC.  After the keys are in the kernel, the tls ULP is asked (sock_diag,
 * hw/diag.c) what each direction runs on; that answer, never the interface's feature bits, is
 * what the log's ktls= ("tx=nic") and `session show` say: the kernel falls back to software when
 * a device has no room for another context, and says so only there.  The zero-copy options
 * are set where the kernel acts on them, and the answer is read again so that what is shown is
 * what the kernel took.  Before an outbound handshake, nic_offload_prefer may cap the leg at
 * TLS 1.2, the only version upstream device offload does.
 */
#include "daemon/diag_helper.h"
#include "daemon/gateway.h"
#include "daemon/nic.h"
#include "daemon/session_int.h"
#include "hw/hw.h"
#include "ktls/endpoint.h"
#include "lib/log.h"

#include <errno.h>
#include <openssl/err.h>
#include <string.h>
#include <unistd.h>

/* One sock_diag socket per worker thread, opened on first use (no privilege needed to open). */
static __thread int nic_diag_fd = -1;

/* Unprivileged (a user set): the helper asks with CAP_NET_ADMIN; as root the worker asks. */
static int diag(const struct gateway *g, int fd, struct hw_tls_diag *d)
{
	if (g->diag)
		return diag_helper_ask(g->diag, fd, d);
	if (g->priv.drop) {
		memset(d, 0, sizeof(*d));
		return -ESRCH; /* no helper: it did not start (logged then) */
	}
	if (nic_diag_fd < 0) {
		nic_diag_fd = hw_diag_open();
		if (nic_diag_fd < 0) {
			int err = nic_diag_fd;

			nic_diag_fd = -1;
			return err;
		}
	}
	return hw_diag_socket(nic_diag_fd, fd, d);
}

void session_nic_note(struct session *s, struct side *sd)
{
	struct gateway *g = s->host->gw;
	const struct config *c = &g->cfg;
	bool tx = ktls_ep_tx_mode(sd->ep) == KTLS_MODE_KERNEL;
	bool rx = ktls_ep_rx_mode(sd->ep) == KTLS_MODE_KERNEL;
	struct hw_tls_diag d;
	bool again = false;
	int fd = ktls_ep_fd(sd->ep), rc;

	if (!tx && !rx)
		return;
	rc = diag(g, fd, &d);
	if (rc) {
		snprintf(sd->tlsinfo.ktls_conf, sizeof(sd->tlsinfo.ktls_conf), "unknown (%s: %s)",
			 g->priv.drop ? "diag helper" : "sock_diag",
			 rc == -ESRCH ? "not running" : strerror(-rc));
		return;
	}
	/* The kernel takes TLS_TX_ZEROCOPY_RO on any TLS socket but acts on it (and reports it)
	 * only for device TX: set it there only. */
	if (c->ktls_tx_zerocopy_ro && d.tx == HW_CONF_HW) {
		rc = ktls_ep_tx_zerocopy_ro(sd->ep);
		if (rc)
			log_info("session=%s %s zerocopy-ro refused: %s", s->ids, sd->name,
				 strerror(-rc));
		again = true;
	}
	if (c->ktls_rx_expect_no_pad && rx && d.version == 0x0304 /* TLS_1_3_VERSION */) {
		rc = ktls_ep_rx_expect_no_pad(sd->ep);
		if (rc)
			log_info("session=%s %s rx-expect-no-pad refused: %s", s->ids, sd->name,
				 strerror(-rc));
		again = true;
	}
	if (again && diag(g, fd, &d))
		d.ulp_info = false;
	hw_diag_format(&d, sd->tlsinfo.ktls_conf, sizeof(sd->tlsinfo.ktls_conf));
	if (!d.ulp_info || !d.tls)
		return;
	nic_count_conf(g->nic, d.tx, d.rx);
	ktls_ep_note_device(sd->ep, hw_tls_conf_device(d.tx), hw_tls_conf_device(d.rx));
	if (hw_tls_conf_device(d.tx) || hw_tls_conf_device(d.rx)) {
		sd->tlsinfo.nic = nic_for_socket(g->nic, fd);
		sd->tlsinfo.nic_tx = hw_tls_conf_device(d.tx);
		sd->tlsinfo.nic_rx = hw_tls_conf_device(d.rx);
		nic_hold(sd->tlsinfo.nic, sd->tlsinfo.nic_tx, sd->tlsinfo.nic_rx, +1);
	}
}

void session_nic_release(struct side_tls *t)
{
	nic_hold(t->nic, t->nic_tx, t->nic_rx, -1);
	t->nic = NULL;
	t->nic_tx = t->nic_rx = false;
}

/* TLS 1.2 AES-GCM suites first, in the SSL's own order otherwise (nothing is removed). */
static void gcm_first(SSL *ssl)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_get_ciphers(ssl);
	char list[2048] = "", rest[2048] = "";
	size_t a = 0, b = 0;

	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		const char *n = SSL_CIPHER_get_name(c);
		int nid = SSL_CIPHER_get_cipher_nid(c);
		bool gcm = nid == NID_aes_128_gcm || nid == NID_aes_256_gcm;
		char *dst = gcm ? list : rest;
		size_t *used = gcm ? &a : &b;
		int w;

		if (!strcmp(SSL_CIPHER_get_version(c), "TLSv1.3"))
			continue; /* 1.3 suites are set apart */
		w = snprintf(dst + *used, sizeof(list) - *used, "%s%s", *used ? ":" : "", n);
		if (w < 0 || (size_t)w >= sizeof(list) - *used)
			return; /* too long: leave the order alone */
		*used += (size_t)w;
	}
	if (!a)
		return;
	if (b && a + 1 + b < sizeof(list)) {
		list[a++] = ':';
		memcpy(list + a, rest, b + 1);
	}
	if (!SSL_set_cipher_list(ssl, list))
		ERR_clear_error();
}

void session_nic_prefer(struct session *s, SSL *ssl)
{
	struct gateway *g = s->host->gw;
	struct nic_entry *e;
	long min = SSL_get_min_proto_version(ssl), max = SSL_get_max_proto_version(ssl);

	if (!g->cfg.nic_offload_prefer || !g->cfg.ktls)
		return;
	/* the policy must allow TLS 1.2 (protocols=, the rule's lower bound) */
	if (min > TLS1_2_VERSION || (max && max <= TLS1_2_VERSION))
		return; /* 1.2 not allowed, or nothing to prefer over */
	e = nic_for_socket(g->nic, s->up.ev.fd);
	if (!nic_tx_offload_on(e))
		return;
	if (!SSL_set_max_proto_version(ssl, TLS1_2_VERSION))
		return;
	gcm_first(ssl);
	log_info("session=%s nic-offload-prefer: TLS 1.2 AES-GCM offered first toward %s "
		 "(the egress interface offloads TLS 1.2 TX)",
		 s->ids, s->dest_txt);
}
