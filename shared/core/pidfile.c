/*
 * pidfile - a locked process id file; see pidfile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/pidfile.h"

struct pidfile {
	int fd;
	char *path;
};

/* The process id written in fd, or 0. The file is ours to read: a few bytes. */
static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

struct pidfile *pidfile_open(const char *path, char *err, size_t errlen)
{
	struct pidfile *pf;
	struct stat st;
	int fd;

	/*
	 * Opened as root, perhaps in a directory run_as may write: never
	 * through a symbolic link, and never anything but a regular file.
	 */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the pid file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "pid file %s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = read_pid(fd);

		if (e == EWOULDBLOCK)
			snprintf(err, errlen,
				 "pid file %s is held by process %ld: it is running"
				 " already",
				 path, pid);
		else
			snprintf(err, errlen, "cannot lock the pid file %s: %s", path, strerror(e));
		close(fd);
		return NULL;
	}
	pf = xcalloc(1, sizeof(*pf));
	pf->fd = fd;
	pf->path = xstrdup(path);
	return pf;
}

int pidfile_write(struct pidfile *pf, pid_t pid, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write the pid file %s: %s", pf->path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void pidfile_remove(struct pidfile *pf)
{
	struct stat ours, there;

	if (pf == NULL)
		return;
	/*
	 * Only our file: an admin may have moved it aside and started another
	 * daemon. Where run_as may not remove it (a directory of root's), it
	 * is emptied instead, and the next start replaces it anyway.
	 */
	if (fstat(pf->fd, &ours) == 0 && lstat(pf->path, &there) == 0 &&
	    ours.st_dev == there.st_dev && ours.st_ino == there.st_ino && unlink(pf->path) < 0)
		(void)!ftruncate(pf->fd, 0);
	close(pf->fd);
	free(pf->path);
	free(pf);
}
