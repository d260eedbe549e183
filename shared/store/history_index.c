/*
 * history_index - the history's search index, in bulk.
 */
#include "config.h"

#include <stdio.h>

#include "store/history_index.h"

/* ?1 the last row indexed, ?2 the last to index. */
static const char *const steps[] = {
    "INSERT INTO history_search (rowid, sender, recipients, subject, mime_from, mime_from_name)"
    " SELECT id, sender, recipients, subject, mime_from, mime_from_name FROM history"
    " WHERE id > ?1 AND id <= ?2",
    /* The symbols column split as a JSON array: "SYM(w)[opts]; SYM2(w)" */
    "INSERT OR IGNORE INTO history_symbols (id, symbol)"
    " SELECT h.id, substr(value, 1, instr(value, '(') - 1) FROM (SELECT id, '[\"' ||"
    " replace(replace(replace(symbols, '\\', '\\\\'), '\"', '\\\"'), '; ', '\",\"') ||"
    " '\"]' AS j FROM history WHERE id > ?1 AND id <= ?2) h,"
    " json_each(CASE WHEN json_valid(h.j) THEN h.j ELSE '[]' END)"
    " WHERE instr(value, '(') > 1 AND substr(value, 1, instr(value, '(') - 1)"
    " NOT GLOB '*[^A-Z0-9_]*'",
    "UPDATE history_indexed SET last_id = ?2",
};

static int one_int(sqlite3 *db, const char *sql, sqlite3_int64 a, sqlite3_int64 b,
                   sqlite3_int64 *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out)
		*out = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

long history_index(sqlite3 *db, long max)
{
	int own = sqlite3_get_autocommit(db);
	sqlite3_int64 last = -1, upto = -1, n = 0;

	/* Nothing to do is the common case: asked without a write lock. */
	if (own) {
		if (one_int(db,
		            "SELECT (SELECT last_id FROM history_indexed) <"
		            " (SELECT coalesce(max(id), 0) FROM history)",
		            0, 0, &n) < 0)
			return -1;
		if (n == 0)
			return 0;
	}
	if (own && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (one_int(db, "SELECT last_id FROM history_indexed", 0, 0, &last) < 0 || last < 0 ||
	    one_int(db,
	            "SELECT max(id), count(*) FROM (SELECT id FROM history WHERE id > ?1"
	            " ORDER BY id LIMIT ?2)",
	            last, max > 0 ? max : -1, &upto) < 0)
		goto fail;
	if (upto < 0) {
		if (own)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		return 0;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (one_int(db, steps[i], last, upto, NULL) < 0)
			goto fail;
		if (i == 0)
			n = sqlite3_changes64(db);
	}
	if (own && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return (long)n;
fail:
	if (own)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

long history_index_all(sqlite3 *db)
{
	long n, total = 0;

	while ((n = history_index(db, HISTORY_INDEX_STEP)) > 0) {
		total += n;
		sqlite3_sleep(5);
	}
	return n < 0 ? -1 : total;
}
