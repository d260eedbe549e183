/*
 * cmd_history - moatctl history and stats: what the content filter did
 * with recent mail (the history table, sql/004-contentfilter.sql).
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
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"

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
	if ((st = ctl_prepare(db, "SELECT unixepoch(?1, 'utc')")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

int cmd_history(struct ctl *ctl, int argc, char **argv)
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
			return ctl_usage(use);
		if (strcmp(argv[i], "-n") == 0) {
			n = strtoll(v, &end, 10);
			if (*end || n < 1) {
				msg_error("-n %s: expected a number of rows", v);
				return 2;
			}
		} else if (strcmp(argv[i], "--action") == 0) {
			ctl_action_name(v, act, sizeof(act));
			action = act;
		} else if (strcmp(argv[i], "--since") == 0) {
			if ((since = since_arg(db, v)) < 0) {
				msg_error("--since %s: expected a duration (30m, 2h, 7d) or a date",
					  v);
				return 2;
			}
		} else {
			return ctl_usage(use);
		}
		i++;
	}
	st = ctl_prepare(db, "SELECT datetime(time, 'unixepoch', 'localtime') AS time, queue_id, client,"
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
		printf("%s\t%lld\t%.1f%%\t%.2f\t%.2f\n", ctl_show(s->act[i].name), s->act[i].n,
		       100.0 * (double)s->act[i].n / (double)t,
		       s->act[i].score / (double)s->act[i].n, s->act[i].ms / (double)s->act[i].n);
	for (int i = 0; i < SYM_BUCKETS; i++)
		for (struct sym_count *c = s->b[i]; c; c = c->next)
			all[k++] = c;
	qsort(all, k, sizeof(*all), by_count);
	printf("\ntop symbols (of %zu seen)\nsymbol\tmessages\tpercent\n", s->distinct);
	for (size_t i = 0; i < k && i < (size_t)top; i++)
		printf("%s\t%ld\t%.1f%%\n", ctl_show(all[i]->name), all[i]->count,
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
int cmd_stats(struct ctl *ctl, int argc, char **argv)
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
			return ctl_usage(use);
		if (strcmp(argv[i], "--since") == 0) {
			if ((since = since_arg(db, argv[i + 1])) < 0) {
				msg_error("--since %s: expected a duration (30m, 2h, 7d) or a date",
					  argv[i + 1]);
				return 2;
			}
		} else if (strcmp(argv[i], "-n") == 0) {
			top = strtoll(argv[i + 1], &end, 10);
			if (*end || top < 1)
				return ctl_usage(use);
		} else {
			return ctl_usage(use);
		}
	}
	st = ctl_prepare(db, "SELECT action, score, scan_ms, symbols FROM history WHERE time >= ?1");
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
