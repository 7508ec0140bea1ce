// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/net/tls_stat: the kernel's kTLS gauges and counters of the reader's network namespace
 * (net/tls/tls_proc.c), "Name<TAB>value" lines.  The device ones say how many sockets the NICs
 * carry now (TlsCurrTxDevice, TlsCurrRxDevice) and how often a NIC lost its place in the RX
 * stream (TlsRxDeviceResync).  The file exists once tls.ko is loaded.
 */
#include "hw/hw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hw_tls_stat_parse(const char *text, struct hw_tls_stat *st)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(n, f) { n, offsetof(struct hw_tls_stat, f) }
		F("TlsCurrTxSw", curr_tx_sw),
		F("TlsCurrRxSw", curr_rx_sw),
		F("TlsCurrTxDevice", curr_tx_device),
		F("TlsCurrRxDevice", curr_rx_device),
		F("TlsTxDevice", tx_device),
		F("TlsRxDevice", rx_device),
		F("TlsRxDeviceResync", rx_device_resync),
		F("TlsDecryptError", decrypt_error),
#undef F
	};
	const char *line = text;

	memset(st, 0, sizeof(*st));
	st->present = true;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t nlen = strcspn(line, " \t\n");

		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (strlen(fields[i].name) != nlen || strncmp(line, fields[i].name, nlen))
				continue;
			*(uint64_t *)((char *)st + fields[i].off) = strtoull(line + nlen, NULL, 10);
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
}

int hw_tls_stat_read(struct hw_tls_stat *st)
{
	char buf[4096];
	FILE *f = fopen("/proc/net/tls_stat", "re");
	size_t n;

	memset(st, 0, sizeof(*st));
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	hw_tls_stat_parse(buf, st);
	return 0;
}
