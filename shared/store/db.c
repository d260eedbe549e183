/*
 * db - open and migrate the SQLite database; see db.h.
 *
 * Each migration runs in its own BEGIN IMMEDIATE transaction together with
 * the user_version bump, so a crash or a failing statement leaves the
 * database at the previous version, and two processes starting at once do
 * not both apply the same step (the second re-reads the version under the
 * write lock).
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"

int db_schema_version(void)
{
	return db_migrations_count ? db_migrations[db_migrations_count - 1].version : 0;
}

int db_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int exec(sqlite3 *db, const char *sql, const char *what, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int apply_one(sqlite3 *db, const struct db_migration *m, char *err, size_t errlen)
{
	char bump[64], what[200];
	int cur;

	if (exec(db, "BEGIN IMMEDIATE", "cannot lock database for migration", err, errlen) < 0)
		return -1;
	cur = db_version(db);
	if (cur >= m->version)
		return exec(db, "COMMIT", "commit", err, errlen);
	snprintf(what, sizeof(what), "migration %s failed", m->name);
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
	if (exec(db, m->sql, what, err, errlen) < 0 ||
	    exec(db, bump, what, err, errlen) < 0 ||
	    exec(db, "COMMIT", what, err, errlen) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int db_migrate(sqlite3 *db, char *err, size_t errlen)
{
	int cur = db_version(db);

	if (cur < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (cur > db_schema_version()) {
		snprintf(err, errlen,
			 "database schema version %d is newer than this program's %d; "
			 "upgrade moat or use the matching database",
			 cur, db_schema_version());
		return -1;
	}
	for (size_t i = 0; i < db_migrations_count; i++)
		if (db_migrations[i].version > cur && apply_one(db, &db_migrations[i], err, errlen) < 0)
			return -1;
	return 0;
}

static sqlite3 *open_flags(const char *path, int flags, int busy_ms, char *err, size_t errlen)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, busy_ms);
	sqlite3_extended_result_codes(db, 1);
	return db;
}

sqlite3 *db_open(const char *path, int busy_ms, char *err, size_t errlen)
{
	char what[300];
	sqlite3 *db;
	int fd;

	/*
	 * Created by us, not by SQLite, so that it is 0640 whatever the umask:
	 * it holds senders, recipients and subjects. SQLite gives its -wal and
	 * -shm files the database's mode.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) >= 0)
		close(fd);
	db = open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_ms, err, errlen);
	if (db == NULL)
		return NULL;
	snprintf(what, sizeof(what), "cannot use database %s", path);
	/*
	 * WAL lets the daemons read while moatctl or the sqlite3 shell writes;
	 * synchronous=NORMAL is durable across a process crash (what we promise
	 * for acknowledged greylist entries) and much cheaper than FULL.
	 */
	if (exec(db, "PRAGMA journal_mode=WAL", what, err, errlen) < 0 ||
	    exec(db, "PRAGMA synchronous=NORMAL", what, err, errlen) < 0 ||
	    exec(db, "PRAGMA foreign_keys=ON", what, err, errlen) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	if (db_migrate(db, what, sizeof(what)) < 0) {
		snprintf(err, errlen, "%s: %s", path, what);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* db, if this program can read its schema; else NULL, closed, with err. */
static sqlite3 *usable(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int v = db_version(db);

	if (v < 0 || v > db_schema_version()) {
		snprintf(err, errlen, "database %s: schema version %d not usable by this program (%d)",
			 path, v, db_schema_version());
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

sqlite3 *db_open_readonly(const char *path, int busy_ms, char *err, size_t errlen)
{
	sqlite3 *db = open_flags(path, SQLITE_OPEN_READONLY, busy_ms, err, errlen);

	if (db == NULL)
		return NULL;
	return usable(db, path, err, errlen);
}

sqlite3 *db_open_immutable(const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sbuf uri;
	sqlite3 *db;

	/* A URI: every byte but the unreserved ones and '/' percent-encoded. */
	sbuf_init(&uri);
	sbuf_puts(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (isalnum(*p) || strchr("/-._~", *p))
			sbuf_putc(&uri, (char)*p);
		else {
			sbuf_putc(&uri, '%');
			sbuf_putc(&uri, hex[*p >> 4]);
			sbuf_putc(&uri, hex[*p & 15]);
		}
	}
	sbuf_puts(&uri, "?immutable=1");
	db = open_flags(sbuf_cstr(&uri), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, 0, err, errlen);
	sbuf_free(&uri);
	if (db == NULL)
		return NULL;
	return usable(db, path, err, errlen);
}

void db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close_v2(db);
}

/*
 * Checkpoints copy the WAL back into the database file and fsync it: a few
 * milliseconds that must not be spent inside a daemon's event loop. The
 * daemon turns automatic checkpoints off on its own connection and this
 * thread, with a connection of its own, runs PASSIVE checkpoints (which
 * never block readers or the writer) on an interval.
 */
struct db_checkpointer {
	pthread_t th;
	sqlite3 *db;
	int interval_ms;
	int stop;
	char wal[4096];		/* path of the -wal file */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/*
 * PASSIVE never waits, but under a steady stream of commits it never
 * catches up with the end of the WAL either, and SQLite only starts the
 * WAL over after a checkpoint that did. So once the WAL passes
 * WAL_RESTART_SIZE, a RESTART checkpoint briefly holds the writer back and
 * makes the next commit start the WAL over: the file stays bounded
 * whatever the load. RESTART rather than TRUNCATE: writing over blocks the
 * file already has is much cheaper than growing it again.
 */
#define WAL_RESTART_SIZE (32LL << 20)

static void checkpoint_once(struct db_checkpointer *cp)
{
	struct stat st;
	int mode = SQLITE_CHECKPOINT_PASSIVE;

	if (stat(cp->wal, &st) == 0 && st.st_size > WAL_RESTART_SIZE)
		mode = SQLITE_CHECKPOINT_RESTART;
	if (sqlite3_wal_checkpoint_v2(cp->db, NULL, mode, NULL, NULL) != SQLITE_OK &&
	    sqlite3_errcode(cp->db) != SQLITE_BUSY)
		msg_warn("database checkpoint: %s", sqlite3_errmsg(cp->db));
}

static void *checkpoint_loop(void *arg)
{
	struct db_checkpointer *cp = arg;

	pthread_mutex_lock(&cp->mu);
	while (!cp->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += cp->interval_ms / 1000;
		ts.tv_nsec += (long)(cp->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cp->cv, &cp->mu, &ts);
		if (cp->stop)
			break;
		pthread_mutex_unlock(&cp->mu);
		checkpoint_once(cp);
		pthread_mutex_lock(&cp->mu);
	}
	pthread_mutex_unlock(&cp->mu);
	return NULL;
}

struct db_checkpointer *db_checkpointer_start(sqlite3 *db, const char *path, int interval_ms,
					      char *err, size_t errlen)
{
	struct db_checkpointer *cp = xcalloc(1, sizeof(*cp));

	cp->db = open_flags(path, SQLITE_OPEN_READWRITE, 5000, err, errlen);
	/* A connection that has read nothing does not know it is in WAL mode
	 * yet, and its checkpoints would quietly do nothing. */
	if (cp->db == NULL || exec(cp->db, "PRAGMA journal_mode=WAL", "checkpoint connection",
				   err, errlen) < 0) {
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	cp->interval_ms = interval_ms;
	snprintf(cp->wal, sizeof(cp->wal), "%s-wal", path);
	pthread_mutex_init(&cp->mu, NULL);
	pthread_cond_init(&cp->cv, NULL);
	if (pthread_create(&cp->th, NULL, checkpoint_loop, cp) != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	sqlite3_wal_autocheckpoint(db, 0);
	/* A WAL that grew in a burst is cut back to this when it starts over. */
	sqlite3_exec(db, "PRAGMA journal_size_limit=67108864", NULL, NULL, NULL);
	return cp;
}

void db_checkpointer_stop(struct db_checkpointer *cp)
{
	if (cp == NULL)
		return;
	pthread_mutex_lock(&cp->mu);
	cp->stop = 1;
	pthread_cond_signal(&cp->cv);
	pthread_mutex_unlock(&cp->mu);
	pthread_join(cp->th, NULL);
	sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close(cp->db);
	pthread_mutex_destroy(&cp->mu);
	pthread_cond_destroy(&cp->cv);
	free(cp);
}
