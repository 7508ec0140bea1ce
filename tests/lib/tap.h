/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal TAP producer for integration tests (unit tests use cmocka's TAP output).  tests/lib/
 * run-cases counts "ok", "not ok" and "# SKIP" lines, so a test binary reports many checks.
 */
#ifndef TLSGATE_TESTS_TAP_H
#define TLSGATE_TESTS_TAP_H

#include <stdbool.h>

/* Returns cond, prints "ok N - what" or "not ok N - what". */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the plan; returns the process exit status: 0 when nothing failed. */
int tap_done(void);
/* Abort the test binary with a failed check (setup could not be done). */
void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * kTLS tests run on the host (no kTLS: kernel checks are skipped, with the reason) and inside the
 * VM tier, where tests/vm/run sets TLSGATE_REQUIRE_KTLS=1 and a missing kTLS is a failure.
 */
bool tap_require_ktls(void);

#endif
