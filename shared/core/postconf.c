/*
 * postconf - Postfix's value of one main.cf parameter; see postconf.h.
 *
 * The value comes from running "postconf -hx NAME" rather than parsing
 * main.cf ourselves: postconf knows the defaults, the $name expansion and
 * the -c config directory, and a second parser would drift from Postfix's.
 * Bounded: the answer is cut at outlen, and a postconf that does not finish
 * within a few seconds is killed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/postconf.h"

#define POSTCONF_TIMEOUT_MS 5000

/* Read the child's output until EOF, the buffer is full or time runs out. */
static size_t read_bounded(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long used = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (used >= POSTCONF_TIMEOUT_MS)
			return (size_t)-1;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)(POSTCONF_TIMEOUT_MS - used));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return (size_t)-1;
		char scratch[512];
		char *dst = n + 1 < outlen ? out + n : scratch;
		size_t room = n + 1 < outlen ? outlen - 1 - n : sizeof(scratch);
		ssize_t got = read(fd, dst, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return n;
		if (dst != scratch)
			n += (size_t)got;
	}
}

int postconf_get(const char *name, char *out, size_t outlen)
{
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	const char *cmd = getenv("MOAT_POSTCONF");
	if (cmd == NULL || *cmd == '\0')
		cmd = access("/usr/sbin/postconf", X_OK) == 0 ? "/usr/sbin/postconf" : "postconf";
	/*
	 * MOAT_POSTCONF may carry arguments ("postconf -c /dir"): let sh split
	 * it. Built before fork(): the milter calls this on SIGHUP with threads
	 * running, and the child of a threaded process should only exec.
	 */
	char line[1024];
	snprintf(line, sizeof(line), "exec %s -hx -- \"$0\"", cmd);

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		dup2(pfd[1], 1);
		execl("/bin/sh", "sh", "-c", line, name, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t n = read_bounded(pfd[0], out, outlen);
	close(pfd[0]);
	int status = 0;
	if (n == (size_t)-1)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (size_t)-1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		out[0] = '\0';
		return -1;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

const char *postconf_myhostname(const char *own, char *out, size_t outlen)
{
	if (own && *own) {
		snprintf(out, outlen, "%s", own);
		return "moat.conf";
	}
	if (postconf_get("myhostname", out, outlen) == 0 && strcspn(out, " \t\r\n") == strlen(out))
		return "postconf";
	if (outlen > 1 && gethostname(out, outlen - 1) == 0 && *out) {
		out[outlen - 1] = '\0';
		return "gethostname";
	}
	snprintf(out, outlen, "localhost");
	return "gethostname";
}
