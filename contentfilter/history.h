/*
 * history - one row per message in the history table (moatctl history,
 * stats; sql/004-contentfilter.sql), written by one thread that inserts
 * whatever has queued up in one transaction, so the milter's threads never
 * wait for each other's write lock on the message path. The same thread
 * prunes old rows and old greylisted messages, and notices when the
 * database takes no writes.
 */
#ifndef MOAT_HISTORY_H
#define MOAT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct cf_conn;

/*
 * Queue a row (dropped, and logged, past HIST_QUEUE_MAX waiting). from and
 * from_name are the From header's address and display name. tok (n
 * sorted token hashes, malloc'd) and msgid are the message's Bayes tokens,
 * kept beside the row in history_tokens; the row takes tok over (NULL: none).
 */
void history_add(const char *qid, const struct cf_conn *c, const char *action, double score,
		 const char *symbols, const char *subject, const char *from, const char *from_name,
		 const char *reason, double ms, uint64_t *tok, size_t n, uint64_t msgid);
/* Open the writer's database and start its thread; 0, or -1 with err. */
int hist_start(char *err, size_t errlen);
/* Write what is queued, then stop the thread. */
void hist_finish(void);
/* Whether the last write failed (full disk, read-only file system): then mail waits. */
int history_db_unwritable(void);

#endif
