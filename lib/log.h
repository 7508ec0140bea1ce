/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging: one line per event, key=value, greppable (OpenSMTPD style):
 *   log_info("smtp session=%s peer=%s event=tls-established version=%s cipher=%s", ...);
 * Lines go to stderr (journald picks them up under systemd) and optionally to syslog.
 */
#ifndef TLSGATE_LIB_LOG_H
#define TLSGATE_LIB_LOG_H

#include <stdarg.h>

enum tg_log_level {
	TG_LOG_ERR = 0,
	TG_LOG_WARN,
	TG_LOG_INFO,
	TG_LOG_DEBUG,
};

/* ident: program name in each line; to_syslog: also send to syslog(3). */
void tg_log_init(const char *ident, int to_syslog);
void tg_log_set_level(enum tg_log_level level);
enum tg_log_level tg_log_get_level(void);
/* "err", "warn", "info", "debug" -> level; -EINVAL for anything else. */
int tg_log_level_parse(const char *s);
const char *tg_log_level_name(enum tg_log_level level);

void tg_log(enum tg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tg_vlog(enum tg_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_err(...) tg_log(TG_LOG_ERR, __VA_ARGS__)
#define log_warn(...) tg_log(TG_LOG_WARN, __VA_ARGS__)
#define log_info(...) tg_log(TG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)

#endif
