/*
 * listen_test - unix listening sockets (shared/listen.c): a live socket is
 * never taken, a dead one is replaced, publishing never replaces a file,
 * and only our own socket is removed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/listen.h"
#include "tap.h"

static ino_t inode(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/* A socket bound at path and then closed: what a crash leaves. */
static void dead_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/moat-listen.XXXXXX", spec[200], tmp[200], err[512];
	struct listen_addr a, b;
	int fa, fb;
	ino_t ino;
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(spec, sizeof(spec), "unix:%s/s.sock", dir);
	is_int(listen_parse(spec, &a, err, sizeof(err)), 0, "parse %s", spec);
	b = a;

	fa = listen_open(&a, 8, err, sizeof(err));
	ok(fa >= 0, "A listens on a fresh path");
	ino = inode(a.path);
	listen_unix_tmp(&a, tmp, sizeof(tmp));
	ok(access(tmp, F_OK) != 0, "...and its temporary name is gone");

	fb = listen_open(&b, 8, err, sizeof(err));
	ok(fb < 0, "B is refused while A listens");
	like_str(err, "is in use by another process", "...because the socket is in use");
	is_int(inode(a.path), ino, "...and A's socket is untouched");
	ok(access(tmp, F_OK) != 0, "...and B left nothing behind");

	/* Someone else's socket at the path: publishing never replaces it. */
	is_int(listen_unix_publish(&b, err, sizeof(err)), -1, "publishing over a file fails");

	/* The path removed by hand and taken by B: A must not remove B's socket. */
	unlink(a.path);
	fb = listen_open(&b, 8, err, sizeof(err));
	ok(fb >= 0, "with A's path removed, B listens there");
	close(fa);
	listen_unix_remove(&a);
	ok(inode(b.path) != 0 && inode(b.path) == b.ino, "A's exit leaves B's socket");
	close(fb);
	listen_unix_remove(&b);
	ok(access(b.path, F_OK) != 0, "B's exit removes its own");

	/* A crash leaves a socket nobody answers on: it is replaced. */
	dead_socket(a.path);
	ok(access(a.path, F_OK) == 0, "a dead socket is there");
	fa = listen_open(&a, 8, err, sizeof(err));
	ok(fa >= 0, "...and a new start replaces it");
	close(fa);
	listen_unix_remove(&a);

	/* Any other file at the path is never removed. */
	fp = fopen(a.path, "w");
	fclose(fp);
	ok(listen_open(&a, 8, err, sizeof(err)) < 0, "a regular file at the path is refused");
	like_str(err, "exists and is not a socket", "...saying so");
	ok(access(a.path, F_OK) == 0, "...and kept");
	unlink(a.path);

	/* The temporary name takes room from sun_path: the limit says so. */
	memset(spec, 'x', sizeof(spec) - 1);
	memcpy(spec, "unix:/", 6);
	spec[5 + sizeof(a.path)] = '\0';
	ok(listen_parse(spec, &a, err, sizeof(err)) < 0, "a path of %zu bytes is refused",
	   sizeof(a.path));
	spec[5 + sizeof(a.path) - 1] = '\0';
	is_int(listen_parse(spec, &a, err, sizeof(err)), 0, "one of %zu bytes is accepted",
	       sizeof(a.path) - 1);

	rmdir(dir);
	return done_testing();
}
