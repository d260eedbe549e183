/*
 * api_moat - the MOAT API's endpoints; see api_moat.h and
 * moat-controller(8).
 *
 * History search. The page is found first as ids, newest (highest id)
 * first, then its rows are read: the id order is the order the daemons
 * wrote the rows in. Each filter has an index (sql/018-moat-api.sql): the
 * substrings a trigram index (FTS5), the symbol a table of (symbol, id),
 * action, client and time their own; with none, an index of the ids
 * alone, so a deep page steps over 10 MB per million rows, not the rows.
 * A substring search asks the trigram index for the rarest three of its
 * trigrams (judged by how far back their newest thousand rows reach), then
 * checks the text of each candidate: a term's common trigrams ("use" of "user123@")
 * would have the index merge lists of a million rows. The SQL is put
 * together from fixed pieces, the values always bound. A substring search
 * has no total (null): counting every match would take longer than the
 * page. Other filters count up to TOTAL_CAP matches, null past it.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "controller/api_moat.h"
#include "controller/moat_req.h"
#include "controller/work.h"
#include "core/cidr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "maps/maps.h"
#include "scan/bayes.h"
#include "scan/composite.h"
#include "scan/rules.h"
#include "scan/scan.h"
#include "store/bayes_store.h"
#include "store/history_index.h"
#include "store/history_tokens.h"

#define TOTAL_CAP 10000        /* matches counted for total; more: null */
#define TOP_SYMBOLS 20         /* symbols on the dashboard */
#define SCAN_TIMES_MAX 2000000 /* scan times of a day taken for the percentiles */
#define BINDS_MAX 16
#define TRIGRAMS_ASKED 3 /* the rarest trigrams of a search given to the index */
#define TRI_SAMPLE 1000  /* newest rows holding a trigram read to judge how rare it is */

static const char *const actions6[] = {"reject",     "soft reject", "rewrite subject",
                                       "add header", "greylist",    "no action"};

static void ok(struct api_resp *rs)
{
	api_reply_json(rs, 200, json_pack("{s:b}", "success", 1));
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_warn("moat api: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

/* --- who ------------------------------------------------------------------- */

static void h_whoami(const struct api_route *rt, struct work *w, const struct api_req *rq,
                     struct api_resp *rs)
{
	(void)rt, (void)w;
	api_reply_json(rs, 200,
	               json_pack("{s:s, s:s, s:s}", "access", rq->can_write ? "write" : "read",
	                         "via", rq->via ? rq->via : "password", "client", rq->client));
}

/* --- history --------------------------------------------------------------- */

/* Values bound to a statement made of pieces: text or integers, in order. */
struct binds {
	int n;
	struct {
		char *s; /* malloc'd, or NULL for i */
		long long i;
	} v[BINDS_MAX];
};

static void bind_text(struct binds *b, char *s)
{
	b->v[b->n].s = s;
	b->v[b->n++].i = 0;
}

static void bind_int(struct binds *b, long long i)
{
	b->v[b->n].s = NULL;
	b->v[b->n++].i = i;
}

static void binds_apply(const struct binds *b, sqlite3_stmt *st)
{
	for (int i = 0; i < b->n; i++)
		if (b->v[i].s)
			sqlite3_bind_text(st, i + 1, b->v[i].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, i + 1, b->v[i].i);
}

static void binds_free(struct binds *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->v[i].s);
	b->n = 0;
}

/*
 * A LIKE pattern for the trigram index: %term%. LIKE's own wildcards in the
 * term become _, which matches them too; the exact test (instr) follows.
 */
static char *like_pattern(const char *t)
{
	size_t n = strlen(t);
	char *p = xmalloc(n + 3);

	p[0] = '%';
	for (size_t i = 0; i < n; i++)
		p[i + 1] = t[i] == '%' || t[i] == '_' ? '_' : t[i];
	p[n + 1] = '%';
	p[n + 2] = '\0';
	return p;
}

/*
 * A term's test on table t's columns: "from" is the envelope sender or the
 * From header (address or display name), the others one column each; any
 * column matching will do. like: the index's LIKE ?n, else the exact test.
 */
static void term_sql(struct sbuf *s, int term, const char *t, int like, int n)
{
	static const char *const from[] = {"sender", "mime_from", "mime_from_name", NULL};
	static const char *const to[] = {"recipients", NULL}, *const subj[] = {"subject", NULL};
	const char *const *cols = term == 0 ? from : term == 1 ? to : subj;

	sbuf_printf(s, "(");
	for (int i = 0; cols[i]; i++) {
		if (like)
			sbuf_printf(s, "%s%s.%s LIKE ?%d", i ? " OR " : "", t, cols[i], n);
		else
			sbuf_printf(s, "%sinstr(lower(%s.%s), lower(?%d)) > 0", i ? " OR " : "", t,
			            cols[i], n);
	}
	sbuf_printf(s, ")");
}

/*
 * The FROM and WHERE of a search (after "SELECT <id> "), with its values
 * in b; *idcol is the id column to order by.
 */
static void search_sql(const struct moat_hq *q, const char *match, struct sbuf *s, struct binds *b,
                       const char **idcol)
{
	const char *terms[3] = {q->from, q->to, q->subject};
	/* With one client address, its few rows are read and their text checked: no index. */
	int fts = (q->from || q->to || q->subject) && !(q->ip && !q->ip_prefix);
	int hcond = q->ip || q->action || q->since || q->until || (fts && q->symbol);
	const char *and = " WHERE ";

	if (fts) {
		*idcol = "f.rowid";
		sbuf_printf(s, "FROM history_search f%s",
		            hcond ? " JOIN history h ON h.id = f.rowid" : "");
		if (match) {
			sbuf_printf(s, "%sf.history_search MATCH ?%d", and, b->n + 1);
			bind_text(b, xstrdup(match));
			and = " AND ";
		}
		for (int i = 0; i < 3; i++) {
			if (terms[i] == NULL)
				continue;
			if (match == NULL) {
				sbuf_printf(s, "%s", and);
				term_sql(s, i, "f", 1, b->n + 1);
				bind_text(b, like_pattern(terms[i]));
				and = " AND ";
			}
			/* As LIKE, blind to ASCII case; % and _ are themselves. */
			sbuf_printf(s, "%s", and);
			term_sql(s, i, "f", 0, b->n + 1);
			bind_text(b, xstrdup(terms[i]));
			and = " AND ";
		}
		if (q->symbol) {
			sbuf_printf(s,
			            " AND EXISTS (SELECT 1 FROM history_symbols x WHERE x.id = h.id"
			            " AND x.symbol = ?%d)",
			            b->n + 1);
			bind_text(b, xstrdup(q->symbol));
		}
	} else if (q->symbol) {
		*idcol = "s.id";
		sbuf_printf(s,
		            "FROM history_symbols s INDEXED BY history_symbols_symbol%s WHERE"
		            " s.symbol = ?%d",
		            hcond ? " JOIN history h ON h.id = s.id" : "", b->n + 1);
		bind_text(b, xstrdup(q->symbol));
		and = " AND ";
	} else {
		*idcol = "h.id";
		sbuf_printf(s, "FROM history h%s", hcond ? "" : " INDEXED BY history_id");
	}
	for (int i = 0; i < 3 && !fts; i++) {
		if (terms[i] == NULL)
			continue;
		sbuf_printf(s, "%s", and);
		term_sql(s, i, "h", 0, b->n + 1);
		bind_text(b, xstrdup(terms[i]));
		and = " AND ";
	}
	if (q->ip && q->ip_prefix) {
		/* A prefix as a range of the client index: "192.0.2." to "192.0.2/". */
		char *lo = xstrdup(q->ip), *hi = xstrdup(q->ip);

		for (char *p = lo; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		strcpy(hi, lo);
		hi[strlen(hi) - 1]++;
		sbuf_printf(s, "%sh.client >= ?%d AND h.client < ?%d", and, b->n + 1, b->n + 2);
		bind_text(b, lo);
		bind_text(b, hi);
		and = " AND ";
	} else if (q->ip) {
		char *ip = xstrdup(q->ip);

		for (char *p = ip; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		sbuf_printf(s, "%sh.client = ?%d", and, b->n + 1);
		bind_text(b, ip);
		and = " AND ";
	}
	if (q->action) {
		sbuf_printf(s, "%sh.action = ?%d", and, b->n + 1);
		bind_text(b, xstrdup(q->action));
		and = " AND ";
	}
	if (q->since) {
		sbuf_printf(s, "%sh.time >= ?%d", and, b->n + 1);
		bind_int(b, q->since);
		and = " AND ";
	}
	if (q->until) {
		sbuf_printf(s, "%sh.time < ?%d", and, b->n + 1);
		bind_int(b, q->until);
	}
}

/* Split "a,b" into a JSON array of strings. */
static json_t *split(const char *s)
{
	json_t *a = json_array();

	/* Each step consumes one comma-separated entry. */
	while (s && *s) {
		size_t n = strcspn(s, ",");
		char *e = xstrndup(s, n);

		json_array_append_new(a, api_jstr(e));
		free(e);
		s += n + (s[n] == ',');
	}
	return a;
}

/* The columns row_json() reads, from history h, history_tokens t and bayes_seen b. */
#define ROW_COLS                                                                                   \
	"h.id, h.time, h.queue_id, h.client, h.sender, h.recipients, h.subject, h.size,"           \
	" h.score, h.action, h.scan_ms, t.id IS NOT NULL, b.class, h.reason, h.symbols,"           \
	" h.mime_from, h.mime_from_name"
#define ROW_FROM                                                                                   \
	" FROM history h LEFT JOIN history_tokens t ON t.id = h.id"                                \
	" LEFT JOIN bayes_seen b ON b.message = t.message"

static json_t *row_json(sqlite3_stmt *st)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(r, "time", json_integer(sqlite3_column_int64(st, 1)));
	json_object_set_new(r, "queue_id", api_jstr(col(st, 2)));
	json_object_set_new(r, "client", api_jstr(col(st, 3)));
	json_object_set_new(r, "sender", api_jstr(col(st, 4)));
	json_object_set_new(r, "mime_from", api_jstr(col(st, 15)));
	json_object_set_new(r, "mime_from_name", api_jstr(col(st, 16)));
	json_object_set_new(r, "recipients", split(col(st, 5)));
	json_object_set_new(r, "subject", api_jstr(col(st, 6)));
	json_object_set_new(r, "size", json_integer(sqlite3_column_int64(st, 7)));
	json_object_set_new(r, "score", json_real(sqlite3_column_double(st, 8)));
	json_object_set_new(r, "action", api_jstr(col(st, 9)));
	json_object_set_new(r, "scan_ms", json_real(sqlite3_column_double(st, 10)));
	json_object_set_new(r, "learnable", json_boolean(sqlite3_column_int(st, 11)));
	json_object_set_new(r, "learned",
	                    sqlite3_column_type(st, 12) == SQLITE_NULL ? json_null()
	                                                               : api_jstr(col(st, 12)));
	return r;
}

struct tri {
	char t[4];
	double density; /* matches per row among the newest (0: none at all) */
};

static int by_density(const void *a, const void *b)
{
	double x = ((const struct tri *)a)->density, y = ((const struct tri *)b)->density;

	return x < y ? -1 : x > y;
}

/* An FTS5 string: the text in double quotes, its own quotes doubled. */
static void fts_string(struct sbuf *m, const char *s)
{
	sbuf_append(m, "\"", 1);
	for (const char *p = s; *p; p++)
		sbuf_append(m, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
	sbuf_append(m, "\"", 1);
}

/*
 * How common a trigram is among the newest rows: the newest TRI_SAMPLE rows
 * holding it, over the span of ids they cover. Counting all rows that hold
 * it (fts5vocab) reads its whole list, 40 ms for one in every row; this
 * reads at most TRI_SAMPLE entries, and the page wants the newest anyway.
 */
static double density(sqlite3_stmt *st, const char *tri, long long maxid)
{
	struct sbuf m;
	double d = 1.0;

	sbuf_init(&m);
	fts_string(&m, tri);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, sbuf_cstr(&m), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, TRI_SAMPLE);
	if (sqlite3_step(st) == SQLITE_ROW) {
		long long n = sqlite3_column_int64(st, 0), lo = sqlite3_column_int64(st, 1);

		d = n == 0 ? 0.0 : (double)n / (double)(maxid + 1 - lo);
		/* Fewer than the sample: all of them are known, rarer than any full sample. */
		if (n > 0 && n < TRI_SAMPLE)
			d = (double)n / 1e15;
	}
	sbuf_free(&m);
	return d;
}

/*
 * The index query for the search terms: the rarest TRIGRAMS_ASKED of their
 * trigrams, ANDed ("abc" AND "bcd"). NULL with *none = 0 when no term has
 * an ASCII trigram (the index is then asked with LIKE), NULL with *none = 1
 * when a trigram is in no row: nothing can match.
 */
static char *trigram_match(sqlite3 *db, const struct moat_hq *q, int *none)
{
	const char *terms[3] = {q->from, q->to, q->subject};
	char(*t)[4] = xcalloc(3 * MOAT_TRIGRAMS_MAX, sizeof(*t));
	struct tri *v = xcalloc(3 * MOAT_TRIGRAMS_MAX, sizeof(*v));
	size_t n = 0, k = 0;
	sqlite3_stmt *st = prepare(db, "SELECT count(*), min(rowid) FROM (SELECT rowid FROM"
	                               " history_search WHERE history_search MATCH ?1 ORDER BY"
	                               " rowid DESC LIMIT ?2)"),
	             *mx = prepare(db, "SELECT max(id) FROM history");
	long long maxid = 0;
	struct sbuf m;
	char *r = NULL;

	*none = 0;
	if (mx && sqlite3_step(mx) == SQLITE_ROW)
		maxid = sqlite3_column_int64(mx, 0);
	sqlite3_finalize(mx);
	for (int i = 0; i < 3; i++)
		if (terms[i])
			n += moat_trigrams(terms[i], t + n, MOAT_TRIGRAMS_MAX);
	for (size_t i = 0; st && i < n; i++) {
		size_t j = 0;

		while (j < k && strcmp(v[j].t, t[i]) != 0)
			j++;
		if (j < k)
			continue;
		memcpy(v[k].t, t[i], 4);
		v[k++].density = density(st, t[i], maxid);
	}
	sqlite3_finalize(st);
	qsort(v, k, sizeof(*v), by_density);
	if (k > 0 && v[0].density == 0.0) {
		*none = 1;
	} else if (k > 0) {
		sbuf_init(&m);
		for (size_t i = 0; i < k && i < TRIGRAMS_ASKED; i++) {
			if (i)
				sbuf_append(&m, " AND ", 5);
			fts_string(&m, v[i].t);
		}
		r = xstrdup(sbuf_cstr(&m));
		sbuf_free(&m);
	}
	free(t);
	free(v);
	return r;
}

static void h_history(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	struct moat_hq q;
	struct binds b = {0};
	struct sbuf where, sql;
	const char *idcol = "h.id";
	sqlite3_stmt *st;
	json_t *rows;
	json_int_t total = -1;
	char err[256], *match = NULL;
	int more = 0, unfiltered, none = 0, substr;

	(void)rt;
	if (moat_hq_parse(rq->arg, rq->arg_ctx, &q, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	/* Rows written by other means than the daemons' writers, into the index first. */
	if (history_index_all(w->db) < 0)
		msg_warn("history: search index not updated: %s", sqlite3_errmsg(w->db));
	substr = q.from || q.to || q.subject;
	unfiltered = !substr && !q.ip && !q.action && !q.symbol && !q.since && !q.until;
	if (substr && !(q.ip && !q.ip_prefix) &&
	    (match = trigram_match(w->db, &q, &none)) == NULL && none) {
		api_reply_json(rs, 200,
		               json_pack("{s:[], s:n, s:i, s:i, s:b}", "rows", "total", "offset",
		                         (int)q.offset, "limit", (int)q.limit, "more", 0));
		return;
	}
	sbuf_init(&where);
	sbuf_init(&sql);
	search_sql(&q, match, &where, &b, &idcol);
	/* One row more than the page says whether another follows. */
	sbuf_printf(&sql,
	            "SELECT " ROW_COLS ROW_FROM " WHERE h.id IN (SELECT %s %s ORDER BY %s DESC"
	            " LIMIT %ld OFFSET %ld) ORDER BY h.id DESC",
	            idcol, sbuf_cstr(&where), idcol, q.limit + 1, q.offset);
	if ((st = prepare(w->db, sbuf_cstr(&sql))) == NULL) {
		api_error(rs, 500, "Cannot search the history");
		goto out;
	}
	binds_apply(&b, st);
	rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((long)json_array_size(rows) == q.limit) {
			more = 1;
			break;
		}
		json_array_append_new(rows, row_json(st));
	}
	sqlite3_finalize(st);
	/* The count: all rows from the ids' index, or the matches up to TOTAL_CAP. */
	sbuf_reset(&sql);
	if (unfiltered)
		sbuf_printf(&sql, "SELECT count(*) FROM history INDEXED BY history_id");
	else
		sbuf_printf(&sql, "SELECT count(*) FROM (SELECT 1 %s LIMIT %d)", sbuf_cstr(&where),
		            TOTAL_CAP + 1);
	if (!substr && (st = prepare(w->db, sbuf_cstr(&sql))) != NULL) {
		binds_apply(&b, st);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (!unfiltered && total > TOTAL_CAP)
		total = -1;
	api_reply_json(rs, 200,
	               json_pack("{s:o, s:o, s:i, s:i, s:b}", "rows", rows, "total",
	                         total < 0 ? json_null() : json_integer(total), "offset",
	                         (int)q.offset, "limit", (int)q.limit, "more", more));
out:
	free(match);
	binds_free(&b);
	sbuf_free(&where);
	sbuf_free(&sql);
}

/* The symbols of a row as [{"name", "weight", "options"}], by /history's parser. */
static json_t *symbols_array(const char *text)
{
	json_t *obj = req_history_symbols(text, strlen(text)), *a = json_array(), *v;
	const char *k;

	json_object_foreach(obj, k, v)
	{
		json_t *o = json_object_get(v, "options");

		json_array_append_new(a, json_pack("{s:o, s:O, s:O}", "name", api_jstr(k), "weight",
		                                   json_object_get(v, "score"), "options",
		                                   o ? o : json_array()));
	}
	json_decref(obj);
	return a;
}

static void h_message(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	const char *v = rq->arg(rq->arg_ctx, "id");
	long long id;
	sqlite3_stmt *st;
	struct rules_ref *ref;
	json_t *r;
	double req;

	(void)rt;
	if (v == NULL || moat_id_parse(v, &id) < 0 || id <= 0) {
		api_error(rs, 400, "id: a history row's id, a positive integer");
		return;
	}
	if ((st = prepare(w->db, "SELECT " ROW_COLS ROW_FROM " WHERE h.id = ?1")) == NULL) {
		api_error(rs, 500, "Cannot read the history");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		api_error(rs, 404, "No such history row");
		return;
	}
	r = row_json(st);
	json_object_set_new(r, "reason", api_jstr(col(st, 13)));
	json_object_set_new(r, "symbols", symbols_array(col(st, 14)));
	sqlite3_finalize(st);
	ref = work_rules(w->db);
	req = ref ? scan_rules_reject(ref->r) : HUGE_VAL;
	work_rules_put(ref);
	json_object_set_new(r, "required_score", isinf(req) ? json_null() : json_real(req));
	api_reply_json(rs, 200, r);
}

/* --- learning from history ------------------------------------------------- */

static void h_learn(const struct api_route *rt, struct work *w, const struct api_req *rq,
                    struct api_resp *rs)
{
	long long id;
	int cls, rc;
	char err[300], msg[400];
	sqlite3_stmt *st;
	uint64_t *tok = NULL, msgid = 0;
	size_t n = 0;
	struct bayes_learner *l;

	(void)rt;
	if (moat_learn_parse(rq->body, rq->len, &id, &cls, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (w->bst == NULL) {
		api_error(rs, 500, "The Bayes store is not available");
		return;
	}
	if ((st = prepare(w->db, "SELECT t.message, t.tokens FROM history h LEFT JOIN"
	                         " history_tokens t ON t.id = h.id WHERE h.id = ?1")) == NULL) {
		api_error(rs, 500, "Cannot read the history");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		api_error(rs, 404, "No such history row");
		return;
	}
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		msgid = (uint64_t)sqlite3_column_int64(st, 0);
		tok = history_tokens_decode(sqlite3_column_blob(st, 1),
		                            (size_t)sqlite3_column_bytes(st, 1), &n);
	}
	sqlite3_finalize(st);
	if (tok == NULL) {
		snprintf(
		    msg, sizeof(msg),
		    "The tokens of history row %lld are no longer kept (history_tokens_max_age),"
		    " or it was not scanned by Bayes: learn the message itself",
		    id);
		api_error(rs, 410, msg);
		return;
	}
	l = bayes_learner_new(w->bst);
	rc = bayes_learner_add_tokens(l, tok, n, msgid, cls, err, sizeof(err));
	free(tok);
	if (rc == BAYES_SKIPPED) {
		bayes_learner_free(l);
		snprintf(msg, sizeof(msg),
		         "History row %lld has been already learned as %s, ignore it", id,
		         cls == BAYES_CLASS_SPAM ? "spam" : "ham");
		api_error(rs, 208, msg);
		return;
	}
	if (rc < 0 || bayes_learner_commit(l, err, sizeof(err)) < 0) {
		bayes_learner_free(l);
		msg_warn("client=%s: learning history row %lld failed: %s", rq->client, id, err);
		api_error(rs, 500, err);
		return;
	}
	bayes_learner_free(l);
	msg_info("client=%s: history row %lld learned as %s%s", rq->client, id,
	         cls == BAYES_CLASS_SPAM ? "spam" : "ham",
	         rc == BAYES_MOVED ? " (was the other class)" : "");
	api_reply_json(rs, 200,
	               json_pack("{s:b, s:s}", "success", 1, "result",
	                         rc == BAYES_MOVED ? "moved" : "learned"));
}

/* --- dashboard ------------------------------------------------------------- */

static long long local_midnight(time_t now)
{
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (long long)mktime(&tm);
}

static int action_index(const char *a)
{
	for (int i = 0; i < 6; i++)
		if (strcmp(a, actions6[i]) == 0)
			return i;
	return -1;
}

static json_t *actions_today(sqlite3 *db, long long midnight)
{
	sqlite3_stmt *st = prepare(db, "SELECT action, count(*) FROM history WHERE time >= ?1"
	                               " GROUP BY action");
	json_t *o = json_object();
	long long c[6] = {0}, total = 0;

	if (st) {
		sqlite3_bind_int64(st, 1, midnight);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int k = action_index(col(st, 0));

			total += sqlite3_column_int64(st, 1);
			if (k >= 0)
				c[k] += sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	for (int i = 0; i < 6; i++)
		json_object_set_new(o, actions6[i], json_integer(c[i]));
	json_object_set_new(o, "total", json_integer(total));
	return o;
}

static json_t *series(sqlite3 *db, const char *period, time_t now, long long midnight)
{
	long step = strcmp(period, "day") == 0 ? 3600 : strcmp(period, "week") == 0 ? 21600 : 86400;
	int n = strcmp(period, "day") == 0 ? 24 : strcmp(period, "week") == 0 ? 28 : 30;
	long long end = midnight + ((long long)now - midnight) / step * step + step;
	long long start = end - (long long)n * step, (*c)[6] = xcalloc((size_t)n, sizeof(*c));
	sqlite3_stmt *st = prepare(db, "SELECT (time - ?1) / ?2, action, count(*) FROM history"
	                               " WHERE time >= ?1 AND time < ?3 GROUP BY 1, 2");
	json_t *pts = json_array(), *names = json_array();

	if (st) {
		sqlite3_bind_int64(st, 1, start);
		sqlite3_bind_int64(st, 2, step);
		sqlite3_bind_int64(st, 3, end);
		while (sqlite3_step(st) == SQLITE_ROW) {
			long long b = sqlite3_column_int64(st, 0);
			int k = action_index(col(st, 1));

			if (b >= 0 && b < n && k >= 0)
				c[b][k] += sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	for (int i = 0; i < n; i++) {
		json_t *p = json_array();

		json_array_append_new(p, json_integer(start + (long long)i * step));
		for (int k = 0; k < 6; k++)
			json_array_append_new(p, json_integer(c[i][k]));
		json_array_append_new(pts, p);
	}
	for (int k = 0; k < 6; k++)
		json_array_append_new(names, json_string(actions6[k]));
	free(c);
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "period", period, "step", (json_int_t)step,
	                 "start", (json_int_t)start, "actions", names, "points", pts);
}

static json_t *top_symbols(sqlite3 *db, long long since)
{
	sqlite3_stmt *st = prepare(db, "SELECT s.symbol, count(*) FROM history h JOIN"
	                               " history_symbols s ON s.id = h.id WHERE h.time >= ?1"
	                               " GROUP BY s.symbol ORDER BY 2 DESC, 1 LIMIT ?2");
	json_t *a = json_array();

	if (st) {
		sqlite3_bind_int64(st, 1, since);
		sqlite3_bind_int(st, 2, TOP_SYMBOLS);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(
			    a, json_pack("{s:o, s:I}", "name", api_jstr(col(st, 0)), "count",
			                 (json_int_t)sqlite3_column_int64(st, 1)));
		sqlite3_finalize(st);
	}
	return a;
}

/* Nearest-rank percentile p of n sorted values. */
static double pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)ceil(p / 100.0 * (double)n);

	return v[k ? k - 1 : 0];
}

static json_t *scan_times(sqlite3 *db, long long since)
{
	sqlite3_stmt *st = prepare(db, "SELECT scan_ms FROM history WHERE time >= ?1 AND action"
	                               " <> 'skipped' ORDER BY scan_ms LIMIT ?2");
	double *v = NULL;
	size_t n = 0, cap = 0;
	json_t *o;

	if (st) {
		sqlite3_bind_int64(st, 1, since);
		sqlite3_bind_int(st, 2, SCAN_TIMES_MAX);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n++] = sqlite3_column_double(st, 0);
		}
		sqlite3_finalize(st);
	}
	if (n == 0)
		o = json_pack("{s:i, s:n, s:n, s:n, s:n}", "count", 0, "p50", "p90", "p99", "max");
	else
		o = json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)n, "p50",
		              pct(v, n, 50), "p90", pct(v, n, 90), "p99", pct(v, n, 99), "max",
		              v[n - 1]);
	free(v);
	return o;
}

/* The DNS lists in use and the problems the daemons saw with them (moatctl doctor's source). */
static json_t *dnsbl(sqlite3 *db)
{
	sqlite3_stmt *st = prepare(db, "SELECT z.name, z.kind, p.code, p.kind, p.count,"
	                               " p.first_seen, p.last_seen FROM dnsbl_zones z LEFT JOIN"
	                               " dnsbl_problems p ON p.zone = z.name WHERE z.enabled = 1"
	                               " ORDER BY z.name, p.last_seen DESC");
	json_t *zones = json_array(), *cur = NULL, *probs = NULL;
	char name[256] = "";

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (cur == NULL || strcmp(name, col(st, 0)) != 0) {
			snprintf(name, sizeof(name), "%s", col(st, 0));
			probs = json_array();
			cur = json_pack("{s:o, s:o, s:o}", "zone", api_jstr(name), "kind",
			                api_jstr(col(st, 1)), "problems", probs);
			json_array_append_new(zones, cur);
		}
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			json_array_append_new(
			    probs, json_pack("{s:o, s:o, s:I, s:I, s:I}", "code",
			                     api_jstr(col(st, 2)), "kind", api_jstr(col(st, 3)),
			                     "count", (json_int_t)sqlite3_column_int64(st, 4),
			                     "first_seen", (json_int_t)sqlite3_column_int64(st, 5),
			                     "last_seen", (json_int_t)sqlite3_column_int64(st, 6)));
	}
	sqlite3_finalize(st);
	return json_pack("{s:o}", "zones", zones);
}

static json_t *bayes_state(struct work *w)
{
	struct bayes_stats bs = {0};
	struct rules_ref *ref = work_rules(w->db);
	const char *v = ref ? scan_rules_setting(ref->r, "bayes_min_learns") : "";
	long min = *v ? strtol(v, NULL, 10) : 200;
	int on = ref ? scan_rules_module(ref->r, "classifier-bayes") : 0;
	json_t *o;

	work_rules_put(ref);
	if (w->bst)
		bayes_store_stats(w->bst, &bs);
	o = json_pack("{s:I, s:I, s:I, s:I, s:b, s:b}", "spam", (json_int_t)bs.spam, "ham",
	              (json_int_t)bs.ham, "tokens", (json_int_t)bs.tokens, "min_learns",
	              (json_int_t)min, "enabled", on, "active",
	              on && bs.spam >= min && bs.ham >= min);
	return o;
}

static void h_dashboard(const struct api_route *rt, struct work *w, const struct api_req *rq,
                        struct api_resp *rs)
{
	const char *period = rq->arg(rq->arg_ctx, "period");
	time_t now = time(NULL);
	long long midnight = local_midnight(now);

	(void)rt;
	if (history_index_all(w->db) < 0)
		msg_warn("history: search index not updated: %s", sqlite3_errmsg(w->db));
	if (period == NULL || *period == '\0')
		period = "day";
	if (strcmp(period, "day") != 0 && strcmp(period, "week") != 0 &&
	    strcmp(period, "month") != 0) {
		api_error(rs, 400, "period: day, week or month");
		return;
	}
	api_reply_json(rs, 200,
	               json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "now", (json_int_t)now,
	                         "actions_today", actions_today(w->db, midnight), "series",
	                         series(w->db, period, now, midnight), "top_symbols",
	                         top_symbols(w->db, (long long)now - 86400), "scan_ms",
	                         scan_times(w->db, (long long)now - 86400), "dnsbl", dnsbl(w->db),
	                         "bayes", bayes_state(w)));
}

/* --- greylisting ----------------------------------------------------------- */

static json_t *id_str(sqlite3_stmt *st, int i)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", (long long)sqlite3_column_int64(st, i));
	return json_string(b);
}

/* One list: rows of sql (?1 the pattern or NULL, ?2 limit, ?3 offset) and the count of count_sql.
 */
static json_t *gl_list(sqlite3 *db, const char *sql, const char *count_sql, const char *pat,
                       long offset, long limit, json_t *(*row)(sqlite3_stmt *st))
{
	sqlite3_stmt *st = prepare(db, sql);
	json_t *rows = json_array();
	json_int_t total = 0;

	if (st) {
		if (pat)
			sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, limit);
		sqlite3_bind_int64(st, 3, offset);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(rows, row(st));
		sqlite3_finalize(st);
	}
	if ((st = prepare(db, count_sql)) != NULL) {
		if (pat)
			sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return json_pack("{s:o, s:I}", "rows", rows, "total", total);
}

static json_t *gl_triplet(sqlite3_stmt *st)
{
	return json_pack(
	    "{s:o, s:o, s:o, s:o, s:I, s:I, s:o}", "id", id_str(st, 0), "client",
	    api_jstr(col(st, 1)), "sender", api_jstr(col(st, 2)), "recipient", api_jstr(col(st, 3)),
	    "first_seen", (json_int_t)sqlite3_column_int64(st, 4), "last_seen",
	    (json_int_t)sqlite3_column_int64(st, 5), "passed_at",
	    sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null()
	                                              : json_integer(sqlite3_column_int64(st, 6)));
}

static json_t *gl_client(sqlite3_stmt *st)
{
	return json_pack("{s:o, s:I, s:I, s:b}", "client", api_jstr(col(st, 0)), "count",
	                 (json_int_t)sqlite3_column_int64(st, 1), "last_seen",
	                 (json_int_t)sqlite3_column_int64(st, 2), "manual",
	                 sqlite3_column_int(st, 3));
}

static json_t *gl_message(sqlite3_stmt *st)
{
	return json_pack("{s:o, s:I, s:I}", "id", id_str(st, 0), "first_seen",
	                 (json_int_t)sqlite3_column_int64(st, 1), "last_seen",
	                 (json_int_t)sqlite3_column_int64(st, 2));
}

/* %q% for LIKE ... ESCAPE '\': q's own % _ and \ escaped. */
static char *like_escaped(const char *q)
{
	struct sbuf b;
	char *r;

	sbuf_init(&b);
	sbuf_append(&b, "%", 1);
	for (const char *p = q; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			sbuf_append(&b, "\\", 1);
		sbuf_append(&b, p, 1);
	}
	sbuf_append(&b, "%", 1);
	r = xstrdup(sbuf_cstr(&b));
	sbuf_free(&b);
	return r;
}

static void h_greylist(const struct api_route *rt, struct work *w, const struct api_req *rq,
                       struct api_resp *rs)
{
	const char *q = rq->arg(rq->arg_ctx, "q");
	long offset, limit;
	char err[256], *pat = NULL;
	json_t *out;

	(void)rt;
	if (moat_page_parse(rq->arg, rq->arg_ctx, &offset, &limit, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (q && *q) {
		if (strlen(q) > MOAT_TERM_MAX) {
			api_error(rs, 400, "q: at most 200 bytes");
			return;
		}
		pat = like_escaped(q);
	}
	out = json_pack(
	    "{s:o, s:o, s:o, s:i, s:i}", "triplets",
	    gl_list(w->db,
	            "SELECT id, client, sender, recipient, first_seen, last_seen, passed_at FROM"
	            " greylist WHERE ?1 IS NULL OR client LIKE ?1 ESCAPE '\\' OR sender LIKE ?1"
	            " ESCAPE '\\' OR recipient LIKE ?1 ESCAPE '\\' ORDER BY last_seen DESC, id"
	            " LIMIT ?2 OFFSET ?3",
	            "SELECT count(*) FROM greylist WHERE ?1 IS NULL OR client LIKE ?1 ESCAPE '\\'"
	            " OR sender LIKE ?1 ESCAPE '\\' OR recipient LIKE ?1 ESCAPE '\\'",
	            pat, offset, limit, gl_triplet),
	    "clients",
	    gl_list(w->db,
	            "SELECT client, count, last_seen, manual FROM greylist_clients WHERE ?1 IS NULL"
	            " OR client LIKE ?1 ESCAPE '\\' ORDER BY manual DESC, last_seen DESC, client"
	            " LIMIT ?2 OFFSET ?3",
	            "SELECT count(*) FROM greylist_clients WHERE ?1 IS NULL OR client LIKE ?1"
	            " ESCAPE '\\'",
	            pat, offset, limit, gl_client),
	    "messages",
	    gl_list(w->db,
	            "SELECT id, first_seen, last_seen FROM milter_greylist WHERE ?1 IS NULL OR"
	            " CAST(id AS TEXT) LIKE ?1 ESCAPE '\\' ORDER BY last_seen DESC, id"
	            " LIMIT ?2 OFFSET ?3",
	            "SELECT count(*) FROM milter_greylist WHERE ?1 IS NULL OR CAST(id AS TEXT)"
	            " LIKE ?1 ESCAPE '\\'",
	            pat, offset, limit, gl_message),
	    "offset", (int)offset, "limit", (int)limit);
	free(pat);
	api_reply_json(rs, 200, out);
}

/* Run one statement with the target bound as ?1; the rows changed, or -1. */
static int gl_exec(sqlite3 *db, const char *sql, const struct moat_gl_target *t)
{
	sqlite3_stmt *st = prepare(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	if (t->kind == MOAT_GL_CLIENT)
		sqlite3_bind_text(st, 1, t->client, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, t->id);
	rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(db) : -1;
	sqlite3_finalize(st);
	return rc;
}

static void h_greylist_delete(const struct api_route *rt, struct work *w, const struct api_req *rq,
                              struct api_resp *rs)
{
	struct moat_gl_target t;
	char err[256];
	int n = 0, m = 0;

	(void)rt;
	if (moat_greylist_parse(rq->body, rq->len, &t, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (t.kind == MOAT_GL_TRIPLET)
		n = gl_exec(w->db, "DELETE FROM greylist WHERE id = ?1", &t);
	else if (t.kind == MOAT_GL_MESSAGE)
		n = gl_exec(w->db, "DELETE FROM milter_greylist WHERE id = ?1", &t);
	else if ((n = gl_exec(w->db, "DELETE FROM greylist WHERE client = ?1", &t)) >= 0)
		m = gl_exec(w->db, "DELETE FROM greylist_clients WHERE client = ?1", &t);
	if (n < 0 || m < 0) {
		api_error(rs, 500, "Cannot change the greylist");
		return;
	}
	msg_info("client=%s: greylist: deleted %d entries", rq->client, n + m);
	api_reply_json(rs, 200, json_pack("{s:b, s:i}", "success", 1, "deleted", n + m));
}

static void h_greylist_allow(const struct api_route *rt, struct work *w, const struct api_req *rq,
                             struct api_resp *rs)
{
	struct moat_gl_target t;
	char err[256];
	int n;

	(void)rt;
	if (moat_greylist_parse(rq->body, rq->len, &t, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	/* greylist_delay is at most a day: a wait begun a day ago is over. */
	if (t.kind == MOAT_GL_TRIPLET)
		n = gl_exec(w->db,
		            "UPDATE greylist SET passed_at = coalesce(passed_at, unixepoch()),"
		            " first_seen = min(first_seen, unixepoch() - 86400) WHERE id = ?1",
		            &t);
	else if (t.kind == MOAT_GL_MESSAGE)
		n = gl_exec(w->db,
		            "UPDATE milter_greylist SET first_seen = min(first_seen, unixepoch() -"
		            " 86400) WHERE id = ?1",
		            &t);
	else {
		struct ip_addr ip;

		if (ip_parse(t.client, strlen(t.client), &ip) < 0) {
			api_error(rs, 400, "client: an IP address");
			return;
		}
		n = gl_exec(w->db,
		            "INSERT INTO greylist_clients (client, count, last_seen, manual)"
		            " VALUES (?1, 0, unixepoch(), 1) ON CONFLICT (client) DO UPDATE"
		            " SET manual = 1",
		            &t);
	}
	if (n < 0) {
		api_error(rs, 500, "Cannot change the greylist");
		return;
	}
	if (n == 0) {
		api_error(rs, 404, "No such greylist entry");
		return;
	}
	msg_info("client=%s: greylist: allowed %s%s", rq->client,
	         t.kind == MOAT_GL_CLIENT    ? "client "
	         : t.kind == MOAT_GL_TRIPLET ? "a triplet"
	                                     : "a message",
	         t.kind == MOAT_GL_CLIENT ? t.client : "");
	ok(rs);
}

/* --- maps ------------------------------------------------------------------ */

/* Write len bytes to path through a temporary file beside it, keeping its mode; 0 or -1 (errno). */
static int write_atomic(const char *path, const char *text, size_t len)
{
	struct sbuf tmp;
	struct stat sb;
	int fd, rc = -1, e;

	if (stat(path, &sb) < 0)
		return -1;
	sbuf_init(&tmp);
	sbuf_printf(&tmp, "%s.moat-XXXXXX", path);
	if ((fd = mkstemp((char *)sbuf_cstr(&tmp))) < 0) {
		sbuf_free(&tmp);
		return -1;
	}
	if (fchmod(fd, sb.st_mode & 07777) == 0 && write(fd, text, len) == (ssize_t)len &&
	    fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		rc = rename(sbuf_cstr(&tmp), path);
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(sbuf_cstr(&tmp));
	sbuf_free(&tmp);
	errno = e;
	return rc;
}

/*
 * Rspamd's /savemap (header Map: id, the body the new text): only a file
 * that its list's setting names now, checked line by line with the lists'
 * own parser first; a bad line refuses the whole text, naming the line.
 * moat-policyd reads the file again at its next refresh.
 */
static void h_savemap(const struct api_route *rt, struct work *w, const struct api_req *rq,
                      struct api_resp *rs)
{
	sqlite3_stmt *st;
	long long id;
	char *list = NULL, *src = NULL, err[300], msg[700];
	size_t bad;

	(void)rt;
	if (rq->map_id == NULL || moat_id_parse(rq->map_id, &id) < 0 || id <= 0) {
		api_error(rs, 400, "Map id not specified or invalid");
		return;
	}
	if ((st = prepare(w->db, "SELECT list, source FROM map_sources WHERE rowid = ?1")) ==
	    NULL) {
		api_error(rs, 500, "Cannot read the maps");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		list = xstrdup(col(st, 0));
		src = xstrdup(col(st, 1));
	}
	sqlite3_finalize(st);
	if (list == NULL) {
		api_error(rs, 404, "Map id not found");
		return;
	}
	if (src[0] != '/' || !api_map_configured(list, src)) {
		api_error(rs, 403, "Map not editable: only a file its list's setting names now");
		goto out;
	}
	if (map_check(strstr(list, "client") != NULL, rq->body, rq->len, 0, &bad, err,
	              sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s; nothing saved", list, err);
		api_error(rs, 400, msg);
		goto out;
	}
	if (write_atomic(src, rq->body, rq->len) < 0) {
		snprintf(msg, sizeof(msg), "Cannot write %s: %s", src, strerror(errno));
		api_error(rs, 500, msg);
		goto out;
	}
	msg_info("client=%s: map %s (%s) saved, %zu bytes", rq->client, src, list, rq->len);
	ok(rs);
out:
	free(list);
	free(src);
}

/* --- composites ------------------------------------------------------------ */

static void h_composites(const struct api_route *rt, struct work *w, const struct api_req *rq,
                         struct api_resp *rs)
{
	sqlite3_stmt *st = prepare(w->db, "SELECT name, expression, weight, policy, description,"
	                                  " enabled FROM composites ORDER BY name");
	json_t *a = json_array();

	(void)rt, (void)rq;
	if (st == NULL) {
		json_decref(a);
		api_error(rs, 500, "Cannot read the composites");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:f, s:o, s:o, s:b}", "name", api_jstr(col(st, 0)),
		                 "expression", api_jstr(col(st, 1)), "weight",
		                 sqlite3_column_double(st, 2), "policy", api_jstr(col(st, 3)),
		                 "description", api_jstr(col(st, 4)), "enabled",
		                 sqlite3_column_int(st, 5)));
	sqlite3_finalize(st);
	api_reply_json(rs, 200, a);
}

static void h_savecomposite(const struct api_route *rt, struct work *w, const struct api_req *rq,
                            struct api_resp *rs)
{
	struct moat_composite c;
	struct composite_expr *e;
	enum composite_policy pol;
	char err[512], msg[600];
	sqlite3_stmt *st;
	int done;

	(void)rt;
	if (moat_composite_parse(rq->body, rq->len, 0, &c, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if (composite_policy_parse(c.policy, &pol) < 0) {
		moat_composite_free(&c);
		api_error(rs, 400, "policy: remove_all, remove_symbol, remove_weight or leave");
		return;
	}
	if ((e = composite_parse(c.expression, err, sizeof(err))) == NULL) {
		snprintf(msg, sizeof(msg), "expression: %s", err);
		moat_composite_free(&c);
		api_error(rs, 400, msg);
		return;
	}
	composite_expr_free(e);
	if (c.enabled &&
	    scan_rules_composite_check(w->db, c.name, c.expression, err, sizeof(err)) < 0) {
		moat_composite_free(&c);
		api_error(rs, 400, err);
		return;
	}
	st = prepare(w->db, "INSERT INTO composites (name, expression, weight, policy, description,"
	                    " enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO UPDATE"
	                    " SET expression = excluded.expression, weight = excluded.weight,"
	                    " policy = excluded.policy, description = excluded.description,"
	                    " enabled = excluded.enabled");
	if (st) {
		sqlite3_bind_text(st, 1, c.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c.expression, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 3, c.weight);
		sqlite3_bind_text(st, 4, composite_policy_name(pol), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c.description, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, c.enabled);
	}
	done = st && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!done) {
		moat_composite_free(&c);
		api_error(rs, 500, "Cannot save the composite");
		return;
	}
	work_rules_stale();
	msg_info("client=%s: composite %s saved", rq->client, c.name);
	moat_composite_free(&c);
	ok(rs);
}

static void h_deletecomposite(const struct api_route *rt, struct work *w, const struct api_req *rq,
                              struct api_resp *rs)
{
	struct moat_composite c;
	char err[256];
	sqlite3_stmt *st;
	int n = -1;

	(void)rt;
	if (moat_composite_parse(rq->body, rq->len, 1, &c, err, sizeof(err)) < 0) {
		api_error(rs, 400, err);
		return;
	}
	if ((st = prepare(w->db, "DELETE FROM composites WHERE name = ?1")) != NULL) {
		sqlite3_bind_text(st, 1, c.name, -1, SQLITE_STATIC);
		n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(w->db) : -1;
		sqlite3_finalize(st);
	}
	if (n < 0)
		api_error(rs, 500, "Cannot delete the composite");
	else if (n == 0)
		api_error(rs, 404, "No such composite");
	else {
		work_rules_stale();
		msg_info("client=%s: composite %s deleted", rq->client, c.name);
		ok(rs);
	}
	moat_composite_free(&c);
}

static const struct api_route routes[] = {
    {"/moat/whoami", ACCESS_READ, 0, h_whoami, "GET"},
    {"/moat/dashboard", ACCESS_READ, 0, h_dashboard, "GET"},
    {"/moat/history", ACCESS_READ, 0, h_history, "GET"},
    {"/moat/message", ACCESS_READ, 0, h_message, "GET"},
    {"/moat/learn", ACCESS_WRITE, 1, h_learn, "POST"},
    {"/moat/greylist", ACCESS_READ, 0, h_greylist, "GET"},
    {"/moat/greylist/delete", ACCESS_WRITE, 1, h_greylist_delete, "POST"},
    {"/moat/greylist/allow", ACCESS_WRITE, 1, h_greylist_allow, "POST"},
    {"/moat/composites", ACCESS_READ, 0, h_composites, "GET"},
    {"/moat/savecomposite", ACCESS_WRITE, 1, h_savecomposite, "POST"},
    {"/moat/deletecomposite", ACCESS_WRITE, 1, h_deletecomposite, "POST"},
    /* Rspamd's, for its UI too; an empty body empties the list. */
    {"/savemap", ACCESS_WRITE, 0, h_savemap, "POST"},
};

const struct api_route *api_moat_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}
