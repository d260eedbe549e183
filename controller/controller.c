/*
 * moat-controller - the Rspamd-compatible HTTP API of moat (Rspamd's
 * controller worker, port 11334): rspamc, Dovecot's IMAPSieve learning
 * pipe and Rspamd's web UI talk to it unchanged. A process of its own, so
 * that a fault on the web side never touches mail flow and the mail side
 * never serves HTTP; it reads and writes the same SQLite database as the
 * milter and scans with the same library.
 *
 * Start-up as the other daemons (shared/core/daemon.c): bind as root,
 * write the pid file, drop to run_as, check the database, detach. The
 * main thread then only waits for signals; libmicrohttpd's threads serve.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "controller/access.h"
#include "controller/api.h"
#include "controller/histq.h"
#include "controller/http.h"
#include "controller/work.h"
#include "controller/www.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/pidfile.h"
#include "core/privs.h"
#include "dns/dns.h"
#include "store/db.h"

#define PROGNAME "moat-controller"

static void usage(FILE *fp)
{
	fprintf(fp,
	        "Usage: " PROGNAME " [-f] [-v] [-c FILE] [-o NAME=VALUE]...\n"
	        "\n"
	        "HTTP API of moat on Rspamd's controller port: rspamc (symbols, learn_spam,\n"
	        "learn_ham, stat, uptime), Dovecot's IMAPSieve learning pipe and Rspamd's web UI\n"
	        "talk to it as to Rspamd's controller. Listens on 127.0.0.1:11334 by default;\n"
	        "set passwords with moatctl controller password [--enable].\n"
	        "\n");
	daemon_usage_options(fp);
	conf_print_readers(fp, CONF_CONTROLLER);
	fprintf(fp, "`moatctl config` prints their values.\n"
	            "Without systemd: controller_pid_file (its process id, for init scripts) and\n"
	            "log_file (instead of syslog; - is standard output).\n"
	            "Stops on SIGTERM or SIGINT once the requests under way are answered; SIGHUP\n"
	            "re-reads the configuration file (controller_secure_ip and the login throttle\n"
	            "apply at once) and reopens log_file.\n");
}

/* SIGHUP: new settings and access rules for the next request. */
static void reload(const struct daemon_opts *o)
{
	const struct conf *old = work_conf(NULL);
	struct conf *c = daemon_reload(PROGNAME, o, old);
	struct access *a;
	char err[512];

	if (c == NULL)
		return;
	if ((a = access_new(c, err, sizeof(err))) == NULL) {
		msg_error("%s; keeping the configuration in use", err);
		conf_free(c);
		return;
	}
	work_set_conf(c, a);
	msg_info("reloaded %s", o->conf_path);
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct listen_addr la;
	struct privs pv;
	struct pidfile *pf = NULL;
	struct conf *cf;
	struct access *acc;
	struct http *h;
	char err[1024], where[300];
	sigset_t set;
	sqlite3 *db;
	int lfd, sig;

	/* Signals wait for the main thread's sigwait(); the server's threads inherit the mask. */
	daemon_stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon_getopt(argc, argv, &o, usage);
	cf = daemon_setup(PROGNAME, &o);
	if ((acc = access_new(cf, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	if (daemon_privs_setup(cf, &pv, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (listen_parse(conf_str(cf, "controller_listen"), &la, err, sizeof(err)) < 0)
		msg_fatal("controller_listen: %s", err);
	listen_format(&la, where, sizeof(where));
	/* Twice the connections (the 503 answers), plus the databases, DNS and log. */
	daemon_raise_fd_limit(2 * conf_num(cf, "controller_max_connections") + 64);
	if ((lfd = listen_open(&la, 1024, err, sizeof(err))) < 0)
		msg_fatal("%s", err);
	if (daemon_bound(cf, "controller_pid_file", &la, &pv, &pf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	/* As run_as: a new database's files then belong to it. */
	db = db_open(conf_str(cf, "database_path"), (int)conf_num(cf, "db_busy_timeout") * 1000,
	             err, sizeof(err));
	if (db == NULL)
		msg_fatal("%s", err);
	db_close(db);
	if (dns_check_conf(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (daemon_detach(&o, pf) < 0)
		msg_fatal("cannot detach: %s", strerror(errno));
	work_set_conf(cf, acc);
	work_init();
	if (histq_start(conf_str(cf, "database_path"), (int)conf_num(cf, "db_busy_timeout") * 1000,
	                err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	api_started();
	www_init(cf);
	if ((h = http_start(cf, lfd, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	msg_info("ready: listening on %s, database %s, version %s", where,
	         conf_str(cf, "database_path"), PACKAGE_VERSION);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&o);
			continue;
		}
		msg_info("signal %d received, stopping", sig);
		break;
	}
	http_stop(h);
	histq_stop();
	listen_unix_remove(&la);
	pidfile_remove(pf);
	work_free_all();
	msg_info("stopped");
	free(o.overrides);
	return 0;
}
