/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/net/tls_stat: the kernel's own count of TLS sessions it does the crypto for.  This is the
 * evidence that a session is really in the kernel (per network namespace).
 */
#ifndef TLSGATE_KTLS_STAT_H
#define TLSGATE_KTLS_STAT_H

#include <stdint.h>

struct ktls_stat {
	uint64_t tx_sw;		/* TlsTxSw: TX sessions installed in software kTLS, ever */
	uint64_t rx_sw;		/* TlsRxSw */
	uint64_t tx_device;	/* TlsTxDevice: NIC offload */
	uint64_t rx_device;	/* TlsRxDevice */
	uint64_t curr_tx_sw;	/* TlsCurrTxSw: open now */
	uint64_t curr_rx_sw;	/* TlsCurrRxSw */
	uint64_t curr_tx_device;
	uint64_t curr_rx_device;
	uint64_t decrypt_error;	/* TlsDecryptError */
	uint64_t rx_device_resync;
	uint64_t decrypt_retry;
	uint64_t rx_no_pad_violation;
	uint64_t rx_rekey_ok;	/* TlsRxRekeyOk (6.14+), 0 when absent */
	uint64_t tx_rekey_ok;
};

/* Read from /proc/net/tls_stat (path overridable for tests).  0, or -ENOENT without kTLS. */
int ktls_stat_read(struct ktls_stat *st);
int ktls_stat_read_file(const char *path, struct ktls_stat *st);

#endif
