/*
 * history_index - the history's search index (the trigram table
 * history_search and the table history_symbols, sql/018) brought up to the
 * rows written since it was last: one statement over many rows, not a
 * trigger per row, so a batch of rows costs the writer a few microseconds
 * each.
 */
#ifndef MOAT_HISTORY_INDEX_H
#define MOAT_HISTORY_INDEX_H

#include <sqlite3.h>

/*
 * Index the rows after history_indexed.last_id, at most max of them (0: all).
 * Inside the caller's write transaction when there is one, else in one of
 * its own. The number of rows indexed, or -1 with the database's error.
 */
long history_index(sqlite3 *db, long max);

/*
 * Rows a writer indexes with its batch at most: its own rows, and a share
 * of any rows written otherwise (a bulk import), so that no transaction
 * holds the write lock for long.
 */
#define HISTORY_INDEX_STEP 10000

/*
 * Index every row not in the index yet, HISTORY_INDEX_STEP at a time, each
 * step its own transaction, so the daemons' writers get the lock between
 * steps. What a search does first. The rows indexed, or -1.
 */
long history_index_all(sqlite3 *db);

#endif
