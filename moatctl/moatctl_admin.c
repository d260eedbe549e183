/*
 * moatctl_admin - the rule and history commands of moatctl; see
 * moatctl_admin.h. They only read and write the database: the daemons
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

#include "store/db.h"
#include "dms_import.h"
#include "doctor.h"
#include "doctor_daemons.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "moatctl_admin.h"
#include "core/sbuf.h"
#include "core/strdist.h"

#define IMPORT_FILE_MAX (16 * 1024 * 1024)	/* a custom-commands file is a few lines */

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

static int usage(const char *text)
{
	fprintf(stderr, "usage: moatctl %s\n", text);
	return 2;
}

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
	sqlite3_stmt *st = prepare(db, "SELECT weight, enabled FROM symbols WHERE name = ?1");
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
	st = prepare(db, "INSERT INTO symbols (name, weight, group_name, description)"
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
	sqlite3_stmt *st = prepare(db, sql);
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

int admin_symbols(struct ctl *ctl, int argc, char **argv)
{
	sqlite3_stmt *st;
	int all = 0, i = 1;
	char filter[130] = "";

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			return usage("symbols [-a] [GROUP|PATTERN]");
	}
	if (argc - i > 1)
		return usage("symbols [-a] [GROUP|PATTERN]");
	if (i < argc)
		snprintf(filter, sizeof(filter), "%s", argv[i]);
	st = prepare(ctl_db(ctl),
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

int admin_symbol(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	int on, rc = 0;

	if (argc < 3 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return usage("symbol enable|disable NAME...");
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
		if ((st = prepare(db, "UPDATE symbols SET enabled = ?2 WHERE name = ?1")) == NULL)
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

int admin_weight(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	char name[130];
	double old, w;
	int en, found;

	if (argc < 2 || argc > 3)
		return usage("weight SYMBOL [VALUE]");
	snprintf(name, sizeof(name), "%s", argv[1]);
	upper(name);
	if (argc == 3 && (number_arg(argv[2], &w) < 0 || fabs(w) > 1e6)) {
		msg_error("weight %s: \"%s\" is not a number", name, argv[2]);
		return 1;
	}
	if ((found = symbol_get(db, name, argc == 3, &old, &en)) <= 0) {
		if (found == 0)
			unknown_name(db, "symbol", name, "SELECT name FROM symbols ORDER BY name", 0);
		return 1;
	}
	if (argc == 2) {
		printf("%s: %.2f%s\n", name, old, en ? "" : " (disabled)");
		return 0;
	}
	if ((st = prepare(db, "UPDATE symbols SET weight = ?2 WHERE name = ?1")) == NULL)
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

/* "add_header", "add-header", "Add Header" -> "add header". */
static void action_name(const char *in, char *out, size_t outlen)
{
	size_t i = 0;

	for (; in[i] && i + 1 < outlen; i++)
		out[i] = in[i] == '_' || in[i] == '-' ? ' ' : (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

/* Warn about thresholds that make another action unreachable. */
static void actions_check(sqlite3 *db)
{
	sqlite3_stmt *st = prepare(db, "SELECT a.name, a.threshold, r.threshold FROM actions a,"
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

int admin_actions(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	char name[64], old[32];
	double t = 0;
	int off;

	if (argc == 1)
		return ctl_print_rows(db, prepare(db, "SELECT action, CASE WHEN threshold IS NULL"
						  " THEN 'off' ELSE printf('%.2f', threshold)"
						  " END AS threshold, description"
						  " FROM action_thresholds"));
	if (argc != 4 || strcmp(argv[1], "set") != 0)
		return usage("actions [set NAME SCORE|off]");
	action_name(argv[2], name, sizeof(name));
	off = strcasecmp(argv[3], "off") == 0 || strcasecmp(argv[3], "null") == 0;
	if (!off && (number_arg(argv[3], &t) < 0 || fabs(t) > 1e6)) {
		msg_error("actions set %s: \"%s\" is not a score (a number, or off)", name, argv[3]);
		return 1;
	}
	st = prepare(db, "SELECT CASE WHEN threshold IS NULL THEN 'off'"
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
	if ((st = prepare(db, "UPDATE actions SET threshold = ?2 WHERE name = ?1")) == NULL)
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

int admin_module(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	int on, was;

	if (argc != 3 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return usage("module enable|disable NAME");
	on = strcmp(argv[1], "enable") == 0;
	if ((st = prepare(db, "SELECT enabled FROM modules WHERE name = ?1")) == NULL)
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
	if ((st = prepare(db, "UPDATE modules SET enabled = ?2 WHERE name = ?1")) == NULL)
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

/*
 * --since: a duration back from now (90s, 30m, 2h, 7d, 1w; plain number:
 * seconds) or a local date and time SQLite understands ("2026-11-25",
 * "2026-11-25 14:00"). Unix seconds, or -1.
 */
static long long since_arg(sqlite3 *db, const char *s)
{
	static const struct {
		char sfx;
		long long mul;
	} u[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}, {'\0', 1}};
	sqlite3_stmt *st;
	long long t = -1;
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end != s && n >= 0 && errno == 0 && n < 100LL * 365 * 86400)
		for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			if (end[0] == u[i].sfx && (u[i].sfx == '\0' || end[1] == '\0'))
				return (long long)time(NULL) - n * u[i].mul;
	if ((st = prepare(db, "SELECT unixepoch(?1, 'utc')")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

int admin_history(struct ctl *ctl, int argc, char **argv)
{
	static const char *use = "history [-n N] [--action ACTION] [--since WHEN]";
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	const char *action = NULL;
	long long since = 0, n = 20;
	char act[64];

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (v == NULL)
			return usage(use);
		if (strcmp(argv[i], "-n") == 0) {
			n = strtoll(v, &end, 10);
			if (*end || n < 1) {
				msg_error("-n %s: expected a number of rows", v);
				return 2;
			}
		} else if (strcmp(argv[i], "--action") == 0) {
			action_name(v, act, sizeof(act));
			action = act;
		} else if (strcmp(argv[i], "--since") == 0) {
			if ((since = since_arg(db, v)) < 0) {
				msg_error("--since %s: expected a duration (30m, 2h, 7d) or a date",
					  v);
				return 2;
			}
		} else {
			return usage(use);
		}
		i++;
	}
	st = prepare(db, "SELECT datetime(time, 'unixepoch', 'localtime') AS time, queue_id, client,"
			 " sender, recipients, printf('%.2f', score) AS score, action, reason,"
			 " printf('%.1f', scan_ms) AS scan_ms,"
			 " CASE WHEN instr(symbols, ']; ') > 0"
			 " THEN substr(symbols, instr(symbols, ']; ') + 3) ELSE '' END AS symbols"
			 " FROM history WHERE history.time >= ?1 AND (?2 IS NULL OR action = ?2)"
			 /* history.time: "time" alone is the formatted column, which no index sorts */
			 " ORDER BY history.time DESC, history.id DESC LIMIT ?3");
	if (st == NULL)
		return 1;
	sqlite3_bind_int64(st, 1, since);
	if (action)
		sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	return ctl_print_rows(db, st);
}

/* --- stats --------------------------------------------------------------- */

#define SYM_BUCKETS 1024

struct sym_count {
	char *name;
	long count;
	struct sym_count *next;
};

static void count_symbol(struct sym_count **b, const char *p, size_t len, size_t *distinct)
{
	struct sym_count **pp = &b[hash64(p, len) % SYM_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if (strlen((*pp)->name) == len && memcmp((*pp)->name, p, len) == 0) {
			(*pp)->count++;
			return;
		}
	*pp = xcalloc(1, sizeof(**pp));
	(*pp)->name = xstrndup(p, len);
	(*pp)->count = 1;
	(*distinct)++;
}

/*
 * The symbols of one X-Spamd-Result value: each "; NAME(" where NAME is
 * [A-Z0-9_] and a "[w]" follows, so option text with "; " in it is no symbol.
 */
static void count_symbols(struct sym_count **b, const char *s, size_t *distinct)
{
	for (const char *p = strstr(s, "; "); p; p = strstr(p + 1, "; ")) {
		const char *n = p + 2;
		size_t len = strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

		size_t w;

		/* NAME(weight)[ : anything else is option text. */
		if (len == 0 || len > 64 || n[len] != '(')
			continue;
		w = len + 1 + strspn(n + len + 1, "-0123456789.");
		if (w > len + 1 && n[w] == ')' && n[w + 1] == '[')
			count_symbol(b, n, len, distinct);
	}
}

static int by_count(const void *a, const void *b)
{
	const struct sym_count *x = *(const struct sym_count *const *)a;
	const struct sym_count *y = *(const struct sym_count *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

#define STATS_ACTIONS 16	/* distinct actions counted (moat has five) */

struct act_count {
	char name[32];
	long long n;
	double score, ms;
};

struct stats {
	long long total;
	long long nms;		/* scanned messages: local mail skipped unscanned has no scan time */
	float *ms;		/* every scan time, for exact percentiles */
	double ms_sum;
	struct act_count act[STATS_ACTIONS];
	int nact;
	struct sym_count **b;
	size_t distinct;
};

static void stats_row(struct stats *s, const char *action, double score, double ms,
		      const char *symbols)
{
	int i;

	s->total++;
	if (strcmp(action, "skipped") != 0) {
		if (s->nms % 65536 == 0)
			s->ms = xrealloc(s->ms, ((size_t)s->nms + 65536) * sizeof(*s->ms));
		s->ms[s->nms++] = (float)ms;
		s->ms_sum += ms;
	}
	for (i = 0; i < s->nact && strcmp(s->act[i].name, action) != 0; i++)
		;
	if (i == s->nact && s->nact < STATS_ACTIONS)
		snprintf(s->act[s->nact++].name, sizeof(s->act[0].name), "%s", action);
	if (i < s->nact) {
		s->act[i].n++;
		s->act[i].score += score;
		s->act[i].ms += ms;
	}
	count_symbols(s->b, symbols, &s->distinct);
}

static int by_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static int by_messages(const void *a, const void *b)
{
	const struct act_count *x = a, *y = b;

	if (x->n != y->n)
		return (x->n < y->n) - (x->n > y->n);
	return strcmp(x->name, y->name);
}

static void stats_print(struct stats *s, int top)
{
	struct sym_count **all = xcalloc(s->distinct + 1, sizeof(*all));
	size_t k = 0;
	long long t = s->total, n = s->nms;

	if (n > 0) {
		qsort(s->ms, (size_t)n, sizeof(*s->ms), by_float);
		printf("scan time: mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n\n",
		       s->ms_sum / (double)n, s->ms[(n - 1) / 2],
		       s->ms[(long long)ceil(0.99 * (double)n) - 1], s->ms[n - 1]);
	} else {
		printf("scan time: nothing scanned\n\n");
	}
	qsort(s->act, (size_t)s->nact, sizeof(s->act[0]), by_messages);
	printf("action\tmessages\tpercent\tavg_score\tavg_scan_ms\n");
	for (int i = 0; i < s->nact; i++)
		printf("%s\t%lld\t%.1f%%\t%.2f\t%.2f\n", s->act[i].name, s->act[i].n,
		       100.0 * (double)s->act[i].n / (double)t, s->act[i].score / (double)s->act[i].n,
		       s->act[i].ms / (double)s->act[i].n);
	for (int i = 0; i < SYM_BUCKETS; i++)
		for (struct sym_count *c = s->b[i]; c; c = c->next)
			all[k++] = c;
	qsort(all, k, sizeof(*all), by_count);
	printf("\ntop symbols (of %zu seen)\nsymbol\tmessages\tpercent\n", s->distinct);
	for (size_t i = 0; i < k && i < (size_t)top; i++)
		printf("%s\t%ld\t%.1f%%\n", all[i]->name, all[i]->count,
		       100.0 * (double)all[i]->count / (double)t);
	for (size_t i = 0; i < k; i++) {
		free(all[i]->name);
		free(all[i]);
	}
	free(all);
}

/*
 * One pass over the window's rows: counts, per action, scan times (sorted
 * in memory for exact percentiles: 4 bytes a message) and symbols.
 */
int admin_stats(struct ctl *ctl, int argc, char **argv)
{
	static const char *use = "stats [--since WHEN] [-n TOP]";
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st;
	struct stats s;
	long long now = (long long)time(NULL), since = now - 86400, top = 10;
	char from[64];
	double hours;
	int rc;

	for (int i = 1; i < argc; i += 2) {
		char *end;

		if (i + 1 >= argc)
			return usage(use);
		if (strcmp(argv[i], "--since") == 0) {
			if ((since = since_arg(db, argv[i + 1])) < 0) {
				msg_error("--since %s: expected a duration (30m, 2h, 7d) or a date",
					  argv[i + 1]);
				return 2;
			}
		} else if (strcmp(argv[i], "-n") == 0) {
			top = strtoll(argv[i + 1], &end, 10);
			if (*end || top < 1)
				return usage(use);
		} else {
			return usage(use);
		}
	}
	st = prepare(db, "SELECT action, score, scan_ms, symbols FROM history WHERE time >= ?1");
	if (st == NULL)
		return 1;
	memset(&s, 0, sizeof(s));
	s.b = xcalloc(SYM_BUCKETS, sizeof(*s.b));
	sqlite3_bind_int64(st, 1, since);
	{
		time_t t = (time_t)since;
		struct tm tm;

		strftime(from, sizeof(from), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *act = (const char *)sqlite3_column_text(st, 0);
		const char *sym = (const char *)sqlite3_column_text(st, 3);

		stats_row(&s, act ? act : "", sqlite3_column_double(st, 1),
			  sqlite3_column_double(st, 2), sym ? sym : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
	} else {
		hours = (double)(now - since) / 3600.0;
		printf("since %s (%.1f hours): %lld messages, %.2f per hour\n", from, hours,
		       s.total, hours > 0 ? (double)s.total / hours : 0.0);
		if (s.total > 0)
			stats_print(&s, (int)(top > 1000 ? 1000 : top));
	}
	free(s.ms);
	free(s.b);
	return rc == SQLITE_DONE ? 0 : 1;
}

/* --- import-custom-commands ------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (fp == NULL) {
		msg_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (*len == cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + *len, 1, cap - *len, fp);
		*len += n;
	} while (n > 0 && *len <= IMPORT_FILE_MAX);
	if (ferror(fp) || *len > IMPORT_FILE_MAX) {
		msg_error("%s: %s", path, ferror(fp) ? strerror(errno) : "larger than 16 MiB");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

int admin_import(struct ctl *ctl, int argc, char **argv)
{
	struct dms_import imp;
	struct dms_counts n;
	const char *path = NULL;
	int dry = 0;
	char err[1024], *buf;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry = 1;
		else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
			path = argv[i];
		else
			return usage("import-custom-commands [--dry-run] FILE");
	}
	if (path == NULL)
		return usage("import-custom-commands [--dry-run] FILE");
	if ((buf = read_file(path, &len)) == NULL)
		return 1;
	if (dms_import_parse(path, buf, len, &imp) < 0) {
		fputs(sbuf_cstr(&imp.errors), stderr);
		fprintf(stderr, "%s: nothing imported\n", path);
		dms_import_free(&imp);
		free(buf);
		return 1;
	}
	free(buf);
	if (dms_import_apply(ctl_db(ctl), &imp, dry, stdout, &n, err, sizeof(err)) < 0) {
		dms_import_free(&imp);
		msg_error("%s: %s; nothing imported", path, err);
		return 1;
	}
	dms_import_free(&imp);
	printf("%s: ", path);
	dms_counts_print(&n, stdout);
	printf("%s\n", dry ? " (dry run: nothing written)" : "");
	return 0;
}

/* --- doctor: the database side, then the DNS side (doctor.c) ------------------- */

/* Print each row of a one-column query after a heading; the number of rows. */
static int list_rows(sqlite3 *db, const char *sql, const char *heading)
{
	sqlite3_stmt *st = prepare(db, sql);
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == 0)
			printf("%s\n", heading);
		printf("  %s\n", sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return n;
}

/* Damage and rules that cannot work; 1 if the database is damaged. */
static int doctor_db(sqlite3 *db)
{
	sqlite3_stmt *st = prepare(db, "PRAGMA quick_check");
	const char *res = NULL;
	int bad = 0;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		res = (const char *)sqlite3_column_text(st, 0);
	printf("database: schema version %d of %d, integrity %s\n", db_version(db),
	       db_schema_version(), res ? res : "unknown");
	bad = res == NULL || strcmp(res, "ok") != 0;
	sqlite3_finalize(st);
	list_rows(db,
		  "SELECT printf('%s (%.2f) is at or above reject (%.2f): it never happens', a.name,"
		  " a.threshold, r.threshold) FROM actions a, actions r WHERE r.name = 'reject'"
		  " AND a.name <> 'reject' AND a.threshold >= r.threshold",
		  "warning: actions that cannot happen:");
	list_rows(db,
		  "SELECT DISTINCT printf('%s (rule %d): weighs 0 (moatctl weight %s VALUE)', r.symbol,"
		  " r.id, r.symbol) FROM rules r LEFT JOIN symbols s ON s.name = r.symbol"
		  " WHERE r.enabled = 1 AND s.name IS NULL",
		  "warning: regex rules whose symbol is not in the symbols table:");
	list_rows(db, "SELECT printf('%s is disabled', name) FROM modules WHERE enabled = 0",
		  "modules switched off:");
	list_rows(db,
		  "SELECT printf('%d docker-mailserver setting(s) not applied:"
		  " SELECT * FROM dms_not_applied', count(*)) FROM dms_unmapped HAVING count(*) > 0",
		  "import-custom-commands:");
	list_rows(db,
		  "SELECT printf('%d message(s) in the last 24 hours, the last at %s', count(*),"
		  " coalesce(datetime(max(time), 'unixepoch', 'localtime'), '-')) FROM history"
		  " WHERE time >= unixepoch() - 86400",
		  "history:");
	return bad;
}

int admin_doctor(struct ctl *ctl, int argc, char **argv)
{
	int bad = doctor_db(ctl_db(ctl));

	if (ctl->conf_warnings) {
		printf("FAILED: %s has %d error(s) (warned about above): the daemons will not"
		       " start with it; moatctl config shows them\n",
		       ctl->conf_path, ctl->conf_warnings);
		bad = 1;
	}
	bad |= doctor_daemons(ctl->cf, stdout);
	fflush(stdout);
	return doctor_run(ctl->cf, ctl_db(ctl), stdout, bad);
}
