/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TLSGATE_LIB_CONFFILE_H
#define TLSGATE_LIB_CONFFILE_H

#include <stdio.h>

/*
 * tlsgate.conf's lines, read as Postfix reads main.cf: "key = value", blank lines and lines
 * whose first non-blank is '#' skipped, and a line that starts with whitespace continues the
 * previous logical line (joined with one space).  The daemon (daemon/config.c) and the CLI
 * (ctl/conf.c) both read the file through this, so they cannot disagree about what a key holds.
 */

/*
 * Called once per logical line, in order, with the line number it started on, the key and the
 * value trimmed of surrounding whitespace.  A line without '=' comes as key = the whole line and
 * value = NULL.  The strings are the reader's: copy what is kept.  A non-zero return stops the
 * reading and is returned by tg_conf_parse.
 */
typedef int (*tg_conf_fn)(void *arg, unsigned int lineno, char *key, char *value);

/* Every logical line of f to fn.  Returns 0, fn's first non-zero result, or -ENOMEM. */
int tg_conf_parse(FILE *f, tg_conf_fn fn, void *arg);

/* "key = value" of one line (a `-o` override): key and value trimmed, value NULL without '='. */
void tg_conf_split(char *line, char **key, char **value);

/* s without leading and trailing whitespace (trailing is cut in place). */
char *tg_conf_trim(char *s);

#endif
