// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the inbound (client address / sender domain) table parser; see fuzz_policy_table.h. */
#include "fuzz_policy_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_table(POLICY_INBOUND, data, size);
}
