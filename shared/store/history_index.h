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

#endif
