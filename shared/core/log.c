/*
 * log - Postfix-style logging to syslog or stderr; see log.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/printable.h"

static const char *log_name = "moat";
static enum log_dest log_to = LOG_TO_STDERR;
static int log_debug;
static long log_pid;	/* cached: getpid() per line shows up in profiles */
static int log_fd = STDERR_FILENO;	/* where LOG_TO_STDERR and LOG_TO_FILE lines go */
static char log_path[4096];	/* LOG_TO_FILE: the file, reopened by log_reopen() */
static int log_copy;	/* warnings and worse to stderr as well (before detaching) */

/*
 * Buffered stderr (log_set_buffered): info lines collect here and go out
 * in one write per event-loop round; warnings and errors flush at once.
 * The mutex is for the rare line from a helper thread.
 */
#define LOG_BUF_SIZE 65536
static int log_buffered;
static char log_buf[LOG_BUF_SIZE];
static size_t log_buf_len;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void flush_locked(void)
{
	size_t off = 0;

	while (off < log_buf_len) {
		ssize_t n = write(log_fd, log_buf + off, log_buf_len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	log_buf_len = 0;
}

void log_set_buffered(int on)
{
	log_flush();
	log_buffered = on;
}

void log_flush(void)
{
	pthread_mutex_lock(&log_mu);
	flush_locked();
	pthread_mutex_unlock(&log_mu);
}

static void emit(const char *line, size_t n, int urgent)
{
	if (!log_buffered) {
		(void)!write(log_fd, line, n);
		return;
	}
	pthread_mutex_lock(&log_mu);
	if (log_buf_len + n > LOG_BUF_SIZE)
		flush_locked();
	memcpy(log_buf + log_buf_len, line, n);
	log_buf_len += n;
	if (urgent)
		flush_locked();
	pthread_mutex_unlock(&log_mu);
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"mail", LOG_MAIL},	{"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

int log_init(const char *progname, enum log_dest dest, const char *facility)
{
	int fac = -1;

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facility && strcasecmp(facility, facilities[i].name) == 0)
			fac = facilities[i].facility;
	log_name = progname;
	log_to = dest;
	if (dest == LOG_TO_STDERR && log_fd != STDERR_FILENO) {
		close(log_fd);
		log_fd = STDERR_FILENO;
	}
	log_pid = (long)getpid();
	if (dest == LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
	return fac < 0 && facility ? -1 : 0;
}

/* A standard stream named as a file: "-" and /dev/stdout are standard output. */
static int std_stream(const char *path)
{
	if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	return -1;
}

/*
 * A file is opened as whoever starts the daemon (root): a file only root
 * may write stays writable after the switch to run_as, through this
 * descriptor. A standard stream is duplicated, so that it outlives the
 * detach, which points 0, 1 and 2 at /dev/null.
 */
static int open_log(const char *path, char *err, size_t errlen)
{
	int std = std_stream(path), fd;

	if (std >= 0)
		fd = fcntl(std, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(errno));
	return fd;
}

int log_open_file(const char *path, char *err, size_t errlen)
{
	int fd;

	if (strlen(path) >= sizeof(log_path)) {
		snprintf(err, errlen, "log file name longer than %zu bytes", sizeof(log_path) - 1);
		return -1;
	}
	if ((fd = open_log(path, err, errlen)) < 0)
		return -1;
	log_flush();
	snprintf(log_path, sizeof(log_path), "%s", path);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int log_reopen(char *err, size_t errlen)
{
	struct stat now, ours;
	int fd;

	if (log_to != LOG_TO_FILE || std_stream(log_path) >= 0)
		return 0;
	/* Still the file we write to (a reload, not a rotation): keep it, since
	 * run_as may not be allowed to open a file root created. */
	if (stat(log_path, &now) == 0 && fstat(log_fd, &ours) == 0 && now.st_dev == ours.st_dev &&
	    now.st_ino == ours.st_ino)
		return 0;
	if ((fd = open_log(log_path, err, errlen)) < 0)
		return -1;
	/* dup2 swaps the file under the same number: a line being written by
	 * another thread lands in the old file or the new, never nowhere. */
	log_flush();
	if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot reopen the log file %s: %s", log_path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void log_set_stderr_copy(int on)
{
	struct stat a, b;

	/* Not when the log already is stderr (the same file, as with -f). */
	if (on && log_to != LOG_TO_SYSLOG && fstat(log_fd, &a) == 0 &&
	    fstat(STDERR_FILENO, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		on = 0;
	log_copy = on;
}

void log_forked(void)
{
	log_pid = (long)getpid();
}

const char *log_progname(void)
{
	return log_name;
}

void log_set_verbose(int on)
{
	log_debug = on;
}

int log_verbose(void)
{
	return log_debug;
}

/*
 * The time stamp, to the second, of this thread's last line: formatting
 * it (localtime, strftime) cost more than the rest of a line, and a busy
 * daemon logs thousands of lines a second.
 */
static __thread time_t stamp_sec = -1;
static __thread char stamp[32];

/* One line as stderr and log files show it: time, program[pid], level, message. */
static size_t format_line(char *line, size_t size, const char *level, const char *fmt,
			  va_list ap)
{
	struct timespec ts;
	size_t pre, n;
	int r;

	if (log_to == LOG_TO_TERMINAL) {
		/* A command's own words: "moatctl: text", "moatctl: warning: text". */
		int plain = level == NULL || strcmp(level, "error") == 0;

		r = snprintf(line, size, "%s: %s%s", log_name, plain ? "" : level, plain ? "" : ": ");
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec != stamp_sec) {
			struct tm tm;

			localtime_r(&ts.tv_sec, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
			stamp_sec = ts.tv_sec;
		}
		r = snprintf(line, size, "%s.%03ld %s[%ld]: %s%s", stamp, ts.tv_nsec / 1000000,
			     log_name, log_pid, level ? level : "", level ? ": " : "");
	}
	if (r < 0 || (size_t)r >= size - 2)
		return 0;
	pre = (size_t)r;
	/* The message straight after the prefix, leaving room for the newline. */
	r = vsnprintf(line + pre, size - pre - 1, fmt, ap);
	if (r < 0)
		return 0;
	n = pre + (size_t)r;
	if (n > size - 2)
		n = size - 2;
	/*
	 * Messages carry text from the network (attributes, addresses, DNS
	 * answers): a CR or LF must not start a line of its own, nor an escape
	 * sequence drive the terminal of whoever tails the log. Done here, on
	 * the formatted message, so that no call site can forget it.
	 */
	n = pre + printable(line + pre, n - pre);
	line[n++] = '\n';
	return n;
}

static void vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	int urgent = prio != LOG_INFO && prio != LOG_DEBUG;
	char line[4300];
	size_t n;

	if (log_copy && urgent) {
		va_list aq;

		va_copy(aq, ap);
		if ((n = format_line(line, sizeof(line), level, fmt, aq)) > 0)
			(void)!write(STDERR_FILENO, line, n);
		va_end(aq);
	}
	if (log_to == LOG_TO_SYSLOG) {
		char msg[4096];

		int r = vsnprintf(msg, sizeof(msg), fmt, ap);
		size_t len;

		if (r < 0)
			return;
		len = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
		/* As format_line(); a NUL (from %.*s) becomes '?' rather than end the line. */
		msg[printable(msg, len)] = '\0';
		if (level)
			syslog(prio, "%s: %s", level, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	if ((n = format_line(line, sizeof(line), level, fmt, ap)) > 0)
		emit(line, n, urgent);
}

void msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug", fmt, ap);
	va_end(ap);
}

void msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", fmt, ap);
	va_end(ap);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "error", fmt, ap);
	va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
