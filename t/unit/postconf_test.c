/*
 * postconf_test - postconf_get() against a real postconf(1) with a private
 * main.cf, and against stand-in commands for the failures it must survive.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/postconf.h"
#include "tap.h"

static char dir[] = "/tmp/moat-postconf-XXXXXX";

static void write_file(const char *name, const char *text, int mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

/* Point MOAT_POSTCONF at "PREFIX<dir>SUFFIX". */
static void use(const char *prefix, const char *suffix)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s%s%s", prefix, dir, suffix);
	setenv("MOAT_POSTCONF", cmd, 1);
}

int main(void)
{
	char buf[64];

	if (mkdtemp(dir) == NULL)
		return 1;

	if (access("/usr/sbin/postconf", X_OK) == 0) {
		write_file("main.cf",
		           "myhostname = mx.unit.test\nmynetworks = 192.0.2.0/24, "
		           "$myhostname\ncompatibility_level = 3.6\n",
		           0644);
		use("/usr/sbin/postconf -c ", "");
		ok(postconf_get("myhostname", buf, sizeof(buf)) == 0 &&
		       strcmp(buf, "mx.unit.test") == 0,
		   "real postconf -c: myhostname is %s", buf);
		ok(postconf_get("mynetworks", buf, sizeof(buf)) == 0 &&
		       strcmp(buf, "192.0.2.0/24, mx.unit.test") == 0,
		   "postconf does the $name expansion: %s", buf);
		ok(postconf_get("no_such_parameter_anywhere", buf, sizeof(buf)) == -1 &&
		       buf[0] == '\0',
		   "an unknown parameter is -1 and empty");
	} else {
		tap_skip("no /usr/sbin/postconf");
	}

	write_file("long", "#!/bin/sh\nprintf 'abcdefghijklmnopqrstuvwxyz0123456789%%0200d\\n' 0\n",
	           0755);
	use("", "/long");
	ok(postconf_get("x", buf, 8) == 0 && strcmp(buf, "abcdefg") == 0,
	   "a value longer than the buffer is cut, NUL-terminated: %s", buf);

	write_file("fail", "#!/bin/sh\necho partial\nexit 1\n", 0755);
	use("", "/fail");
	ok(postconf_get("x", buf, sizeof(buf)) == -1 && buf[0] == '\0',
	   "a failing postconf gives -1 and an empty value");

	use("", "/absent");
	ok(postconf_get("x", buf, sizeof(buf)) == -1, "a missing command gives -1");

	write_file("hang", "#!/bin/sh\nexec sleep 60\n", 0755);
	use("", "/hang");
	time_t t0 = time(NULL);
	int r = postconf_get("x", buf, sizeof(buf));
	long took = (long)(time(NULL) - t0);
	ok(r == -1 && took >= 4 && took < 15,
	   "a hanging postconf is killed after its timeout (%lds)", took);

	char rm[300];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		return 1;
	return done_testing();
}
