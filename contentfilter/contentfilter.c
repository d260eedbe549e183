/*
 * moat-contentfilter - the moat milter (Postfix MILTER_README, libmilter).
 *
 * Postfix hands every message over at end of DATA (smtpd_milters); we
 * scan it and accept, tag, rewrite, tempfail or reject. libmilter runs one
 * thread per SMTP connection; per-connection state lives in struct cf_conn,
 * freed in the close callback. Start-up binds the socket and checks the
 * database before detaching, so mistakes surface as one line on stderr.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "scan/bayes.h"
#include "store/bayes_store.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "store/db.h"
#include "dns/dns.h"
#include "core/listen.h"
#include "maps/localmail.h"
#include "milter.h"
#include "scan/clamav.h"
#include "signing.h"
#include "workers.h"
#include "history.h"
#include "cf.h"
#include "core/log.h"
#include "core/hash.h"
#include "mail/hdrsafe.h"
#include "core/mem.h"
#include "core/pidfile.h"
#include "mail/polhdr.h"
#include "core/postconf.h"
#include "core/privs.h"
#include "core/sbuf.h"
#include "scan/scan.h"

#define PROGNAME "moat-contentfilter"

/* Replaced configurations and local networks, kept until exit (cf.h). */
static struct conf **cf_retired;
static int cf_nretired;
static struct localnets **nets_retired;
static int nets_nretired;

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGNAME " [-f] [-v] [-c FILE] [-o NAME=VALUE]...\n"
		"\n"
		"Content filter (milter) of moat: scores each message at end of DATA.\n"
		"Wire it into Postfix's main.cf with\n"
		"    smtpd_milters = inet:127.0.0.1:11332\n"
		"    non_smtpd_milters = $smtpd_milters\n"
		"    milter_default_action = tempfail\n"
		"\n");
	daemon_usage_options(fp);
	conf_print_readers(fp, CONF_MILTER);
	fprintf(fp, "`moatctl config` prints their values.\n"
		    "Without systemd: milter_pid_file (its process id, for init scripts) and\n"
		    "log_file (instead of syslog; - is standard output).\n"
		    "Stops on SIGTERM or SIGINT, once the scans under way have their verdicts\n"
		    "(at most 10 s); SIGHUP re-reads the configuration file and reopens log_file.\n");
}


/* myhostname: moat's, else Postfix's, else the system's; logged when it changes. */
static void set_hostname(const struct conf *c)
{
	char name[sizeof(my_hostname)];
	const char *from = postconf_myhostname(conf_str(c, "myhostname"), name, sizeof(name));

	pthread_mutex_lock(&conf_mu);
	if (strcmp(name, my_hostname) != 0) {
		msg_info("myhostname is %s (from %s)", name, from);
		memcpy(my_hostname, name, sizeof(name));
	}
	pthread_mutex_unlock(&conf_mu);
}

/* The settings read per message, from c (at start and on SIGHUP). */
static void read_settings(const struct conf *c)
{
	scan_limit = (size_t)conf_num(c, "scan_size_limit");
	error_accepts = strcmp(conf_str(c, "milter_error_action"), "accept") == 0;
	greylist_delay = (long)conf_num(c, "greylist_delay");
	greylist_max_age = (long)conf_num(c, "greylist_max_age");
	history_max_age = (long)conf_num(c, "history_max_age");
	history_tokens_max_age = (long)conf_num(c, "history_tokens_max_age");
	scan_local = conf_bool(c, "scan_local");
	set_hostname(c);
}

/*
 * The local networks, from c (at start and on SIGHUP): they may ask Postfix
 * (postconf), which is too slow for a message's path.
 * 0, or -1 with err and nothing changed.
 */
static int read_local(const struct conf *c, char *err, size_t errlen)
{
	struct localnets *ln = localnets_new(conf_str(c, "local_networks"), err, errlen);
	struct sbuf sb;

	if (ln == NULL)
		return -1;
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	msg_info("local networks: %s; local mail is %s", sbuf_cstr(&sb),
		 conf_bool(c, "scan_local") ? "scanned, never greylisted" : "not scanned");
	sbuf_free(&sb);
	pthread_mutex_lock(&conf_mu);
	if (local_nets) {
		/* A thread may still be matching against it: kept until exit. */
		nets_retired =
		    xrealloc(nets_retired, (size_t)(nets_nretired + 1) * sizeof(*nets_retired));
		nets_retired[nets_nretired++] = local_nets;
	}
	local_nets = ln;
	pthread_mutex_unlock(&conf_mu);
	return 0;
}

/* SIGHUP: new settings for the next message; a scan under way finishes with the old. */
static void reload(const struct daemon_opts *o)
{
	struct conf *old = (struct conf *)conf_now(NULL);
	struct conf *c = daemon_reload(PROGNAME, o, old);

	if (c == NULL)
		return;
	{
		char err[512];
		struct clamav *cl = clamav_new(c, err, sizeof(err));

		/* Every worker makes its clamd client from it: a typo must not leave them without. */
		if (cl == NULL) {
			msg_error("%s; configuration not reloaded", err);
			conf_free(c);
			return;
		}
		clamav_free(cl);
		if (read_local(c, err, sizeof(err)) < 0)
			msg_error("%s; keeping the local networks in use", err);
		if (signing_configure(c, err, sizeof(err)) < 0)
			msg_error("%s; keeping the DKIM signing settings in use", err);
	}
	read_settings(c);
	pthread_mutex_lock(&conf_mu);
	/* The workers' resolvers and clamd clients are made again when it moves. */
	if (dns_conf_changed(c, old) || conf_changed(c, old, "clamav_servers") ||
	    conf_changed(c, old, "clamav_timeout") || conf_changed(c, old, "clamav_max_size") ||
	    conf_changed(c, old, "clamav_fail_action"))
		dns_generation++;
	cf_retired = xrealloc(cf_retired, (size_t)(cf_nretired + 1) * sizeof(*cf_retired));
	cf_retired[cf_nretired++] = old;
	cf = c;
	pthread_mutex_unlock(&conf_mu);
	msg_info("reloaded %s", o->conf_path);
}

/*
 * Signals. libmilter's own signal thread stops the milter on SIGHUP as on
 * SIGTERM, and it waits for them with sigwait(), competing with any thread
 * of ours that does the same. The kernel gives a process-directed signal
 * to the main thread whenever that thread does not block it, so the main
 * thread keeps these signals unblocked (with handlers that only write to a
 * pipe), runs libmilter in another thread, and is the one that reloads or
 * stops it (smfi_stop).
 */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void *milter_thread(void *arg)
{
	int *rc = arg;
	unsigned char done = 0;

	*rc = smfi_main();
	(void)!write(sig_pipe[1], &done, 1);	/* 0: libmilter has stopped */
	return NULL;
}


/*
 * smfi_stop() cannot stop libmilter at once: its listener waits for a
 * connection in poll() for up to 5 seconds (MI_CHK_TIME) while holding the
 * lock smfi_stop() needs, and looks at the stop flag only between waits.
 * So the stop runs in a thread of its own, and the main thread knocks on
 * the listening socket (listen_poke) until libmilter has noticed: each
 * knock is a connection that ends its wait, and it hangs up at once.
 */
static void *stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

static struct listen_addr *serve_la;	/* what to knock on */
static int serve_fd = -1;		/* inet: libmilter's listening socket */

#define STOP_POKE_MS 50		/* between knocks */
#define STOP_POKE_MAX 200	/* then libmilter's own 5 s wait ends it anyway */

/* Run libmilter until a stop signal; reload on SIGHUP. smfi_main()'s result. */
static int serve(const struct daemon_opts *o)
{
	struct sigaction sa;
	sigset_t set;
	pthread_t tid, stopper;
	unsigned char c;
	int rc = MI_FAILURE, stopping = 0, pokes = 0;

	if (pipe2(sig_pipe, O_CLOEXEC) < 0)
		msg_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* libmilter's threads start with these blocked (they inherit the mask). */
	daemon_stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&tid, NULL, milter_thread, &rc) != 0)
		msg_fatal("cannot start the milter thread");
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		struct pollfd pfd = {sig_pipe[0], POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, stopping ? STOP_POKE_MS : -1) == 0) {
			if (pokes++ < STOP_POKE_MAX)
				listen_poke(serve_la, serve_fd);
			continue;
		}
		n = read(sig_pipe[0], &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || c == 0)
			break;
		if (c == SIGHUP && !stopping) {
			reload(o);
		} else if (c != SIGHUP && !stopping) {
			msg_info("signal %d received, stopping", (int)c);
			stopping = 1;
			daemon_stop_signals(&set);
			pthread_sigmask(SIG_BLOCK, &set, NULL);
			if (pthread_create(&stopper, NULL, stop_thread, NULL) != 0)
				msg_fatal("cannot start the stop thread");
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
			listen_poke(serve_la, serve_fd);
		}
	}
	pthread_join(tid, NULL);
	if (stopping)
		pthread_join(stopper, NULL);
	/* From here a second SIGTERM may end the process the default way. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	return rc;
}

/*
 * libmilter writes a reply in several small writes (each added header,
 * then the verdict). With Nagle's algorithm on, the second waits for the
 * ACK of the first, which Postfix delays up to 40 ms because it is itself
 * waiting for the verdict: two such stalls made a message take 90 ms.
 * libmilter has no option for it and does not hand out its listening
 * socket, so find that socket among ours (listening, on our port) and set
 * TCP_NODELAY there: accepted connections inherit it.
 */
static int listener_nodelay(const struct listen_addr *la)
{
	if (la->is_unix)
		return -1;
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), ol = sizeof(int);
		int listening = 0, on = 1, port;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0 || !listening ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
			continue;
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else
			continue;
		if (port != la->port)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
			msg_warn("cannot set TCP_NODELAY on the milter socket: %s", strerror(errno));
		return fd;
	}
	msg_warn("milter socket not found: replies may wait for Nagle's algorithm");
	return -1;
}

/*
 * libmilter binds a unix socket itself, and removes whatever socket is at
 * its path when it stops, even one another daemon has bound since. So it
 * gets the temporary name, and we publish the socket at the real path
 * (listen_unix_publish) and remove it at exit only if it is still ours:
 * libmilter then finds nothing to remove.
 */
static void milter_conn(struct listen_addr *la, char *conn, size_t len)
{
	char tmp[sizeof(la->path) + LISTEN_UNIX_TMP_EXTRA], err[1024];

	if (!la->is_unix) {
		listen_milter_conn(la, conn, len);
		return;
	}
	if (listen_unix_check(la, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	listen_unix_tmp(la, tmp, sizeof(tmp));
	snprintf(conn, len, "unix:%s", tmp);
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct listen_addr la;
	struct privs pv;
	struct pidfile *pf = NULL;
	char err[1024], conn[300], where[300];
	sqlite3 *db;
	int rc, left;

	daemon_getopt(argc, argv, &o, usage);
	cf = daemon_setup(PROGNAME, &o);
	if (daemon_privs_setup(cf, &pv, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (listen_parse(conf_str(cf, "milter_listen"), &la, err, sizeof(err)) < 0)
		msg_fatal("milter_listen: %s", err);
	listen_format(&la, where, sizeof(where));
	read_settings(cf);
	if (read_local(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);

	if (smfi_register(milter_desc) == MI_FAILURE)
		msg_fatal("smfi_register failed (libmilter too old?)");
	milter_conn(&la, conn, sizeof(conn));
	if (smfi_setconn(conn) == MI_FAILURE)
		msg_fatal("milter_listen: libmilter cannot use %s", where);
	smfi_settimeout((int)conf_num(cf, "milter_timeout"));
	/* Bind now, as root and before detaching, so "address in use" reaches the admin. */
	if (smfi_opensocket(1) == MI_FAILURE) {
		int fd;

		/* libmilter says only "failed": find out why for the log line. */
		if ((fd = listen_open(&la, 1, err, sizeof(err))) >= 0) {
			close(fd);
			listen_unix_remove(&la);
			snprintf(err, sizeof(err), "cannot listen on %s", where);
		}
		msg_fatal("%s", err);
	}
	if (la.is_unix && listen_unix_publish(&la, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	serve_la = &la;
	serve_fd = listener_nodelay(&la);
	if (daemon_bound(cf, "milter_pid_file", &la, &pv, &pf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	/* As run_as: a new database's files then belong to it. */
	db = db_open(conf_str(cf, "database_path"), (int)conf_num(cf, "db_busy_timeout") * 1000,
		     err, sizeof(err));
	if (db == NULL)
		msg_fatal("%s", err);
	db_close(db);
	/* As run_as too: the keys are its files (0640). */
	if (signing_configure(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	/* The resolvers are made per worker, at the first message: check now. */
	if (dns_check_conf(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	{
		/* And the clamd server list, read by each worker: a typo stops the start. */
		struct clamav *cl = clamav_new(cf, err, sizeof(err));

		if (cl == NULL)
			msg_fatal("%s", err);
		clamav_free(cl);
	}
	if (daemon_detach(&o, pf) < 0)
		msg_fatal("cannot detach: %s", strerror(errno));
	{
		sigset_t set;

		/* Threads started before libmilter's must not take the signals either. */
		daemon_stop_signals(&set);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	if (hist_start(err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	msg_info("ready: listening on %s, database %s, version %s", where,
		 conf_str(cf, "database_path"), PACKAGE_VERSION);
	bayes_cache = bayes_cache_new();
	rc = serve(&o);
	listen_unix_remove(&la);
	if ((left = milter_drain()) > 0)
		msg_warn("stopping with %d message%s still being scanned after %d s: Postfix"
			 " applies milter_default_action to %s",
			 left, left == 1 ? "" : "s", STOP_DRAIN_SECONDS, left == 1 ? "it" : "them");
	pidfile_remove(pf);
	hist_finish();
	msg_info("stopped");
	pool_free();
	bayes_cache_free(bayes_cache);
	rules_free_all();
	signing_free();
	for (int i = 0; i < cf_nretired; i++)
		conf_free(cf_retired[i]);
	for (int i = 0; i < nets_nretired; i++)
		localnets_free(nets_retired[i]);
	free(nets_retired);
	localnets_free(local_nets);
	free(cf_retired);
	conf_free(cf);
	free(o.overrides);
	return rc == MI_SUCCESS ? 0 : 1;
}

