/*
 * bayes_store_sqlite - the Bayes store in moat's SQLite database (tables
 * bayes_tokens, bayes_state, bayes_seen, bayes_journal; sql/005-bayes.sql).
 *
 * Learning: one transaction per batch, one prepared UPSERT per token in
 * token order (neighbouring rows share B-tree pages), plus one journal row
 * holding the batch's changes.
 *
 * Lookups: a message has hundreds of tokens and a B-tree probe costs a few
 * microseconds, too slow for the 0.2 ms a message may spend here. So the
 * tokens live in memory too (struct bayes_cache, an open-addressing table
 * shared by the threads of a process). Before each lookup the store reads
 * bayes_state.generation (one row); when learning happened since, it
 * applies the journal rows it has not seen, or reloads the whole table
 * when they were pruned (a daemon idle for an hour) or a batch was too big
 * to journal. So the milter sees learning within one message, without a
 * restart. The journal keeps JOURNAL_MAX_AGE seconds of changes.
 */
#include "config.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/bayes_store.h"
#include "core/mem.h"

#define JOURNAL_MAX_AGE 3600
#define JOURNAL_MAX_DELTAS (256u << 10)	/* a bigger batch journals "reload" (empty blob) */
#define UPSERT_ROWS 128		/* rows per multi-row UPSERT */

/* Key and counts side by side: a lookup costs one cache miss, not two. */
struct slot {
	uint64_t key;
	struct bayes_counts c;
};

struct bayes_cache {
	pthread_rwlock_t lock;		/* table contents */
	pthread_mutex_t refresh;	/* one refresher at a time */
	struct slot *slots;		/* key 0 = empty (tokens are never 0) */
	size_t cap, n;			/* cap: a power of two */
	int64_t generation;		/* of the database the table reflects; -1: not loaded */
	int shared;			/* owned by the caller, not the store */
};

enum {
	ST_STATE,
	ST_SEEN,
	ST_JOURNAL_READ,
	ST_TOKENS_ALL,
	ST_TOKEN_COUNT,
	ST_UPSERT,
	ST_DROP_EMPTY,
	ST_STATE_ADD,
	ST_JOURNAL_ADD,
	ST_JOURNAL_PRUNE,
	ST_SEEN_PUT,
	ST_SEEN_DEL,
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_UPSERT_MANY,		/* built at start-up: UPSERT_ROWS rows of placeholders */
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_STATE] = "SELECT spam, ham, generation FROM bayes_state WHERE id = 1",
	[ST_SEEN] = "SELECT class FROM bayes_seen WHERE message = ?1",
	[ST_JOURNAL_READ] = "SELECT generation, changes FROM bayes_journal WHERE generation > ?1"
			    " ORDER BY generation",
	[ST_TOKENS_ALL] = "SELECT token, spam, ham FROM bayes_tokens",
	[ST_TOKEN_COUNT] = "SELECT count(*) FROM bayes_tokens",
	[ST_UPSERT] = "INSERT INTO bayes_tokens (token, spam, ham) VALUES (?1, max(?2, 0), max(?3, 0))"
		      " ON CONFLICT (token) DO UPDATE SET spam = max(spam + ?2, 0),"
		      " ham = max(ham + ?3, 0)",
	[ST_DROP_EMPTY] = "DELETE FROM bayes_tokens WHERE token = ?1 AND spam = 0 AND ham = 0",
	[ST_STATE_ADD] = "UPDATE bayes_state SET spam = max(spam + ?1, 0), ham = max(ham + ?2, 0),"
			 " generation = generation + 1 WHERE id = 1 RETURNING generation",
	[ST_JOURNAL_ADD] = "INSERT INTO bayes_journal (generation, time, changes) VALUES (?1, ?2, ?3)",
	[ST_JOURNAL_PRUNE] = "DELETE FROM bayes_journal WHERE time < ?1",
	[ST_SEEN_PUT] = "INSERT INTO bayes_seen (message, class, time) VALUES (?1, ?2, ?3)"
			" ON CONFLICT (message) DO UPDATE SET class = excluded.class,"
			" time = excluded.time",
	[ST_SEEN_DEL] = "DELETE FROM bayes_seen WHERE message = ?1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

/*
 * Most of a batch only adds: those deltas go UPSERT_ROWS to a statement,
 * which halves the per-token cost (statement overhead is half of it).
 * Only placeholders are generated; values are bound.
 */
static char *upsert_many_sql(void)
{
	static const char head[] = "INSERT INTO bayes_tokens (token, spam, ham) VALUES ";
	static const char tail[] = " ON CONFLICT (token) DO UPDATE SET spam = spam + excluded.spam,"
				   " ham = ham + excluded.ham";
	char *q = xmalloc(sizeof(head) + UPSERT_ROWS * 9 + sizeof(tail)), *p = q;

	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (int i = 0; i < UPSERT_ROWS; i++) {
		memcpy(p, i ? ",(?,?,?)" : "(?,?,?)", i ? 8 : 7);
		p += i ? 8 : 7;
	}
	memcpy(p, tail, sizeof(tail));
	return q;
}

struct bayes_sqlite {
	struct bayes_store base;	/* first: the store is cast to this */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct bayes_cache *cache;
};

/* --- the in-memory table ----------------------------------------------- */

struct bayes_cache *bayes_cache_new(void)
{
	struct bayes_cache *c = xcalloc(1, sizeof(*c));

	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->refresh, NULL);
	c->generation = -1;
	c->shared = 1;
	return c;
}

void bayes_cache_free(struct bayes_cache *c)
{
	if (c == NULL)
		return;
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->refresh);
	free(c->slots);
	free(c);
}

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Tokens are already well-mixed hashes: the low bits will do. */
	return (size_t)key & (cap - 1);
}

static void table_grow(struct bayes_cache *c, size_t want)
{
	size_t cap = c->cap ? c->cap : 1024;
	struct slot *slots;

	while (want * 2 > cap)
		cap *= 2;
	if (cap == c->cap)
		return;
	slots = xcalloc(cap, sizeof(*slots));
	for (size_t i = 0; i < c->cap; i++) {
		size_t j;

		if (c->slots[i].key == 0)
			continue;
		for (j = slot_of(c->slots[i].key, cap); slots[j].key; j = (j + 1) & (cap - 1))
			;
		slots[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
}

/* The counts of key, added (zero) if absent. */
static struct bayes_counts *table_slot(struct bayes_cache *c, uint64_t key)
{
	size_t j;

	if ((c->n + 1) * 2 > c->cap)
		table_grow(c, c->n + 1);
	for (j = slot_of(key, c->cap); c->slots[j].key; j = (j + 1) & (c->cap - 1))
		if (c->slots[j].key == key)
			return &c->slots[j].c;
	c->slots[j].key = key;
	c->slots[j].c.spam = c->slots[j].c.ham = 0;
	c->n++;
	return &c->slots[j].c;
}

static void table_get(const struct bayes_cache *c, uint64_t key, struct bayes_counts *out)
{
	out->spam = out->ham = 0;
	if (c->cap == 0 || key == 0)
		return;
	for (size_t j = slot_of(key, c->cap); c->slots[j].key; j = (j + 1) & (c->cap - 1))
		if (c->slots[j].key == key) {
			*out = c->slots[j].c;
			return;
		}
}

static uint32_t add_clamped(uint32_t v, int32_t d)
{
	int64_t x = (int64_t)v + d;

	return x < 0 ? 0 : x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

/* --- statements ---------------------------------------------------------- */

static int fail(struct bayes_sqlite *b, const char *what)
{
	snprintf(b->base.err, sizeof(b->base.err), "bayes store: %s: %s", what,
		 sqlite3_errmsg(b->db));
	return -1;
}

/* Run a statement that returns no rows; reset it either way. */
static int run(struct bayes_sqlite *b, int which, const char *what)
{
	sqlite3_stmt *st = b->st[which];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(b, what);
}

static int read_state(struct bayes_sqlite *b, int64_t *spam, int64_t *ham, int64_t *gen)
{
	sqlite3_stmt *st = b->st[ST_STATE];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*spam = sqlite3_column_int64(st, 0);
		*ham = sqlite3_column_int64(st, 1);
		*gen = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : fail(b, "read state");
}

/* Whole table into a fresh one, then swapped in; caller holds c->refresh. */
static int cache_reload(struct bayes_sqlite *b)
{
	struct bayes_cache *c = b->cache, fresh;
	sqlite3_stmt *st = b->st[ST_TOKENS_ALL];
	int64_t spam, ham, gen;
	int rc;

	memset(&fresh, 0, sizeof(fresh));
	/* State and tokens from one snapshot. */
	if (run(b, ST_BEGIN_READ, "begin") < 0)
		return -1;
	if (read_state(b, &spam, &ham, &gen) < 0) {
		run(b, ST_ROLLBACK, "rollback");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bayes_counts *v;
		uint64_t key = (uint64_t)sqlite3_column_int64(st, 0);

		if (key == 0)
			continue;
		v = table_slot(&fresh, key);
		v->spam = (uint32_t)sqlite3_column_int64(st, 1);
		v->ham = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	run(b, ST_COMMIT, "commit");
	if (rc != SQLITE_DONE) {
		free(fresh.slots);
		return fail(b, "read tokens");
	}
	pthread_rwlock_wrlock(&c->lock);
	free(c->slots);
	c->slots = fresh.slots;
	c->cap = fresh.cap;
	c->n = fresh.n;
	c->generation = gen;
	pthread_rwlock_unlock(&c->lock);
	return 0;
}

/*
 * Apply the journal rows after the table's generation; 1 if that brought
 * it up to date, 0 if a reload is needed (gap or "reload" row), -1.
 */
static int cache_apply_journal(struct bayes_sqlite *b)
{
	struct bayes_cache *c = b->cache;
	sqlite3_stmt *st = b->st[ST_JOURNAL_READ];
	int rc, ok = 1;

	sqlite3_bind_int64(st, 1, c->generation);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t gen = sqlite3_column_int64(st, 0);
		const unsigned char *p = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (gen != c->generation + 1 || len == 0 || len % sizeof(struct bayes_delta)) {
			ok = 0;
			break;
		}
		pthread_rwlock_wrlock(&c->lock);
		for (size_t off = 0; off < len; off += sizeof(struct bayes_delta)) {
			struct bayes_delta d;
			struct bayes_counts *v;

			memcpy(&d, p + off, sizeof(d));
			if (d.token == 0)
				continue;
			v = table_slot(c, d.token);
			v->spam = add_clamped(v->spam, d.spam);
			v->ham = add_clamped(v->ham, d.ham);
		}
		c->generation = gen;
		pthread_rwlock_unlock(&c->lock);
	}
	sqlite3_reset(st);
	if (ok && rc != SQLITE_DONE)
		return fail(b, "read journal");
	return ok;
}

/* Bring the shared table up to the database's generation. */
static int cache_refresh(struct bayes_sqlite *b, int64_t db_gen)
{
	struct bayes_cache *c = b->cache;
	int64_t have;
	int rc = 0;

	pthread_rwlock_rdlock(&c->lock);
	have = c->generation;
	pthread_rwlock_unlock(&c->lock);
	/* Another thread is at it (a reload can take a while): use what is there,
	 * unless there is nothing yet. */
	if (have >= 0) {
		if (pthread_mutex_trylock(&c->refresh) != 0)
			return 0;
	} else {
		pthread_mutex_lock(&c->refresh);
	}
	/* Only refreshers change the generation, and we are the one now. */
	if (c->generation != db_gen) {
		rc = c->generation < 0 || c->generation > db_gen ? 0 : cache_apply_journal(b);
		/* Rows missing at the end (pruned) are a gap too. */
		if (rc == 1 && c->generation < db_gen)
			rc = 0;
		if (rc == 0)
			rc = cache_reload(b);
		else if (rc == 1)
			rc = 0;
	}
	pthread_mutex_unlock(&c->refresh);
	return rc;
}

/* --- operations ------------------------------------------------------------ */

static int op_totals(struct bayes_store *s, int64_t *spam, int64_t *ham)
{
	int64_t gen;

	return read_state((struct bayes_sqlite *)s, spam, ham, &gen);
}

static int op_lookup(struct bayes_store *s, const uint64_t *tok, size_t n,
		     struct bayes_counts *out)
{
	struct bayes_sqlite *b = (struct bayes_sqlite *)s;
	struct bayes_cache *c = b->cache;
	int64_t spam, ham, gen, have;

	if (read_state(b, &spam, &ham, &gen) < 0)
		return -1;
	pthread_rwlock_rdlock(&c->lock);
	have = c->generation;
	pthread_rwlock_unlock(&c->lock);
	if (have != gen && cache_refresh(b, gen) < 0)
		return -1;
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < n; i++)
		table_get(c, tok[i], &out[i]);
	pthread_rwlock_unlock(&c->lock);
	return 0;
}

static int op_seen(struct bayes_store *s, uint64_t msg)
{
	struct bayes_sqlite *b = (struct bayes_sqlite *)s;
	sqlite3_stmt *st = b->st[ST_SEEN];
	int rc, cls = BAYES_NONE;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)msg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		cls = t && strcmp(t, "spam") == 0 ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? cls : fail(b, "read seen");
}

static int upsert_one(struct bayes_sqlite *b, const struct bayes_delta *d)
{
	sqlite3_stmt *up = b->st[ST_UPSERT];

	sqlite3_bind_int64(up, 1, (sqlite3_int64)d->token);
	sqlite3_bind_int(up, 2, d->spam);
	sqlite3_bind_int(up, 3, d->ham);
	if (run(b, ST_UPSERT, "update token") < 0)
		return -1;
	/* Forgetting can leave a token nobody has: drop it. */
	if (d->spam < 0 || d->ham < 0) {
		sqlite3_bind_int64(b->st[ST_DROP_EMPTY], 1, (sqlite3_int64)d->token);
		return run(b, ST_DROP_EMPTY, "drop token");
	}
	return 0;
}

static int learn_tokens(struct bayes_sqlite *b, const struct bayes_batch *bt)
{
	sqlite3_stmt *many = b->st[ST_UPSERT_MANY];
	int rows = 0;

	for (size_t i = 0; i < bt->n; i++) {
		const struct bayes_delta *d = &bt->d[i];

		if (d->spam < 0 || d->ham < 0) {
			if (upsert_one(b, d) < 0)
				return -1;
			continue;
		}
		sqlite3_bind_int64(many, rows * 3 + 1, (sqlite3_int64)d->token);
		sqlite3_bind_int(many, rows * 3 + 2, d->spam);
		sqlite3_bind_int(many, rows * 3 + 3, d->ham);
		if (++rows == UPSERT_ROWS) {
			if (sqlite3_step(many) != SQLITE_DONE) {
				sqlite3_reset(many);
				return fail(b, "update tokens");
			}
			sqlite3_reset(many);
			rows = 0;
		}
	}
	/* The rest one by one: a short statement would need its own SQL. */
	for (size_t i = bt->n; rows > 0 && i-- > 0;) {
		const struct bayes_delta *d = &bt->d[i];

		if (d->spam < 0 || d->ham < 0)
			continue;
		rows--;
		if (upsert_one(b, d) < 0)
			return -1;
	}
	sqlite3_clear_bindings(many);
	return 0;
}

static int learn_seen(struct bayes_sqlite *b, const struct bayes_batch *bt, int64_t now)
{
	for (size_t i = 0; i < bt->nseen; i++) {
		const struct bayes_seen *x = &bt->seen[i];

		if (x->cls == BAYES_NONE) {
			sqlite3_bind_int64(b->st[ST_SEEN_DEL], 1, (sqlite3_int64)x->msg);
			if (run(b, ST_SEEN_DEL, "forget message") < 0)
				return -1;
			continue;
		}
		sqlite3_bind_int64(b->st[ST_SEEN_PUT], 1, (sqlite3_int64)x->msg);
		sqlite3_bind_text(b->st[ST_SEEN_PUT], 2, x->cls == BAYES_CLASS_SPAM ? "spam" : "ham",
				  -1, SQLITE_STATIC);
		sqlite3_bind_int64(b->st[ST_SEEN_PUT], 3, now);
		if (run(b, ST_SEEN_PUT, "record message") < 0)
			return -1;
	}
	return 0;
}

/* Bump the state and write the journal row of this generation. */
static int learn_state(struct bayes_sqlite *b, const struct bayes_batch *bt, int64_t now)
{
	sqlite3_stmt *st = b->st[ST_STATE_ADD];
	int64_t gen;
	int rc;

	sqlite3_bind_int64(st, 1, bt->spam);
	sqlite3_bind_int64(st, 2, bt->ham);
	rc = sqlite3_step(st);
	gen = sqlite3_column_int64(st, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(b, "update state");
	st = b->st[ST_JOURNAL_ADD];
	sqlite3_bind_int64(st, 1, gen);
	sqlite3_bind_int64(st, 2, now);
	/*
	 * Native byte order: only processes on this host read it. An empty
	 * blob means "reload" (a batch too big to journal), so a batch that
	 * changed no token writes one delta for token 0, which readers skip.
	 */
	if (bt->n == 0) {
		static const struct bayes_delta none;

		sqlite3_bind_blob(st, 3, &none, sizeof(none), SQLITE_STATIC);
	} else if (bt->n <= JOURNAL_MAX_DELTAS) {
		sqlite3_bind_blob64(st, 3, bt->d, bt->n * sizeof(*bt->d), SQLITE_STATIC);
	} else {
		sqlite3_bind_zeroblob(st, 3, 0);
	}
	if (run(b, ST_JOURNAL_ADD, "write journal") < 0)
		return -1;
	sqlite3_bind_int64(b->st[ST_JOURNAL_PRUNE], 1, now - JOURNAL_MAX_AGE);
	return run(b, ST_JOURNAL_PRUNE, "prune journal");
}

static int op_learn(struct bayes_store *s, const struct bayes_batch *bt)
{
	struct bayes_sqlite *b = (struct bayes_sqlite *)s;
	int64_t now = (int64_t)time(NULL);

	if (run(b, ST_BEGIN, "begin") < 0)
		return -1;
	if (learn_tokens(b, bt) < 0 || learn_seen(b, bt, now) < 0 || learn_state(b, bt, now) < 0 ||
	    run(b, ST_COMMIT, "commit") < 0) {
		char keep[sizeof(b->base.err)];

		memcpy(keep, b->base.err, sizeof(keep));
		run(b, ST_ROLLBACK, "rollback");
		memcpy(b->base.err, keep, sizeof(keep));
		return -1;
	}
	return 0;
}

static int op_stats(struct bayes_store *s, struct bayes_stats *out)
{
	struct bayes_sqlite *b = (struct bayes_sqlite *)s;
	sqlite3_stmt *st = b->st[ST_TOKEN_COUNT];
	int rc;

	if (read_state(b, &out->spam, &out->ham, &out->generation) < 0)
		return -1;
	rc = sqlite3_step(st);
	out->tokens = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : fail(b, "count tokens");
}

static void op_close(struct bayes_store *s)
{
	struct bayes_sqlite *b = (struct bayes_sqlite *)s;

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(b->st[i]);
	if (b->cache && !b->cache->shared)
		bayes_cache_free(b->cache);
	free(b);
}

static const struct bayes_store_ops sqlite_ops = {
	.totals = op_totals,
	.lookup = op_lookup,
	.seen = op_seen,
	.learn = op_learn,
	.stats = op_stats,
	.close = op_close,
};

struct bayes_store *bayes_store_sqlite_new(void *sqlite_db, struct bayes_cache *cache)
{
	struct bayes_sqlite *b = xcalloc(1, sizeof(*b));

	b->base.ops = &sqlite_ops;
	b->db = sqlite_db;
	for (int i = 0; i < ST_COUNT; i++) {
		char *many = i == ST_UPSERT_MANY ? upsert_many_sql() : NULL;
		int rc = sqlite3_prepare_v3(b->db, many ? many : sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT, &b->st[i], NULL);

		free(many);
		if (rc != SQLITE_OK) {
			op_close(&b->base);
			return NULL;
		}
	}
	if (cache == NULL) {
		cache = bayes_cache_new();
		cache->shared = 0;
	}
	b->cache = cache;
	return &b->base;
}
