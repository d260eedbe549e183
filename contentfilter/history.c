/*
 * history - the history writer thread; see history.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "history.h"
#include "store/db.h"
#include "store/history_index.h"
#include "store/history_tokens.h"

/*
 * History rows go to one writer thread, which inserts whatever has queued
 * up in one transaction: twenty milter threads then never wait for each
 * other's write lock on the message path. A row still queued when the
 * process is killed is lost; the message is not (it is Postfix's).
 */
struct hist_row {
	char *qid, *client, *sender, *rcpts, *subject, *from, *from_name, *action, *symbols,
	    *reason;
	long long size;
	double score, ms;
	uint64_t *tok, msgid; /* Bayes tokens for history_tokens, or NULL */
	size_t ntok;
	struct hist_row *next;
};

static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hist_cv = PTHREAD_COND_INITIALIZER;
static struct hist_row *hist_head, **hist_tail = &hist_head;
static int hist_stop, hist_len;
static pthread_t hist_thread;
/*
 * The database takes no writes (full file system, read-only, I/O error):
 * set by the history thread when a commit fails, cleared when one works.
 * Mail is then tempfailed (or accepted, by milter_error_action), as for
 * any internal error: greylisting, autolearn and history need it.
 */
static atomic_int db_unwritable;

#define HIST_QUEUE_MAX 100000	/* rows waiting; past it new ones are dropped (and logged) */

static void hist_free(struct hist_row *h)
{
	free(h->qid);
	free(h->client);
	free(h->sender);
	free(h->rcpts);
	free(h->subject);
	free(h->from);
	free(h->from_name);
	free(h->action);
	free(h->symbols);
	free(h->reason);
	free(h->tok);
	free(h);
}

void history_add(const char *qid, const struct cf_conn *c, const char *action, double score,
		 const char *symbols, const char *subject, const char *from, const char *from_name,
		 const char *reason, double ms, uint64_t *tok, size_t n, uint64_t msgid)
{
	struct hist_row *h = xcalloc(1, sizeof(*h));
	struct sbuf rc;

	sbuf_init(&rc);
	for (int i = 0; i < c->nrcpt; i++)
		sbuf_printf(&rc, "%s%s", i ? "," : "", c->rcpts[i]);
	h->qid = xstrdup(qid);
	h->client = xstrdup(c->client);
	h->sender = xstrdup(c->from);
	h->rcpts = xstrdup(sbuf_cstr(&rc));
	h->subject = xstrdup(subject);
	h->from = xstrdup(from);
	h->from_name = xstrdup(from_name);
	h->action = xstrdup(action);
	h->symbols = xstrdup(symbols);
	h->reason = xstrdup(reason);
	h->size = (long long)c->size;
	h->score = score;
	h->ms = ms;
	h->tok = tok;
	h->ntok = n;
	h->msgid = msgid;
	sbuf_free(&rc);
	pthread_mutex_lock(&hist_mu);
	if (hist_len >= HIST_QUEUE_MAX) {
		pthread_mutex_unlock(&hist_mu);
		msg_warn("%s: history queue full; row not kept", qid);
		hist_free(h);
		return;
	}
	*hist_tail = h;
	hist_tail = &h->next;
	/* Only an empty queue has a writer waiting for it; a busy one looks again. */
	if (hist_len++ == 0)
		pthread_cond_signal(&hist_cv);
	pthread_mutex_unlock(&hist_mu);
}

/* One pruning statement, sql with ?1 the age in seconds. */
static void prune(sqlite3 *db, const char *sql, long age)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, age);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Write the rows (none: just test that the database takes a write); 0 or -1. */
static int hist_write(sqlite3 *db, struct hist_row *list)
{
	static const char *sql =
	    "INSERT INTO history (time, queue_id, client, sender, recipients, subject, size,"
	    " score, action, symbols, scan_ms, reason, mime_from, mime_from_name) VALUES"
	    " (unixepoch(), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *st = NULL, *tst = NULL;
	int failed = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		/* Busy past db_busy_timeout is another writer, not a broken disk. */
		if (list)
			msg_warn("history: %s; rows from %s on not kept", sqlite3_errmsg(db),
				 list->qid);
		return (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY ? 0 : -1;
	}
	if (list == NULL)
		failed |= sqlite3_exec(db, "UPDATE settings SET value = value WHERE name = "
					   "(SELECT min(name) FROM settings)",
				       NULL, NULL, NULL) != SQLITE_OK;
	if (list && history_tokens_max_age > 0 &&
	    sqlite3_prepare_v2(db, HISTORY_TOKENS_INSERT, -1, &tst, NULL) != SQLITE_OK)
		msg_warn("history: tokens not kept: %s", sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		for (struct hist_row *h = list; h; h = h->next) {
			sqlite3_bind_text(st, 1, h->qid, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, h->client, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, h->sender, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, h->rcpts, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, h->subject, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, h->size);
			sqlite3_bind_double(st, 7, h->score);
			sqlite3_bind_text(st, 8, h->action, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 9, h->symbols, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 10, h->ms);
			sqlite3_bind_text(st, 11, h->reason, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 12, h->from, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 13, h->from_name, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				msg_warn("%s: history: %s", h->qid, sqlite3_errmsg(db));
				failed = 1;
			} else if (tst && h->tok) {
				history_tokens_bind(tst, sqlite3_last_insert_rowid(db), h->msgid, h->tok,
						    h->ntok);
				if (sqlite3_step(tst) != SQLITE_DONE)
					msg_warn("%s: history tokens: %s", h->qid, sqlite3_errmsg(db));
				sqlite3_reset(tst);
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tst);
	/* The search index, over the batch in one statement each (history_index.h). */
	if (list && history_index(db, HISTORY_INDEX_STEP) < 0)
		msg_warn("history: search index not updated: %s", sqlite3_errmsg(db));
	/* Prune a little each time: bounded work, no cron job. */
	prune(db,
	      "DELETE FROM history WHERE id IN (SELECT id FROM history"
	      " WHERE time < unixepoch() - ?1 ORDER BY time LIMIT 100)",
	      history_max_age);
	/* Tokens past history_tokens_max_age (all of them once it is 0). */
	prune(db,
	      "DELETE FROM history_tokens WHERE id IN (SELECT id FROM history_tokens"
	      " WHERE time <= unixepoch() - ?1 ORDER BY time LIMIT 100)",
	      history_tokens_max_age);
	/* Greylisted messages not seen for greylist_max_age, as moat-policyd forgets triplets. */
	prune(db,
	      "DELETE FROM milter_greylist WHERE id IN (SELECT id FROM milter_greylist"
	      " WHERE last_seen < unixepoch() - ?1 ORDER BY last_seen LIMIT 100)",
	      greylist_max_age);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		msg_warn("history: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		failed = 1;
	}
	return failed ? -1 : 0;
}

/* Track whether the database takes writes; one log line per change. */
static void db_writable(sqlite3 *db, int ok)
{
	if (!ok && !atomic_exchange(&db_unwritable, 1))
		msg_error("database %s takes no writes (%s): %s mail until it does",
			  conf_str(cf, "database_path"), sqlite3_errmsg(db),
			  error_accepts ? "accepting" : "tempfailing");
	else if (ok && atomic_exchange(&db_unwritable, 0))
		msg_info("database %s takes writes again", conf_str(cf, "database_path"));
}

static void *hist_main(void *arg)
{
	sqlite3 *db = arg;

	pthread_mutex_lock(&hist_mu);
	for (;;) {
		struct hist_row *list;

		while (hist_head == NULL && !hist_stop) {
			struct timespec until;

			if (!atomic_load(&db_unwritable)) {
				pthread_cond_wait(&hist_cv, &hist_mu);
				continue;
			}
			/* No mail gets through to write rows: try a write now and then. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 2;
			if (pthread_cond_timedwait(&hist_cv, &hist_mu, &until) != 0 &&
			    hist_head == NULL && !hist_stop) {
				pthread_mutex_unlock(&hist_mu);
				db_writable(db, hist_write(db, NULL) == 0);
				pthread_mutex_lock(&hist_mu);
			}
		}
		if (hist_head == NULL && hist_stop)
			break;
		list = hist_head;
		hist_head = NULL;
		hist_tail = &hist_head;
		hist_len = 0;
		pthread_mutex_unlock(&hist_mu);
		db_writable(db, hist_write(db, list) == 0);
		while (list) {
			struct hist_row *next = list->next;

			hist_free(list);
			list = next;
		}
		pthread_mutex_lock(&hist_mu);
	}
	pthread_mutex_unlock(&hist_mu);
	db_close(db);
	return NULL;
}

int hist_start(char *err, size_t errlen)
{
	sqlite3 *db = db_open(conf_str(cf, "database_path"),
			      (int)conf_num(cf, "db_busy_timeout") * 1000, err, errlen);

	if (db == NULL)
		return -1;
	if (pthread_create(&hist_thread, NULL, hist_main, db) != 0) {
		snprintf(err, errlen, "cannot start the history thread");
		db_close(db);
		return -1;
	}
	return 0;
}

/* Write what is queued, then stop the thread. */
void hist_finish(void)
{
	pthread_mutex_lock(&hist_mu);
	hist_stop = 1;
	pthread_cond_signal(&hist_cv);
	pthread_mutex_unlock(&hist_mu);
	pthread_join(hist_thread, NULL);
}

int history_db_unwritable(void)
{
	return atomic_load(&db_unwritable);
}
