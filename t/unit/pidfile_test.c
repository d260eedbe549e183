/* pidfile_test - the locked pid file (shared/pidfile.c): held, stale, only ours removed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pidfile.h"
#include "tap.h"

static char *slurp(const char *path)
{
	static char buf[64];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/moat-pidfile.XXXXXX", path[256], moved[256], err[512];
	struct pidfile *a, *b;
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/d.pid", dir);
	snprintf(moved, sizeof(moved), "%s/d.pid.old", dir);

	/* A stale file: a number, nobody holding it. */
	fp = fopen(path, "w");
	fputs("999999999\n", fp);
	fclose(fp);
	a = pidfile_open(path, err, sizeof(err));
	ok(a != NULL, "a pid file nobody holds is taken, whatever pid it names");
	is_int(pidfile_write(a, 4242, err, sizeof(err)), 0, "...and written");
	is_str(slurp(path), "4242\n", "...replacing the old number");

	/* flock() locks belong to the open file: a second open is refused. */
	b = pidfile_open(path, err, sizeof(err));
	ok(b == NULL, "a held pid file refuses a second start");
	like_str(err, "is held by process 4242", "...naming the process");

	/* Moved aside, and another daemon's file in its place: not ours to remove. */
	rename(path, moved);
	b = pidfile_open(path, err, sizeof(err));
	ok(b != NULL, "a new file at the path is another daemon's");
	pidfile_remove(a);
	ok(access(path, F_OK) == 0, "stopping the first does not remove the second's file");
	pidfile_remove(b);
	ok(access(path, F_OK) != 0, "the second removes its own");
	pidfile_remove(NULL);

	/* Never through a symbolic link, never anything but a regular file. */
	symlink(moved, path);
	ok(pidfile_open(path, err, sizeof(err)) == NULL, "a symbolic link is refused");
	like_str(err, "cannot open the pid file", "...saying so");
	unlink(path);
	mkdir(path, 0700);
	ok(pidfile_open(path, err, sizeof(err)) == NULL, "a directory is refused");
	rmdir(path);

	unlink(moved);
	rmdir(dir);
	return done_testing();
}
