/* conf_test - moat.conf parsing (shared/conf.c): syntax, types, errors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "tap.h"

static char path[] = "/tmp/moat-conf-test.XXXXXX";
static char err[1024];

/* Write text to the temp file and load it with the given overrides. */
static struct conf *load(const char *text, int nov, char **ov)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	return conf_load(path, 1, ov, nov, err, sizeof(err));
}

/* conf_load_lenient: moatctl's commands go on past a bad line, with its default. */
static void test_lenient(void)
{
	struct conf *cf;
	char *ov[1];
	int n = -1;

	conf_free(load("", 0, NULL));
	cf = load("policy_idle_timeout = 10\n"
		  "policy_lisen = inet:127.0.0.1:1\n"
		  "greylist_delay = 10 minutes\n"
		  "  continued\n"
		  "no equals sign\n"
		  "state_directory = /var/tmp/moat-y\n",
		  0, NULL);
	ok(cf == NULL, "strict: a bad line is an error");
	conf_free(cf);
	cf = conf_load_lenient(path, 1, NULL, 0, &n, err, sizeof(err));
	ok(cf != NULL, "lenient: the same file loads");
	is_int(n, 3, "...with a warning for each of the 3 bad lines");
	is_int(cf ? conf_num(cf, "greylist_delay") : -1, 300, "...a bad value is the default");
	ok(cf && !conf_is_set(cf, "greylist_delay"), "...and no longer counts as set");
	is_int(cf ? conf_num(cf, "policy_idle_timeout") : -1, 10, "...the good lines are read");
	is_str(cf ? conf_str(cf, "state_directory") : NULL, "/var/tmp/moat-y",
	       "...before and after the bad ones");
	conf_free(cf);
	ov[0] = "greylist_delay=lots";
	cf = conf_load_lenient(path, 1, ov, 1, &n, err, sizeof(err));
	ok(cf == NULL, "lenient: a bad -o value is still an error");
	like_str(err, "-o greylist_delay=lots", "...naming it");
	conf_free(cf);
	load("state_directory = ${oops\n", 0, NULL);
	cf = conf_load_lenient(path, 1, NULL, 0, &n, err, sizeof(err));
	ok(cf != NULL, "lenient: a bad value that a default names (database_path's $state_directory)");
	like_str(cf ? conf_str(cf, "database_path") : "", "/moat.db",
		 "...the default then expands the default, not the bad value");
	conf_free(cf);
	cf = conf_load_lenient("/nonexistent/moat.conf", 1, NULL, 0, &n, err, sizeof(err));
	ok(cf == NULL, "lenient: a missing -c file is still an error");
	conf_free(cf);
}

int main(void)
{
	struct conf *cf;
	int fd = mkstemp(path);
	char *ov[4];

	close(fd);

	/* Defaults with no file at all. */
	cf = conf_load("/nonexistent/moat.conf", 0, NULL, 0, err, sizeof(err));
	ok(cf != NULL, "a missing default file is fine: everything has a default");
	is_str(conf_str(cf, "policy_listen"), "inet:127.0.0.1:10040", "default policy_listen");
	is_str(conf_str(cf, "milter_listen"), "inet:127.0.0.1:11332", "default milter_listen");
	like_str(conf_str(cf, "database_path"), "/moat.db", "database under the state directory");
	ok(!conf_is_set(cf, "policy_listen"), "defaults are not 'set'");
	conf_free(cf);
	cf = conf_load("/nonexistent/moat.conf", 1, NULL, 0, err, sizeof(err));
	ok(cf == NULL, "a missing file given with -c is an error");
	like_str(err, "/nonexistent/moat.conf", "...naming the file");

	/* Syntax: comments, blank lines, continuation, expansion. */
	cf = load("# comment\n"
		  "\n"
		  "state_directory = /var/tmp/moat-x\n"
		  "   # indented comment\n"
		  "database_path = $state_directory/db/${state_directory}\n"
		  "policy_listen =\n"
		  "    inet:127.0.0.1:12345\n"
		  "policy_idle_timeout = 2m\n"
		  "policy_request_limit = 64k\n"
		  "syslog_facility = LOCAL3\n",
		  0, NULL);
	ok(cf != NULL, "valid file loads");
	if (cf == NULL)
		printf("# %s\n", err);
	is_str(conf_str(cf, "database_path"), "/var/tmp/moat-x/db//var/tmp/moat-x",
	       "$name and ${name} expand");
	is_str(conf_str(cf, "policy_listen"), "inet:127.0.0.1:12345", "continuation line joined");
	is_int(conf_num(cf, "policy_idle_timeout"), 120, "time units: 2m = 120 s");
	is_int(conf_num(cf, "policy_request_limit"), 65536, "size units: 64k");
	ok(conf_is_set(cf, "policy_listen"), "set settings are marked");
	conf_free(cf);

	cf = load("state_directory = /a\ndatabase_path = $(state_directory)/x$$y\n", 0, NULL);
	is_str(cf ? conf_str(cf, "database_path") : NULL, "/a/x$y", "$(name) expands, $$ is '$'");
	conf_free(cf);

	/* Later lines win, -o wins over the file. */
	ov[0] = "policy_idle_timeout=30";
	cf = load("policy_idle_timeout = 10\npolicy_idle_timeout = 20\n", 1, ov);
	is_int(cf ? conf_num(cf, "policy_idle_timeout") : -1, 30, "-o overrides the file");
	conf_free(cf);
	cf = load("policy_idle_timeout = 10\npolicy_idle_timeout = 20\n", 0, NULL);
	is_int(cf ? conf_num(cf, "policy_idle_timeout") : -1, 20, "the last line wins");
	conf_free(cf);

	/* Errors name the file and the line. */
	cf = load("\n# x\npolicy_listen = inet:127.0.0.1:1\nno_such_thing = 1\n", 0, NULL);
	ok(cf == NULL, "unknown name is an error");
	like_str(err, ", line 4: unknown setting \"no_such_thing\"", "...naming line 4");
	like_str(err, path, "...and the file");

	cf = load("policy_idle_timeout = soon\n", 0, NULL);
	ok(cf == NULL, "bad time is an error");
	like_str(err, "line 1: policy_idle_timeout = soon: expected a time", "...explained");

	cf = load("\n\npolicy_attribute_limit = 3\n", 0, NULL);
	ok(cf == NULL, "number out of range is an error");
	like_str(err, "line 3: policy_attribute_limit = 3: out of range", "...explained");

	cf = load("policy_listen = tcp:1.2.3.4\n", 0, NULL);
	ok(cf == NULL, "bad listen address is an error");
	like_str(err, "expected inet:HOST:PORT or unix:/PATH", "...explained");

	cf = load("policy_listen = inet:127.0.0.1:99999\n", 0, NULL);
	ok(cf == NULL, "port out of range is an error");

	cf = load("syslog_facility = kern\n", 0, NULL);
	ok(cf == NULL, "facility not in the list is an error");
	like_str(err, "expected one of", "...listing the choices");

	cf = load("this line has no equals sign\n", 0, NULL);
	ok(cf == NULL, "line without '=' is an error");
	like_str(err, "line 1: missing '='", "...explained");

	cf = load("    indented = 1\n", 0, NULL);
	ok(cf == NULL, "continuation without a setting is an error");

	cf = load("database_path = $nosuch/x\n", 0, NULL);
	ok(cf == NULL, "$name of an unknown setting is an error");
	like_str(err, "$nosuch names no known setting", "...explained");

	cf = load("state_directory = $database_path\n", 0, NULL);
	ok(cf == NULL, "expansion loop is an error, not a hang");
	like_str(err, "nested too deep", "...explained");

	/* Found by fuzzing: empty values referring to each other 40 times a
	 * line, six deep, took 40^6 expansions (a hang) though nothing grew. */
	{
		char data[512];
		const char *src = getenv("MOAT_SRCDIR");

		snprintf(data, sizeof(data), "%s/t/data/fuzz/conf/expansion-blowup.conf",
			 src ? src : "..");
		cf = conf_load(data, 1, NULL, 0, err, sizeof(err));
		ok(cf == NULL, "exponential $name expansion is an error, not a hang");
		like_str(err, "more than 1000 $name expansions", "...explained");
		conf_free(cf);
	}

	cf = load("database_path = ${state_directory\n", 0, NULL);
	ok(cf == NULL, "unclosed ${ is an error");

	ov[0] = "bogus=1";
	cf = load("", 1, ov);
	ok(cf == NULL, "unknown -o name is an error");
	like_str(err, "-o bogus=1: unknown setting", "...naming the -o");

	ov[0] = "policy_idle_timeout=x";
	cf = load("", 1, ov);
	ok(cf == NULL, "bad -o value is an error");
	like_str(err, "-o policy_idle_timeout=x", "...naming the -o");

	{
		/* Very long value: an error, not a crash or truncation. */
		size_t n = 70000;
		char *big = malloc(n + 64);

		strcpy(big, "database_path = ");
		memset(big + strlen(big), 'a', n);
		strcpy(big + 16 + n, "\n");
		cf = load(big, 0, NULL);
		ok(cf == NULL, "over-long line is an error");
		free(big);
	}

	cf = load("policy_listen = unix:/run/moat/policy.sock\n", 0, NULL);
	ok(cf != NULL, "unix: socket accepted");
	conf_free(cf);
	cf = load("policy_listen = inet:[::1]:10040\n", 0, NULL);
	ok(cf != NULL, "bracketed IPv6 listen address accepted");
	conf_free(cf);
	cf = load("policy_listen = inet:::1:10040\n", 0, NULL);
	ok(cf == NULL, "unbracketed IPv6 rejected with a hint");

	/*
	 * A socket mode is checked when the file is read, with its file and line,
	 * not later by the daemons alone (the trial's README line with a trailing
	 * comment passed "moatctl config" and stopped both daemons).
	 */
	cf = load("# sockets\nunix_socket_mode = 0640\n", 0, NULL);
	ok(cf != NULL && conf_num(cf, "unix_socket_mode") == 0640, "unix_socket_mode 0640 read");
	conf_free(cf);
	cf = load("unix_socket_mode = 660\n", 0, NULL);
	ok(cf != NULL && conf_num(cf, "unix_socket_mode") == 0660, "...660 without the 0 too");
	conf_free(cf);
	cf = load("\nunix_socket_mode = 0660          # the defaults: rw for the owner\n", 0, NULL);
	ok(cf == NULL, "a mode with a trailing comment is an error");
	like_str(err, ", line 2: unix_socket_mode = 0660          # the defaults",
	         "...naming file and line");
	like_str(err, "expected an octal mode like 0660", "...explained");
	like_str(err, "put comments on their own lines", "...with the trailing-comment hint");
	cf = load("unix_socket_mode = 0899\n", 0, NULL);
	ok(cf == NULL, "a non-octal mode is an error");
	cf = load("unix_socket_mode = 01777\n", 0, NULL);
	ok(cf == NULL, "a mode over 0777 is an error");
	cf = load("unix_socket_mode = 000000000000000000000660\n", 0, NULL);
	ok(cf == NULL, "an over-long mode is an error");
	cf = load("database_path = $state_directory/moat.db   # $name expands\n", 0, NULL);
	ok(cf == NULL, "a $name in a trailing comment is an error");
	like_str(err, "$name names no known setting (a '#' after a value is part of it",
	         "...with the trailing-comment hint");
	cf = load("greylist_delay = 5m # five minutes\n", 0, NULL);
	ok(cf == NULL, "a time with a trailing comment is an error");
	like_str(err, "put comments on their own lines", "...with the hint");
	cf = load("greylist_delay = 5x\n", 0, NULL);
	ok(cf == NULL && strstr(err, "own lines") == NULL, "no hint without a '#'");

	unlink(path);
	test_lenient();
	return done_testing();
}
