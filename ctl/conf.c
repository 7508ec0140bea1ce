// SPDX-License-Identifier: GPL-2.0-only
/*
 * Picking a few keys out of tlsgate.conf (ctl/conf.h).
 */
#include "ctl/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/print.h"

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int ctl_conf_read(const char *file, const char *const *keys, char **values)
{
	const char *path = file ? file : CTL_CONF_DEFAULT;
	char *line = NULL, **cur = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f) {
		if (!file && errno == ENOENT)
			return 0;
		return ctl_fail(path, -errno, NULL);
	}
	while (getline(&line, &cap, f) >= 0) {
		char *t, *eq, **dst = NULL;

		line[strcspn(line, "\r\n")] = '\0';
		t = trim(line);
		if (!*t || *t == '#')
			continue;
		if (isspace((unsigned char)line[0]) && cur && *cur) {
			char *n = NULL;

			if (asprintf(&n, "%s %s", *cur, t) < 0) {
				rc = ctl_fail(path, -ENOMEM, NULL);
				break;
			}
			free(*cur);
			*cur = n;
			continue;
		}
		cur = NULL;
		eq = strchr(t, '=');
		if (!eq)
			continue; /* the daemon reports it; not our business here */
		*eq = '\0';
		t = trim(t);
		for (size_t i = 0; keys[i]; i++)
			if (!strcmp(t, keys[i]))
				dst = &values[i];
		if (!dst)
			continue;
		free(*dst);
		*dst = strdup(trim(eq + 1));
		if (!*dst) {
			rc = ctl_fail(path, -ENOMEM, NULL);
			break;
		}
		cur = dst;
	}
	free(line);
	fclose(f);
	return rc;
}
