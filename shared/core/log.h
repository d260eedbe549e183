/*
 * log - one line per event, Postfix style.
 *
 * Messages go to syslog (facility mail by default, the program name as
 * tag), to a file (log_file, as Postfix's maillog_file) or, in the
 * foreground (-f), to stderr with a timestamp. Each line is formatted into
 * one buffer and written with a single call (O_APPEND for a file), so
 * lines from the milter's threads, or from both daemons sharing one file,
 * never interleave. Every message goes through printable() once
 * formatted: control bytes (CR and LF too), DEL, C1 and ill-formed UTF-8
 * become '?', so text from outside can neither start a line nor drive a
 * terminal, and callers need not clean what they log.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdarg.h>

/*
 * LOG_TO_TERMINAL is for command-line tools (moatctl): "prog: text" for
 * errors, "prog: warning: text", "prog: fatal: text" on stderr, without
 * time stamp or pid, as Postfix's commands write them.
 */
enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE, LOG_TO_TERMINAL };

/*
 * Start logging as progname; facility is a syslog facility name ("mail").
 * LOG_TO_FILE writes to the file log_open_file() opened.
 */
int log_init(const char *progname, enum log_dest dest, const char *facility);
/* Open the log file ("-" or /dev/stdout: standard output); -1 with err. */
int log_open_file(const char *path, char *err, size_t errlen);
/*
 * Open the log file again if its name no longer leads to the file being
 * written (logrotate moved it); -1 with err, the old one kept.
 */
int log_reopen(char *err, size_t errlen);
/*
 * Also write warnings, errors and fatal lines to stderr (on until the
 * daemon detaches, so a failed start is seen on the terminal); off while
 * the log already goes to stderr.
 */
void log_set_stderr_copy(int on);
/* Call in a child after fork(): lines then carry its process id. */
void log_forked(void);
/* Program name given to log_init() (for messages and headers). */
const char *log_progname(void);
/* Collect stderr lines and write them at log_flush() (single event loops). */
void log_set_buffered(int on);
/* Write collected lines now. */
void log_flush(void);
/* Turn debug messages on (1) or off (0). */
void log_set_verbose(int on);
/* Whether msg_debug() prints anything. */
int log_verbose(void);

/* Debug detail, only with log_set_verbose(1). */
void msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Normal event. */
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something is wrong but work goes on. */
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An operation failed. */
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failure: log and exit(1). Never on mail input. */
void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
