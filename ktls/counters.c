// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process-wide counters.  Workers run one per core, so every bump is a relaxed atomic add: the
 * numbers are statistics, not synchronisation.
 */
#include "ktls/counters.h"
#include "ktls/endpoint.h"

static uint64_t counters[KTLS_NCOUNTERS];

void ktls_count(enum ktls_counter c, uint64_t n)
{
	if ((unsigned)c < KTLS_NCOUNTERS)
		__atomic_fetch_add(&counters[c], n, __ATOMIC_RELAXED);
}

static uint64_t get(enum ktls_counter c)
{
	return __atomic_load_n(&counters[c], __ATOMIC_RELAXED);
}

void ktls_counters_get(struct ktls_counters *out)
{
	out->tx_kernel = get(KTLS_C_TX_KERNEL);
	out->tx_user = get(KTLS_C_TX_USER);
	out->rx_kernel = get(KTLS_C_RX_KERNEL);
	out->rx_user = get(KTLS_C_RX_USER);
	out->offload_failed = get(KTLS_C_OFFLOAD_FAILED);
	out->keyupdate_followed = get(KTLS_C_KEYUPDATE_FOLLOWED);
	out->keyupdate_unsupported = get(KTLS_C_KEYUPDATE_UNSUPPORTED);
	out->nst_consumed = get(KTLS_C_NST_CONSUMED);
	out->alerts_received = get(KTLS_C_ALERTS_RECEIVED);
	out->close_notify_received = get(KTLS_C_CLOSE_NOTIFY_RECEIVED);
	out->truncations = get(KTLS_C_TRUNCATIONS);
	out->splice_bytes = get(KTLS_C_SPLICE_BYTES);
	out->copy_bytes = get(KTLS_C_COPY_BYTES);
	out->splice_calls = get(KTLS_C_SPLICE_CALLS);
	out->copy_calls = get(KTLS_C_COPY_CALLS);
	out->ctl_records = get(KTLS_C_CTL_RECORDS);
	out->decrypt_errors = get(KTLS_C_DECRYPT_ERRORS);
	out->protocol_errors = get(KTLS_C_PROTOCOL_ERRORS);
	out->user_crypto_bytes = get(KTLS_C_USER_CRYPTO_BYTES);
}
