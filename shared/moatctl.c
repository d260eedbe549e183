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

#include "conf.h"
#include "daemon.h"
#include "db.h"
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
		fprintf(fp, "  %-8s %-22s %s\n", c->name, c->args, c->help);
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

static const struct command commands[] = {
	{"config", cmd_config, "[-n|-d|-H] [NAME...]",
	 "effective settings (-n: only those set, -d: defaults, -H: help)"},
	{"actions", cmd_actions, "", "score thresholds of the actions"},
	{"symbols", cmd_symbols, "", "enabled symbols and their weights"},
	{"modules", cmd_modules, "", "modules, enabled or not, with their options"},
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
	char **ov = xcalloc((size_t)argc + 1, sizeof(char *));
	char err[1024];
	struct ctl ctl = {0};
	int nov = 0, explicit_path = 0, c, rc;

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
