// SPDX-License-Identifier: GPL-2.0-only
#include "lib/jsonw.h"

#include <inttypes.h>
#include <stdlib.h>

#define JSONW_MAX_DEPTH 64

struct jsonw {
	FILE *f;
	bool pretty;
	unsigned int depth;
	bool first[JSONW_MAX_DEPTH];	/* no element written yet at this depth */
	bool after_name;		/* a name was written; the value follows without a comma */
};

struct jsonw *jsonw_new(FILE *f)
{
	struct jsonw *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	w->first[0] = true;
	return w;
}

void jsonw_destroy(struct jsonw **w)
{
	if (!*w)
		return;
	fputc('\n', (*w)->f);
	fflush((*w)->f);
	free(*w);
	*w = NULL;
}

void jsonw_pretty(struct jsonw *w, bool on)
{
	w->pretty = on;
}

static void indent(struct jsonw *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (unsigned int i = 0; i < w->depth; i++)
		fputs("    ", w->f);
}

/* Separator before a new element (value or name) at the current depth. */
static void element(struct jsonw *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	if (w->depth)
		indent(w);
	w->first[w->depth] = false;
}

static void write_escaped(struct jsonw *w, const char *s)
{
	fputc('"', w->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", w->f);
			break;
		case '\\':
			fputs("\\\\", w->f);
			break;
		case '\n':
			fputs("\\n", w->f);
			break;
		case '\r':
			fputs("\\r", w->f);
			break;
		case '\t':
			fputs("\\t", w->f);
			break;
		default:
			if (*p < 0x20)
				fprintf(w->f, "\\u%04x", *p);
			else
				fputc(*p, w->f);
		}
	}
	fputc('"', w->f);
}

static void open_(struct jsonw *w, char c)
{
	element(w);
	fputc(c, w->f);
	if (w->depth + 1 < JSONW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct jsonw *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth)
		w->depth--;
	if (!empty)
		indent(w);
	fputc(c, w->f);
}

void jsonw_start_object(struct jsonw *w)
{
	open_(w, '{');
}

void jsonw_end_object(struct jsonw *w)
{
	close_(w, '}');
}

void jsonw_start_array(struct jsonw *w)
{
	open_(w, '[');
}

void jsonw_end_array(struct jsonw *w)
{
	close_(w, ']');
}

void jsonw_name(struct jsonw *w, const char *name)
{
	element(w);
	write_escaped(w, name);
	fputc(':', w->f);
	if (w->pretty)
		fputc(' ', w->f);
	w->after_name = true;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	element(w);
	if (s)
		write_escaped(w, s);
	else
		fputs("null", w->f);
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	element(w);
	fprintf(w->f, "%" PRIu64, v);
}

void jsonw_s64(struct jsonw *w, int64_t v)
{
	element(w);
	fprintf(w->f, "%" PRId64, v);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	element(w);
	fputs(v ? "true" : "false", w->f);
}

void jsonw_null(struct jsonw *w)
{
	element(w);
	fputs("null", w->f);
}

void jsonw_string_field(struct jsonw *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_string_field_opt(struct jsonw *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	if (s && *s)
		jsonw_string(w, s);
	else
		jsonw_null(w);
}

void jsonw_u64_field(struct jsonw *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_u64(w, v);
}

void jsonw_s64_field(struct jsonw *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_s64(w, v);
}

void jsonw_bool_field(struct jsonw *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}
