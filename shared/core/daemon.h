/*
 * daemon - what both daemons do at start-up and shutdown: the common
 * command line, the state directory, detaching, signal handling.
 */
#ifndef MOAT_DAEMON_H
#define MOAT_DAEMON_H

#include <signal.h>

#include "core/conf.h"
#include "core/pidfile.h"

struct daemon_opts {
	const char *conf_path;	/* -c, or the compiled-in default */
	int conf_explicit;	/* -c was given */
	int foreground;		/* -f: stay attached, log to stderr */
	int verbose;		/* -v: debug logging */
	char **overrides;	/* -o name=value, in order */
	int noverrides;
};

/* The options every daemon takes, for its --help text. */
void daemon_usage_options(FILE *fp);
/*
 * Parse the common options (-c, -o, -f, -v, -h, -V); usage() prints the
 * program's help. Exits on -h, -V and bad options.
 */
void daemon_getopt(int argc, char **argv, struct daemon_opts *o, void (*usage)(FILE *));
/* Load moat.conf and start logging; exits with one clear line on errors. */
struct conf *daemon_setup(const char *progname, const struct daemon_opts *o);
/*
 * SIGHUP: read the file and the -o overrides again. NULL (error logged) if
 * they are wrong: the caller keeps old. Settings that need a restart keep
 * their old values (each change logged); logging settings apply at once.
 */
struct conf *daemon_reload(const char *progname, const struct daemon_opts *o,
			   const struct conf *old);
/*
 * The start-up both daemons share, in their order: before binding,
 * daemon_privs_setup() (run_as known, the state directory made and given
 * to it); after binding, daemon_bound() (the pid file, then the socket
 * given to Postfix's side and privileges dropped). The caller then checks
 * its database and DNS settings (layers above the core) and detaches.
 */
struct listen_addr;
struct privs;
/* run_as looked up, the state directory made and owned by it; 0, or -1 with err. */
int daemon_privs_setup(const struct conf *cf, struct privs *pv, char *err, size_t errlen);
/*
 * After the socket la is bound: the pid file the setting pid_setting names
 * (none if empty) into *pf, then la's unix socket made Postfix's to use and
 * root given up. 0, or -1 with err (a unix socket already removed when the
 * pid file is refused: a second start must not take the first's socket).
 */
int daemon_bound(const struct conf *cf, const char *pid_setting, const struct listen_addr *la,
		 const struct privs *pv, struct pidfile **pf, char *err, size_t errlen);
/* The signals that stop (SIGTERM, SIGINT) or reload (SIGHUP) a daemon, in *set. */
void daemon_stop_signals(sigset_t *set);
/* Create the state directory (and the database's directory) if missing. */
int daemon_state_dir(const struct conf *cf, char *err, size_t errlen);
/* Raise the open-file limit to want (or as close as allowed), warning if short. */
void daemon_raise_fd_limit(long want);
/*
 * Fork into the background unless in the foreground; 0 or -1. The pid
 * file, if any, holds the daemon's process id before the starting
 * process exits, so an init script can read it as soon as the start returns.
 */
int daemon_detach(const struct daemon_opts *o, struct pidfile *pf);

#endif
