/*
 * bayes_store - where the Bayes classifier keeps its token counts.
 *
 * A small interface, like gl_store, so the SQLite store (the default,
 * bayes_store_sqlite.c) can later be joined by a Redis one shared by
 * several MX hosts. Learning hands the store one batch: the summed
 * changes of many messages, sorted by token, written in one transaction.
 * Lookups must see what other processes learned (the milter never
 * restarts for it); how fresh they are is the store's business.
 */
#ifndef MOAT_BAYES_STORE_H
#define MOAT_BAYES_STORE_H

#include <stddef.h>
#include <stdint.h>

enum bayes_class { BAYES_NONE = 0, BAYES_CLASS_SPAM = 1, BAYES_CLASS_HAM = 2 };

/* How many learned messages of each class held a token. */
struct bayes_counts {
	uint32_t spam, ham;
};

/* A change to one token's counts. */
struct bayes_delta {
	uint64_t token;
	int32_t spam, ham;
};

/* A message learned (cls) or forgotten (BAYES_NONE). */
struct bayes_seen {
	uint64_t msg;
	int cls;
};

/* One learning transaction. */
struct bayes_batch {
	const struct bayes_delta *d;	/* sorted by token, each token once */
	size_t n;
	int64_t spam, ham;		/* change in messages learned */
	const struct bayes_seen *seen;
	size_t nseen;
};

struct bayes_stats {
	int64_t spam, ham;		/* messages learned */
	int64_t tokens;			/* tokens stored */
	int64_t generation;		/* learning transactions so far */
};

struct bayes_store;

struct bayes_store_ops {
	/* Messages learned of each class (fresh); 0 or -1. */
	int (*totals)(struct bayes_store *s, int64_t *spam, int64_t *ham);
	/* Counts of n tokens into c[]; 0 or -1. */
	int (*lookup)(struct bayes_store *s, const uint64_t *tok, size_t n, struct bayes_counts *c);
	/* Class a message was learned as (BAYES_NONE if never); -1 on error. */
	int (*seen)(struct bayes_store *s, uint64_t msg);
	/* Apply one batch atomically; 0 or -1. */
	int (*learn)(struct bayes_store *s, const struct bayes_batch *b);
	/* Totals and table size; 0 or -1. */
	int (*stats)(struct bayes_store *s, struct bayes_stats *st);
	/* Release everything. */
	void (*close)(struct bayes_store *s);
};

struct bayes_store {
	const struct bayes_store_ops *ops;
	char err[256];		/* last error, for log lines */
};

struct bayes_cache;

/*
 * The tokens in memory, shared by the stores of one process (one per
 * milter thread) so they are held once; thread-safe. Refreshed from the
 * database's journal of learning transactions.
 */
struct bayes_cache *bayes_cache_new(void);
/* Free (NULL is fine); after every store using it is closed. */
void bayes_cache_free(struct bayes_cache *c);

/* Bayes store in an open SQLite database (not owned); cache may be NULL (a
 * private one). NULL on failure. */
struct bayes_store *bayes_store_sqlite_new(void *sqlite_db, struct bayes_cache *cache);

static inline int bayes_store_totals(struct bayes_store *s, int64_t *spam, int64_t *ham)
{
	return s->ops->totals(s, spam, ham);
}

static inline int bayes_store_lookup(struct bayes_store *s, const uint64_t *tok, size_t n,
				     struct bayes_counts *c)
{
	return s->ops->lookup(s, tok, n, c);
}

static inline int bayes_store_seen(struct bayes_store *s, uint64_t msg)
{
	return s->ops->seen(s, msg);
}

static inline int bayes_store_learn(struct bayes_store *s, const struct bayes_batch *b)
{
	return s->ops->learn(s, b);
}

static inline int bayes_store_stats(struct bayes_store *s, struct bayes_stats *st)
{
	return s->ops->stats(s, st);
}

static inline void bayes_store_close(struct bayes_store *s)
{
	if (s)
		s->ops->close(s);
}

#endif
