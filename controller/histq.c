/*
 * histq - the controller's history rows, written in batches by one thread.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "controller/histq.h"
#include "core/log.h"
#include "store/db.h"
#include "store/history_index.h"
#include "store/history_tokens.h"

/* Rows waiting at most: past this a burst loses rows, not memory. */
#define HISTQ_MAX 10000
/* A batch is written when it has this many rows, or its first waited this long. */
#define HISTQ_BATCH 256
#define HISTQ_GATHER_MS 20

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;      /* rows queued, or stop */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* a batch written */
static struct histq_row *head, **tail = &head;
static size_t queued;
static unsigned long long added, written; /* rows queued and handled, ever */
static int stopping, running, syncing;
static pthread_t writer;
static sqlite3 *wdb;

static void row_free(struct histq_row *r)
{
	free(r->queue_id);
	free(r->client);
	free(r->sender);
	free(r->recipients);
	free(r->subject);
	free(r->action);
	free(r->symbols);
	free(r->mime_from);
	free(r->mime_from_name);
	free(r->tok);
	free(r);
}

/* One transaction for the batch; a row the database refuses is logged and skipped. */
static void write_batch(struct histq_row *list)
{
	static const char *sql =
	    "INSERT INTO history (time, queue_id, client, sender, recipients, subject, size,"
	    " score, action, symbols, scan_ms, mime_from, mime_from_name)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *st = NULL, *tst = NULL;

	if (sqlite3_exec(wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		msg_warn("history: %s; rows from queue id \"%s\" on not kept", sqlite3_errmsg(wdb),
		         list->queue_id);
		return;
	}
	if (sqlite3_prepare_v2(wdb, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(wdb, HISTORY_TOKENS_INSERT, -1, &tst, NULL) != SQLITE_OK) {
		msg_warn("history: %s; rows not kept", sqlite3_errmsg(wdb));
		sqlite3_finalize(st);
		sqlite3_exec(wdb, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
	for (struct histq_row *r = list; r; r = r->next) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->time);
		sqlite3_bind_text(st, 2, r->queue_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->sender, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->recipients, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->subject, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, r->size);
		sqlite3_bind_double(st, 8, r->score);
		sqlite3_bind_text(st, 9, r->action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, r->symbols, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 11, r->scan_ms);
		sqlite3_bind_text(st, 12, r->mime_from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, r->mime_from_name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			msg_warn("client=%s: history row not written: %s", r->client,
			         sqlite3_errmsg(wdb));
		} else if (r->tok) {
			history_tokens_bind(tst, sqlite3_last_insert_rowid(wdb), r->msgid, r->tok,
			                    r->ntok);
			if (sqlite3_step(tst) != SQLITE_DONE)
				msg_warn("client=%s: history tokens not kept: %s", r->client,
				         sqlite3_errmsg(wdb));
			sqlite3_reset(tst);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(tst);
	/* The search index, over the batch in one statement each (history_index.h). */
	if (history_index(wdb, HISTORY_INDEX_STEP) < 0)
		msg_warn("history: search index not updated: %s", sqlite3_errmsg(wdb));
	if (sqlite3_exec(wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		msg_warn("history: %s; a batch of rows not kept", sqlite3_errmsg(wdb));
		sqlite3_exec(wdb, "ROLLBACK", NULL, NULL, NULL);
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		struct histq_row *list;
		size_t n;

		while (head == NULL && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (head == NULL)
			break;
		/*
		 * A batch is cheaper per row the larger it is (the search index
		 * costs a statement per batch): let it fill a little, unless a
		 * reader waits for it.
		 */
		if (queued < HISTQ_BATCH && !stopping && !syncing) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += HISTQ_GATHER_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			while (queued < HISTQ_BATCH && !stopping && !syncing &&
			       pthread_cond_timedwait(&cv, &mu, &until) == 0)
				;
		}
		/* Whatever came while the last batch was written is the next batch. */
		list = head;
		n = queued;
		head = NULL;
		tail = &head;
		queued = 0;
		pthread_mutex_unlock(&mu);
		write_batch(list);
		while (list) {
			struct histq_row *next = list->next;

			row_free(list);
			list = next;
		}
		pthread_mutex_lock(&mu);
		written += n;
		pthread_cond_broadcast(&done_cv);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int histq_start(const char *path, int busy_ms, char *err, size_t errlen)
{
	if ((wdb = db_open(path, busy_ms, err, errlen)) == NULL)
		return -1;
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		db_close(wdb);
		wdb = NULL;
		snprintf(err, errlen, "cannot start the history writer");
		return -1;
	}
	running = 1;
	return 0;
}

void histq_add(struct histq_row *r)
{
	r->next = NULL;
	pthread_mutex_lock(&mu);
	if (!running || stopping || queued >= HISTQ_MAX) {
		pthread_mutex_unlock(&mu);
		msg_warn("client=%s: history queue full; row not kept", r->client);
		row_free(r);
		return;
	}
	*tail = r;
	tail = &r->next;
	queued++;
	added++;
	/*
	 * The writer waits for a first row, then gathers until a batch is full
	 * or its time is up: waking it for every row in between cost a
	 * context switch per scan and bought nothing.
	 */
	if (queued == 1 || queued == HISTQ_BATCH)
		pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

void histq_sync(void)
{
	pthread_mutex_lock(&mu);
	for (unsigned long long want = added; running && written < want;) {
		syncing++;
		pthread_cond_signal(&cv);
		pthread_cond_wait(&done_cv, &mu);
		syncing--;
	}
	pthread_mutex_unlock(&mu);
}

void histq_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(writer, NULL);
	running = 0;
	db_close(wdb);
	wdb = NULL;
}
