// SPDX-License-Identifier: GPL-2.0-only
#include "ktls/stat.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	size_t off;
} fields[] = {
	{ "TlsTxSw", offsetof(struct ktls_stat, tx_sw) },
	{ "TlsRxSw", offsetof(struct ktls_stat, rx_sw) },
	{ "TlsTxDevice", offsetof(struct ktls_stat, tx_device) },
	{ "TlsRxDevice", offsetof(struct ktls_stat, rx_device) },
	{ "TlsCurrTxSw", offsetof(struct ktls_stat, curr_tx_sw) },
	{ "TlsCurrRxSw", offsetof(struct ktls_stat, curr_rx_sw) },
	{ "TlsCurrTxDevice", offsetof(struct ktls_stat, curr_tx_device) },
	{ "TlsCurrRxDevice", offsetof(struct ktls_stat, curr_rx_device) },
	{ "TlsDecryptError", offsetof(struct ktls_stat, decrypt_error) },
	{ "TlsRxDeviceResync", offsetof(struct ktls_stat, rx_device_resync) },
	{ "TlsDecryptRetry", offsetof(struct ktls_stat, decrypt_retry) },
	{ "TlsRxNoPadViolation", offsetof(struct ktls_stat, rx_no_pad_violation) },
	{ "TlsRxRekeyOk", offsetof(struct ktls_stat, rx_rekey_ok) },
	{ "TlsTxRekeyOk", offsetof(struct ktls_stat, tx_rekey_ok) },
};

int ktls_stat_read_file(const char *path, struct ktls_stat *st)
{
	char name[64];
	uint64_t val;
	FILE *f;

	memset(st, 0, sizeof(*st));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %" SCNu64, name, &val) == 2) {
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (!strcmp(name, fields[i].name)) {
				memcpy((char *)st + fields[i].off, &val, sizeof(val));
				break;
			}
		}
	}
	fclose(f);
	return 0;
}

int ktls_stat_read(struct ktls_stat *st)
{
	return ktls_stat_read_file("/proc/net/tls_stat", st);
}
