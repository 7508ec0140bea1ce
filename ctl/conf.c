// SPDX-License-Identifier: GPL-2.0-only
/*
 * Picking a few keys out of tlsgate.conf (ctl/conf.h), read as the daemon reads it
 * (lib/conffile.h).
 */
#include "ctl/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/print.h"
#include "lib/conffile.h"

struct pick {
	const char *const *keys;
	char **values;
};

static int pick_line(void *arg, unsigned int lineno, char *key, char *value)
{
	struct pick *p = arg;

	(void)lineno;
	if (!value)
		return 0; /* the daemon reports it; not our business here */
	for (size_t i = 0; p->keys[i]; i++) {
		if (strcmp(key, p->keys[i]))
			continue;
		free(p->values[i]);
		p->values[i] = strdup(value);
		if (!p->values[i])
			return -ENOMEM;
	}
	return 0;
}

int ctl_conf_read(const char *file, const char *const *keys, char **values)
{
	const char *path = file ? file : CTL_CONF_DEFAULT;
	struct pick p = { .keys = keys, .values = values };
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		if (!file && errno == ENOENT)
			return 0;
		return ctl_fail(path, -errno, NULL);
	}
	rc = tg_conf_parse(f, pick_line, &p);
	fclose(f);
	return rc ? ctl_fail(path, rc, NULL) : 0;
}
