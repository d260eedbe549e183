/*
 * history_write - a batch of history rows (sql/001 and later) into the
 * database, with their Bayes tokens (history_tokens.h) and the search
 * index (history_index.h). The milter's history thread and
 * moat-controller's writer queue rows their own way and call this inside
 * the transaction each of them opens.
 */
#ifndef MOAT_HISTORY_WRITE_H
#define MOAT_HISTORY_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

/* One row; every string and tok are the row's own (history_row_free frees them). */
struct history_row {
	time_t time; /* when the message was scanned */
	char *queue_id, *client, *sender, *recipients, *subject, *action, *symbols;
	char *reason;                     /* why it was or was not greylisted or scanned, or NULL */
	char *mime_from, *mime_from_name; /* the From header's address and display name */
	long long size;
	double score, scan_ms;
	uint64_t *tok; /* the distinct token hashes (in no order), or NULL: none kept */
	size_t ntok;
	uint64_t msgid;
	struct history_row *next;
};

/* Free r and what it holds. */
void history_row_free(struct history_row *r);
/*
 * Insert the rows of list, and the tokens of those that carry some when
 * keep_tokens, then index them for search; inside the caller's
 * transaction. A row the database refuses is logged and skipped. The
 * number of rows refused, or -1 when nothing could be prepared.
 */
int history_insert(sqlite3 *db, const struct history_row *list, int keep_tokens);
/* Free every row of list. */
void history_rows_free(struct history_row *list);

#endif
