// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keywords on tlsgatectl's command line: iproute2's prefix matching, and choosing one word of a
 * table with a clear message when the argument is unknown or ambiguous.
 */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

bool ctl_matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n && n <= strlen(word) && !strncmp(arg, word, n);
}

int ctl_choose(const char *arg, const struct ctl_word *words, const char *what)
{
	int id = -1, n = 0;

	for (const struct ctl_word *w = words; w->word; w++) {
		if (!strcmp(arg, w->word))
			return w->id;
		/* Aliases (same id) do not make a prefix ambiguous. */
		if (ctl_matches(arg, w->word) && w->id != id) {
			id = w->id;
			n++;
		}
	}
	if (n == 1)
		return id;
	fprintf(stderr, "tlsgatectl: %s %s '%s'; %s", n ? "ambiguous" : "unknown", what, arg,
		n ? "it could be" : "try");
	for (const struct ctl_word *w = words; w->word; w++)
		if (!n || ctl_matches(arg, w->word))
			fprintf(stderr, " %s", w->word);
	fputc('\n', stderr);
	return -1;
}
