/*
 * gl_store - where greylisting keeps its state.
 *
 * A small interface so the SQLite store (the default, gl_store_sqlite.c)
 * can later be joined by a Redis one shared by several MX hosts. Writes
 * may be held back and made durable together by gl_store_flush(): the
 * policy server calls it once per event-loop round, before it sends the
 * replies of that round, so no answer is given for state that a crash
 * could still lose (group commit).
 */
#ifndef MOAT_GL_STORE_H
#define MOAT_GL_STORE_H

#include <stddef.h>
#include <stdint.h>

/* One triplet's state. */
struct gl_entry {
	uint64_t id;		/* hash of the triplet */
	const char *client;	/* network or host, as text */
	const char *sender;	/* normalised */
	const char *recipient;
	int64_t first_seen;	/* start of the current wait */
	int64_t last_seen;
	int64_t passed_at;	/* 0 while waiting */
};

/* One client's allow-list state. */
struct gl_client {
	int count;		/* successful retries counted */
	int64_t last_seen;
	int manual;		/* allowed by hand */
};

struct gl_store;

/*
 * A write found that what the lookups before it saw is out of date
 * (another process wrote meanwhile): nothing was written, the store now
 * holds the write lock, and the caller must look up again and decide anew.
 */
#define GL_STORE_RETRY (-2)

struct gl_store_ops {
	/* 1 and *e filled (text fields point into store memory) if found, 0 if not, -1. */
	int (*get)(struct gl_store *s, uint64_t id, struct gl_entry *e);
	/* Insert or replace; 0, -1, or GL_STORE_RETRY. */
	int (*put)(struct gl_store *s, const struct gl_entry *e);
	/* 1 and *c filled if found, 0 if not, -1. */
	int (*client_get)(struct gl_store *s, const char *client, struct gl_client *c);
	/* Insert or replace; 0, -1, or GL_STORE_RETRY. */
	int (*client_put)(struct gl_store *s, const char *client, const struct gl_client *c);
	/* Make held-back writes durable; 0 or -1. */
	int (*flush)(struct gl_store *s);
	/* End a transaction that only looked things up; held writes stay held. */
	void (*end_read)(struct gl_store *s);
	/* Expire a slice of old entries; returns rows removed or -1. */
	int (*expire)(struct gl_store *s, int64_t now, int64_t max_age, int64_t retry_window);
	/* on: fail at once when another process holds the lock, instead of waiting. */
	void (*fail_fast)(struct gl_store *s, int on);
	/* Release everything (flushes first). */
	void (*close)(struct gl_store *s);
};

struct gl_store {
	const struct gl_store_ops *ops;
	char err[256];		/* last error, for log lines */
};

/* Greylist store in an open SQLite database (not owned), waiting up to busy_ms
 * for locks. NULL on failure. */
struct gl_store *gl_store_sqlite_new(void *sqlite_db, int busy_ms);

static inline int gl_store_get(struct gl_store *s, uint64_t id, struct gl_entry *e)
{
	return s->ops->get(s, id, e);
}

static inline int gl_store_put(struct gl_store *s, const struct gl_entry *e)
{
	return s->ops->put(s, e);
}

static inline int gl_store_client_get(struct gl_store *s, const char *client, struct gl_client *c)
{
	return s->ops->client_get(s, client, c);
}

static inline int gl_store_client_put(struct gl_store *s, const char *client,
				      const struct gl_client *c)
{
	return s->ops->client_put(s, client, c);
}

static inline int gl_store_flush(struct gl_store *s)
{
	return s->ops->flush(s);
}

static inline int gl_store_expire(struct gl_store *s, int64_t now, int64_t max_age,
				  int64_t retry_window)
{
	return s->ops->expire(s, now, max_age, retry_window);
}

static inline void gl_store_end_read(struct gl_store *s)
{
	s->ops->end_read(s);
}

static inline void gl_store_fail_fast(struct gl_store *s, int on)
{
	s->ops->fail_fast(s, on);
}

static inline void gl_store_close(struct gl_store *s)
{
	if (s)
		s->ops->close(s);
}

#endif
