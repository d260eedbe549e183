/*
 * gl_store_sqlite - the greylist store in moat's SQLite database
 * (tables greylist and greylist_clients, sql/002-greylist.sql).
 *
 * Every statement is prepared once. The first lookup of an event-loop
 * round opens a read transaction and the first write turns it into a
 * write transaction; gl_store_flush() ends it, so one commit covers every
 * request of the round, and the round's lookups share one snapshot
 * instead of taking and dropping SQLite's locks (four fcntl calls) each. With WAL and synchronous=NORMAL a commit survives the
 * process being killed (it is in the WAL file) without an fsync per
 * request; only a power loss can take the last commits.
 *
 * Expiry walks the 64-bit id space in EXPIRE_SLICES slices, one slice a
 * call, so it needs no index on the times and never holds the write lock
 * long: with a million rows a slice is a few hundred rows.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/gl_store.h"
#include "core/mem.h"

#define EXPIRE_SLICES 4096

enum { TX_NONE, TX_READ, TX_WRITE };

enum {
	ST_GET,
	ST_PUT,
	ST_CLIENT_GET,
	ST_CLIENT_PUT,
	ST_EXPIRE,
	ST_EXPIRE_CLIENTS,
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_GET] = "SELECT client, sender, recipient, first_seen, last_seen, passed_at"
		   " FROM greylist WHERE id = ?1",
	[ST_PUT] = "INSERT INTO greylist (id, client, sender, recipient, first_seen, last_seen,"
		   " passed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		   " ON CONFLICT (id) DO UPDATE SET client = excluded.client,"
		   " sender = excluded.sender, recipient = excluded.recipient,"
		   " first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
		   " passed_at = excluded.passed_at",
	[ST_CLIENT_GET] = "SELECT count, last_seen, manual FROM greylist_clients WHERE client = ?1",
	[ST_CLIENT_PUT] = "INSERT INTO greylist_clients (client, count, last_seen, manual)"
			  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (client) DO UPDATE SET"
			  " count = excluded.count, last_seen = excluded.last_seen,"
			  " manual = excluded.manual",
	[ST_EXPIRE] = "DELETE FROM greylist WHERE id BETWEEN ?1 AND ?2 AND (last_seen < ?3"
		      " OR (passed_at IS NULL AND last_seen < ?4))",
	[ST_EXPIRE_CLIENTS] = "DELETE FROM greylist_clients WHERE manual = 0 AND last_seen < ?1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_COMMIT] = "COMMIT",
};

struct gl_sqlite {
	struct gl_store base;	/* first: the store is cast to this */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_tx;		/* TX_NONE, TX_READ or TX_WRITE */
	int busy_ms;		/* configured lock wait */
	int fast;		/* fail_fast on */
	unsigned slice;		/* next expiry slice */
	char client[256], sender[512], recipient[512];	/* text of the last get */
};

static int fail(struct gl_sqlite *g, const char *what)
{
	snprintf(g->base.err, sizeof(g->base.err), "greylist store: %s: %s", what,
		 sqlite3_errmsg(g->db));
	/* Some errors (a full disk, I/O, memory) end the transaction in SQLite. */
	if (sqlite3_get_autocommit(g->db))
		g->in_tx = TX_NONE;
	return -1;
}

/* Run a statement that returns no rows; reset it either way. */
static int run(struct gl_sqlite *g, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(g, what);
	return 0;
}

/* End a read transaction: it changed nothing, so nothing can be lost. */
static void end_read(struct gl_sqlite *g)
{
	if (g->in_tx != TX_READ)
		return;
	g->in_tx = TX_NONE;
	if (run(g, g->st[ST_COMMIT], "end of read") < 0)
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Open the write transaction, waiting up to busy_ms for the lock. */
static int begin(struct gl_sqlite *g)
{
	if (g->in_tx == TX_WRITE)
		return 0;
	end_read(g);
	if (run(g, g->st[ST_BEGIN], "begin") < 0)
		return -1;
	g->in_tx = TX_WRITE;
	return 0;
}

/* Lookups share the round's transaction; outside one they open it. */
static int begin_read(struct gl_sqlite *g)
{
	if (g->in_tx != TX_NONE)
		return 0;
	if (run(g, g->st[ST_BEGIN_READ], "begin") < 0)
		return -1;
	g->in_tx = TX_READ;
	return 0;
}

/*
 * Run a write statement. Inside the round's read transaction SQLite
 * upgrades it to a write transaction in place; that fails at once, without
 * waiting, when another process holds the write lock or has committed
 * since the snapshot was taken (SQLITE_BUSY). Then what the round's
 * lookups saw may be out of date, and the values about to be written were
 * made from it: the read transaction is ended, the write lock waited for
 * as any writer does, and the caller told to look up again
 * (GL_STORE_RETRY). The round has written nothing yet, so nothing is lost.
 */
static int run_write(struct gl_sqlite *g, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (g->in_tx != TX_READ) {
		if (begin(g) < 0)
			return -1;
		return run(g, st, what);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE) {
		g->in_tx = TX_WRITE;
		return 0;
	}
	if ((rc & 0xff) != SQLITE_BUSY || sqlite3_get_autocommit(g->db))
		return fail(g, what);
	if (begin(g) < 0)
		return -1;
	return GL_STORE_RETRY;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static int sq_get(struct gl_store *s, uint64_t id, struct gl_entry *e)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;
	sqlite3_stmt *st = g->st[ST_GET];
	int rc;

	if (begin_read(g) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_text(g->client, sizeof(g->client), st, 0);
		copy_text(g->sender, sizeof(g->sender), st, 1);
		copy_text(g->recipient, sizeof(g->recipient), st, 2);
		e->id = id;
		e->client = g->client;
		e->sender = g->sender;
		e->recipient = g->recipient;
		e->first_seen = sqlite3_column_int64(st, 3);
		e->last_seen = sqlite3_column_int64(st, 4);
		e->passed_at = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(g, "lookup");
}

static int sq_put(struct gl_store *s, const struct gl_entry *e)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;
	sqlite3_stmt *st = g->st[ST_PUT];

	sqlite3_bind_int64(st, 1, (sqlite3_int64)e->id);
	sqlite3_bind_text(st, 2, e->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, e->first_seen);
	sqlite3_bind_int64(st, 6, e->last_seen);
	if (e->passed_at)
		sqlite3_bind_int64(st, 7, e->passed_at);
	else
		sqlite3_bind_null(st, 7);
	return run_write(g, st, "update");
}

static int sq_client_get(struct gl_store *s, const char *client, struct gl_client *c)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;
	sqlite3_stmt *st = g->st[ST_CLIENT_GET];
	int rc;

	if (begin_read(g) < 0)
		return -1;
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->count = sqlite3_column_int(st, 0);
		c->last_seen = sqlite3_column_int64(st, 1);
		c->manual = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(g, "client lookup");
}

static int sq_client_put(struct gl_store *s, const char *client, const struct gl_client *c)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;
	sqlite3_stmt *st = g->st[ST_CLIENT_PUT];

	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, c->count);
	sqlite3_bind_int64(st, 3, c->last_seen);
	sqlite3_bind_int(st, 4, c->manual ? 1 : 0);
	return run_write(g, st, "client update");
}

static int sq_flush(struct gl_store *s)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;

	if (g->in_tx == TX_READ)
		end_read(g);
	if (g->in_tx == TX_NONE)
		return 0;
	g->in_tx = TX_NONE;
	if (run(g, g->st[ST_COMMIT], "commit") < 0) {
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int sq_expire(struct gl_store *s, int64_t now, int64_t max_age, int64_t retry_window)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;
	sqlite3_stmt *st = g->st[ST_EXPIRE];
	/* Slice k covers ids [lo, hi]; no slice straddles 2^63, so each is one
	 * contiguous range of the signed ids SQLite stores as well. */
	uint64_t width = UINT64_MAX / EXPIRE_SLICES + 1;
	uint64_t lo = (uint64_t)g->slice * width, hi = lo + (width - 1);
	int n;

	/* Housekeeping never waits for a lock: it tries again next time. */
	sqlite3_busy_timeout(g->db, 0);
	n = begin(g);
	sqlite3_busy_timeout(g->db, g->fast ? 0 : g->busy_ms);
	if (n < 0)
		return sqlite3_errcode(g->db) == SQLITE_BUSY ? 0 : -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
	sqlite3_bind_int64(st, 3, now - max_age);
	sqlite3_bind_int64(st, 4, now - retry_window);
	if (run(g, st, "expire") < 0)
		return -1;
	n = sqlite3_changes(g->db);
	if (++g->slice == EXPIRE_SLICES) {
		g->slice = 0;
		/* Once a full round: the (small) auto-allow table. */
		st = g->st[ST_EXPIRE_CLIENTS];
		sqlite3_bind_int64(st, 1, now - max_age);
		if (run(g, st, "expire clients") < 0)
			return -1;
		n += sqlite3_changes(g->db);
	}
	return n;
}

static void sq_end_read(struct gl_store *s)
{
	end_read((struct gl_sqlite *)s);
}

static void sq_fail_fast(struct gl_store *s, int on)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;

	g->fast = on;
	sqlite3_busy_timeout(g->db, on ? 0 : g->busy_ms);
}

static void sq_close(struct gl_store *s)
{
	struct gl_sqlite *g = (struct gl_sqlite *)s;

	sq_flush(s);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(g->st[i]);
	free(g);
}

static const struct gl_store_ops sqlite_ops = {
	.get = sq_get,
	.put = sq_put,
	.client_get = sq_client_get,
	.client_put = sq_client_put,
	.flush = sq_flush,
	.expire = sq_expire,
	.end_read = sq_end_read,
	.fail_fast = sq_fail_fast,
	.close = sq_close,
};

struct gl_store *gl_store_sqlite_new(void *sqlite_db, int busy_ms)
{
	struct gl_sqlite *g = xcalloc(1, sizeof(*g));

	g->base.ops = &sqlite_ops;
	g->db = sqlite_db;
	g->busy_ms = busy_ms;
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(g->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &g->st[i],
				       NULL) != SQLITE_OK) {
			for (int j = 0; j < i; j++)
				sqlite3_finalize(g->st[j]);
			free(g);
			return NULL;
		}
	}
	return &g->base;
}
