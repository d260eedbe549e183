/*
 * moatctl - look at and change moat's configuration and database.
 *
 * Each command is one function taking the rest of the command line. The
 * database is the daemons' own (database_path in moat.conf), opened and
 * migrated like they do, so moatctl also creates a fresh one.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "conf.h"
#include "daemon.h"
#include "db.h"
#include "doctor.h"
#include "log.h"
#include "mem.h"

#define PROGNAME "moatctl"

struct ctl {
	struct conf *cf;
	sqlite3 *db;
};

struct command {
	const char *name;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct command commands[];

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: " PROGNAME " [-c FILE] [-o NAME=VALUE]... COMMAND [ARGS]\n"
		    "\n"
		    "Look at and change moat's settings and rules.\n"
		    "\n"
		    "Options:\n"
		    "  -c FILE        configuration file (default " CONF_DEFAULT_PATH ")\n"
		    "  -o NAME=VALUE  override one setting (repeatable)\n"
		    "  -h, --help     this text\n"
		    "  -V, --version  print the version and exit\n"
		    "\n"
		    "Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(fp, "  %s %s\n      %s\n", c->name, c->args, c->help);
}

static sqlite3 *ctl_db(struct ctl *ctl)
{
	char err[1024];

	if (ctl->db)
		return ctl->db;
	if (daemon_state_dir(ctl->cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	ctl->db = db_open(conf_str(ctl->cf, "database_path"),
			  (int)conf_num(ctl->cf, "db_busy_timeout") * 1000, err, sizeof(err));
	if (ctl->db == NULL)
		msg_fatal("%s", err);
	return ctl->db;
}

/* Print the rows of a query as aligned columns with a header line. */
static int print_query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int ncol, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return 1;
	}
	ncol = sqlite3_column_count(st);
	for (int i = 0; i < ncol; i++)
		printf(i ? "\t%s" : "%s", sqlite3_column_name(st, i));
	printf("\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);

			printf(i ? "\t%s" : "%s", v ? (const char *)v : "-");
		}
		printf("\n");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

static int cmd_config(struct ctl *ctl, int argc, char **argv)
{
	int set_only = 0, defaults = 0, c, rc = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "ndH")) != -1) {
		switch (c) {
		case 'n':
			set_only = 1;
			break;
		case 'd':
			defaults = 1;
			break;
		case 'H':
			conf_print_help(stdout);
			return 0;
		default:
			fprintf(stderr, "usage: moatctl config [-n | -d | -H] [NAME...]\n");
			return 2;
		}
	}
	if (optind == argc) {
		conf_print(ctl->cf, stdout, set_only, defaults);
		return 0;
	}
	for (int i = optind; i < argc; i++)
		if (conf_print_one(ctl->cf, stdout, argv[i], defaults) < 0) {
			msg_error("unknown setting: %s", argv[i]);
			rc = 1;
		}
	return rc;
}

static int cmd_actions(struct ctl *ctl, int argc, char **argv)
{
	return print_query(ctl_db(ctl), "SELECT action, coalesce(printf('%.2f', threshold), 'off')"
					" AS threshold, description FROM action_thresholds");
}

static int cmd_symbols(struct ctl *ctl, int argc, char **argv)
{
	return print_query(ctl_db(ctl), "SELECT symbol, weight, \"group\", description"
					" FROM symbol_weights");
}

static int cmd_modules(struct ctl *ctl, int argc, char **argv)
{
	return print_query(ctl_db(ctl), "SELECT module, state, options FROM module_status");
}

static int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);

	printf("%s: schema version %d\n", conf_str(ctl->cf, "database_path"), db_version(db));
	return 0;
}

/* Run one write statement with text parameters; prints rows changed. */
static int exec_write(sqlite3 *db, const char *sql, int nparam, char **params, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("%s: %s", what, sqlite3_errmsg(db));
		return 1;
	}
	for (int i = 0; i < nparam; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("%s: %s", what, sqlite3_errmsg(db));
		return 1;
	}
	printf("%s: %d row(s)\n", what, sqlite3_changes(db));
	return 0;
}

static int greylist_usage(void)
{
	fprintf(stderr, "usage: moatctl greylist list [pending|passed|clients]\n"
			"       moatctl greylist delete CLIENT SENDER RECIPIENT\n"
			"       moatctl greylist delete-client ADDRESS-OR-NETWORK\n"
			"       moatctl greylist allow ADDRESS\n"
			"       moatctl greylist unallow ADDRESS\n");
	return 2;
}

/* Is s an IP address (what greylist_clients keys on)? */
static int is_address(const char *s)
{
	struct ip_addr ip;

	return ip_parse(s, strlen(s), &ip) == 0;
}

static int cmd_greylist(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "list") == 0 && argc <= 3) {
		const char *what = argc == 3 ? argv[2] : "all";

		if (strcmp(what, "pending") == 0)
			return print_query(ctl_db(ctl), "SELECT * FROM greylist_pending");
		if (strcmp(what, "passed") == 0)
			return print_query(ctl_db(ctl), "SELECT * FROM greylist_passed");
		if (strcmp(what, "clients") == 0)
			return print_query(ctl_db(ctl), "SELECT * FROM greylist_allowed_clients");
		if (strcmp(what, "all") == 0)
			return print_query(ctl_db(ctl),
					   "SELECT client, sender, recipient,"
					   " CASE WHEN passed_at IS NULL THEN 'pending' ELSE 'passed'"
					   " END AS state, datetime(first_seen, 'unixepoch') AS first_seen,"
					   " datetime(last_seen, 'unixepoch') AS last_seen"
					   " FROM greylist ORDER BY last_seen DESC");
		return greylist_usage();
	}
	if (strcmp(sub, "delete") == 0 && argc == 5)
		return exec_write(ctl_db(ctl),
				  "DELETE FROM greylist WHERE client = ?1 AND sender = lower(?2)"
				  " AND recipient = lower(?3)",
				  3, argv + 2, "deleted triplets");
	if (strcmp(sub, "delete-client") == 0 && argc == 3)
		return exec_write(ctl_db(ctl), "DELETE FROM greylist WHERE client = ?1", 1, argv + 2,
				  "deleted triplets") ||
		       exec_write(ctl_db(ctl), "DELETE FROM greylist_clients WHERE client = ?1", 1,
				  argv + 2, "deleted client entries");
	if ((strcmp(sub, "allow") == 0 || strcmp(sub, "unallow") == 0) && argc == 3) {
		if (!is_address(argv[2])) {
			msg_error("not an IP address: %s", argv[2]);
			return 1;
		}
		if (strcmp(sub, "unallow") == 0)
			return exec_write(ctl_db(ctl),
					  "DELETE FROM greylist_clients WHERE client = ?1 AND manual = 1",
					  1, argv + 2, "removed");
		return exec_write(ctl_db(ctl),
				  "INSERT INTO greylist_clients (client, count, last_seen, manual)"
				  " VALUES (?1, 0, unixepoch(), 1) ON CONFLICT (client) DO UPDATE"
				  " SET manual = 1",
				  1, argv + 2, "allowed");
	}
	return greylist_usage();
}

static int cmd_doctor(struct ctl *ctl, int argc, char **argv)
{
	return doctor_run(ctl->cf, ctl_db(ctl), stdout);
}

static const struct command commands[] = {
	{"config", cmd_config, "[-n|-d|-H] [NAME...]",
	 "effective settings (-n: only those set, -d: defaults, -H: help)"},
	{"actions", cmd_actions, "", "score thresholds of the actions"},
	{"symbols", cmd_symbols, "", "enabled symbols and their weights"},
	{"modules", cmd_modules, "", "modules, enabled or not, with their options"},
	{"greylist", cmd_greylist, "list|delete|delete-client|allow|unallow",
	 "greylisting state (moatctl greylist for details)"},
	{"doctor", cmd_doctor, "",
	 "check resolvers and every DNS list in use (RFC 5782 test points, blocks)"},
	{"migrate", cmd_migrate, "", "create or upgrade the database; print its version"},
	{NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = CONF_DEFAULT_PATH;
	/* Static: still reachable when an early return ends the program. */
	static char **ov;
	char err[1024];
	struct ctl ctl = {0};
	int nov = 0, explicit_path = 0, c, rc;

	ov = xcalloc((size_t)argc + 1, sizeof(char *));
	log_init(PROGNAME, LOG_TO_STDERR, NULL);
	/* "+": stop at the command, its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			explicit_path = 1;
			break;
		case 'o':
			ov[nov++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROGNAME " %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	ctl.cf = conf_load(path, explicit_path, ov, nov, err, sizeof(err));
	if (ctl.cf == NULL)
		msg_fatal("%s", err);
	for (const struct command *cmd = commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[optind]) != 0)
			continue;
		rc = cmd->fn(&ctl, argc - optind, argv + optind);
		db_close(ctl.db);
		conf_free(ctl.cf);
		free(ov);
		return rc;
	}
	fprintf(stderr, PROGNAME ": unknown command \"%s\"; see moatctl --help\n", argv[optind]);
	conf_free(ctl.cf);
	free(ov);
	return 2;
}
