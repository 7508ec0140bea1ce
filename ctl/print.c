// SPDX-License-Identifier: GPL-2.0-only
/* tlsgatectl: shared error reporting, connection, and formatting (see ctl_print.h). */
#include "ctl/print.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/runfile.h"

int ctl_fail(const char *what, int err, const char *msg)
{
	fprintf(stderr, "tlsgatectl: %s: %s\n", what, msg && msg[0] ? msg : strerror(-err));
	return 1;
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tlsgatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

struct jsonw *ctl_json(const struct ctl_opts *o)
{
	struct jsonw *w = jsonw_new(stdout);

	if (w)
		jsonw_pretty(w, o->pretty);
	return w;
}

int ctl_json_ok(const struct ctl_opts *o, const char *msg)
{
	struct jsonw *w = ctl_json(o);

	if (!w)
		return -ENOMEM;
	jsonw_start_object(w);
	jsonw_string_field(w, "result", "ok");
	if (msg[0])
		jsonw_string_field(w, "message", msg);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	return 0;
}

const char *ctl_tls_version_name(uint32_t v, char *buf, size_t len)
{
	switch (v) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	default:
		snprintf(buf, len, "0x%04x", v);
		return buf;
	}
}

void ctl_time_str(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned int)(ms % 1000));
}

void ctl_duration_str(uint64_t s, char *buf, size_t len)
{
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

	if (d)
		snprintf(buf, len, "%llud %lluh %llum %llus", d, h, m, sec);
	else if (h)
		snprintf(buf, len, "%lluh %llum %llus", h, m, sec);
	else if (m)
		snprintf(buf, len, "%llum %llus", m, sec);
	else
		snprintf(buf, len, "%llus", sec);
}

void ctl_endpoint_str(const char *name, const char *addr, uint16_t port, char *buf, size_t len)
{
	bool v6 = addr && strchr(addr, ':');

	if (!addr)
		addr = "?";
	if (name)
		snprintf(buf, len, "%s[%s]:%u", name, addr, port);
	else if (v6)
		snprintf(buf, len, "[%s]:%u", addr, port);
	else
		snprintf(buf, len, "%s:%u", addr, port);
}

/* Append to buf what fmt says, never past len. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void protocols_str(const struct nlproto_rule *r, char *buf, size_t len)
{
	char a[16], b[16];

	buf[0] = '\0';
	if (r->protocols) {
		snprintf(buf, len, "%s", r->protocols);
		return;
	}
	if (r->min_version)
		appendf(buf, len, ">=%s", ctl_tls_version_name(r->min_version, a, sizeof(a)));
	if (r->max_version)
		appendf(buf, len, "%s<=%s", r->min_version ? ":" : "",
			ctl_tls_version_name(r->max_version, b, sizeof(b)));
}

void ctl_rule_line(const struct nlproto_rule *r, char *buf, size_t len)
{
	char proto[NLPROTO_STR_MAX];

	/* The daemon's own rendering (policy_rule_format) when it sends one. */
	if (r->text) {
		snprintf(buf, len, "%s", r->text);
		return;
	}
	buf[0] = '\0';
	appendf(buf, len, "%s %s", r->key, r->level);
	protocols_str(r, proto, sizeof(proto));
	if (proto[0])
		appendf(buf, len, " protocols=%s", proto);
	if (r->ciphers)
		appendf(buf, len, " ciphers=%s", r->ciphers);
	if (r->exclude)
		appendf(buf, len, " exclude=%s", r->exclude);
	/* Postfix separates match patterns with ':' */
	for (size_t i = 0; i < r->nmatch; i++)
		appendf(buf, len, "%s%s", i ? ":" : " match=", r->match[i]);
	if (r->servername)
		appendf(buf, len, " servername=%s", r->servername);
}

void ctl_print_rule(const struct nlproto_rule *r)
{
	char line[NLPROTO_LINE_MAX];

	ctl_rule_line(r, line, sizeof(line));
	printf("%s\t# id %u %s", line, r->id, nlproto_dir_name(r->dir));
	if (r->file)
		printf(" %s:%u", r->file, r->line);
	/* the table's mode: the line itself says mode=monitor when the rule does */
	if (r->mode && !strcmp(r->mode, "monitor") && !strstr(line, "mode=monitor"))
		printf(" mode=monitor (the table's *_policy_mode)");
	putchar('\n');
}

void ctl_json_rule(struct jsonw *w, const struct nlproto_rule *r)
{
	char proto[NLPROTO_STR_MAX];

	jsonw_start_object(w);
	jsonw_u64_field(w, "id", r->id);
	jsonw_string_field(w, "dir", nlproto_dir_name(r->dir));
	jsonw_string_field(w, "key", r->key);
	if (r->key_type)
		jsonw_string_field(w, "key_type", r->key_type);
	if (r->port)
		jsonw_u64_field(w, "port", r->port);
	jsonw_string_field(w, "level", r->level);
	jsonw_string_field(w, "mode", r->mode ? r->mode : "enforce");
	protocols_str(r, proto, sizeof(proto));
	if (proto[0])
		jsonw_string_field(w, "protocols", proto);
	if (r->ciphers)
		jsonw_string_field(w, "ciphers", r->ciphers);
	if (r->exclude)
		jsonw_string_field(w, "exclude", r->exclude);
	if (r->nmatch) {
		jsonw_name(w, "match");
		jsonw_start_array(w);
		for (size_t i = 0; i < r->nmatch; i++)
			jsonw_string(w, r->match[i]);
		jsonw_end_array(w);
	}
	if (r->servername)
		jsonw_string_field(w, "servername", r->servername);
	if (r->file) {
		jsonw_string_field(w, "file", r->file);
		jsonw_u64_field(w, "line", r->line);
	}
	if (r->text)
		jsonw_string_field(w, "text", r->text);
	jsonw_end_object(w);
}

void ctl_json_session_fields(struct jsonw *w, const struct nlproto_session *s)
{
	char t[40];

	jsonw_u64_field(w, "id", s->id);
	jsonw_string_field(w, "role", nlproto_dir_name(s->role));
	jsonw_string_field_opt(w, "client_addr", s->client_addr);
	jsonw_u64_field(w, "client_port", s->client_port);
	jsonw_string_field_opt(w, "dest_name", s->dest_name);
	jsonw_string_field_opt(w, "dest_addr", s->dest_addr);
	jsonw_u64_field(w, "dest_port", s->dest_port);
	jsonw_string_field_opt(w, "state", s->state);
	jsonw_string_field_opt(w, "tls_version", s->tls_version);
	jsonw_string_field_opt(w, "cipher", s->cipher);
	if (s->tls_version)
		jsonw_bool_field(w, "tls_resumed", s->tls_resumed);
	jsonw_string_field_opt(w, "ktls_tx", s->ktls_tx);
	jsonw_string_field_opt(w, "ktls_kernel", s->ktls_conf);
	jsonw_string_field_opt(w, "ktls_rx", s->ktls_rx);
	if (s->conn_uses > 1)
		jsonw_u64_field(w, "connection_uses", s->conn_uses);
	if (s->rule_id)
		jsonw_u64_field(w, "rule", s->rule_id);
	jsonw_string_field_opt(w, "level", s->level);
	jsonw_u64_field(w, "bytes_c2s", s->bytes_c2s);
	jsonw_u64_field(w, "bytes_s2c", s->bytes_s2c);
	ctl_time_str(s->start_ms, t, sizeof(t));
	jsonw_string_field(w, "start", t);
}
