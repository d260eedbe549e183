/*
 * api - the controller's endpoints; see api.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "controller/api.h"
#include "controller/api_moat.h"
#include "controller/histq.h"
#include "controller/work.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "mail/mime.h"
#include "scan/bayes.h"
#include "scan/scan.h"
#include "store/bayes_store.h"
#include "store/history_tokens.h"

#define HISTORY_ROWS_MAX 10000 /* rows of one /history answer */

static time_t started;

void api_started(void)
{
	started = time(NULL);
}

static void reply(struct api_resp *rs, int status, char *body, const char *ctype)
{
	rs->status = status;
	rs->body = body;
	rs->len = strlen(body);
	rs->ctype = ctype;
}

static void reply_json(struct api_resp *rs, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

	json_decref(j);
	if (s == NULL) {
		api_error(rs, 500, "Cannot encode the reply");
		return;
	}
	reply(rs, status, s, "application/json");
}

void api_error(struct api_resp *rs, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	reply(rs, status, s ? s : xstrdup("{\"error\":\"error\"}"), "application/json");
}

/* A JSON string of text from the database or a message: bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *c;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	c = xstrdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j;
}

void api_reply_json(struct api_resp *rs, int status, json_t *j)
{
	reply_json(rs, status, j);
}

json_t *api_jstr(const char *s)
{
	return jstr(s);
}

/* The six actions in Rspamd's order (enum rspamd_action_type). */
static const char *const actions6[] = {"reject",     "soft reject", "rewrite subject",
                                       "add header", "greylist",    "no action"};

struct counts {
	long long scanned, action[6], spam, ham;
	struct bayes_stats bayes;
};

/* Counters from the history since the last /statreset, and Bayes's. */
static void counts(struct work *w, struct counts *c)
{
	sqlite3_stmt *st;

	memset(c, 0, sizeof(*c));
	if (sqlite3_prepare_v2(w->db,
	                       "SELECT action, count(*) FROM history WHERE time >= "
	                       "(SELECT CAST(value AS INTEGER) FROM settings WHERE name = "
	                       "'controller_stats_since') GROUP BY action",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *a = (const char *)sqlite3_column_text(st, 0);
			long long n = sqlite3_column_int64(st, 1);

			c->scanned += n;
			for (int i = 0; i < 6; i++)
				if (a && strcmp(a, actions6[i]) == 0)
					c->action[i] += n;
		}
		sqlite3_finalize(st);
	}
	/* Rspamd counts reject .. add header as spam, greylist and no action as ham. */
	c->spam = c->action[0] + c->action[1] + c->action[2] + c->action[3];
	c->ham = c->action[4] + c->action[5];
	if (w->bst)
		bayes_store_stats(w->bst, &c->bayes);
}

static void h_ping(const struct api_route *rt, struct work *w, const struct api_req *rq,
                   struct api_resp *rs)
{
	(void)rt, (void)w, (void)rq;
	reply(rs, 200, xstrdup("pong\r\n"), "text/plain");
}

static void h_ok(const struct api_route *rt, struct work *w, const struct api_req *rq,
                 struct api_resp *rs)
{
	(void)rt, (void)w, (void)rq;
	reply(rs, 200, xstrdup("{\"success\":true}"), "application/json");
}

static void h_auth(const struct api_route *rt, struct work *w, const struct api_req *rq,
                   struct api_resp *rs)
{
	struct counts c;

	(void)rt;
	counts(w, &c);
	reply_json(rs, 200,
	           json_pack("{s:s, s:s, s:I, s:i, s:I, s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I}",
	                     "auth", "ok", "version", PACKAGE_VERSION, "uptime",
	                     (json_int_t)(time(NULL) - started), "error_count", 0, "scanned",
	                     (json_int_t)c.scanned, "learned",
	                     (json_int_t)(c.bayes.spam + c.bayes.ham), "read_only", !rq->can_write,
	                     "config_id", "", "clean", (json_int_t)c.action[5], "probable",
	                     (json_int_t)(c.action[2] + c.action[3]), "greylist",
	                     (json_int_t)c.action[4], "reject", (json_int_t)c.action[0],
	                     "soft_reject", (json_int_t)c.action[1]));
}

static json_t *statfile(const char *sym, long long learned, long long tokens)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "symbol", sym, "type",
	                 "sqlite3", "revision", (json_int_t)learned, "used", (json_int_t)tokens,
	                 "total", (json_int_t)tokens, "size", (json_int_t)0, "languages",
	                 (json_int_t)0, "users", (json_int_t)1);
}

static json_t *stat_json(struct work *w, const struct api_req *rq)
{
	struct counts c;
	json_t *top, *acts = json_object();

	counts(w, &c);
	for (int i = 0; i < 6; i++)
		json_object_set_new(acts, actions6[i], json_integer(c.action[i]));
	top = json_pack(
	    "{s:s, s:s, s:I, s:b, s:I, s:I, s:o, s:[], s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[oo], s:{}}",
	    "version", PACKAGE_VERSION, "config_id", "", "uptime",
	    (json_int_t)(time(NULL) - started), "read_only", !rq->can_write, "scanned",
	    (json_int_t)c.scanned, "learned", (json_int_t)(c.bayes.spam + c.bayes.ham), "actions",
	    acts, "scan_times", "spam_count", (json_int_t)c.spam, "ham_count", (json_int_t)c.ham,
	    "connections", (json_int_t)0, "control_connections", (json_int_t)0, "pools_allocated",
	    (json_int_t)0, "pools_freed", (json_int_t)0, "bytes_allocated", (json_int_t)0,
	    "chunks_allocated", (json_int_t)0, "shared_chunks_allocated", (json_int_t)0,
	    "chunks_freed", (json_int_t)0, "chunks_oversized", (json_int_t)0, "fragmented",
	    (json_int_t)0, "total_learns", (json_int_t)(c.bayes.spam + c.bayes.ham), "statfiles",
	    statfile("BAYES_SPAM", c.bayes.spam, c.bayes.tokens),
	    statfile("BAYES_HAM", c.bayes.ham, c.bayes.tokens), "fuzzy_hashes");
	return top;
}

static void h_stat(const struct api_route *rt, struct work *w, const struct api_req *rq,
                   struct api_resp *rs)
{
	json_t *j = stat_json(w, rq);

	if (strcmp(rt->path, "/statreset") == 0) {
		sqlite3_stmt *st;
		int ok = 0;

		if (sqlite3_prepare_v2(w->db,
		                       "UPDATE settings SET value = ?1 WHERE name = "
		                       "'controller_stats_since'",
		                       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_finalize(st);
		}
		if (!ok) {
			json_decref(j);
			api_error(rs, 500, "Cannot reset the statistics");
			return;
		}
		msg_info("client=%s: statistics reset", rq->client);
	}
	reply_json(rs, 200, j);
}

/* Split "a,b" into a JSON array of strings. */
static json_t *list(const char *s)
{
	json_t *a = json_array();

	/* Each step consumes one comma-separated entry. */
	while (s && *s) {
		size_t n = strcspn(s, ",");
		char *e = xstrndup(s, n);

		json_array_append_new(a, jstr(e));
		free(e);
		s += n + (s[n] == ',');
	}
	return a;
}

static void h_history(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	long from = 0, to = 1000;
	sqlite3_stmt *st;
	json_t *rows;
	struct rules_ref *ref;
	double req;

	(void)rt;
	if ((rq->q_from && req_long(rq->q_from, 0, 1000000000L, &from) < 0) ||
	    (rq->q_to && req_long(rq->q_to, 0, 1000000000L, &to) < 0) || to < from) {
		api_error(rs, 400, "from and to must be row numbers, from <= to");
		return;
	}
	if (to - from > HISTORY_ROWS_MAX)
		to = from + HISTORY_ROWS_MAX;
	ref = work_rules(w->db);
	req = ref ? scan_rules_reject(ref->r) : HUGE_VAL;
	work_rules_put(ref);
	if (sqlite3_prepare_v2(w->db,
	                       "SELECT id, time, queue_id, client, sender, recipients, subject,"
	                       " size, score, action, symbols, scan_ms, mime_from FROM history"
	                       " ORDER BY time DESC, id DESC LIMIT ?1 OFFSET ?2",
	                       -1, &st, NULL) != SQLITE_OK) {
		api_error(rs, 500, "Cannot read the history");
		return;
	}
	sqlite3_bind_int64(st, 1, to - from);
	sqlite3_bind_int64(st, 2, from);
	rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sym = (const char *)sqlite3_column_text(st, 10);
		const char *qid = (const char *)sqlite3_column_text(st, 2);
		json_t *r = json_object();

		json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(r, "unix_time", json_integer(sqlite3_column_int64(st, 1)));
		json_object_set_new(r, "message-id", jstr(qid));
		json_object_set_new(r, "queue_id", jstr(qid));
		json_object_set_new(r, "ip", jstr((const char *)sqlite3_column_text(st, 3)));
		json_object_set_new(r, "sender_smtp",
		                    jstr((const char *)sqlite3_column_text(st, 4)));
		/* Rspamd's: the From header's address ("" for none). */
		json_object_set_new(r, "sender_mime",
		                    jstr((const char *)sqlite3_column_text(st, 12)));
		json_object_set_new(r, "rcpt_smtp", list((const char *)sqlite3_column_text(st, 5)));
		json_object_set_new(r, "rcpt_mime", list((const char *)sqlite3_column_text(st, 5)));
		json_object_set_new(r, "subject", jstr((const char *)sqlite3_column_text(st, 6)));
		json_object_set_new(r, "size", json_integer(sqlite3_column_int64(st, 7)));
		json_object_set_new(r, "score", json_real(sqlite3_column_double(st, 8)));
		json_object_set_new(r, "required_score", json_real(isinf(req) ? 0.0 : req));
		json_object_set_new(r, "action", jstr((const char *)sqlite3_column_text(st, 9)));
		json_object_set_new(r, "symbols",
		                    req_history_symbols(sym ? sym : "", sym ? strlen(sym) : 0));
		json_object_set_new(r, "time_real",
		                    json_real(sqlite3_column_double(st, 11) / 1000));
		json_object_set_new(r, "user", json_string(""));
		json_array_append_new(rows, r);
	}
	sqlite3_finalize(st);
	reply_json(rs, 200, json_pack("{s:i, s:o}", "version", 2, "rows", rows));
}

/*
 * /historyreset deletes this many rows per transaction, then leaves the
 * write lock free this long (ms) for the writers that wait on it.
 */
#define HISTORY_RESET_BATCH "1000"
#define HISTORY_RESET_PAUSE 25

static void h_historyreset(const struct api_route *rt, struct work *w, const struct api_req *rq,
                           struct api_resp *rs)
{
	sqlite3_stmt *st;
	long long last = 0, gone = 0;
	int rc;

	(void)rt;
	/*
	 * The rows there when asked, a batch per transaction: each row's
	 * search-index triggers cost about 40 us, and one DELETE of a million
	 * rows would hold the write lock past the milter's db_busy_timeout,
	 * losing the history rows of the mail it scanned meanwhile. The pause
	 * lets a waiting writer's busy handler find the lock free.
	 */
	if (sqlite3_prepare_v2(w->db, "SELECT coalesce(max(id), 0) FROM history", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(w->db,
	                       "DELETE FROM history WHERE id IN (SELECT id FROM history"
	                       " WHERE id <= ?1 ORDER BY id LIMIT " HISTORY_RESET_BATCH ")",
	                       -1, &st, NULL) != SQLITE_OK) {
		api_error(rs, 500, "Cannot clear the history");
		return;
	}
	sqlite3_bind_int64(st, 1, last);
	while ((rc = sqlite3_step(st)) == SQLITE_DONE && sqlite3_changes(w->db) > 0) {
		gone += sqlite3_changes(w->db);
		sqlite3_reset(st);
		sqlite3_sleep(HISTORY_RESET_PAUSE);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_warn("client=%s: history cleared in part (%lld rows): %s", rq->client, gone,
		         sqlite3_errmsg(w->db));
		api_error(rs, 500, "Cannot clear the history");
		return;
	}
	msg_info("client=%s: history cleared (%lld rows)", rq->client, gone);
	reply(rs, 200, xstrdup("{\"success\":true}"), "application/json");
}

static void h_errors(const struct api_route *rt, struct work *w, const struct api_req *rq,
                     struct api_resp *rs)
{
	(void)rt, (void)w, (void)rq;
	/* moat logs to syslog or log_file; it keeps no ring buffer of errors. */
	reply(rs, 200, xstrdup("[]"), "application/json");
}

static void h_symbols(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	sqlite3_stmt *st;
	json_t *groups = json_array(), *g = NULL, *rules = NULL;
	char cur[128] = "";

	(void)rt, (void)rq;
	if (sqlite3_prepare_v2(w->db,
	                       "SELECT group_name, name, weight, description, enabled FROM"
	                       " symbols ORDER BY group_name, name",
	                       -1, &st, NULL) != SQLITE_OK) {
		json_decref(groups);
		api_error(rs, 500, "Cannot read the symbols");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *grp = (const char *)sqlite3_column_text(st, 0);

		if (g == NULL || strcmp(cur, grp ? grp : "") != 0) {
			snprintf(cur, sizeof(cur), "%s", grp ? grp : "");
			rules = json_array();
			g = json_pack("{s:o, s:o}", "group", jstr(cur), "rules", rules);
			json_array_append_new(groups, g);
		}
		json_array_append_new(
		    rules, json_pack("{s:o, s:f, s:o, s:i, s:i, s:i, s:b}", "symbol",
		                     jstr((const char *)sqlite3_column_text(st, 1)), "weight",
		                     sqlite3_column_double(st, 2), "description",
		                     jstr((const char *)sqlite3_column_text(st, 3)), "frequency", 0,
		                     "frequency_stddev", 0, "time", 0, "disabled",
		                     !sqlite3_column_int(st, 4)));
	}
	sqlite3_finalize(st);
	reply_json(rs, 200, groups);
}

static void h_actions(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	struct rules_ref *ref = work_rules(w->db);
	json_t *a = json_array();

	(void)rt, (void)rq;
	if (ref == NULL) {
		json_decref(a);
		api_error(rs, 500, "Cannot read the rules");
		return;
	}
	/* Rspamd lists the actions that have a threshold. */
	for (int i = 0; i < REQ_NACTIONS; i++) {
		double t = scan_rules_threshold(ref->r, req_action_names[i]);

		if (!isinf(t))
			json_array_append_new(
			    a, json_pack("{s:s, s:f}", "action", req_action_names[i], "value", t));
	}
	work_rules_put(ref);
	reply_json(rs, 200, a);
}

/* Run fn's statements in one transaction; 0, or -1 (rolled back). */
static int in_tx(sqlite3 *db, int (*fn)(sqlite3 *db, void *arg, char *err, size_t errlen),
                 void *arg, char *err, size_t errlen)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database busy: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (fn(db, arg, err, errlen) < 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int save_actions(sqlite3 *db, void *arg, char *err, size_t errlen)
{
	const struct req_actions *a = arg;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "UPDATE actions SET threshold = ?1 WHERE name = ?2", -1, &st,
	                       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	for (int i = 0; i < REQ_NACTIONS; i++) {
		sqlite3_reset(st);
		if (a->off[i])
			sqlite3_bind_null(st, 1);
		else
			sqlite3_bind_double(st, 1, a->value[i]);
		sqlite3_bind_text(st, 2, req_action_names[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errlen, "%s", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static void h_saveactions(const struct api_route *rt, struct work *w, const struct api_req *rq,
                          struct api_resp *rs)
{
	struct req_actions a;
	char err[256];

	(void)rt;
	if (req_actions_parse(rq->body, rq->len, &a, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (in_tx(w->db, save_actions, &a, err, sizeof(err)) < 0) {
		api_error(rs, 500, err);
		return;
	}
	work_rules_stale();
	msg_info("client=%s: action thresholds saved", rq->client);
	reply(rs, 200, xstrdup("{\"success\":true}"), "application/json");
}

struct symbols_arg {
	struct req_symbol *v;
	size_t n;
};

static int save_symbols(sqlite3 *db, void *arg, char *err, size_t errlen)
{
	const struct symbols_arg *a = arg;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "UPDATE symbols SET weight = ?1 WHERE name = ?2", -1, &st,
	                       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	for (size_t i = 0; i < a->n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_double(st, 1, a->v[i].value);
		sqlite3_bind_text(st, 2, a->v[i].name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1) {
			snprintf(err, errlen, "unknown symbol %s: nothing saved", a->v[i].name);
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static void h_savesymbols(const struct api_route *rt, struct work *w, const struct api_req *rq,
                          struct api_resp *rs)
{
	struct symbols_arg a;
	char err[256];

	(void)rt;
	if (req_symbols_parse(rq->body, rq->len, &a.v, &a.n, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (a.n == 0) {
		free(a.v);
		api_error(rs, 404, "No symbols to save");
		return;
	}
	if (in_tx(w->db, save_symbols, &a, err, sizeof(err)) < 0) {
		free(a.v);
		api_error(rs, 400, err);
		return;
	}
	work_rules_stale();
	msg_info("client=%s: %zu symbol weight(s) saved", rq->client, a.n);
	free(a.v);
	reply(rs, 200, xstrdup("{\"success\":true}"), "application/json");
}

/* The message's Message-ID for a reply, or "<undef>" as Rspamd says. */
static char *message_id(const char *p, size_t len)
{
	struct mime_limits lim;
	struct msg *m;
	const struct msg_header *h;
	char *id;

	mime_limits_default(&lim);
	m = msg_parse(p, len, &lim);
	h = m ? msg_header(m->root, "Message-ID") : NULL;
	id = xstrdup(h && h->value[0] ? h->value : "<undef>");
	msg_free(m);
	return id;
}

static void h_learn(const struct api_route *rt, struct work *w, const struct api_req *rq,
                    struct api_resp *rs)
{
	int spam = strcmp(rt->path, "/learnspam") == 0;
	struct bayes_learner *l;
	char err[512];
	int rc;

	if (w->bst == NULL) {
		api_error(rs, 500, "The Bayes store is unavailable");
		return;
	}
	l = bayes_learner_new(w->bst);
	rc = bayes_learner_add(l, rq->body, rq->len, spam ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM, err,
	                       sizeof(err));
	if (rc == BAYES_SKIPPED) {
		char *id = message_id(rq->body, rq->len), msg[600];

		bayes_learner_free(l);
		/* Rspamd's words (src/libstat/stat_process.c), and its code 208. */
		snprintf(msg, sizeof(msg), "%.500s has been already learned as %s, ignore it", id,
		         spam ? "spam" : "ham");
		free(id);
		api_error(rs, 208, msg);
		return;
	}
	if (rc < 0 || bayes_learner_commit(l, err, sizeof(err)) < 0) {
		bayes_learner_free(l);
		msg_warn("client=%s: learning failed: %s", rq->client, err);
		api_error(rs, 500, err);
		return;
	}
	bayes_learner_free(l);
	msg_info("client=%s: learned as %s%s", rq->client, spam ? "spam" : "ham",
	         rc == BAYES_MOVED ? " (was the other class)" : "");
	reply(rs, 200, xstrdup("{\"success\":true}"), "application/json");
}

static json_t *scan_json(const struct scan_result *res, const struct scan_rules *r, double secs)
{
	json_t *syms = json_object(), *th = json_object();

	for (size_t i = 0; i < res->n; i++) {
		const struct scan_symbol *s = &res->v[i];
		json_t *o = json_array();

		for (int k = 0; k < s->nopts; k++)
			json_array_append_new(o, jstr(s->opts[k]));
		json_object_set_new(syms, s->name,
		                    json_pack("{s:s, s:f, s:f, s:o}", "name", s->name, "score",
		                              s->weight, "metric_score", s->weight, "options", o));
	}
	for (int i = 0; i < REQ_NACTIONS; i++) {
		double t = scan_rules_threshold(r, req_action_names[i]);

		if (!isinf(t))
			json_object_set_new(th, req_action_names[i], json_real(t));
	}
	return json_pack("{s:b, s:f, s:f, s:s, s:o, s:o, s:{}, s:f, s:f}", "is_skipped", 0, "score",
	                 res->score, "required_score", isinf(res->required) ? 0.0 : res->required,
	                 "action", res->action, "thresholds", th, "symbols", syms, "messages",
	                 "time_real", secs, "scan_time", secs);
}

/*
 * The scan into the history, as the milter's rows (unless Flags: no_log),
 * through the batch writer (histq.h); the row takes *tok.
 */
static void history_keep(const struct api_req *rq, const struct scan_result *res, double ms,
                         uint64_t **tok, size_t ntok, uint64_t msgid)
{
	struct history_row *r = xcalloc(1, sizeof(*r));
	struct sbuf syms, rc;
	const char *s, *semi;

	sbuf_init(&syms);
	sbuf_init(&rc);
	scan_spamd_result(res, &syms, 0);
	for (int i = 0; i < rq->scan.nrcpts; i++)
		sbuf_printf(&rc, "%s%s", i ? "," : "", rq->scan.rcpts[i]);
	s = sbuf_cstr(&syms);
	semi = strchr(s, ';');
	r->time = time(NULL);
	r->queue_id = xstrdup(rq->scan.queue_id ? rq->scan.queue_id : "");
	r->client = xstrdup(rq->scan.ip ? rq->scan.ip : "");
	r->sender = xstrdup(rq->scan.from ? rq->scan.from : "");
	r->recipients = xstrdup(sbuf_cstr(&rc));
	r->subject = xstrdup(res->subject ? res->subject : "");
	r->size = (long long)rq->len;
	r->score = res->score;
	r->action = xstrdup(res->action);
	/* The symbols without X-Spamd-Result's "default: ... [s / r]" lead. */
	r->symbols = xstrdup(semi ? semi + 1 + (semi[1] == ' ') : "");
	r->scan_ms = ms;
	r->mime_from = xstrdup(res->from);
	r->mime_from_name = xstrdup(res->from_name);
	r->tok = *tok;
	r->ntok = ntok;
	r->msgid = msgid;
	*tok = NULL;
	sbuf_free(&syms);
	sbuf_free(&rc);
	histq_add(r);
}

static void h_check(const struct api_route *rt, struct work *w, const struct api_req *rq,
                    struct api_resp *rs)
{
	struct rules_ref *ref = work_rules(w->db);
	struct scan_input in;
	struct scan_env env = {0};
	struct scan_result res;
	struct timespec t0, t1;
	double secs;
	uint64_t *tok = NULL, msgid = 0;
	size_t ntok = 0;

	(void)rt;
	if (ref == NULL) {
		api_error(rs, 500, "Cannot load the rules");
		return;
	}
	/* DNS lists follow the rules: re-read when they were. */
	if (w->sd && w->rules_gen != ref->gen) {
		if (w->rules_gen != (unsigned)-1)
			scan_dns_reload(w->sd, w->db);
		w->rules_gen = ref->gen;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&in, 0, sizeof(in));
	in.raw = rq->body;
	in.len = rq->len;
	in.client_ip = rq->scan.ip;
	in.client_name = rq->scan.hostname;
	in.helo = rq->scan.helo;
	in.mail_from = rq->scan.from;
	in.rcpts = (const char *const *)rq->scan.rcpts;
	in.nrcpts = rq->scan.nrcpts;
	in.auth_user = rq->scan.user;
	env.bayes = w->bayes;
	env.dns = w->sd;
	env.clamav = w->clam;
	scan_result_init(&res);
	scan_message(ref->r, &env, &in, &res);
	scan_finish(&res, ref->r);
	/* Before autolearn, which ends the scan's claim on them: the tokens for the history. */
	if (w->bayes == NULL || rq->scan.no_log ||
	    conf_num(work_conf(NULL), "history_tokens_max_age") <= 0 ||
	    bayes_scanned_tokens(w->bayes, &tok, &ntok, &msgid) < 0)
		tok = NULL;
	if (w->bayes)
		bayes_autolearn(w->bayes, ref->r, res.score,
		                rq->scan.queue_id ? rq->scan.queue_id : "controller");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!rq->scan.no_log) {
		history_keep(rq, &res, secs * 1000, &tok, ntok, msgid);
		msg_info("checkv2: client=%s, qid=%s, ip=%s, action=%s, score=%.2f, ms=%.1f",
		         rq->client, rq->scan.queue_id ? rq->scan.queue_id : "",
		         rq->scan.ip ? rq->scan.ip : "", res.action, res.score, secs * 1000);
	}
	free(tok);
	reply_json(rs, 200, scan_json(&res, ref->r, secs));
	scan_result_free(&res);
	work_rules_put(ref);
}

static void h_pie(const struct api_route *rt, struct work *w, const struct api_req *rq,
                  struct api_resp *rs)
{
	struct counts c;
	json_t *a = json_array();

	(void)rt, (void)rq;
	counts(w, &c);
	for (int i = 0; i < 6; i++)
		json_array_append_new(a,
		                      json_pack("{s:s, s:s, s:I}", "label", actions6[i], "action",
		                                actions6[i], "data", (json_int_t)c.action[i]));
	reply_json(rs, 200, a);
}

/*
 * /graph?type=day|week|month|year: what Rspamd draws from its RRD file, from
 * the history instead: for each of the six actions (Rspamd's order) one
 * point per step, {"x": the step's start, "y": messages per second in it}.
 */
static void h_graph(const struct api_route *rt, struct work *w, const struct api_req *rq,
                    struct api_resp *rs)
{
	static const struct {
		const char *type;
		long span, step;
	} kinds[] = {{"day", 86400, 300},
	             {"week", 7 * 86400, 1800},
	             {"month", 31 * 86400, 7200},
	             {"year", 365 * 86400, 86400}};
	const char *type = rq->q_type ? rq->q_type : "day";
	long span = 0, step = 0, n, start;
	sqlite3_stmt *st;
	json_t *out;
	long long *cnt;

	(void)rt;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i].type) == 0)
			span = kinds[i].span, step = kinds[i].step;
	if (span == 0) {
		api_error(rs, 400, "type must be day, week, month or year");
		return;
	}
	n = span / step;
	start = ((long)time(NULL) / step + 1) * step - span;
	cnt = xcalloc((size_t)(6 * n), sizeof(*cnt));
	if (sqlite3_prepare_v2(w->db,
	                       "SELECT (time - ?1) / ?2, action, count(*) FROM history"
	                       " WHERE time >= ?1 GROUP BY 1, 2",
	                       -1, &st, NULL) != SQLITE_OK) {
		free(cnt);
		api_error(rs, 500, "Cannot read the history");
		return;
	}
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int64(st, 2, step);
	while (sqlite3_step(st) == SQLITE_ROW) {
		long b = (long)sqlite3_column_int64(st, 0);
		const char *a = (const char *)sqlite3_column_text(st, 1);

		for (int k = 0; k < 6 && b >= 0 && b < n; k++)
			if (a && strcmp(a, actions6[k]) == 0)
				cnt[k * n + b] += sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	out = json_array();
	for (int k = 0; k < 6; k++) {
		json_t *pts = json_array();

		for (long b = 0; b < n; b++)
			json_array_append_new(
			    pts, json_pack("{s:I, s:f}", "x", (json_int_t)(start + b * step), "y",
			                   (double)cnt[k * n + b] / (double)step));
		json_array_append_new(out, pts);
	}
	free(cnt);
	reply_json(rs, 200, out);
}

/* /maps: the sources of the allow and block lists (map_sources), Rspamd's shape; read-only. */
static void h_maps(const struct api_route *rt, struct work *w, const struct api_req *rq,
                   struct api_resp *rs)
{
	sqlite3_stmt *st;
	json_t *a = json_array();

	(void)rt, (void)rq;
	if (sqlite3_prepare_v2(w->db,
	                       "SELECT rowid, list, source, entries, error FROM map_sources"
	                       " ORDER BY list, source",
	                       -1, &st, NULL) != SQLITE_OK) {
		json_decref(a);
		api_error(rs, 500, "Cannot read the maps");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *src = (const char *)sqlite3_column_text(st, 2);

		const char *list = (const char *)sqlite3_column_text(st, 1);
		/* A file its list names now, which this process may write: /savemap. */
		int editable = src && list && src[0] == '/' && api_map_configured(list, src) &&
		               access(src, W_OK) == 0;

		json_array_append_new(
		    a, json_pack("{s:I, s:o, s:o, s:b, s:b, s:b, s:s}", "map",
		                 (json_int_t)sqlite3_column_int64(st, 0), "uri", jstr(src),
		                 "description", jstr(list), "editable", editable, "loaded",
		                 sqlite3_column_type(st, 4) == SQLITE_NULL, "cached", 0, "type",
		                 src && src[0] == '/' ? "file" : "http"));
	}
	sqlite3_finalize(st);
	reply_json(rs, 200, a);
}

#define GETMAP_MAX (16 << 20) /* largest map file served */

/* Whether path is named in the list setting now (comma- or space-separated). */
int api_map_configured(const char *list, const char *path)
{
	const struct conf *cf = work_conf(NULL);
	const char *v;
	size_t n = strlen(path);

	if (conf_readers(list) == 0)
		return 0;
	v = conf_str(cf, list);
	/* Each step moves past one entry. */
	while (*v) {
		size_t k;

		v += strspn(v, ", \t");
		k = strcspn(v, ", \t");
		if (k == n && strncmp(v, path, n) == 0)
			return 1;
		v += k;
	}
	return 0;
}

/*
 * /getmap with "Map: ID": a URL source's last good copy from the database,
 * or a file source's text, but only a file its list's setting names now:
 * the controller never reads a path a request or a stale row chose.
 */
static void h_getmap(const struct api_route *rt, struct work *w, const struct api_req *rq,
                     struct api_resp *rs)
{
	sqlite3_stmt *st;
	long id;
	struct sbuf b;

	(void)rt;
	if (rq->map_id == NULL || req_long(rq->map_id, 0, 1000000000L, &id) < 0) {
		api_error(rs, 400, "Map id not specified or invalid");
		return;
	}
	if (sqlite3_prepare_v2(w->db, "SELECT list, source, body FROM map_sources WHERE rowid = ?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		api_error(rs, 500, "Cannot read the maps");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		api_error(rs, 404, "Map id not found");
		return;
	}
	sbuf_init(&b);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		sbuf_append(&b, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	} else {
		const char *list = (const char *)sqlite3_column_text(st, 0);
		const char *src = (const char *)sqlite3_column_text(st, 1);
		FILE *fp = NULL;
		char buf[8192];
		size_t n;

		if (!list || !src || src[0] != '/' || !api_map_configured(list, src) ||
		    (fp = fopen(src, "re")) == NULL) {
			sqlite3_finalize(st);
			sbuf_free(&b);
			api_error(rs, 404, "Map not readable");
			return;
		}
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0 && b.len < GETMAP_MAX)
			sbuf_append(&b, buf, n);
		fclose(fp);
	}
	sqlite3_finalize(st);
	reply(rs, 200, xstrdup(sbuf_cstr(&b)), "text/plain; charset=utf-8");
	sbuf_free(&b);
}

/* OpenMetrics text (Rspamd's /metrics names), ending in "# EOF". */
static void h_metrics(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	struct counts c;
	struct sbuf b;

	(void)rt, (void)rq;
	counts(w, &c);
	sbuf_init(&b);
	sbuf_printf(&b,
	            "# HELP rspamd_build_info moat's version.\n# TYPE rspamd_build_info gauge\n"
	            "rspamd_build_info{version=\"%s\"} 1\n",
	            PACKAGE_VERSION);
	sbuf_printf(&b,
	            "# HELP rspamd_uptime_seconds Seconds since moat-controller started.\n"
	            "# TYPE rspamd_uptime_seconds gauge\nrspamd_uptime_seconds %lld\n",
	            (long long)(time(NULL) - started));
	sbuf_printf(&b,
	            "# HELP rspamd_scanned Messages scanned (history since the last statreset).\n"
	            "# TYPE rspamd_scanned counter\nrspamd_scanned_total %lld\n",
	            c.scanned);
	sbuf_printf(&b,
	            "# HELP rspamd_learned Messages learned by Bayes.\n"
	            "# TYPE rspamd_learned counter\nrspamd_learned_total %lld\n",
	            (long long)(c.bayes.spam + c.bayes.ham));
	sbuf_printf(&b,
	            "# HELP rspamd_spam_count Messages with a spam action.\n"
	            "# TYPE rspamd_spam_count counter\nrspamd_spam_count_total %lld\n",
	            c.spam);
	sbuf_printf(&b,
	            "# HELP rspamd_ham_count Messages with a ham action.\n"
	            "# TYPE rspamd_ham_count counter\nrspamd_ham_count_total %lld\n",
	            c.ham);
	sbuf_printf(&b,
	            "# HELP rspamd_actions Messages per action.\n# TYPE rspamd_actions counter\n");
	for (int i = 0; i < 6; i++)
		sbuf_printf(&b, "rspamd_actions_total{type=\"%s\"} %lld\n", actions6[i],
		            c.action[i]);
	sbuf_printf(&b,
	            "# HELP rspamd_statfiles_revision Bayes messages learned per class.\n"
	            "# TYPE rspamd_statfiles_revision gauge\n"
	            "rspamd_statfiles_revision{symbol=\"BAYES_SPAM\"} %lld\n"
	            "rspamd_statfiles_revision{symbol=\"BAYES_HAM\"} %lld\n"
	            "# EOF\n",
	            (long long)c.bayes.spam, (long long)c.bayes.ham);
	reply(rs, 200, xstrdup(sbuf_cstr(&b)),
	      "application/openmetrics-text; version=1.0.0; charset=utf-8");
	sbuf_free(&b);
}

static const struct api_route routes[] = {
    {"/ping", ACCESS_NONE, 0, h_ping, NULL},
    {"/healthy", ACCESS_NONE, 0, h_ok, NULL},
    {"/ready", ACCESS_NONE, 0, h_ok, NULL},
    {"/auth", ACCESS_READ, 0, h_auth, NULL},
    {"/stat", ACCESS_READ, 0, h_stat, NULL},
    {"/statreset", ACCESS_WRITE, 0, h_stat, NULL},
    {"/history", ACCESS_READ, 0, h_history, NULL},
    {"/historyreset", ACCESS_WRITE, 0, h_historyreset, NULL},
    {"/errors", ACCESS_READ, 0, h_errors, NULL},
    {"/symbols", ACCESS_READ, 0, h_symbols, NULL},
    {"/actions", ACCESS_READ, 0, h_actions, NULL},
    {"/saveactions", ACCESS_WRITE, 1, h_saveactions, NULL},
    {"/savesymbols", ACCESS_WRITE, 1, h_savesymbols, NULL},
    {"/learnspam", ACCESS_WRITE, 1, h_learn, NULL},
    {"/learnham", ACCESS_WRITE, 1, h_learn, NULL},
    {"/checkv2", ACCESS_READ, 1, h_check, NULL},
    {"/check", ACCESS_READ, 1, h_check, NULL},
    {"/pie", ACCESS_READ, 0, h_pie, NULL},
    {"/graph", ACCESS_READ, 0, h_graph, NULL},
    {"/maps", ACCESS_READ, 0, h_maps, NULL},
    {"/getmap", ACCESS_READ, 0, h_getmap, NULL},
    {"/metrics", ACCESS_READ, 0, h_metrics, NULL},
};

const struct api_route *api_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return api_moat_route(path);
}

void api_run(const struct api_route *rt, struct work *w, const struct api_req *rq,
             struct api_resp *rs)
{
	/*
	 * Every answer but a scan's sees the scans answered before it: their
	 * history rows are written first (histq.h; at most one batch to wait).
	 */
	if (rt->run != h_check)
		histq_sync();
	rt->run(rt, w, rq, rs);
}
