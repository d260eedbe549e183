/*
 * greylist_msg - the content filter's greylisting of a message (the
 * "greylist" action); see greylist_msg.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cf.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "greylist_msg.h"

/* A header Postfix may write anew on each attempt: never part of the key. */
static int volatile_header(const char *h, size_t len, const char *qid)
{
	static const char *const names[] = {"Received:", "Date:", "Resent-Date:"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len >= strlen(names[i]) && strncasecmp(h, names[i], strlen(names[i])) == 0)
			return 1;
	/*
	 * A Message-ID (or anything) holding this attempt's queue ID is Postfix's;
	 * without the queue ID no Message-ID can be trusted to come again.
	 */
	if (qid == NULL)
		return (len >= 11 && strncasecmp(h, "Message-ID:", 11) == 0) ||
		       (len >= 18 && strncasecmp(h, "Resent-Message-ID:", 18) == 0);
	return memmem(h, len, qid, strlen(qid)) != NULL;
}


static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The content filter's greylist key: what a retry of the same message
 * brings again. Postfix writes some headers anew on every attempt: for mail
 * submitted on this host and for clients in local_header_rewrite_clients
 * that send none, a Date and a Message-ID that holds the queue ID; its own
 * Received has the queue ID too. So the key is the envelope sender, the
 * recipients (sorted: the order may change) and the message as scanned,
 * less the headers volatile_header() names. With a changing header left
 * in, the message would never be recognised and greylisted for ever.
 */
static uint64_t greylist_key(const struct cf_conn *c, const char *qid)
{
	const char *p = c->raw.data ? c->raw.data : "", *end = p + c->raw.len;
	char *rcpts[MAX_RCPTS];
	struct sbuf key;
	uint64_t id;

	sbuf_init(&key);
	sbuf_printf(&key, "%s|", c->from);
	memcpy(rcpts, c->rcpts, (size_t)c->nrcpt * sizeof(rcpts[0]));
	qsort(rcpts, (size_t)c->nrcpt, sizeof(rcpts[0]), cmp_str);
	for (int i = 0; i < c->nrcpt; i++)
		sbuf_printf(&key, "%s,", rcpts[i]);
	sbuf_putc(&key, '|');
	/* Headers one by one (a folded one spans lines that start with white space). */
	while (p < end && *p != '\n') {
		const char *h = p;

		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		if (!volatile_header(h, (size_t)(p - h), qid))
			sbuf_append(&key, h, (size_t)(p - h));
	}
	sbuf_append(&key, p, (size_t)(end - p));
	id = hash64(key.data, key.len);
	sbuf_free(&key);
	return id;
}

/*
 * The content filter's own greylisting: a message is tempfailed until it
 * comes back after delay seconds. Its statements are prepared once per
 * worker (STYLE.md, "SQL"), named by an enum.
 */
enum { ST_GET, ST_PUT, ST_COUNT };

static const char *const sql[ST_COUNT] = {
	[ST_GET] = "SELECT first_seen FROM milter_greylist WHERE id = ?1",
	[ST_PUT] = "INSERT INTO milter_greylist (id, first_seen, last_seen)"
		   " VALUES (?1, ?2, ?2) ON CONFLICT (id) DO UPDATE SET last_seen = ?2",
};

struct greylist_msg {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

struct greylist_msg *greylist_msg_new(sqlite3 *db, char *err, size_t errlen)
{
	struct greylist_msg *g = xcalloc(1, sizeof(*g));

	g->db = db;
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &g->st[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "milter_greylist: %s", sqlite3_errmsg(db));
			greylist_msg_free(g);
			return NULL;
		}
	return g;
}

void greylist_msg_free(struct greylist_msg *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(g->st[i]);
	free(g);
}

int greylist_msg_check(struct greylist_msg *g, const struct cf_conn *c, const char *qid,
		       long delay, long long *waited)
{
	sqlite3_stmt *get = g->st[ST_GET], *put = g->st[ST_PUT];
	long long now = (long long)time(NULL), first = -1;
	uint64_t id = greylist_key(c, qid);
	int rc;

	*waited = 0;
	sqlite3_bind_int64(get, 1, (sqlite3_int64)id);
	if ((rc = sqlite3_step(get)) == SQLITE_ROW)
		first = sqlite3_column_int64(get, 0);
	sqlite3_reset(get);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	sqlite3_bind_int64(put, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(put, 2, now);
	rc = sqlite3_step(put);
	sqlite3_reset(put);
	if (rc != SQLITE_DONE)
		return -1;
	if (first >= 0 && now - first >= delay) {
		*waited = now - first;
		return 1;
	}
	*waited = first >= 0 ? now - first : 0;
	return 0;
}
