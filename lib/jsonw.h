/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small streaming JSON writer (in the manner of iproute2's json_writer): objects, arrays,
 * strings escaped per RFC 8259, numbers.  Used by tlsgatectl's -j output.
 *
 *   struct jsonw *w = jsonw_new(stdout);
 *   jsonw_start_object(w);
 *   jsonw_string_field(w, "name", "x");
 *   jsonw_u64_field(w, "packets", 7);
 *   jsonw_end_object(w);
 *   jsonw_destroy(&w);   (prints a newline at the end)
 */
#ifndef TLSGATE_LIB_JSONW_H
#define TLSGATE_LIB_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct jsonw;

struct jsonw *jsonw_new(FILE *f);
void jsonw_destroy(struct jsonw **w);
void jsonw_pretty(struct jsonw *w, bool on);

void jsonw_start_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_start_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);
/* The key of the next value inside an object. */
void jsonw_name(struct jsonw *w, const char *name);

void jsonw_string(struct jsonw *w, const char *s);	/* NULL -> null */
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_s64(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

void jsonw_string_field(struct jsonw *w, const char *name, const char *s);
/* s, or null when s is NULL or empty: the key is always there, so what a consumer reads does
 * not depend on what the writer happened to know. */
void jsonw_string_field_opt(struct jsonw *w, const char *name, const char *s);
void jsonw_u64_field(struct jsonw *w, const char *name, uint64_t v);
void jsonw_s64_field(struct jsonw *w, const char *name, int64_t v);
void jsonw_bool_field(struct jsonw *w, const char *name, bool v);

#endif
