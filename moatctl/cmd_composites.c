/*
 * cmd_composites - moatctl composites: list, add, set, del, enable and
 * disable the composite rules (the composites table; the language is
 * shared/scan/composite.h's). An expression is compiled before it is
 * written, and the enabled composites are checked with it for one naming
 * itself through others; nothing is written when either fails. Like
 * cmd_rules.c, it only writes the database: the milter reloads its rules
 * every 2 seconds, so nothing is signalled.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/log.h"
#include "core/mem.h"
#include "scan/composite.h"
#include "scan/rules.h"

#define USAGE                                                                                      \
	"composites [list [-a]] | add NAME EXPRESSION WEIGHT [--policy P] [--description D]"       \
	" [--disabled] | set NAME [--expression E] [--weight W] [--policy P] [--description D]"    \
	" | del NAME... | enable NAME... | disable NAME..."

/* The options of add and set; NULL when not given. */
struct opts {
	const char *expression, *weight, *policy, *description;
	int disabled;
};

/* A composite's name: upper-cased in place; 0, or -1 (logged) if it cannot be one. */
static int name_arg(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (n == 0 || n > 63 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n) {
		msg_error("composite name \"%s\": letters, digits and _ only, at most 63", s);
		return -1;
	}
	return 0;
}

/* A finite decimal number within +-1e6, all of s. */
static int weight_arg(const char *s, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(s, &end);
	if (*s && *end == '\0' && errno == 0 && isfinite(*d) && fabs(*d) <= 1e6 &&
	    strspn(s, "0123456789.eE+-") == strlen(s))
		return 0;
	msg_error("weight \"%s\" is not a number", s);
	return -1;
}

static int policy_arg(const char *s, const char **canon)
{
	enum composite_policy p;

	if (composite_policy_parse(s, &p) < 0) {
		msg_error("policy \"%s\": remove_all, remove_symbol, remove_weight or leave", s);
		return -1;
	}
	*canon = composite_policy_name(p);
	return 0;
}

/* --name VALUE or --name=VALUE at argv[*i]; 1 taken, 0 not this option, -1 value missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **v)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*v = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		msg_error("%s needs a value", name);
		return -1;
	}
	*v = argv[++*i];
	return 1;
}

/* Split argv into positional arguments (kept in order in argv) and options; their count, or -1. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int npos = 0;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		int r = 0;

		if (strcmp(argv[i], "--disabled") == 0) {
			o->disabled = 1;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			if ((r = opt_value(argc, argv, &i, "--expression", &o->expression)) == 0 &&
			    (r = opt_value(argc, argv, &i, "--weight", &o->weight)) == 0 &&
			    (r = opt_value(argc, argv, &i, "--policy", &o->policy)) == 0 &&
			    (r = opt_value(argc, argv, &i, "--description", &o->description)) ==
			        0) {
				msg_error("unknown option %s", argv[i]);
				return -1;
			}
			if (r < 0)
				return -1;
			continue;
		}
		argv[npos++] = argv[i];
	}
	return npos;
}

/*
 * Whether the enabled composites, with name's expression replaced by expr
 * (or name added), form a set the scanner can evaluate (rules.h): 0, or -1
 * with the reason logged.
 */
static int check_set(sqlite3 *db, const char *name, const char *expr)
{
	char err[512];

	if (scan_rules_composite_check(db, name, expr, err, sizeof(err)) < 0) {
		msg_error("%s: %s", name, err);
		return -1;
	}
	return 0;
}

/* Warn about names the expression uses that nothing adds: no symbol, no composite. */
static void warn_unknown(sqlite3 *db, const char *name, const char *expr)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT EXISTS (SELECT 1 FROM symbols WHERE name = ?1)"
	                                   " OR EXISTS (SELECT 1 FROM composites WHERE name = ?1)"
	                                   " OR ?1 = ?2");
	char err[256];
	struct composite_expr *e = composite_parse(expr, err, sizeof(err));

	for (size_t i = 0; st && e && i < composite_expr_atoms(e); i++) {
		const char *a = composite_expr_atom(e, i);

		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
			msg_warn("%s: %s is neither in the symbols table nor a composite: that part"
			         " matches only once something adds it",
			         name, a);
	}
	composite_expr_free(e);
	sqlite3_finalize(st);
}

/* 1 if the composite exists, 0 if not (logged unless quiet), -1 on error. */
static int exists(sqlite3 *db, const char *name, int quiet)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT 1 FROM composites WHERE name = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!rc && !quiet)
		msg_error("unknown composite: %s (moatctl composites list -a shows them)", name);
	return rc;
}

static int list(sqlite3 *db, int all)
{
	sqlite3_stmt *st = ctl_prepare(
	    db, "SELECT name AS composite, printf('%.2f', weight) AS weight, policy,"
	        " CASE enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state, expression,"
	        " description FROM composites WHERE ?1 OR enabled = 1 ORDER BY name");

	if (st == NULL)
		return 1;
	sqlite3_bind_int(st, 1, all);
	return ctl_print_rows(db, st);
}

static int add(sqlite3 *db, int argc, char **argv)
{
	struct opts o;
	const char *policy = "remove_all";
	sqlite3_stmt *st;
	double w;
	int n = parse_opts(argc, argv, &o), rc;

	if (n != 3 || o.expression || o.weight)
		return ctl_usage("composites add NAME EXPRESSION WEIGHT [--policy P]"
		                 " [--description D] [--disabled]");
	if (name_arg(argv[0]) < 0 || weight_arg(argv[2], &w) < 0 ||
	    (o.policy && policy_arg(o.policy, &policy) < 0))
		return 1;
	if ((rc = exists(db, argv[0], 1)) != 0) {
		if (rc > 0)
			msg_error("composite %s exists: change it with moatctl composites set",
			          argv[0]);
		return 1;
	}
	if (!o.disabled && check_set(db, argv[0], argv[1]) < 0)
		return 1;
	if (o.disabled) {
		char err[512];
		struct composite_expr *e = composite_parse(argv[1], err, sizeof(err));

		if (e == NULL) {
			msg_error("%s: expression \"%s\": %s", argv[0], argv[1], err);
			return 1;
		}
		composite_expr_free(e);
	}
	st = ctl_prepare(db, "INSERT INTO composites (name, expression, weight, policy,"
	                     " description, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (st == NULL)
		return 1;
	sqlite3_bind_text(st, 1, argv[0], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, argv[1], -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, w);
	sqlite3_bind_text(st, 4, policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o.description ? o.description : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, !o.disabled);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("%s: %s", argv[0], sqlite3_errmsg(db));
		return 1;
	}
	printf("%s: added (%.2f, %s%s): %s\n", argv[0], w, policy, o.disabled ? ", disabled" : "",
	       argv[1]);
	warn_unknown(db, argv[0], argv[1]);
	return 0;
}

/* One column of one row, as text; NULL if there is none. */
static char *column(sqlite3 *db, const char *sql, const char *name)
{
	sqlite3_stmt *st = ctl_prepare(db, sql);
	char *v = NULL;

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* The columns set can change, each with its two statements (no SQL is built at run time). */
static const struct field {
	const char *name, *select, *update;
	int num;
} fields[] = {
    {"expression", "SELECT expression FROM composites WHERE name = ?1",
     "UPDATE composites SET expression = ?2 WHERE name = ?1", 0},
    {"weight", "SELECT printf('%.2f', weight) FROM composites WHERE name = ?1",
     "UPDATE composites SET weight = ?2 WHERE name = ?1", 1},
    {"policy", "SELECT policy FROM composites WHERE name = ?1",
     "UPDATE composites SET policy = ?2 WHERE name = ?1", 0},
    {"description", "SELECT description FROM composites WHERE name = ?1",
     "UPDATE composites SET description = ?2 WHERE name = ?1", 0},
};

/* Set one field (fields[]) of name to value, printing old -> new. */
static int update(sqlite3 *db, const char *name, const struct field *f, const char *value)
{
	char *old = column(db, f->select, name);
	sqlite3_stmt *st = ctl_prepare(db, f->update);
	int rc;

	if (st == NULL) {
		free(old);
		return 1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (f->num)
		sqlite3_bind_double(st, 2, strtod(value, NULL));
	else
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("%s: %s", name, sqlite3_errmsg(db));
		free(old);
		return 1;
	}
	if (f->num)
		printf("%s: %s: %s -> %.2f\n", name, f->name, old ? old : "", strtod(value, NULL));
	else
		printf("%s: %s: %s -> %s\n", name, f->name, old ? old : "", value);
	free(old);
	return 0;
}

static int set(sqlite3 *db, int argc, char **argv)
{
	struct opts o;
	const char *policy = NULL;
	double w;
	char *enabled;
	int n = parse_opts(argc, argv, &o), rc = 0, r;

	if (n != 1 || o.disabled || !(o.expression || o.weight || o.policy || o.description))
		return ctl_usage("composites set NAME [--expression E] [--weight W] [--policy P]"
		                 " [--description D]");
	if (name_arg(argv[0]) < 0 || (o.weight && weight_arg(o.weight, &w) < 0) ||
	    (o.policy && policy_arg(o.policy, &policy) < 0))
		return 1;
	if ((r = exists(db, argv[0], 0)) <= 0)
		return 1;
	if (o.expression) {
		enabled = column(db, "SELECT enabled FROM composites WHERE name = ?1", argv[0]);
		r = enabled && strcmp(enabled, "1") == 0;
		free(enabled);
		if (r ? check_set(db, argv[0], o.expression) < 0 : 0)
			return 1;
		if (!r) {
			char err[512];
			struct composite_expr *e = composite_parse(o.expression, err, sizeof(err));

			if (e == NULL) {
				msg_error("%s: expression \"%s\": %s", argv[0], o.expression, err);
				return 1;
			}
			composite_expr_free(e);
		}
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		msg_error("cannot lock the database: %s", sqlite3_errmsg(db));
		return 1;
	}
	if (o.expression)
		rc |= update(db, argv[0], &fields[0], o.expression);
	if (o.weight)
		rc |= update(db, argv[0], &fields[1], o.weight);
	if (policy)
		rc |= update(db, argv[0], &fields[2], policy);
	if (o.description)
		rc |= update(db, argv[0], &fields[3], o.description);
	if (sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		msg_error("cannot write: %s", sqlite3_errmsg(db));
		return 1;
	}
	if (o.expression && !rc)
		warn_unknown(db, argv[0], o.expression);
	return rc;
}

/* del, enable, disable: each NAME in turn. */
static int each(sqlite3 *db, const char *verb, int argc, char **argv)
{
	int rc = 0;

	if (argc < 1)
		return ctl_usage("composites del|enable|disable NAME...");
	for (int i = 0; i < argc; i++) {
		char *name = argv[i], *expr, *was;
		sqlite3_stmt *st;
		int on = strcmp(verb, "enable") == 0;

		if (name_arg(name) < 0 || exists(db, name, 0) <= 0) {
			rc = 1;
			continue;
		}
		if (strcmp(verb, "del") == 0) {
			st = ctl_prepare(db, "DELETE FROM composites WHERE name = ?1");
		} else {
			was = column(db, "SELECT enabled FROM composites WHERE name = ?1", name);
			if (was && atoi(was) == on) {
				printf("%s: %s (unchanged)\n", name, on ? "enabled" : "disabled");
				free(was);
				continue;
			}
			free(was);
			expr =
			    column(db, "SELECT expression FROM composites WHERE name = ?1", name);
			if (on && (expr == NULL || check_set(db, name, expr) < 0)) {
				free(expr);
				rc = 1;
				continue;
			}
			free(expr);
			st = ctl_prepare(db,
			                 on ? "UPDATE composites SET enabled = 1 WHERE name = ?1"
			                    : "UPDATE composites SET enabled = 0 WHERE name = ?1");
		}
		if (st == NULL)
			return 1;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			msg_error("%s: %s", name, sqlite3_errmsg(db));
			rc = 1;
		} else if (strcmp(verb, "del") == 0) {
			printf("%s: deleted\n", name);
		} else {
			printf("%s: %s -> %s\n", name, on ? "disabled" : "enabled",
			       on ? "enabled" : "disabled");
		}
		sqlite3_finalize(st);
	}
	return rc;
}

int cmd_composites(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "list";

	if (strcmp(sub, "list") == 0 || strcmp(sub, "-a") == 0) {
		int all = 0;

		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
				all = 1;
			else if (i > 1 || strcmp(argv[i], "list") != 0)
				return ctl_usage("composites [list [-a]]");
		}
		return list(ctl_db(ctl), all);
	}
	if (strcmp(sub, "add") == 0)
		return add(ctl_db(ctl), argc - 2, argv + 2);
	if (strcmp(sub, "set") == 0)
		return set(ctl_db(ctl), argc - 2, argv + 2);
	if (strcmp(sub, "del") == 0 || strcmp(sub, "delete") == 0 || strcmp(sub, "enable") == 0 ||
	    strcmp(sub, "disable") == 0)
		return each(ctl_db(ctl), strcmp(sub, "delete") == 0 ? "del" : sub, argc - 2,
		            argv + 2);
	return ctl_usage(USAGE);
}
