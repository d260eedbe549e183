/*
 * daemon - common start-up of moat-policyd and moat-contentfilter.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/daemon.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pidfile.h"
#include "core/privs.h"

void daemon_usage_options(FILE *fp)
{
	fprintf(fp, "Options:\n"
		    "  -c FILE        configuration file (default " CONF_DEFAULT_PATH ";\n"
		    "                 without it every setting has its default)\n"
		    "  -o NAME=VALUE  override one setting, as postfix -o (repeatable)\n"
		    "  -f             stay in the foreground; log to stderr unless log_file\n"
		    "                 is set\n"
		    "  -v             verbose (debug) logging\n"
		    "  -h, --help     this text\n"
		    "  -V, --version  print the version and exit\n"
		    "\n");
}

void daemon_getopt(int argc, char **argv, struct daemon_opts *o, void (*usage)(FILE *))
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->conf_path = CONF_DEFAULT_PATH;
	o->overrides = xcalloc((size_t)argc + 1, sizeof(char *));
	while ((c = getopt_long(argc, argv, "c:o:fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->conf_path = optarg;
			o->conf_explicit = 1;
			break;
		case 'o':
			o->overrides[o->noverrides++] = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", basename(argv[0]), PACKAGE_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", basename(argv[0]), argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static enum log_dest daemon_log_dest;

/*
 * In the foreground under systemd, stderr is the journal (systemd sets
 * JOURNAL_STREAM to its device and inode): log through syslog then, so
 * the lines carry the mail facility and land in mail.log like Postfix's.
 */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

struct conf *daemon_setup(const char *progname, const struct daemon_opts *o)
{
	char err[1024];
	struct conf *cf;

	/* Config errors go to stderr whatever the mode: the admin is watching. */
	log_init(progname, LOG_TO_STDERR, NULL);
	cf = conf_load(o->conf_path, o->conf_explicit, o->overrides, o->noverrides, err,
		       sizeof(err));
	if (cf == NULL)
		msg_fatal("%s", err);
	if (*conf_str(cf, "log_file")) {
		if (log_open_file(conf_str(cf, "log_file"), err, sizeof(err)) < 0)
			msg_fatal("log_file: %s", err);
		daemon_log_dest = LOG_TO_FILE;
	} else {
		daemon_log_dest =
		    o->foreground && !stderr_is_journal() ? LOG_TO_STDERR : LOG_TO_SYSLOG;
	}
	log_init(progname, daemon_log_dest, conf_str(cf, "syslog_facility"));
	/*
	 * Until the daemon detaches, whatever stops the start (a socket in
	 * use, no such user, a bad database) is also a line on stderr: the
	 * admin is watching, and a host without syslog would hide it.
	 * Under systemd stderr is the journal, which has the log already.
	 */
	log_set_stderr_copy(!stderr_is_journal());
	log_set_verbose(o->verbose || strcmp(conf_str(cf, "log_level"), "debug") == 0);
	return cf;
}

static void report_restart(const char *name, const char *oldval, const char *newval)
{
	msg_warn("reload: %s changed from \"%s\" to \"%s\": this needs a restart; keeping"
		 " \"%s\" until then",
		 name, oldval, newval, oldval);
}

struct conf *daemon_reload(const char *progname, const struct daemon_opts *o,
			   const struct conf *old)
{
	char err[1024];
	struct conf *cf;

	cf = conf_load(o->conf_path, o->conf_explicit, o->overrides, o->noverrides, err,
		       sizeof(err));
	if (cf == NULL) {
		msg_error("reload: %s; keeping the settings in use", err);
		return NULL;
	}
	conf_keep_restart(cf, old, report_restart);
	/* After logrotate moved the file (its postrotate sends SIGHUP). */
	if (log_reopen(err, sizeof(err)) < 0)
		msg_error("reload: %s; still writing to the old file", err);
	if (conf_changed(cf, old, "syslog_facility"))
		log_init(progname, daemon_log_dest, conf_str(cf, "syslog_facility"));
	log_set_verbose(o->verbose || strcmp(conf_str(cf, "log_level"), "debug") == 0);
	return cf;
}

static int mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char *copy = xstrdup(dir), *parent;
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) == 0) {
		free(copy);
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%s exists and is not a directory", dir);
		return -1;
	}
	parent = dirname(copy);
	if (strcmp(parent, dir) != 0 && strcmp(parent, "/") != 0 && strcmp(parent, ".") != 0)
		rc = mkdir_p(parent, 0755, err, errlen);
	free(copy);
	if (rc == 0 && mkdir(dir, mode) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return rc;
}

int daemon_state_dir(const struct conf *cf, char *err, size_t errlen)
{
	char *dbdir = xstrdup(conf_str(cf, "database_path"));
	int rc = mkdir_p(conf_str(cf, "state_directory"), 0750, err, errlen);

	if (rc == 0)
		rc = mkdir_p(dirname(dbdir), 0750, err, errlen);
	free(dbdir);
	return rc;
}

void daemon_raise_fd_limit(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || (rl.rlim_cur != RLIM_INFINITY &&
						   (long)rl.rlim_cur >= want))
		return;
	/* Up to the hard limit; root may raise that too. */
	if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < want) {
		struct rlimit up = {(rlim_t)want, (rlim_t)want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max >= want ? (rlim_t)want
										 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || (long)rl.rlim_cur < want)
		msg_warn("open-file limit is %ld, below the %ld the settings ask for",
			 (long)rl.rlim_cur, want);
}

int daemon_detach(const struct daemon_opts *o, struct pidfile *pf)
{
	char err[1024];
	pid_t pid;
	int fd;

	if (o->foreground) {
		if (pf && pidfile_write(pf, getpid(), err, sizeof(err)) < 0)
			msg_fatal("%s", err);
		/* From here stderr shows nothing more: the start went well. */
		log_set_stderr_copy(0);
		return 0;
	}
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		if (pf && pidfile_write(pf, pid, err, sizeof(err)) < 0) {
			kill(pid, SIGTERM);
			msg_fatal("%s", err);
		}
		_exit(0);
	}
	log_set_stderr_copy(0);
	log_forked();
	if (setsid() < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

int daemon_privs_setup(const struct conf *cf, struct privs *pv, char *err, size_t errlen)
{
	if (privs_init(cf, pv, err, errlen) < 0 || daemon_state_dir(cf, err, errlen) < 0 ||
	    privs_own_state(cf, pv, err, errlen) < 0)
		return -1;
	return 0;
}

int daemon_bound(const struct conf *cf, const char *pid_setting, const struct listen_addr *la,
		 const struct privs *pv, struct pidfile **pf, char *err, size_t errlen)
{
	const char *path = conf_str(cf, pid_setting);
	char why[1024];

	*pf = NULL;
	/* After the socket: a second start is refused there, with its reason. */
	if (*path && (*pf = pidfile_open(path, why, sizeof(why))) == NULL) {
		listen_unix_remove(la);
		snprintf(err, errlen, "%s: %s", pid_setting, why);
		return -1;
	}
	if ((la->is_unix && privs_socket(pv, la->path, err, errlen) < 0) ||
	    privs_drop(pv, err, errlen) < 0)
		return -1;
	return 0;
}

void daemon_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}
