/*
 * rules - the scanner's read-only snapshot of the database: symbols and
 * their weights, action thresholds, settings, modules and their options,
 * and the regex rules and composites compiled once; see rules.h.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "scan/composite.h"
#include "scan/gtube.h"
#include "scan/rules.h"

struct rule_symbol {
	char *name;
	double weight;
	int enabled;
	struct rule_symbol *next;
};

#define RULE_BUCKETS 1024
#define RE_MATCH_LIMIT 1000000	/* backtracking steps: a hostile pattern or text cannot hang us */

/* A regex rule: what checks see (rules.h), and the compiled pattern. */
struct rule_re {
	struct scan_regex x;
	pcre2_code *re;
};

struct scan_rules {
	struct rule_symbol *buckets[RULE_BUCKETS];
	double greylist, add_header, rewrite, reject;
	struct rule_re *res;
	int nres;
	pcre2_match_context *mctx;
	char **settings;	/* name, value, name, value, ..., NULL */
	char **modules_off;	/* NULL-terminated */
	char **module_opts;	/* module, option, value, ..., NULL */
	enum gtube_policy gtube;	/* the gtube_patterns setting */
	unsigned headers;	/* the milter_headers setting, enum scan_header bits */
	struct composite_set *composites;	/* the enabled rows of composites, compiled */
};

static struct rule_symbol *rule_find(const struct scan_rules *r, const char *name)
{
	for (struct rule_symbol *s = r->buckets[hash64(name, strlen(name)) % RULE_BUCKETS]; s;
	     s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static char **load_strings(sqlite3 *db, const char *sql, int cols)
{
	sqlite3_stmt *st;
	char **v = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = xrealloc(v, (n + (size_t)cols + 1) * sizeof(*v));
		for (int i = 0; i < cols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			v[n++] = xstrdup(t ? (const char *)t : "");
		}
	}
	sqlite3_finalize(st);
	v = xrealloc(v, (n + 1) * sizeof(*v));
	v[n] = NULL;
	return v;
}

static double load_threshold(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	double t = HUGE_VAL;

	if (sqlite3_prepare_v2(db, "SELECT threshold FROM actions WHERE name = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return t;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return t;
}

static void load_regex(struct scan_rules *r, sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT id, symbol, target, pattern, caseless FROM rules"
				   " WHERE enabled = 1 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	r->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(r->mctx, RE_MATCH_LIMIT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *target = (const char *)sqlite3_column_text(st, 2);
		const char *pat = (const char *)sqlite3_column_text(st, 3);
		struct rule_re x;
		int errcode;
		PCRE2_SIZE off;

		memset(&x, 0, sizeof(x));
		snprintf(x.x.symbol, sizeof(x.x.symbol), "%s", sqlite3_column_text(st, 1));
		if (strncmp(target, "header:", 7) == 0) {
			x.x.target = SCAN_RE_HEADER;
			snprintf(x.x.header, sizeof(x.x.header), "%s", target + 7);
		} else {
			x.x.target = strcmp(target, "subject") == 0 ? SCAN_RE_SUBJECT
				     : strcmp(target, "body") == 0  ? SCAN_RE_BODY
				     : strcmp(target, "url") == 0   ? SCAN_RE_URL
								    : SCAN_RE_RAW;
		}
		x.re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				     sqlite3_column_int(st, 4) ? PCRE2_CASELESS : 0, &errcode, &off,
				     NULL);
		if (x.re == NULL) {
			PCRE2_UCHAR msg[200];

			pcre2_get_error_message(errcode, msg, sizeof(msg));
			msg_warn("rules: rule %lld (%s): bad pattern at offset %zu: %s; skipped",
				 (long long)sqlite3_column_int64(st, 0), x.x.symbol, (size_t)off, msg);
			continue;
		}
		pcre2_jit_compile(x.re, PCRE2_JIT_COMPLETE);
		r->res = xrealloc(r->res, (size_t)(r->nres + 1) * sizeof(*r->res));
		r->res[r->nres++] = x;
	}
	sqlite3_finalize(st);
}

/*
 * The enabled composites, in name order (composite_set_link's bsearch).
 * moatctl validates what it writes; a row the sqlite3 shell broke is
 * skipped with a warning, as a bad regex is.
 */
static int load_composites(struct scan_rules *r, sqlite3 *db)
{
	sqlite3_stmt *st;

	r->composites = composite_set_new();
	if (sqlite3_prepare_v2(db, "SELECT name, expression, weight, policy FROM composites"
				   " WHERE enabled = 1 ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *expr = (const char *)sqlite3_column_text(st, 1);
		const char *pol = (const char *)sqlite3_column_text(st, 3);
		enum composite_policy p = COMPOSITE_REMOVE_ALL;
		struct composite_expr *e;
		char err[200];

		if (name == NULL || expr == NULL)
			continue;
		if ((e = composite_parse(expr, err, sizeof(err))) == NULL) {
			msg_warn("composites: %s: %s; skipped", name, err);
			continue;
		}
		if (pol && composite_policy_parse(pol, &p) < 0)
			msg_warn("composites: %s: unknown policy %s; using remove_all", name, pol);
		composite_set_add(r->composites, name, sqlite3_column_double(st, 2), p, e);
	}
	sqlite3_finalize(st);
	composite_set_link(r->composites);
	return 0;
}

const struct composite_set *scan_rules_composites(const struct scan_rules *r)
{
	return r->composites;
}

struct comp_row {
	char *name, *expr;
};

static int by_comp_name(const void *a, const void *b)
{
	return strcmp(((const struct comp_row *)a)->name, ((const struct comp_row *)b)->name);
}

int scan_rules_composite_check(sqlite3 *db, const char *name, const char *expr, char *err,
			       size_t errlen)
{
	sqlite3_stmt *st;
	struct composite_expr *e;
	struct composite_set *set;
	struct comp_row *rows = NULL;
	char perr[256];
	size_t n = 0;
	int rc;

	if ((e = composite_parse(expr, perr, sizeof(perr))) == NULL) {
		snprintf(err, errlen, "expression \"%s\": %s", expr, perr);
		return -1;
	}
	composite_expr_free(e);
	if (sqlite3_prepare_v2(db, "SELECT name, expression FROM composites"
				   " WHERE enabled = 1 AND name <> ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the composites: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *rn = (const char *)sqlite3_column_text(st, 0);
		const char *re = (const char *)sqlite3_column_text(st, 1);

		if (rn == NULL || re == NULL)
			continue;
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].name = xstrdup(rn);
		rows[n++].expr = xstrdup(re);
	}
	sqlite3_finalize(st);
	rows = xrealloc(rows, (n + 1) * sizeof(*rows));
	rows[n].name = xstrdup(name);
	rows[n++].expr = xstrdup(expr);
	qsort(rows, n, sizeof(*rows), by_comp_name);
	set = composite_set_new();
	for (size_t i = 0; i < n; i++) {
		/* A row the sqlite3 shell broke: the scanner skips it, so does the check. */
		if ((e = composite_parse(rows[i].expr, perr, sizeof(perr))) != NULL)
			composite_set_add(set, rows[i].name, 0, COMPOSITE_LEAVE, e);
		free(rows[i].name);
		free(rows[i].expr);
	}
	free(rows);
	composite_set_link(set);
	rc = composite_set_check(set, err, errlen);
	composite_set_free(set);
	return rc;
}

size_t scan_rules_regex_count(const struct scan_rules *r)
{
	return (size_t)r->nres;
}

const struct scan_regex *scan_rules_regex(const struct scan_rules *r, size_t i)
{
	return &r->res[i].x;
}

int scan_rules_regex_match(const struct scan_rules *r, size_t i, const char *p, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->res[i].re, NULL);
	int rc = pcre2_match(r->res[i].re, (PCRE2_SPTR)p, len, 0, 0, md, r->mctx);

	pcre2_match_data_free(md);
	return rc >= 0;
}

int scan_rules_symbol(const struct scan_rules *r, const char *name, double *weight)
{
	const struct rule_symbol *s = rule_find(r, name);

	if (s == NULL)
		return -1;
	*weight = s->weight;
	return s->enabled ? 1 : 0;
}

double scan_rules_reject(const struct scan_rules *r)
{
	return r->reject;
}

enum gtube_policy scan_rules_gtube(const struct scan_rules *r)
{
	return r->gtube;
}

/*
 * The gtube_patterns setting; a bad value keeps Rspamd's default (reject).
 * The rules are reloaded every few seconds: warn once per bad value.
 */
static void load_gtube(struct scan_rules *r)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char warned[64];
	const char *v = scan_rules_setting(r, "gtube_patterns");

	if (gtube_policy_parse(v, &r->gtube) == 0)
		return;
	r->gtube = GTUBE_REJECT;
	pthread_mutex_lock(&mu);
	if (strncmp(warned, v, sizeof(warned) - 1) != 0) {
		msg_warn("settings: gtube_patterns = %.60s: not reject, all or disabled; using reject",
			 v);
		snprintf(warned, sizeof(warned), "%s", v);
	}
	pthread_mutex_unlock(&mu);
}

/* Rspamd's milter_headers routines; the two moat always writes are accepted too. */
static const struct {
	const char *name;
	unsigned bit;
} header_routines[] = {
	{"x-spamd-bar", SCAN_HDR_BAR},
	{"x-rspamd-queue-id", SCAN_HDR_QUEUE_ID},
	{"x-rspamd-server", SCAN_HDR_SERVER},
	{"x-spamd-result", 0},
	{"x-rspamd-action", 0},
};

/* The milter_headers setting: names separated by commas or spaces. */
static void load_headers(struct scan_rules *r)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char warned[64];
	const char *p = scan_rules_setting(r, "milter_headers");

	/* Each step consumes at least one byte of the setting. */
	while (*p) {
		size_t len = strcspn(p, ", \t"), i;

		for (i = 0; len && i < sizeof(header_routines) / sizeof(header_routines[0]); i++)
			if (strlen(header_routines[i].name) == len &&
			    strncasecmp(p, header_routines[i].name, len) == 0)
				break;
		if (i < sizeof(header_routines) / sizeof(header_routines[0]))
			r->headers |= header_routines[i].bit;
		else if (len) {
			pthread_mutex_lock(&mu);
			if (strlen(warned) != len || strncmp(warned, p, len) != 0) {
				msg_warn("settings: milter_headers: unknown header routine %.*s; known:"
					 " x-spamd-bar, x-rspamd-queue-id, x-rspamd-server",
					 (int)(len > 60 ? 60 : len), p);
				snprintf(warned, sizeof(warned), "%.*s", (int)(len > 60 ? 60 : len), p);
			}
			pthread_mutex_unlock(&mu);
		}
		p += len ? len : 1;
	}
}

unsigned scan_rules_headers(const struct scan_rules *r)
{
	return r->headers;
}

struct scan_rules *scan_rules_load(sqlite3 *db, char *err, size_t errlen)
{
	struct scan_rules *r = xcalloc(1, sizeof(*r));
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT name, weight, enabled FROM symbols", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot read symbols: %s", sqlite3_errmsg(db));
		free(r);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct rule_symbol *s = xcalloc(1, sizeof(*s));
		size_t b;

		s->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		s->weight = sqlite3_column_double(st, 1);
		s->enabled = sqlite3_column_int(st, 2);
		b = hash64(s->name, strlen(s->name)) % RULE_BUCKETS;
		s->next = r->buckets[b];
		r->buckets[b] = s;
	}
	sqlite3_finalize(st);
	r->greylist = load_threshold(db, "greylist");
	r->add_header = load_threshold(db, "add header");
	r->rewrite = load_threshold(db, "rewrite subject");
	r->reject = load_threshold(db, "reject");
	r->settings = load_strings(db, "SELECT name, value FROM settings", 2);
	r->modules_off = load_strings(db, "SELECT name FROM modules WHERE enabled = 0", 1);
	r->module_opts = load_strings(db, "SELECT module, option, value FROM module_options", 3);
	load_regex(r, db);
	if (load_composites(r, db) < 0) {
		snprintf(err, errlen, "cannot read composites: %s", sqlite3_errmsg(db));
		scan_rules_free(r);
		return NULL;
	}
	if (r->settings == NULL || r->modules_off == NULL || r->module_opts == NULL) {
		snprintf(err, errlen, "cannot read settings: %s", sqlite3_errmsg(db));
		scan_rules_free(r);
		return NULL;
	}
	load_gtube(r);
	load_headers(r);
	return r;
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void scan_rules_free(struct scan_rules *r)
{
	if (r == NULL)
		return;
	for (int b = 0; b < RULE_BUCKETS; b++)
		while (r->buckets[b]) {
			struct rule_symbol *s = r->buckets[b];

			r->buckets[b] = s->next;
			free(s->name);
			free(s);
		}
	for (int i = 0; i < r->nres; i++)
		pcre2_code_free(r->res[i].re);
	free(r->res);
	pcre2_match_context_free(r->mctx);
	free_strings(r->settings);
	free_strings(r->modules_off);
	free_strings(r->module_opts);
	composite_set_free(r->composites);
	free(r);
}

const char *scan_rules_setting(const struct scan_rules *r, const char *name)
{
	for (size_t i = 0; r->settings[i] && r->settings[i + 1]; i += 2)
		if (strcmp(r->settings[i], name) == 0)
			return r->settings[i + 1];
	return "";
}

double scan_rules_threshold(const struct scan_rules *r, const char *action)
{
	if (strcmp(action, "greylist") == 0)
		return r->greylist;
	if (strcmp(action, "add header") == 0)
		return r->add_header;
	if (strcmp(action, "rewrite subject") == 0)
		return r->rewrite;
	if (strcmp(action, "reject") == 0)
		return r->reject;
	return HUGE_VAL;
}

int scan_rules_module(const struct scan_rules *r, const char *name)
{
	for (size_t i = 0; r->modules_off[i]; i++)
		if (strcmp(r->modules_off[i], name) == 0)
			return 0;
	return 1;
}

const char *scan_rules_module_option(const struct scan_rules *r, const char *module,
				     const char *option)
{
	for (size_t i = 0; r->module_opts[i] && r->module_opts[i + 1] && r->module_opts[i + 2];
	     i += 3)
		if (strcmp(r->module_opts[i], module) == 0 && strcmp(r->module_opts[i + 1], option) == 0)
			return r->module_opts[i + 2];
	return "";
}
