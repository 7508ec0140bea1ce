// SPDX-License-Identifier: GPL-2.0-only
/*
 * lib/conffile.c: tlsgate.conf's logical lines, and that the daemon (config_load) and the CLI
 * (ctl_conf_read) read the same file the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/conf.h"
#include "daemon/config.h"
#include "lib/conffile.h"

struct seen {
	char text[1024];
	int stop_at; /* line number whose callback fails, 0 = none */
};

static int record(void *arg, unsigned int lineno, char *key, char *value)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%u:[%s]=%s%s%s;", lineno, key,
		 value ? "[" : "", value ? value : "NULL", value ? "]" : "");
	return s->stop_at && (int)lineno == s->stop_at ? -EINVAL : 0;
}

static FILE *mem(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	return f;
}

static void test_logical_lines(void **state)
{
	const char *text = "# comment\r\n"
			   "\n"
			   "a = 1\r\n"
			   "  b=2\n" /* a continuation, though it looks like a key */
			   "c =\t x y \n"
			   "   # an indented comment is still a comment\n"
			   "   z\n"
			   "no equals here\n"
			   "d= last";
	struct seen s = { .text = "" };
	FILE *f = mem(text);

	(void)state;
	assert_int_equal(tg_conf_parse(f, record, &s), 0);
	fclose(f);
	assert_string_equal(s.text, "3:[a]=[1 b=2];"
				    "5:[c]=[x y z];"
				    "8:[no equals here]=NULL;"
				    "9:[d]=[last];");
}

static void test_stop_and_leading_continuation(void **state)
{
	const char *text = "  lead = 0\n"
			   "x = 1\n"
			   "y = 2\n"
			   "z = 3\n";
	struct seen s = { .text = "", .stop_at = 3 };
	FILE *f = mem(text);

	(void)state;
	/* a first line that starts with blanks has nothing to continue: it is a line of its own */
	assert_int_equal(tg_conf_parse(f, record, &s), -EINVAL);
	fclose(f);
	assert_string_equal(s.text, "1:[lead]=[0];2:[x]=[1];3:[y]=[2];");
}

static void test_split(void **state)
{
	char a[] = "  key  =  v = w  ", b[] = " lone ";
	char *k, *v;

	(void)state;
	tg_conf_split(a, &k, &v);
	assert_string_equal(k, "key");
	assert_string_equal(v, "v = w");
	tg_conf_split(b, &k, &v);
	assert_string_equal(k, "lone");
	assert_null(v);
}

/*
 * The CLI and the daemon agree on a continued value, also where the continuation holds '=':
 * the CLI's own reader used to take "  dns_server = 192.0.2.9" after a key it was not asked for
 * as a key of its own, so `dane check` asked a server the daemon never uses.
 */
static void test_ctl_reads_as_daemon(void **state)
{
	char path[] = "/tmp/test_conffile.XXXXXX";
	const char *text = "hostname = gw.example.net\n"
			   "tlsrpt_organization = Example Org\n"
			   "  dns_server = 192.0.2.9\n"
			   "own_mail_servers = mx1.example.net\n"
			   "\tmx2.example.net\n";
	const char *keys[] = { "dns_server", "own_mail_servers", NULL };
	char *values[2] = { NULL, NULL }, err[256];
	struct config c;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(ctl_conf_read(path, keys, values), 0);
	assert_null(values[0]);
	assert_string_equal(values[1], "mx1.example.net mx2.example.net");
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, NULL, err, sizeof(err)), 0);
	assert_true(!c.dns_server || !*c.dns_server);
	assert_string_equal(c.tlsrpt_organization, "Example Org dns_server = 192.0.2.9");
	assert_string_equal(c.own_mail_servers, values[1]);
	config_free(&c);
	for (int i = 0; i < 2; i++)
		free(values[i]);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logical_lines),
		cmocka_unit_test(test_stop_and_leading_continuation),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_ctl_reads_as_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
