/* db_test - database open and migrations (shared/db.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/db.h"
#include "tap.h"

static char dir[] = "/tmp/moat-db-test.XXXXXX";
static char err[1024];

static int count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static char *text(sqlite3 *db, const char *sql)
{
	static char buf[256];
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

int main(void)
{
	char path[300], ro[300];
	sqlite3 *db;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);

	ok(db_migrations_count >= 1, "migrations are compiled in");
	for (size_t i = 1; i < db_migrations_count; i++)
		ok(db_migrations[i].version > db_migrations[i - 1].version,
		   "migration %s comes after %s", db_migrations[i].name,
		   db_migrations[i - 1].name);

	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "fresh database opens");
	is_int(db_version(db), db_schema_version(), "migrated to the newest version");
	is_str(text(db, "PRAGMA journal_mode"), "wal", "WAL mode");
	is_int(count(db, "SELECT count(*) FROM actions"), 4, "four actions seeded");
	is_int(count(db, "SELECT threshold FROM actions WHERE name = 'greylist'"), 4, "greylist 4");
	is_int(count(db, "SELECT threshold FROM actions WHERE name = 'add header'"), 6,
	       "add header 6");
	is_int(count(db, "SELECT threshold FROM actions WHERE name = 'rewrite subject'"), 7,
	       "rewrite subject 7");
	is_int(count(db, "SELECT threshold FROM actions WHERE name = 'reject'"), 11, "reject 11");
	is_str(text(db, "SELECT group_concat(action, ',') FROM action_thresholds"),
	       "greylist,add header,rewrite subject,reject", "action_thresholds view in order");
	ok(count(db, "SELECT count(*) FROM module_status") >= 1, "module_status view works");
	is_int(count(db, "SELECT count(*) FROM symbol_weights"), count(db, "SELECT count(*) FROM "
									"symbols WHERE enabled"),
	       "symbol_weights shows the enabled symbols");
	ok(sqlite3_exec(db, "INSERT INTO actions(name, threshold) VALUES ('explode', 1)", NULL, NULL,
			NULL) != SQLITE_OK,
	   "unknown action name refused by the schema");
	sqlite3_exec(db, "UPDATE actions SET threshold = 9 WHERE name = 'add header'", NULL, NULL,
		     NULL);
	db_close(db);

	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "reopening works");
	is_int(count(db, "SELECT threshold FROM actions WHERE name = 'add header'"), 9,
	       "reopening keeps the admin's changes (migrations not re-run)");
	is_int(db_migrate(db, err, sizeof(err)), 0, "migrating again is a no-op");

	/* A database from a newer moat is refused, not misread. */
	sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
	db_close(db);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db == NULL, "newer database refused");
	like_str(err, "schema version 999 is newer than this program's", "...with a clear reason");
	db = db_open_readonly(path, 1000, err, sizeof(err));
	ok(db == NULL, "...also read-only");

	/* Unusable paths give a clear error. */
	db = db_open("/nonexistent/dir/moat.db", 1000, err, sizeof(err));
	ok(db == NULL, "missing directory is an error");
	like_str(err, "cannot open database /nonexistent/dir/moat.db", "...naming the path");

	snprintf(ro, sizeof(ro), "%s/notadb", dir);
	{
		FILE *fp = fopen(ro, "w");

		fputs("this is not an SQLite database, just text that is long enough......"
		      "..................................................................\n",
		      fp);
		fclose(fp);
	}
	db = db_open(ro, 1000, err, sizeof(err));
	ok(db == NULL, "a file that is not a database is an error");
	like_str(err, ro, "...naming the file");

	unlink(ro);
	snprintf(ro, sizeof(ro), "%s/moat.db-wal", dir);
	unlink(ro);
	snprintf(ro, sizeof(ro), "%s/moat.db-shm", dir);
	unlink(ro);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
