/*
 * walbuf_test - the WAL frame VFS (shared/walbuf.c) keeps SQLite's
 * promises: a commit is in the file when COMMIT returns (another
 * connection through the plain unix VFS sees it; recovery after kill -9
 * of the writer finds every acknowledged commit, checksums rewritten at
 * commit included); a transaction that spills and rolls back leaves
 * nothing behind to overwrite another connection's frames; synchronous=FULL
 * with padded commits stays readable; a full disk fails the transaction
 * whole, as without walbuf.
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
#include "store/walbuf.h"

/*
 * A VFS under walbuf that can make -wal writes fail as on a full disk:
 * walbuf wraps whatever is the default when it registers.
 */
static sqlite3_vfs fault_vfs, *unix_vfs;
static int fail_wal_writes;

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real;
	int wal;
};

#define REAL(f) (((struct fault_file *)(f))->real)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, o);
}

static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 o)
{
	if (((struct fault_file *)f)->wal && fail_wal_writes)
		return SQLITE_FULL;

	return REAL(f)->pMethods->xWrite(REAL(f), p, n, o);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int f_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int i, int size, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), i, size, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int ofs, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), ofs, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_methods = {
	.iVersion = 3,
	.xClose = f_close,
	.xRead = f_read,
	.xWrite = f_write,
	.xTruncate = f_truncate,
	.xSync = f_sync,
	.xFileSize = f_size,
	.xLock = f_lock,
	.xUnlock = f_unlock,
	.xCheckReservedLock = f_reserved,
	.xFileControl = f_control,
	.xSectorSize = f_sector,
	.xDeviceCharacteristics = f_device,
	.xShmMap = f_shm_map,
	.xShmLock = f_shm_lock,
	.xShmBarrier = f_shm_barrier,
	.xShmUnmap = f_shm_unmap,
	.xFetch = f_fetch,
	.xUnfetch = f_unfetch,
};

static int f_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	struct fault_file *x = (struct fault_file *)f;
	int rc;

	(void)v;
	x->real = (sqlite3_file *)(x + 1);
	x->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = unix_vfs->xOpen(unix_vfs, name, x->real, flags, out);
	x->base.pMethods = rc == SQLITE_OK ? &fault_methods : NULL;
	return rc;
}

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

static int wal_mode(sqlite3 *db)
{
	sqlite3_stmt *st;
	int wal = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		wal = strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	return wal;
}

/* A writer through walbuf (the default VFS once registered). */
static sqlite3 *open_writer(int cache_pages)
{
	sqlite3 *db;
	char sql[128];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d", cache_pages);
	exec(db, "PRAGMA journal_mode=WAL");
	if (!wal_mode(db))
		printf("# not in WAL mode\n");
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
		/*
		 * The child commits and reports each commit; it is killed
		 * mid-stream. Every fifth transaction is 20 times its page cache
		 * and writes pages again after spilling them, so SQLite rewrites
		 * frame checksums at commit; nothing is checkpointed, so the
		 * parent's recovery reads and checks every frame of the WAL.
		 */
		sqlite3 *w = open_writer(20);

		close(fds[0]);
		for (long long total = 0, i = 0;; i++) {
			int rc = i % 5 == 4 ? exec(w, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL"
						      " SELECT i + 1 FROM c WHERE i < 300) INSERT INTO t (k, v)"
						      " SELECT abs(random()), randomblob(300) FROM c;"
						      " UPDATE t SET v = randomblob(310) WHERE rowid % 97 = 0;"
						      " COMMIT")
					    : insert(w, 1 + (int)(i % 7), 300);

			if (w == NULL || rc != SQLITE_OK)
				_exit(1);
			total = one(w, "SELECT count(*) FROM t");
			if (write(fds[1], &total, sizeof(total)) != sizeof(total))
				_exit(1);
		}
	}
	close(fds[1]);
	/* Let it run a while, then kill it between two commits or inside one. */
	for (int i = 0; i < 200 && read(fds[0], &n, sizeof(n)) == sizeof(n); i++)
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
	ok(n >= reported && reported > 0,
	   "recovery from the WAL alone finds every acknowledged commit (%lld >= %lld)", n, reported);
	ok(integrity_ok(db), "integrity_check after the kill");
	sqlite3_close(db);
}

/*
 * A transaction that spills and rolls back, then another connection
 * commits frames at the same place in the WAL: nothing of the rolled-back
 * transaction may reach the file afterwards.
 */
static void rollback_after_spill(void)
{
	sqlite3 *a = open_writer(20), *b = open_plain();
	long long before;

	ok(a && b, "rollback: two connections");
	if (a == NULL || b == NULL)
		goto out;
	/* The checkpoint lets the WAL start over, so the spill and B's commit overlap. */
	sqlite3_wal_checkpoint_v2(b, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	before = one(b, "SELECT count(*) FROM t");
	exec(a, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
		" INSERT INTO t (k, v) SELECT abs(random()), randomblob(700) FROM c");
	ok(exec(a, "ROLLBACK") == SQLITE_OK, "rollback: a spilled transaction is rolled back");
	ok(insert(b, 4000, 700) == SQLITE_OK, "rollback: the plain connection commits over its frames");
	is_int((int)one(a, "SELECT count(*) FROM t"), (int)(before + 4000),
	       "rollback: the walbuf connection reads the other's rows");
	is_int((int)one(b, "SELECT count(*) FROM t"), (int)(before + 4000),
	       "rollback: ...and the other still reads its own");
	ok(integrity_ok(b), "rollback: integrity_check");
out:
	sqlite3_close(a);
	sqlite3_close(b);
}

/* synchronous=FULL without powersafe overwrite pads each commit to a
 * sector and splits the last frame around a sync. */
static void padded_commits(void)
{
	char uri[400];
	sqlite3 *a = NULL, *b = open_plain();
	int bad = 0;

	snprintf(uri, sizeof(uri), "file:%s?psow=0", path);
	if (sqlite3_open_v2(uri, &a, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		bad++;
	exec(a, "PRAGMA synchronous=FULL");
	for (int i = 0; i < 100 && !bad; i++) {
		char sql[200];

		snprintf(sql, sizeof(sql), "INSERT INTO t (k, v) VALUES (%d, randomblob(%d))", i,
			 100 + i * 37 % 3000);
		if (exec(a, sql) != SQLITE_OK ||
		    one(b, "SELECT count(*) FROM t WHERE length(v) >= 0") < 0)
			bad++;
	}
	ok(!bad && integrity_ok(b), "synchronous=FULL, psow=0: 100 padded commits readable at once");
	sqlite3_close(a);
	sqlite3_close(b);
}

/*
 * The disk fills up in the middle of a spilled transaction (held frames
 * can then fail to go out from a read, inside a statement SQLite would
 * otherwise only undo itself), and has room again by COMMIT: the
 * transaction must be all there or not at all.
 */
static void disk_full(const char *table, const char *change)
{
	sqlite3 *a = open_writer(10), *b = open_plain();
	char sql[400];
	long long before;
	int rc1, rc2;

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS %s (k INTEGER PRIMARY KEY,"
		 " u INTEGER UNIQUE, v BLOB)", table);
	exec(a, sql);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	before = one(b, sql);
	snprintf(sql, sizeof(sql), "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		 " FROM c WHERE i < 400) INSERT INTO %s (u, v) SELECT abs(random()), randomblob(600)"
		 " FROM c", table);
	exec(a, sql);
	fail_wal_writes = 1;
	rc1 = exec(a, change);
	fail_wal_writes = 0;
	rc2 = exec(a, "COMMIT");
	if (rc2 != SQLITE_OK)
		exec(a, "ROLLBACK");
	ok(rc1 != SQLITE_OK || rc2 != SQLITE_OK, "disk full (%s): the transaction fails", table);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	is_int((int)one(b, sql), (int)before, "disk full (%s): none of it was committed", table);
	ok(integrity_ok(b), "disk full (%s): integrity_check", table);
	ok(insert(a, 5, 100) == SQLITE_OK && integrity_ok(b),
	   "disk full (%s): the next commit works once there is room", table);
	sqlite3_close(a);
	sqlite3_close(b);
}

int main(void)
{
	sqlite3 *w, *r;
	long long want = 0;
	int bad = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	unix_vfs = sqlite3_vfs_find("unix");
	fault_vfs = *unix_vfs;
	fault_vfs.zName = "moat-test-fault";
	fault_vfs.szOsFile = (int)((sizeof(struct fault_file) + 7) & ~(size_t)7) + unix_vfs->szOsFile;
	fault_vfs.xOpen = f_open;
	ok(sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK, "a fault-injecting VFS to wrap");
	is_int(walbuf_register(), SQLITE_OK, "walbuf registers");
	is_str(sqlite3_vfs_find(NULL)->zName, "moat-walbuf", "...as the default VFS");
	is_int(walbuf_register(), SQLITE_OK, "registering twice is harmless");

	w = open_writer(2000);
	ok(w != NULL && exec(w, "CREATE TABLE t (k INTEGER, v BLOB)") == SQLITE_OK && wal_mode(w),
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

	rollback_after_spill();
	padded_commits();
	disk_full("full1", "UPDATE full1 SET v = randomblob(650) WHERE k % 2 = 0");
	disk_full("full2", "UPDATE full2 SET u = u + 1000000 WHERE k % 2 = 0");
	killed_writer();

	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", dir);
	}
	return done_testing();
}
