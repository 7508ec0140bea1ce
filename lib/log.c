// SPDX-License-Identifier: GPL-2.0-only
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum tg_log_level cur_level = TG_LOG_INFO;
static const char *log_ident = "tlsgate";
static int log_syslog;

static const char *const level_names[] = {
	[TG_LOG_ERR] = "err",
	[TG_LOG_WARN] = "warn",
	[TG_LOG_INFO] = "info",
	[TG_LOG_DEBUG] = "debug",
};

void tg_log_init(const char *ident, int to_syslog)
{
	log_ident = ident;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void tg_log_set_level(enum tg_log_level level)
{
	cur_level = level;
}

enum tg_log_level tg_log_get_level(void)
{
	return cur_level;
}

int tg_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(s, level_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *tg_log_level_name(enum tg_log_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

void tg_vlog(enum tg_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int saved = errno;

	if (level > cur_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_syslog)
		syslog(prio[level], "%s", line);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s: %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		log_ident, level_names[level], line);
	errno = saved;
}

void tg_log(enum tg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_vlog(level, fmt, ap);
	va_end(ap);
}
