/*
 * pidfile - the file an init script finds a daemon's process id in
 * (start-stop-daemon --pidfile), as Postfix's master.pid.
 *
 * The daemon holds an flock() on the file for as long as it runs, so a
 * file nobody holds is stale whatever number it contains (the process may
 * be gone and its id reused): it is replaced. A held file refuses a second
 * start, naming the process that holds it.
 */
#ifndef MOAT_PIDFILE_H
#define MOAT_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

struct pidfile;

/*
 * Open and lock path (before detaching: the lock passes to the child);
 * NULL with err when another process holds it or it cannot be used.
 */
struct pidfile *pidfile_open(const char *path, char *err, size_t errlen);
/* Write the daemon's process id; -1 with err. */
int pidfile_write(struct pidfile *pf, pid_t pid, char *err, size_t errlen);
/* At a clean stop: remove the file if it is still ours, and free (NULL is fine). */
void pidfile_remove(struct pidfile *pf);

#endif
