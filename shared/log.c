/*
 * log - Postfix-style logging to syslog or stderr; see log.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_name = "moat";
static enum log_dest log_to = LOG_TO_STDERR;
static int log_debug;
static long log_pid;	/* cached: getpid() per line shows up in profiles */

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
		ssize_t n = write(STDERR_FILENO, log_buf + off, log_buf_len - off);

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
		(void)!write(STDERR_FILENO, line, n);
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
	log_pid = (long)getpid();
	if (dest == LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
	return fac < 0 && facility ? -1 : 0;
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

static void vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char line[4300];
	struct timespec ts;
	size_t pre, n;
	int r;

	if (log_to == LOG_TO_SYSLOG) {
		char msg[4096];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		/* Log injection: a CR or LF from mail input must not start a new line. */
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if (level)
			syslog(prio, "%s: %s", level, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	if (log_to == LOG_TO_TERMINAL) {
		int plain = prio == LOG_ERR || prio == LOG_INFO;

		r = snprintf(line, sizeof(line), "%s: %s%s", log_name, plain ? "" : level,
			     plain ? "" : ": ");
		goto message;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_sec) {
		struct tm tm;

		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = ts.tv_sec;
	}
	r = snprintf(line, sizeof(line), "%s.%03ld %s[%ld]: %s%s", stamp, ts.tv_nsec / 1000000,
		     log_name, log_pid, level ? level : "", level ? ": " : "");
message:
	if (r < 0 || (size_t)r >= sizeof(line) - 2)
		return;
	pre = (size_t)r;
	/* The message straight after the prefix, leaving room for the newline. */
	r = vsnprintf(line + pre, sizeof(line) - pre - 1, fmt, ap);
	if (r < 0)
		return;
	n = pre + (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (char *p = line + pre; p < line + n; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	line[n++] = '\n';
	emit(line, n, prio != LOG_INFO && prio != LOG_DEBUG);
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
