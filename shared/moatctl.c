/*
 * moatctl - look at and change moat's configuration and database.
 *
 * Each command is one function taking the rest of the command line. The
 * database is the daemons' own (database_path in moat.conf), opened and
 * migrated like they do, so moatctl also creates a fresh one.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
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
#include "moatctl_maps.h"
#include "scan.h"

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

static int cmd_maps(struct ctl *ctl, int argc, char **argv)
{
	return moatctl_maps(ctl_db(ctl), argc, argv);
}

static int cmd_doctor(struct ctl *ctl, int argc, char **argv)
{
	return doctor_run(ctl->cf, ctl_db(ctl), stdout);
}

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

static void print_result(const char *file, const struct scan_result *res, double secs, int json)
{
	if (json) {
		fputs("{\"file\":", stdout);
		json_str(stdout, file);
		printf(",\"score\":%.2f,\"required_score\":%.2f,\"action\":", res->score,
		       isinf(res->required) ? 0.0 : res->required);
		json_str(stdout, res->action);
		printf(",\"is_spam\":%s,\"scan_time\":%.6f,\"symbols\":{",
		       strcmp(res->action, "reject") == 0 ? "true" : "false", secs);
		for (size_t i = 0; i < res->n; i++) {
			const char *o = sbuf_cstr((struct sbuf *)&res->v[i].opts);

			printf("%s", i ? "," : "");
			json_str(stdout, res->v[i].name);
			printf(":{\"score\":%.2f,\"options\":[", res->v[i].weight);
			for (int k = 0; *o; k++) {
				size_t n = strcspn(o, ",");
				char opt[512];

				snprintf(opt, sizeof(opt), "%.*s", (int)n, o);
				printf("%s", k ? "," : "");
				json_str(stdout, opt);
				o += n + (o[n] == ',');
			}
			printf("]}");
		}
		printf("}}\n");
		return;
	}
	printf("Results for file: %s (%.3f seconds)\n[Metric: default]\nAction: %s\n"
	       "Spam: %s\nScore: %.2f / %.2f\n",
	       file, secs, res->action, strcmp(res->action, "reject") == 0 ? "true" : "false",
	       res->score, isinf(res->required) ? 0.0 : res->required);
	for (size_t i = 0; i < res->n; i++)
		printf("Symbol: %s (%.2f)[%s]\n", res->v[i].name, res->v[i].weight,
		       sbuf_cstr((struct sbuf *)&res->v[i].opts));
	printf("\n");
}

static struct scan_dns *scan_sd;	/* DNS lists for scan (NULL with --no-dns) */

static int scan_buffer(const struct scan_rules *r, const char *name, const char *p, size_t len,
		       int json)
{
	struct scan_input in = {.raw = p, .len = len};
	struct scan_result res;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	scan_result_init(&res);
	scan_message(r, scan_sd, &in, &res);
	scan_finish(&res, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_result(name, &res,
		     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, json);
	scan_result_free(&res);
	return 0;
}

/*
 * An mbox separator: "From sender Www Mmm ...", not a body line that
 * happens to start with "From " (mbox writers escape those, not all do).
 */
static int mbox_separator(const char *p, size_t len)
{
	const char *sp;

	if (len < 20 || memcmp(p, "From ", 5) != 0)
		return 0;
	sp = memchr(p + 5, ' ', len - 5 < 300 ? len - 5 : 300);
	return sp && (size_t)(sp - p) + 9 < len && isalpha((unsigned char)sp[1]) &&
	       isalpha((unsigned char)sp[2]) && isalpha((unsigned char)sp[3]) && sp[4] == ' ' &&
	       isalpha((unsigned char)sp[5]) && isalpha((unsigned char)sp[6]) &&
	       isalpha((unsigned char)sp[7]) && sp[8] == ' ';
}

/* One file: a message, or an mbox of several ("From " lines between them). */
static int scan_file(struct ctl *ctl, const struct scan_rules *r, const char *path, int json)
{
	size_t limit = (size_t)conf_num(ctl->cf, "scan_size_limit"), len = 0, cap = 0;
	FILE *fp = fopen(path, "rb");
	char *buf = NULL, name[4200];
	size_t start = 0, n;
	int idx = 0;

	if (fp == NULL) {
		msg_error("cannot open %s: %s", path, strerror(errno));
		return 1;
	}
	do {
		if (len + 65536 > cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len < limit * 64);
	fclose(fp);
	for (size_t i = 0; i <= len; i++) {
		int boundary = i == len || (i > start && buf[i - 1] == '\n' &&
					    mbox_separator(buf + i, len - i));

		if (!boundary)
			continue;
		if (i > start) {
			if (idx > 0 || i < len)
				snprintf(name, sizeof(name), "%s#%d", path, idx + 1);
			else
				snprintf(name, sizeof(name), "%s", path);
			scan_buffer(r, name, buf + start, i - start < limit ? i - start : limit,
				    json);
			idx++;
		}
		start = i;
	}
	free(buf);
	return 0;
}

static int scan_path(struct ctl *ctl, const struct scan_rules *r, const char *path, int json)
{
	struct stat st;
	struct dirent **list;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return scan_file(ctl, r, path, json);
	if ((n = scandir(path, &list, NULL, alphasort)) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (list[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, list[i]->d_name);
			rc |= scan_path(ctl, r, sub, json);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

static int cmd_scan(struct ctl *ctl, int argc, char **argv)
{
	struct scan_rules *r;
	char err[512];
	int json = 0, dns = 1, rc = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--no-dns") == 0)
			dns = 0;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: moatctl scan [--json] [--no-dns] FILE|DIR...\n");
		return 2;
	}
	if ((r = scan_rules_load(ctl_db(ctl), err, sizeof(err))) == NULL ||
	    (dns && (scan_sd = scan_dns_new(ctl->cf, ctl_db(ctl), err, sizeof(err))) == NULL)) {
		msg_error("%s", err);
		scan_rules_free(r);
		return 1;
	}
	for (; i < argc; i++)
		rc |= scan_path(ctl, r, argv[i], json);
	scan_dns_free(scan_sd);
	scan_sd = NULL;
	scan_rules_free(r);
	return rc;
}

static const struct command commands[] = {
	{"config", cmd_config, "[-n|-d|-H] [NAME...]",
	 "effective settings (-n: only those set, -d: defaults, -H: help)"},
	{"actions", cmd_actions, "", "score thresholds of the actions"},
	{"symbols", cmd_symbols, "", "enabled symbols and their weights"},
	{"modules", cmd_modules, "", "modules, enabled or not, with their options"},
	{"greylist", cmd_greylist, "list|delete|delete-client|allow|unallow",
	 "greylisting state (moatctl greylist for details)"},
	{"maps", cmd_maps, "[list|refresh]",
	 "allow and block lists: sources, fetch times, entries, errors; refresh now"},
	{"scan", cmd_scan, "[--json] [--no-dns] FILE|DIR...",
	 "scan messages (files, mbox files, directories) as the milter would"},
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
