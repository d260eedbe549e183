/*
 * walbuf_test - the WAL-gathering VFS (shared/walbuf.c) keeps SQLite's
 * promises: a commit is in the file when COMMIT returns (another
 * connection through the plain unix VFS sees it, a process killed right
 * after loses nothing), large transactions that spill and rewrite frames
 * stay correct, and a WAL started over after a checkpoint too.
 */
#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "walbuf.h"

static char dir[] = "/tmp/moat-walbuf-test.XXXXXX";
static char path[300];

static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
	return rc;
}

static long long one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	int good = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		good = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return good;
}

/* A writer through walbuf (the default VFS once registered). */
static sqlite3 *open_writer(int cache_pages)
{
	sqlite3 *db;
	char sql[128];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return NULL;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d", cache_pages);
	exec(db, "PRAGMA journal_mode=WAL");
	exec(db, "PRAGMA synchronous=NORMAL");
	exec(db, sql);
	sqlite3_wal_autocheckpoint(db, 0);
	return db;
}

/* A reader that does not go through walbuf at all. */
static sqlite3 *open_plain(void)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix") != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Insert n rows with blob bytes of payload each, in one transaction. */
static int insert(sqlite3 *db, int n, int blob)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
		 "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO t (k, v) SELECT abs(random()), randomblob(%d) FROM c; COMMIT",
		 n, blob);
	return exec(db, sql);
}

static void killed_writer(void)
{
	int fds[2], status;
	long long reported = 0, n;
	pid_t pid;
	sqlite3 *db;

	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		/* The child commits and reports each commit; it is killed mid-stream. */
		sqlite3 *w = open_writer(2000);

		close(fds[0]);
		for (long long total = 0;;) {
			int k = 1 + (int)(total % 7);

			if (w == NULL || insert(w, k, 300) != SQLITE_OK)
				_exit(1);
			total = one(w, "SELECT count(*) FROM t");
			if (write(fds[1], &total, sizeof(total)) != sizeof(total))
				_exit(1);
		}
	}
	close(fds[1]);
	/* Let it run a while, then kill it between two commits or inside one. */
	for (int i = 0; i < 500 && read(fds[0], &n, sizeof(n)) == sizeof(n); i++)
		reported = n;
	kill(pid, SIGKILL);
	while (read(fds[0], &n, sizeof(n)) == sizeof(n))
		reported = n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status), "the writer was killed (%lld rows acknowledged)", reported);
	db = open_plain();
	ok(db != NULL, "the database opens after the kill");
	if (db == NULL)
		return;
	n = one(db, "SELECT count(*) FROM t");
	ok(n >= reported && reported > 0, "every acknowledged commit survived kill -9 (%lld >= %lld)",
	   n, reported);
	ok(integrity_ok(db), "integrity_check after the kill");
	sqlite3_close(db);
}

int main(void)
{
	sqlite3 *w, *r;
	long long want = 0;
	int bad = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	is_int(walbuf_register(), SQLITE_OK, "walbuf registers");
	is_str(sqlite3_vfs_find(NULL)->zName, "moat-walbuf", "...as the default VFS");
	is_int(walbuf_register(), SQLITE_OK, "registering twice is harmless");

	w = open_writer(2000);
	ok(w != NULL && exec(w, "CREATE TABLE t (k INTEGER, v BLOB)") == SQLITE_OK,
	   "a WAL database is created through walbuf");
	r = open_plain();
	ok(r != NULL, "a second connection through the plain unix VFS");
	if (w == NULL || r == NULL)
		return done_testing();

	/* Small commits: each is visible to the other connection at once. */
	for (int i = 1; i <= 300; i++) {
		if (insert(w, 1 + i % 9, 100 + i % 700) != SQLITE_OK)
			bad++;
		want += 1 + i % 9;
		if (one(r, "SELECT count(*) FROM t") != want)
			bad++;
	}
	is_int(bad, 0, "300 commits, each seen by the plain reader right after COMMIT");

	/* A transaction larger than the page cache spills frames before its
	 * commit and then writes pages again in place. */
	sqlite3_close(w);
	w = open_writer(20);
	ok(insert(w, 3000, 400) == SQLITE_OK, "a transaction 50 times the page cache commits");
	want += 3000;
	is_int((int)one(r, "SELECT count(*) FROM t"), (int)want, "...and is seen whole");
	ok(exec(w, "BEGIN; UPDATE t SET v = randomblob(500); DELETE FROM t WHERE k % 3 = 0;"
		   " UPDATE t SET v = randomblob(200) WHERE k % 2 = 0; COMMIT") == SQLITE_OK,
	   "pages written twice within one spilled transaction");
	is_int((int)one(r, "SELECT count(*) FROM t"), (int)one(w, "SELECT count(*) FROM t"),
	       "...the reader sees what the writer sees");
	ok(integrity_ok(r), "integrity_check through the plain VFS");

	/* A checkpoint that starts the WAL over: the next commit writes the
	 * WAL header at its start again. */
	for (int i = 0; i < 5; i++) {
		want = one(w, "SELECT count(*) FROM t");
		if (sqlite3_wal_checkpoint_v2(r, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL) !=
			    SQLITE_OK ||
		    insert(w, 10, 100) != SQLITE_OK ||
		    one(r, "SELECT count(*) FROM t") != want + 10)
			bad++;
	}
	is_int(bad, 0, "commits after five restarted WALs are seen");
	sqlite3_close(w);
	sqlite3_close(r);

	/* Reopen after both closed: what is in the files. */
	r = open_plain();
	ok(r != NULL && one(r, "SELECT count(*) FROM t") == want + 10 && integrity_ok(r),
	   "a fresh connection finds the same rows in the files");
	sqlite3_close(r);

	killed_writer();

	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", dir);
	}
	return done_testing();
}
