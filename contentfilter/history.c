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
#include "store/history_write.h"

/*
 * History rows go to one writer thread, which inserts whatever has queued
 * up in one transaction: twenty milter threads then never wait for each
 * other's write lock on the message path. A row still queued when the
 * process is killed is lost; the message is not (it is Postfix's).
 */
static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hist_cv = PTHREAD_COND_INITIALIZER;
static struct history_row *hist_head, **hist_tail = &hist_head;
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

void history_add(const char *qid, const struct cf_conn *c, const char *action, double score,
		 const char *symbols, const char *subject, const char *from, const char *from_name,
		 const char *reason, double ms, uint64_t *tok, size_t n, uint64_t msgid)
{
	struct history_row *h = xcalloc(1, sizeof(*h));
	struct sbuf rc;

	sbuf_init(&rc);
	for (int i = 0; i < c->nrcpt; i++)
		sbuf_printf(&rc, "%s%s", i ? "," : "", c->rcpts[i]);
	h->time = time(NULL);
	h->queue_id = xstrdup(qid);
	h->client = xstrdup(c->client);
	h->sender = xstrdup(c->from);
	h->recipients = xstrdup(sbuf_cstr(&rc));
	h->subject = xstrdup(subject);
	h->mime_from = xstrdup(from);
	h->mime_from_name = xstrdup(from_name);
	h->action = xstrdup(action);
	h->symbols = xstrdup(symbols);
	h->reason = xstrdup(reason);
	h->size = (long long)c->size;
	h->score = score;
	h->scan_ms = ms;
	h->tok = tok;
	h->ntok = n;
	h->msgid = msgid;
	sbuf_free(&rc);
	pthread_mutex_lock(&hist_mu);
	if (hist_len >= HIST_QUEUE_MAX) {
		pthread_mutex_unlock(&hist_mu);
		msg_warn("%s: history queue full; row not kept", qid);
		history_row_free(h);
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
static int hist_write(sqlite3 *db, struct history_row *list)
{
	int failed = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		/* Busy past db_busy_timeout is another writer, not a broken disk. */
		if (list)
			msg_warn("history: %s; rows from %s on not kept", sqlite3_errmsg(db),
				 list->queue_id);
		return (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY ? 0 : -1;
	}
	if (list == NULL)
		failed |= sqlite3_exec(db, "UPDATE settings SET value = value WHERE name = "
					   "(SELECT min(name) FROM settings)",
				       NULL, NULL, NULL) != SQLITE_OK;
	else
		failed |= history_insert(db, list, history_tokens_max_age > 0) > 0;
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
		struct history_row *list;

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
		history_rows_free(list);
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
