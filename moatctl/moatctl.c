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
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/bayes.h"
#include "core/cidr.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "store/db.h"
#include "core/log.h"
#include "core/mem.h"
#include "moatctl.h"
#include "moatctl_admin.h"
#include "moatctl_bayes.h"
#include "mail/mbox.h"
#include "moatctl_maps.h"
#include "moatctl_zone.h"
#include "scan/scan.h"

#define PROGNAME "moatctl"

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
		fprintf(fp, "  %s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args, c->help);
	fprintf(fp, "\n" PROGNAME " COMMAND --help explains one command.\n");
}

sqlite3 *ctl_db(struct ctl *ctl)
{
	char err[1024];

	if (ctl->db)
		return ctl->db;
	/*
	 * A typo in moat.conf may be in database_path (or its directory): then
	 * the default would be another database. Use one that is there, but
	 * never create one from a file with errors.
	 */
	if (ctl->conf_warnings && access(conf_str(ctl->cf, "database_path"), F_OK) != 0)
		msg_fatal("no database at %s, and %s has errors (above): not creating one; fix the"
			  " file first",
			  conf_str(ctl->cf, "database_path"), ctl->conf_path);
	if (daemon_state_dir(ctl->cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	ctl->db = db_open(conf_str(ctl->cf, "database_path"),
			  (int)conf_num(ctl->cf, "db_busy_timeout") * 1000, err, sizeof(err));
	if (ctl->db == NULL)
		msg_fatal("%s", err);
	return ctl->db;
}

/* See moatctl.h. */
int ctl_print_rows(sqlite3 *db, sqlite3_stmt *st)
{
	int ncol, rc;

	if (st == NULL)
		return 1;
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

/* See moatctl.h. */
int ctl_print_query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return 1;
	}
	return ctl_print_rows(db, st);
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

static int cmd_modules(struct ctl *ctl, int argc, char **argv)
{
	return ctl_print_query(ctl_db(ctl), "SELECT module, state, options FROM module_status");
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
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_pending");
		if (strcmp(what, "passed") == 0)
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_passed");
		if (strcmp(what, "clients") == 0)
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_allowed_clients");
		if (strcmp(what, "all") == 0)
			return ctl_print_query(ctl_db(ctl),
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

static int cmd_zone(struct ctl *ctl, int argc, char **argv)
{
	return moatctl_zone(ctl_db(ctl), argc, argv);
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
			printf("%s", i ? "," : "");
			json_str(stdout, res->v[i].name);
			printf(":{\"score\":%.2f,\"options\":[", res->v[i].weight);
			/* One element per option, as Rspamd's JSON has them. */
			for (int k = 0; k < res->v[i].nopts; k++) {
				printf("%s", k ? "," : "");
				json_str(stdout, res->v[i].opts[k]);
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
	/* As rspamc prints a symbol: options after ", ", no brackets without any. */
	for (size_t i = 0; i < res->n; i++) {
		struct sbuf o;

		sbuf_init(&o);
		scan_symbol_opts(&res->v[i], &o, ", ");
		printf("Symbol: %s (%.2f)%s%s%s\n", res->v[i].name, res->v[i].weight,
		       o.len ? "[" : "", sbuf_cstr(&o), o.len ? "]" : "");
		sbuf_free(&o);
	}
	printf("\n");
}

static int scan_buffer(const struct scan_rules *r, const struct scan_env *env, const char *name,
		       const char *p, size_t len, int json)
{
	struct scan_input in = {.raw = p, .len = len};
	struct scan_result res;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	scan_result_init(&res);
	scan_message(r, env, &in, &res);
	scan_finish(&res, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_result(name, &res,
		     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, json);
	scan_result_free(&res);
	return 0;
}


/* What mbox_walk() hands each message to. */
struct scan_walk {
	const struct scan_rules *r;
	struct scan_env env;	/* DNS lists (NULL with --no-dns) and Bayes */
	int json;
};

static int scan_walked(void *arg, const char *name, const char *p, size_t len)
{
	struct scan_walk *w = arg;

	scan_buffer(w->r, &w->env, name, p, len, w->json);
	return 0;
}

static int cmd_scan(struct ctl *ctl, int argc, char **argv)
{
	struct bayes_store *st;
	struct scan_rules *r;
	struct scan_walk w = {0};
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
	    (dns && (w.env.dns = scan_dns_new(ctl->cf, ctl_db(ctl), err, sizeof(err))) == NULL)) {
		msg_error("%s", err);
		scan_rules_free(r);
		return 1;
	}
	st = bayes_store_sqlite_new(ctl_db(ctl), NULL);
	w.env.bayes = st ? bayes_new(st) : NULL;
	w.r = r;
	w.json = json;
	for (; i < argc; i++)
		rc |= mbox_walk(argv[i], (size_t)conf_num(ctl->cf, "scan_size_limit"), scan_walked,
				 &w) != 0;
	bayes_free(w.env.bayes);
	bayes_store_close(st);
	scan_dns_free(w.env.dns);
	scan_rules_free(r);
	return rc;
}

static int cmd_learn(struct ctl *ctl, int argc, char **argv)
{
	return moatctl_learn(ctl->cf, ctl_db(ctl), argc, argv);
}

static int cmd_bayes(struct ctl *ctl, int argc, char **argv)
{
	return moatctl_bayes(ctl->cf, ctl_db(ctl), argc, argv);
}

static const struct command commands[] = {
	{"config", cmd_config, "[-n|-d|-H] [NAME...]",
	 "effective settings (-n: only those set, -d: defaults, -H: help)"},
	{"actions", admin_actions, "[set NAME SCORE|off]",
	 "score thresholds of the actions; set one"},
	{"symbols", admin_symbols, "[-a] [GROUP|PATTERN]",
	 "symbols, their weights, groups and state"},
	{"symbol", admin_symbol, "enable|disable NAME...",
	 "switch symbols on or off"},
	{"weight", admin_weight, "SYMBOL [VALUE]",
	 "show or change the weight of a symbol"},
	{"modules", cmd_modules, "", "modules, enabled or not, with their options"},
	{"module", admin_module, "enable|disable NAME",
	 "switch a module (greylist, rbl, classifier-bayes, ...) on or off"},
	{"greylist", cmd_greylist, "list|delete|delete-client|allow|unallow",
	 "greylisting state: list, forget or allow clients"},
	{"history", admin_history, "[-n N] [--action ACTION] [--since WHEN]",
	 "recent messages the content filter scanned, newest first"},
	{"stats", admin_stats, "[--since WHEN] [-n TOP]",
	 "messages per action, top symbols, scan times"},
	{"zone", cmd_zone, "list|codes|add|enable|disable|delete",
	 "DNS lists: list them and their codes, add your own, switch on or off, delete"},
	{"maps", cmd_maps, "[list|refresh]",
	 "allow and block lists: sources, fetch times, entries, errors; refresh now"},
	{"scan", cmd_scan, "[--json] [--no-dns] FILE|DIR...",
	 "scan messages (files, mbox files, directories) as the milter would"},
	{"learn-spam", cmd_learn, "FILE|DIR|MBOX...", "teach the Bayes classifier spam"},
	{"learn-ham", cmd_learn, "FILE|DIR|MBOX...", "teach the Bayes classifier ham"},
	{"bayes", cmd_bayes, "stats|forget FILE...", "what the Bayes classifier learned; unlearn"},
	{"doctor", admin_doctor, "",
	 "check the database, the daemons, Postfix's wiring and every DNS list in use"},
	{"import-custom-commands", admin_import, "[--dry-run] FILE",
	 "apply a docker-mailserver rspamd/custom-commands.conf"},
	{"migrate", cmd_migrate, "", "create or upgrade the database; print its version"},
	{NULL, NULL, NULL, NULL},
};

/* Longer help, for moatctl COMMAND --help. */
static const struct {
	const char *name, *text;
} details[] = {
	{"config",
	 "Prints moat.conf's settings as \"name = value\" lines, like postconf(1):\n"
	 "every setting with its effective value, or only the NAMEs given.\n"
	 "  -n  only the settings set in the file or with -o\n"
	 "  -d  the compiled-in defaults instead of the effective values\n"
	 "  -H  every setting with its type, default and meaning"},
	{"actions",
	 "Without arguments, lists the actions (greylist, add header, rewrite subject,\n"
	 "reject) from the lowest threshold up, with \"off\" for actions turned off.\n"
	 "\"set NAME SCORE\" moves a threshold, \"set NAME off\" turns the action off;\n"
	 "NAME may be written add_header or add-header as in Rspamd's actions.conf.\n"
	 "Prints old -> new, and warns when a threshold at or above reject's makes an\n"
	 "action unreachable. The daemons use the new value within seconds."},
	{"symbols",
	 "Lists the enabled symbols, largest effect first, with weight, group, state\n"
	 "and description.\n"
	 "  -a       disabled symbols too\n"
	 "  GROUP    only this group (headers, mime, url, rbl, ...)\n"
	 "  PATTERN  only names matching a shell pattern (RBL_*, *SPAMHAUS*)"},
	{"symbol",
	 "A disabled symbol is not added to any message (and weighs nothing). A\n"
	 "symbol a regex rule or a DNS list code names but the symbols table lacks\n"
	 "is added first. Prints old -> new for each NAME."},
	{"weight",
	 "With VALUE (a decimal number, negative for ham signs), sets the weight the\n"
	 "symbol adds to the score and prints old -> new; without, prints it. An\n"
	 "unknown name is an error listing the close ones. A symbol that a regex rule\n"
	 "or DNS list code names but the symbols table lacks is added first."},
	{"modules",
	 "Lists greylist, rbl, classifier-bayes, ...: enabled or disabled, and their\n"
	 "options (set-option-for-module in a docker-mailserver import)."},
	{"module",
	 "Like disable-module / enable-module in docker-mailserver's custom-commands.conf.\n"
	 "An unknown NAME is an error listing the modules. Prints old -> new."},
	{"greylist",
	 "  list [pending|passed|clients]        triplets (or allowed clients)\n"
	 "  delete CLIENT SENDER RECIPIENT       forget one triplet\n"
	 "  delete-client ADDRESS-OR-NETWORK     forget a client's triplets and its allowance\n"
	 "  allow ADDRESS                        never greylist this client\n"
	 "  unallow ADDRESS                      undo allow"},
	{"history",
	 "One line per message: local time, queue id, client, envelope sender,\n"
	 "recipients, score, action, reason, scan time in ms and the symbols with\n"
	 "weights. greylist is mail held (451) for greylisting; let through on its\n"
	 "retry it is \"no action\" with the reason \"greylisting passed after Ns\" and\n"
	 "GREYLIST(0.00)[pass], as Rspamd has it. skipped is local mail not scanned\n"
	 "(scan_local = no); the reason says why it is local.\n"
	 "  -n N             at most N messages (default 20)\n"
	 "  --action ACTION  only this action (reject, add_header, \"no action\",\n"
	 "                   greylist, skipped, ...)\n"
	 "  --since WHEN     a duration back from now (90s, 30m, 2h, 7d, 1w) or a local\n"
	 "                   date and time (\"2026-11-25\", \"2026-11-25 14:00\")"},
	{"stats",
	 "Over the last 24 hours, or since WHEN (as for history): messages in all and\n"
	 "per hour; scan time mean, median (p50), p99 and max (of the messages\n"
	 "scanned: local mail skipped unscanned has none); per action the count,\n"
	 "share, average score and scan time; the TOP (default 10) symbols by the\n"
	 "number of messages that got them."},
	{"learn-spam",
	 "A message learned before in the same class is skipped (\"already learned\"),\n"
	 "one learned in the other class is moved. A message is known by its\n"
	 "Message-ID and body; one without a Message-ID by its From, Sender, To, Cc,\n"
	 "Subject and Date headers and body (see moatctl(1))."},
	{"learn-ham", "As learn-spam, for ham."},
	{"zone",
	 "The DNS block and allow lists (RFC 5782) both daemons query.\n"
	 "  list                     every zone: kind, checks, state, listing codes\n"
	 "  codes ZONE               what the zone's answers mean: code, symbol, weight\n"
	 "  codes ZONE add SPEC...   add or replace codes (SPEC as for --code)\n"
	 "  codes ZONE delete CODE...\n"
	 "  add ZONE [OPTIONS]       a list of your own, in one transaction:\n"
	 "    --kind ip|domain       queried with the client's address (default), or a name\n"
	 "    --checks LIST          what is looked up: client, received, url (ip lists;\n"
	 "                           default client), helo, sender, client_name, url (domain\n"
	 "                           lists; default all four)\n"
	 "    --symbol SYMBOL        the symbol of a listing (upper case; made if new)\n"
	 "    --weight WEIGHT        its weight (needed for a new symbol)\n"
	 "    --code SPEC            what an answer means (repeatable): CODE for --symbol,\n"
	 "                           CODE=SYMBOL, CODE=SYMBOL:WEIGHT, or CODE=error for the\n"
	 "                           list's own error answers; CODE is 127.0.0.2, 127.0.*.3\n"
	 "                           or bit:N. Without --code: 127.0.0.* is --symbol.\n"
	 "    --full                 domain lists: the full host name, not the registrable\n"
	 "                           domain\n"
	 "    --no-ipv6              ip lists: do not ask about IPv6 clients\n"
	 "    --description TEXT     shown by zone list\n"
	 "    --disabled             add it switched off\n"
	 "  enable|disable ZONE...   switch zones on or off (the shipped ones too)\n"
	 "  delete ZONE              the zone and its codes (its symbols stay)\n"
	 "The running daemons use a change within seconds. A listing in a zone that\n"
	 "moat-policyd queries and whose weight reaches reject is rejected with the\n"
	 "list's TXT record in the reply, as Postfix's reject_rbl_client does."},
	{"scan",
	 "Prints rspamc-like results (or one JSON object per message with --json).\n"
	 "--no-dns skips the DNS lists."},
	{"doctor",
	 "Checks the database (schema version, integrity) and warns about rules that\n"
	 "cannot work (an action at or above reject, a regex rule whose symbol is not\n"
	 "in the symbols table); lists disabled modules, docker-mailserver settings not\n"
	 "applied and the last day's history; fails on errors in moat.conf. Then sends\n"
	 "moat-policyd a policy request and moat-contentfilter a milter negotiation,\n"
	 "checks that Postfix's mail_owner can reach a unix socket, and with postconf\n"
	 "that main.cf names both (check_policy_service, smtpd_milters). Then asks\n"
	 "every DNS list in use for its RFC 5782 test points, reports error answers (a\n"
	 "list refusing a public resolver) and the problems the daemons logged. Exit 1\n"
	 "if anything is wrong."},
	{"import-custom-commands",
	 "Reads the seven commands of docker-mailserver's custom-commands.conf\n"
	 "(disable-module, enable-module, set-option-for-module,\n"
	 "set-option-for-controller, set-option-for-proxy, set-common-option, add-line)\n"
	 "and applies them to the database in one transaction: modules, module\n"
	 "options, action thresholds (module actions, add-line actions.conf), the\n"
	 "rewrite subject, symbol weights (add-line groups.conf / *_group.conf).\n"
	 "Options moat keeps in moat.conf (greylist timeout, expire, ipv4_mask,\n"
	 "ipv6_mask, message; proxy timeout; soft_reject_on_timeout) are printed as the\n"
	 "moat.conf line to write. Rspamd modules and options moat has no equivalent\n"
	 "for are reported and kept in the dms_unmapped table (view dms_not_applied).\n"
	 "An unknown command, module or option, or a bad value, is an error naming the\n"
	 "line, and nothing is applied (exit 1). The summary counts the lines applied,\n"
	 "unchanged, not applied and the moat.conf lines to add by hand; importing the\n"
	 "same file again applies nothing (\"0 applied\").\n"
	 "  --dry-run  show what would change; write nothing"},
	{"migrate",
	 "Opens the database (database_path), creating it and applying the schema\n"
	 "migrations it lacks, as the daemons do at start-up."},
	{NULL, NULL},
};

/* moatctl COMMAND --help */
static void command_help(const struct command *c)
{
	printf("Usage: " PROGNAME " [-c FILE] [-o NAME=VALUE]... %s%s%s\n\n%s\n", c->name,
	       *c->args ? " " : "", c->args, c->help);
	for (size_t i = 0; details[i].name; i++)
		if (strcmp(details[i].name, c->name) == 0)
			printf("\n%s\n", details[i].text);
}

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
	/*
	 * "moatctl: unknown symbol: ..." whether a person or a script reads
	 * it: a script or cron adds its own time, and one format keeps the
	 * messages easy to match.
	 */
	log_init(PROGNAME, LOG_TO_TERMINAL, NULL);
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
	ctl.conf_path = path;
	for (const struct command *cmd = commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[optind]) != 0)
			continue;
		if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
					  strcmp(argv[optind + 1], "-h") == 0)) {
			command_help(cmd);
			free(ov);
			return 0;
		}
		/*
		 * "config" shows moat.conf, so an error in it is its answer; the
		 * other commands need little of it (most only the database), and
		 * go on past a typo with a warning, as postconf does.
		 */
		if (cmd->fn == cmd_config)
			ctl.cf = conf_load(path, explicit_path, ov, nov, err, sizeof(err));
		else
			ctl.cf = conf_load_lenient(path, explicit_path, ov, nov,
						   &ctl.conf_warnings, err, sizeof(err));
		if (ctl.cf == NULL)
			msg_fatal("%s", err);
		rc = cmd->fn(&ctl, argc - optind, argv + optind);
		db_close(ctl.db);
		conf_free(ctl.cf);
		free(ov);
		return rc;
	}
	fprintf(stderr, PROGNAME ": unknown command \"%s\"; see moatctl --help\n", argv[optind]);
	free(ov);
	return 2;
}
