// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backend choice per direction.  OpenSSL 3.0 with SSL_OP_ENABLE_KTLS has already installed what it
 * can during the handshake (TX for both versions, RX for TLS 1.2): that is taken as it is, since a
 * socket cannot be taken back from the kernel.  The one direction left to us is TLS 1.3 RX, and it
 * may only move when the record sequence is known (0: nothing read since the keys changed) and
 * OpenSSL holds no bytes from beyond the switch.
 */
#include "ktls/select.h"

#include <stdio.h>
#include <string.h>

/* Why neither OpenSSL nor we can put this direction in the kernel, or NULL. */
static const char *why_not(const struct ktls_sel_in *in, bool tx)
{
	if (!in->enabled)
		return KTLS_WHY_DISABLED;
	if (in->caps && !in->caps->ulp)
		return KTLS_WHY_NO_ULP;
	if (!in->version_ok)
		return KTLS_WHY_VERSION;
	if (!in->cipher_ok)
		return KTLS_WHY_CIPHER;
	if (in->caps && !(tx ? in->caps->tx : in->caps->rx)[in->version][in->cipher])
		return KTLS_WHY_KERNEL_CIPHER;
	return NULL;
}

void ktls_select(const struct ktls_sel_in *in, struct ktls_sel *out)
{
	memset(out, 0, sizeof(*out));
	out->tx = out->rx = KTLS_MODE_USER;

	if (in->openssl_tx) {
		out->tx = KTLS_MODE_KERNEL;
	} else {
		out->tx_why = why_not(in, true);
		if (!out->tx_why)
			out->tx_why = KTLS_WHY_DECLINED;
	}

	if (in->openssl_rx) {
		out->rx = KTLS_MODE_KERNEL;
		/* OpenSSL moved RX while holding bytes it read: they can be neither given back
		 * to the kernel nor read through it. */
		out->unusable = in->ssl_pending;
		return;
	}
	out->rx_why = why_not(in, false);
	if (out->rx_why)
		return;
	if (in->version != KTLS_TLS13) {
		out->rx_why = KTLS_WHY_DECLINED;
		return;
	}
	if (in->ssl_pending)
		out->rx_why = KTLS_WHY_BUFFERED;
	else if (in->read_after_handshake)
		out->rx_why = KTLS_WHY_READ_FIRST;
	else if (!in->have_rx_secret)
		out->rx_why = KTLS_WHY_NO_SECRET;
	if (out->rx_why)
		return;
	out->rx = KTLS_MODE_KERNEL;
	out->install_rx = true;
}

const char *ktls_mode_format(enum ktls_mode m, const char *why, int err, char *buf, size_t len)
{
	const char *ename = err ? strerrorname_np(err < 0 ? -err : err) : NULL;

	switch (m) {
	case KTLS_MODE_PLAIN:
		snprintf(buf, len, "plain");
		break;
	case KTLS_MODE_KERNEL:
		snprintf(buf, len, "kernel");
		break;
	default:
		snprintf(buf, len, "user(%s%s%s)", why ? why : "?", ename ? ":" : "",
			 ename ? ename : "");
		break;
	}
	return buf;
}
