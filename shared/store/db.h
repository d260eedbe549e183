/*
 * db - the SQLite database both daemons and moatctl share.
 *
 * Opened in WAL mode (readers never block the writer) with a busy timeout,
 * and brought up to date with the migrations in sql/NNN-*.sql, which are
 * compiled into the programs so an installed binary needs no source tree.
 * The schema version is PRAGMA user_version; a database newer than the
 * program is refused rather than misread.
 */
#ifndef MOAT_DB_H
#define MOAT_DB_H

#include <stddef.h>
#include <sqlite3.h>

struct db_migration {
	int version;		/* NNN from the file name */
	const char *name;	/* file name, for messages */
	const char *sql;	/* the file's text */
};

/* The compiled-in migrations, in order (generated from sql/). */
extern const struct db_migration db_migrations[];
/* How many there are. */
extern const size_t db_migrations_count;

/* Newest schema version this program knows. */
int db_schema_version(void);
/* Open (creating if needed) and migrate; NULL with a reason in err. */
sqlite3 *db_open(const char *path, int busy_ms, char *err, size_t errlen);
/* Open an existing database read-only, without migrating; NULL with err. */
sqlite3 *db_open_readonly(const char *path, int busy_ms, char *err, size_t errlen);
/*
 * The database on read-only media (SQLite's immutable=1: no locks, no
 * WAL, no -shm; changes by others are not seen). Every write fails.
 */
sqlite3 *db_open_immutable(const char *path, char *err, size_t errlen);
/* Apply the migrations the database lacks; 0 or -1 with err. */
int db_migrate(sqlite3 *db, char *err, size_t errlen);
/* The database's user_version, or -1. */
int db_version(sqlite3 *db);
struct db_checkpointer;

/*
 * Move WAL checkpoints (and their fsync) off db's thread: a thread with
 * its own connection to path checkpoints every interval_ms. NULL with err.
 */
struct db_checkpointer *db_checkpointer_start(sqlite3 *db, const char *path, int interval_ms,
					      char *err, size_t errlen);
/* Stop the thread (one last checkpoint) and free; NULL is fine. */
void db_checkpointer_stop(struct db_checkpointer *cp);
/* Close (NULL is fine). */
void db_close(sqlite3 *db);

#endif
