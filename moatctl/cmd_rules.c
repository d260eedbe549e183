/*
 * cmd_rules - moatctl's rule commands: symbols, symbol, weight, actions,
 * module, modules. They only read and write the database: the daemons
 * notice a change by themselves (policyd checks PRAGMA data_version, the
 * milter reloads its rules every 2 seconds), so nothing is signalled.
 * Every statement is prepared with bound parameters; a change prints
 * "old -> new" so the admin sees what it did.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "core/sbuf.h"
#include "core/strdist.h"

/* Symbol names are upper case; accept any case on the command line. */
static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

/*
 * The weight and enabled state of a symbol; 1 found, 0 not, -1 error. A
 * symbol a regex rule or a DNS list code names but the symbols table lacks
 * (it weighs 0) is added first when create is set, so it can be weighed.
 */
static int symbol_get(sqlite3 *db, const char *name, int create, double *w, int *enabled)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT weight, enabled FROM symbols WHERE name = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*w = sqlite3_column_double(st, 0);
		*enabled = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (!create)
		return 0;
	st = ctl_prepare(db, "INSERT INTO symbols (name, weight, group_name, description)"
			 " SELECT ?1, 0, 'local', 'added by moatctl for a rule or list'"
			 " WHERE EXISTS (SELECT 1 FROM rules WHERE symbol = ?1)"
			 " OR EXISTS (SELECT 1 FROM dnsbl_codes WHERE symbol = ?1"
			 " OR received_symbol = ?1)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_changes(db) == 0)
		return rc == SQLITE_DONE ? 0 : -1;
	*w = 0;
	*enabled = 1;
	return 1;
}

/* "unknown X: NAME" and the close names from a one-column query. */
static void unknown_name(sqlite3 *db, const char *what, const char *name, const char *sql,
			 int list_all)
{
	sqlite3_stmt *st = ctl_prepare(db, sql);
	struct sbuf close;
	int n = 0;

	sbuf_init(&close);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *cand = (const char *)sqlite3_column_text(st, 0);

		if (cand && (list_all || strdist_close(name, cand)) && n++ < 8)
			sbuf_printf(&close, "%s%s", n > 1 ? ", " : "", cand);
	}
	sqlite3_finalize(st);
	if (n == 0)
		msg_error("unknown %s: %s", what, name);
	else
		msg_error("unknown %s: %s (%s: %s%s)", what, name, list_all ? "known" : "did you mean",
			  sbuf_cstr(&close), n > 8 ? ", ..." : "");
	sbuf_free(&close);
}

int cmd_symbols(struct ctl *ctl, int argc, char **argv)
{
	sqlite3_stmt *st;
	int all = 0, i = 1;
	char filter[130] = "";

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			return ctl_usage("symbols [-a] [GROUP|PATTERN]");
	}
	if (argc - i > 1)
		return ctl_usage("symbols [-a] [GROUP|PATTERN]");
	if (i < argc)
		snprintf(filter, sizeof(filter), "%s", argv[i]);
	st = ctl_prepare(ctl_db(ctl),
		     "SELECT name AS symbol, printf('%.2f', weight) AS weight, group_name AS \"group\","
		     " CASE enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state, description"
		     " FROM symbols WHERE (?1 OR enabled = 1)"
		     " AND (?2 = '' OR group_name = ?2 OR name GLOB upper(?2))"
		     " ORDER BY abs(weight) DESC, name");
	if (st == NULL)
		return 1;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_text(st, 2, filter, -1, SQLITE_STATIC);
	return ctl_print_rows(ctl_db(ctl), st);
}

int cmd_symbol(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	int on, rc = 0;

	if (argc < 3 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return ctl_usage("symbol enable|disable NAME...");
	on = strcmp(argv[1], "enable") == 0;
	for (int i = 2; i < argc; i++) {
		char name[130];
		double w;
		int en, found;
		sqlite3_stmt *st;

		snprintf(name, sizeof(name), "%s", argv[i]);
		upper(name);
		if ((found = symbol_get(db, name, 1, &w, &en)) <= 0) {
			if (found == 0)
				unknown_name(db, "symbol", name, "SELECT name FROM symbols ORDER BY name",
					     0);
			rc = 1;
			continue;
		}
		if (en == on) {
			printf("%s: %s (unchanged)\n", name, on ? "enabled" : "disabled");
			continue;
		}
		if ((st = ctl_prepare(db, "UPDATE symbols SET enabled = ?2 WHERE name = ?1")) == NULL)
			return 1;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, on);
		if (sqlite3_step(st) != SQLITE_DONE) {
			msg_error("%s: %s", name, sqlite3_errmsg(db));
			rc = 1;
		} else {
			printf("%s: %s -> %s\n", name, on ? "disabled" : "enabled",
			       on ? "enabled" : "disabled");
		}
		sqlite3_finalize(st);
	}
	return rc;
}

/* A finite decimal number, all of s. */
static int number_arg(const char *s, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(s, &end);
	return *s && *end == '\0' && errno == 0 && isfinite(*d) &&
		       strspn(s, "0123456789.eE+-") == strlen(s)
		       ? 0
		       : -1;
}

/* A composite's weight lives in the composites table: say so; 1 if name is one. */
static int composite_weight(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT printf('%.2f', weight) FROM composites"
				       " WHERE name = ?1");
	int rc = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		msg_error("%s is a composite (weight %s): moatctl composites set %s --weight VALUE",
			  name, sqlite3_column_text(st, 0), name);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

int cmd_weight(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	char name[130];
	double old, w;
	int en, found;

	if (argc < 2 || argc > 3)
		return ctl_usage("weight SYMBOL [VALUE]");
	snprintf(name, sizeof(name), "%s", argv[1]);
	upper(name);
	if (argc == 3 && (number_arg(argv[2], &w) < 0 || fabs(w) > 1e6)) {
		msg_error("weight %s: \"%s\" is not a number", name, argv[2]);
		return 1;
	}
	if ((found = symbol_get(db, name, argc == 3, &old, &en)) <= 0) {
		if (found == 0 && composite_weight(db, name))
			return 1;
		if (found == 0)
			unknown_name(db, "symbol", name, "SELECT name FROM symbols ORDER BY name", 0);
		return 1;
	}
	if (argc == 2) {
		printf("%s: %.2f%s\n", name, old, en ? "" : " (disabled)");
		return 0;
	}
	if ((st = ctl_prepare(db, "UPDATE symbols SET weight = ?2 WHERE name = ?1")) == NULL)
		return 1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, w);
	if (sqlite3_step(st) != SQLITE_DONE) {
		msg_error("%s: %s", name, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	printf("%s: %.2f -> %.2f%s\n", name, old, w,
	       en ? "" : " (the symbol is disabled: moatctl symbol enable to use it)");
	return 0;
}


/* Warn about thresholds that make another action unreachable. */
static void actions_check(sqlite3 *db)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT a.name, a.threshold, r.threshold FROM actions a,"
				       " actions r WHERE r.name = 'reject' AND a.name <> 'reject'"
				       " AND a.threshold IS NOT NULL AND r.threshold IS NOT NULL"
				       " AND a.threshold >= r.threshold");

	while (st && sqlite3_step(st) == SQLITE_ROW)
		msg_warn("%s (%.2f) is at or above reject (%.2f): mail that scores that much is"
			 " rejected, so %s never happens",
			 sqlite3_column_text(st, 0), sqlite3_column_double(st, 1),
			 sqlite3_column_double(st, 2), sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

int cmd_actions(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	char name[64], old[32];
	double t = 0;
	int off;

	if (argc == 1)
		return ctl_print_rows(db, ctl_prepare(db, "SELECT action, CASE WHEN threshold IS NULL"
						  " THEN 'off' ELSE printf('%.2f', threshold)"
						  " END AS threshold, description"
						  " FROM action_thresholds"));
	if (argc != 4 || strcmp(argv[1], "set") != 0)
		return ctl_usage("actions [set NAME SCORE|off]");
	ctl_action_name(argv[2], name, sizeof(name));
	off = strcasecmp(argv[3], "off") == 0 || strcasecmp(argv[3], "null") == 0;
	if (!off && (number_arg(argv[3], &t) < 0 || fabs(t) > 1e6)) {
		msg_error("actions set %s: \"%s\" is not a score (a number, or off)", name, argv[3]);
		return 1;
	}
	st = ctl_prepare(db, "SELECT CASE WHEN threshold IS NULL THEN 'off'"
			 " ELSE printf('%.2f', threshold) END FROM actions WHERE name = ?1");
	if (st == NULL)
		return 1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		unknown_name(db, "action", name, "SELECT name FROM actions ORDER BY name", 1);
		return 1;
	}
	snprintf(old, sizeof(old), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if ((st = ctl_prepare(db, "UPDATE actions SET threshold = ?2 WHERE name = ?1")) == NULL)
		return 1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (!off)
		sqlite3_bind_double(st, 2, t);
	if (sqlite3_step(st) != SQLITE_DONE) {
		msg_error("%s: %s", name, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	if (off)
		printf("%s: %s -> off\n", name, old);
	else
		printf("%s: %s -> %.2f\n", name, old, t);
	actions_check(db);
	return 0;
}

int cmd_module(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	int on, was;

	if (argc != 3 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return ctl_usage("module enable|disable NAME");
	on = strcmp(argv[1], "enable") == 0;
	if ((st = ctl_prepare(db, "SELECT enabled FROM modules WHERE name = ?1")) == NULL)
		return 1;
	sqlite3_bind_text(st, 1, argv[2], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		unknown_name(db, "module", argv[2], "SELECT name FROM modules ORDER BY name", 1);
		return 1;
	}
	was = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (was == on) {
		printf("module %s: %s (unchanged)\n", argv[2], on ? "enabled" : "disabled");
		return 0;
	}
	if ((st = ctl_prepare(db, "UPDATE modules SET enabled = ?2 WHERE name = ?1")) == NULL)
		return 1;
	sqlite3_bind_text(st, 1, argv[2], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, on);
	if (sqlite3_step(st) != SQLITE_DONE) {
		msg_error("%s: %s", argv[2], sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	printf("module %s: %s -> %s\n", argv[2], was ? "enabled" : "disabled",
	       on ? "enabled" : "disabled");
	return 0;
}

int cmd_modules(struct ctl *ctl, int argc, char **argv)
{
	return ctl_print_query(ctl_db(ctl), "SELECT module, state, options FROM module_status");
}
