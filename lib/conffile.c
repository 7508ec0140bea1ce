// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgate.conf's logical lines (lib/conffile.h).
 */
#include "lib/conffile.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *tg_conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void tg_conf_split(char *line, char **key, char **value)
{
	char *eq = strchr(line, '=');

	*value = NULL;
	if (eq) {
		*eq = '\0';
		*value = tg_conf_trim(eq + 1);
	}
	*key = tg_conf_trim(line);
}

static int emit(tg_conf_fn fn, void *arg, unsigned int lineno, char *logical)
{
	char *key, *value;

	tg_conf_split(logical, &key, &value);
	return fn(arg, lineno, key, value);
}

int tg_conf_parse(FILE *f, tg_conf_fn fn, void *arg)
{
	char *line = NULL, *logical = NULL;
	unsigned int lineno = 0, start = 0;
	size_t cap = 0;
	int rc = 0;

	while (getline(&line, &cap, f) >= 0) {
		char *t;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		t = tg_conf_trim(line);
		if (!*t || *t == '#')
			continue;
		if (isspace((unsigned char)line[0]) && logical) {
			char *n = NULL;

			if (asprintf(&n, "%s %s", logical, t) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			free(logical);
			logical = n;
			continue;
		}
		if (logical && (rc = emit(fn, arg, start, logical)))
			goto out;
		free(logical);
		logical = strdup(t);
		start = lineno;
		if (!logical) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (logical)
		rc = emit(fn, arg, start, logical);
out:
	free(line);
	free(logical);
	return rc;
}
