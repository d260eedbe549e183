/*
 * moat-policyd - Postfix policy delegation server (SMTPD_POLICY_README).
 *
 * Postfix asks at RCPT TO (check_policy_service); we answer with an
 * action. Start-up: read moat.conf, create the state directory, bind the
 * socket and open the database before detaching, so every mistake is one
 * line on the admin's terminal and a non-zero exit.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/daemon.h"
#include "store/db.h"
#include "dns/dns.h"
#include "core/evloop.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/pidfile.h"
#include "policy.h"
#include "policy_proto.h"
#include "core/privs.h"
#include "core/sbuf.h"
#include "server.h"
#include "store/walbuf.h"

#define PROGNAME "moat-policyd"
#define RETIRED_DNS_MAX 4	/* each takes one of the event loop's 8 ticks */

struct policyd {
	struct conf *cf;
	struct evloop *ev;
	struct server *srv;
	sqlite3 *db;
	struct db_checkpointer *cp;
	int readonly;		/* the database opened read-only: nothing can be stored */
	struct policy *pol;
	struct dns *dns;
	struct dns *retired[RETIRED_DNS_MAX];	/* replaced by SIGHUP, answering lookups in flight */
	struct policy_limits limits;
	const struct daemon_opts *opts;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGNAME " [-f] [-v] [-c FILE] [-o NAME=VALUE]...\n"
		"\n"
		"Postfix policy server of moat: greylisting and DNS block lists at RCPT TO.\n"
		"Wire it into Postfix's main.cf with\n"
		"    smtpd_recipient_restrictions = ..., reject_unauth_destination,\n"
		"        check_policy_service inet:127.0.0.1:10040\n"
		"\n");
	daemon_usage_options(fp);
	conf_print_readers(fp, CONF_POLICYD);
	fprintf(fp, "`moatctl config` prints their values.\n"
		    "Without systemd: policy_pid_file (its process id, for init scripts) and\n"
		    "log_file (instead of syslog; - is standard output).\n"
		    "Stops on SIGTERM or SIGINT; SIGHUP re-reads the configuration file and\n"
		    "reopens log_file.\n");
}

static void on_decided(void *arg, const char *action, const char *uncommitted)
{
	server_reply(arg, action, uncommitted);
}

static void on_request(struct server_conn *c, const struct policy_request *req, void *arg)
{
	struct policyd *pd = arg;

	policy_decide(pd->pol, req, on_decided, c);
}

static struct dns *setup_dns(struct policyd *pd, char *err, size_t errlen)
{
	struct dns_params p;

	dns_params_from_conf(pd->cf, &p);

	return dns_new(pd->ev, &p, err, errlen);
}

static int before_flush(void *arg)
{
	struct policyd *pd = arg;

	return policy_flush(pd->pol);
}

/* A resolver replaced by SIGHUP goes once its last lookup is answered. */
static void free_retired_dns(struct policyd *pd, int all)
{
	for (int i = 0; i < RETIRED_DNS_MAX; i++)
		if (pd->retired[i] && (all || dns_pending(pd->retired[i]) == 0)) {
			dns_free(pd->retired[i]);
			pd->retired[i] = NULL;
		}
}

static void retire_dns(struct policyd *pd, struct dns *old)
{
	for (int i = 0; i < RETIRED_DNS_MAX; i++)
		if (pd->retired[i] == NULL) {
			pd->retired[i] = old;
			return;
		}
	/* Many reloads within one lookup: its lookups end as failures. */
	dns_free(old);
}

/*
 * SIGHUP: the settings that can change live do, for the next request;
 * a request already waiting for DNS answers finishes as it started.
 */
static void reload(struct policyd *pd)
{
	struct conf *cf = daemon_reload(PROGNAME, pd->opts, pd->cf);
	struct dns *dns = pd->dns;
	struct dns_params p;
	char err[512];

	if (cf == NULL)
		return;
	if (dns_conf_changed(cf, pd->cf)) {
		dns_params_from_conf(cf, &p);
		if ((dns = dns_new(pd->ev, &p, err, sizeof(err))) == NULL) {
			msg_error("reload: %s; keeping the settings in use", err);
			conf_free(cf);
			return;
		}
		retire_dns(pd, pd->dns);
		pd->dns = dns;
	}
	policy_reconfigure(pd->pol, cf, pd->dns);
	pd->limits.line_max = (size_t)conf_num(cf, "policy_line_limit");
	pd->limits.request_max = (size_t)conf_num(cf, "policy_request_limit");
	pd->limits.attr_max = (size_t)conf_num(cf, "policy_attribute_limit");
	server_set_idle_timeout(pd->srv, (int)conf_num(cf, "policy_idle_timeout"));
	conf_free(pd->cf);
	pd->cf = cf;
	msg_info("reloaded %s", pd->opts->conf_path);
}

static int on_tick(void *arg)
{
	struct policyd *pd = arg;

	free_retired_dns(pd, 0);
	policy_tick(pd->pol);
	log_flush();
	return 1000;
}

static void on_signal(int fd, unsigned events, void *arg)
{
	struct policyd *pd = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		reload(pd);
		return;
	}
	msg_info("signal %d received, stopping", (int)si.ssi_signo);
	evloop_stop(pd->ev);
}


/*
 * Block the stop signals before any thread starts (threads inherit the
 * mask), so they only ever arrive through the signalfd in the event loop.
 */
static void block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	daemon_stop_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		msg_fatal("sigprocmask: %s", strerror(errno));
}

static int setup_signals(struct policyd *pd)
{
	sigset_t set;
	int fd;

	daemon_stop_signals(&set);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0 || evloop_add(pd->ev, fd, EPOLLIN, on_signal, pd) == NULL)
		return -1;
	return 0;
}

/*
 * The database, read-write; or, when only that fails (a read-only file
 * system, a file we may not write), the same file read-only: the rules
 * and lists are still there, and greylisting answers by
 * policy_db_failure_action, since no entry can be stored. A missing,
 * broken or newer database still fails.
 */
static sqlite3 *open_db(struct policyd *pd, int log, char *err, size_t errlen)
{
	const char *path = conf_str(pd->cf, "database_path");
	char why[1024];
	sqlite3 *db;

	if ((db = db_open(path, (int)conf_num(pd->cf, "db_busy_timeout") * 1000, err, errlen)))
		return db;
	snprintf(why, sizeof(why), "%s", err);
	if ((db = db_open_immutable(path, err, errlen)) == NULL) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	pd->readonly = 1;
	if (log)
		msg_error("%s; using it read-only: greylisting answers %s"
			  " (policy_db_failure_action) until moat-policyd is restarted on a"
			  " writable database",
			  why,
			  strcmp(conf_str(pd->cf, "policy_db_failure_action"), "defer_if_permit")
				  ? "DUNNO"
				  : "DEFER_IF_PERMIT");
	return db;
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct policyd pd;
	struct listen_addr la;
	struct server_params sp;
	struct privs pv;
	struct pidfile *pf = NULL;
	char err[1024], where[300];
	int lfd;

	memset(&pd, 0, sizeof(pd));
	/*
	 * Each connection is used by one thread only (the event loop; the
	 * checkpointer has its own): SQLite need not lock around every call,
	 * nor count every allocation.
	 */
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* Each WAL frame of a group commit in one pwrite(), not two. */
	if (walbuf_register() != SQLITE_OK)
		msg_fatal("cannot set up the SQLite VFS");
	block_signals();
	daemon_getopt(argc, argv, &o, usage);
	pd.cf = daemon_setup(PROGNAME, &o);
	pd.opts = &o;
	if (daemon_privs_setup(pd.cf, &pv, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (listen_parse(conf_str(pd.cf, "policy_listen"), &la, err, sizeof(err)) < 0)
		msg_fatal("policy_listen: %s", err);
	listen_format(&la, where, sizeof(where));
	/* One descriptor per connection, plus the database, DNS and log (root may raise it). */
	daemon_raise_fd_limit(conf_num(pd.cf, "policy_max_connections") + 64);
	if ((lfd = listen_open(&la, 1024, err, sizeof(err))) < 0)
		msg_fatal("%s", err);
	if (daemon_bound(pd.cf, "policy_pid_file", &la, &pv, &pf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	/*
	 * Check the database before detaching, so a bad path fails loudly; as
	 * run_as, so the files a new database starts with belong to it.
	 */
	if ((pd.db = open_db(&pd, 0, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	db_close(pd.db);
	if (dns_check_conf(pd.cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (daemon_detach(&o, pf) < 0)
		msg_fatal("cannot detach: %s", strerror(errno));
	if ((pd.db = open_db(&pd, 1, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);

	/* Keep the greylist's pages in memory: lookups among millions of rows
	 * then cost no system calls. */
	sqlite3_exec(pd.db, "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384", NULL, NULL,
		     NULL);
	if (!pd.readonly && (pd.cp = db_checkpointer_start(pd.db, conf_str(pd.cf, "database_path"),
							    200, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	pd.limits.line_max = (size_t)conf_num(pd.cf, "policy_line_limit");
	pd.limits.request_max = (size_t)conf_num(pd.cf, "policy_request_limit");
	pd.limits.attr_max = (size_t)conf_num(pd.cf, "policy_attribute_limit");
	if ((pd.ev = evloop_new()) == NULL || setup_signals(&pd) < 0 ||
	    evloop_tick(pd.ev, on_tick, &pd) < 0)
		msg_fatal("cannot set up event loop: %s", strerror(errno));
	if ((pd.dns = setup_dns(&pd, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	if ((pd.pol = policy_new(pd.cf, pd.db, pd.dns, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	memset(&sp, 0, sizeof(sp));
	sp.limits = &pd.limits;
	sp.max_conns = (int)conf_num(pd.cf, "policy_max_connections");
	sp.idle_timeout = (int)conf_num(pd.cf, "policy_idle_timeout");
	sp.on_request = on_request;
	sp.before_flush = before_flush;
	sp.arg = &pd;
	if ((pd.srv = server_new(pd.ev, lfd, &sp)) == NULL)
		msg_fatal("cannot start server: %s", strerror(errno));

	log_set_buffered(1);
	msg_info("ready: listening on %s, database %s, version %s", where,
		 conf_str(pd.cf, "database_path"), PACKAGE_VERSION);
	if (evloop_run(pd.ev) < 0)
		msg_error("event loop failed: %s", strerror(errno));
	server_free(pd.srv);
	close(lfd);
	listen_unix_remove(&la);
	pidfile_remove(pf);
	msg_info("stopped after %lu requests", policy_requests(pd.pol));
	log_set_buffered(0);
	dns_free(pd.dns);	/* lookups in flight end now, before the policy goes */
	free_retired_dns(&pd, 1);
	policy_free(pd.pol);
	db_checkpointer_stop(pd.cp);
	db_close(pd.db);
	evloop_free(pd.ev);
	conf_free(pd.cf);
	free(o.overrides);
	return 0;
}
