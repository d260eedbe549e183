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
#include "store/history_write.h"

/* Rows waiting at most: past this a burst loses rows, not memory. */
#define HISTQ_MAX 10000
/* A batch is written when it has this many rows, or its first waited this long. */
#define HISTQ_BATCH 256
#define HISTQ_GATHER_MS 20

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;      /* rows queued, or stop */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* a batch written */
static struct history_row *head, **tail = &head;
static size_t queued;
static unsigned long long added, written; /* rows queued and handled, ever */
static int stopping, running, syncing;
static pthread_t writer;
static sqlite3 *wdb;

/* One transaction for the batch; a row the database refuses is logged and skipped. */
static void write_batch(struct history_row *list)
{
	if (sqlite3_exec(wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		msg_warn("history: %s; rows from queue id \"%s\" on not kept", sqlite3_errmsg(wdb),
		         list->queue_id);
		return;
	}
	if (history_insert(wdb, list, 1) < 0) {
		sqlite3_exec(wdb, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
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
		struct history_row *list;
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
		history_rows_free(list);
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

void histq_add(struct history_row *r)
{
	r->next = NULL;
	pthread_mutex_lock(&mu);
	if (!running || stopping || queued >= HISTQ_MAX) {
		pthread_mutex_unlock(&mu);
		msg_warn("client=%s: history queue full; row not kept", r->client);
		history_row_free(r);
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
