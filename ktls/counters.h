/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside ktls/: bump the process-wide counters that ktls_counters_get() (endpoint.h) reports.
 * One enum entry per field of struct ktls_counters, in the same order.
 */
#ifndef TLSGATE_KTLS_COUNTERS_H
#define TLSGATE_KTLS_COUNTERS_H

#include <stdint.h>

enum ktls_counter {
	KTLS_C_TX_KERNEL,
	KTLS_C_TX_USER,
	KTLS_C_RX_KERNEL,
	KTLS_C_RX_USER,
	KTLS_C_OFFLOAD_FAILED,
	KTLS_C_KEYUPDATE_FOLLOWED,
	KTLS_C_KEYUPDATE_UNSUPPORTED,
	KTLS_C_NST_CONSUMED,
	KTLS_C_ALERTS_RECEIVED,
	KTLS_C_CLOSE_NOTIFY_RECEIVED,
	KTLS_C_TRUNCATIONS,
	KTLS_C_SPLICE_BYTES,
	KTLS_C_COPY_BYTES,
	KTLS_C_SPLICE_CALLS,
	KTLS_C_COPY_CALLS,
	KTLS_C_CTL_RECORDS,
	KTLS_C_DECRYPT_ERRORS,
	KTLS_C_PROTOCOL_ERRORS,
	KTLS_C_USER_CRYPTO_BYTES,
	KTLS_NCOUNTERS,
};

void ktls_count(enum ktls_counter c, uint64_t n);

#endif
