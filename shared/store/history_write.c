/*
 * history_write - see history_write.h.
 */
#include "config.h"

#include <stdlib.h>

#include "core/log.h"
#include "store/history_index.h"
#include "store/history_tokens.h"
#include "store/history_write.h"

void history_row_free(struct history_row *r)
{
	free(r->queue_id);
	free(r->client);
	free(r->sender);
	free(r->recipients);
	free(r->subject);
	free(r->action);
	free(r->symbols);
	free(r->reason);
	free(r->mime_from);
	free(r->mime_from_name);
	free(r->tok);
	free(r);
}

void history_rows_free(struct history_row *list)
{
	while (list) {
		struct history_row *next = list->next;

		history_row_free(list);
		list = next;
	}
}

int history_insert(sqlite3 *db, const struct history_row *list, int keep_tokens)
{
	static const char *sql =
	    "INSERT INTO history (time, queue_id, client, sender, recipients, subject, size,"
	    " score, action, symbols, scan_ms, reason, mime_from, mime_from_name)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
	sqlite3_stmt *st = NULL, *tst = NULL;
	int refused = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_warn("history: %s; rows not kept", sqlite3_errmsg(db));
		return -1;
	}
	/* Without the tokens' statement the rows are still worth keeping. */
	if (keep_tokens &&
	    sqlite3_prepare_v2(db, HISTORY_TOKENS_INSERT, -1, &tst, NULL) != SQLITE_OK)
		msg_warn("history: tokens not kept: %s", sqlite3_errmsg(db));
	for (const struct history_row *r = list; r; r = r->next) {
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
		sqlite3_bind_text(st, 12, r->reason ? r->reason : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, r->mime_from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 14, r->mime_from_name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			msg_warn("%s: history row not written (client=%s): %s", r->queue_id,
			         r->client, sqlite3_errmsg(db));
			refused++;
		} else if (tst && r->tok) {
			history_tokens_bind(tst, sqlite3_last_insert_rowid(db), r->msgid, r->tok,
			                    r->ntok);
			if (sqlite3_step(tst) != SQLITE_DONE)
				msg_warn("%s: history tokens not kept: %s", r->queue_id,
				         sqlite3_errmsg(db));
			sqlite3_reset(tst);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(tst);
	/* The search index, over the batch in one statement each (history_index.h). */
	if (list && history_index(db, HISTORY_INDEX_STEP) < 0)
		msg_warn("history: search index not updated: %s", sqlite3_errmsg(db));
	return refused;
}
