/*
 * mapfetch - lists from files and URLs, refreshed by a thread; see mapfetch.h.
 *
 * Who touches what: a source's map is read only by the event loop; what the
 * thread builds goes through `pending' under the mutex, and maps the loop
 * no longer uses go back through `retired' to be freed by the thread (a
 * list of a million entries takes a while to free, too). Everything else
 * in a source is the thread's. The thread wakes at least once a second
 * (curl_multi_poll) to see what is due; curl_multi_wakeup() stops it.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "core/hash.h"
#include "core/log.h"
#include "maps/mapfetch.h"
#include "maps/maps.h"
#include "core/mem.h"
#include "core/sbuf.h"

#define LISTS_MAX 16
#define FILE_CHECK 5      /* seconds between stat()s of a file */
#define RETRY_MAX 300     /* a failed URL is tried again within this */
#define VALIDATOR_MAX 512 /* longer ETag / Last-Modified values are not kept */
#define REDIRECTS_MAX 5L
#define START_SLACK 5 /* seconds past the fetch timeout mapfetch_start() waits */

struct source {
	struct mapfetch *mf;
	struct mapfetch_list *list;
	char *loc;      /* URL as configured (may hold a password), or NULL */
	char *path;     /* file sources: the path, else NULL */
	char name[512]; /* for logs and the table: no credentials */

	/* The thread's. */
	time_t due; /* next check */
	CURL *easy; /* fetch in flight */
	struct curl_slist *hdrs;
	struct sbuf body;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	/* Validators of the copy in use, and of the answer coming in. */
	char etag[VALIDATOR_MAX], lastmod[VALIDATOR_MAX];
	char new_etag[VALIDATOR_MAX], new_lastmod[VALIDATOR_MAX];
	int have_copy;    /* a good copy is in use */
	size_t entries;   /* in that copy */
	time_t copy_time; /* when it was fetched or read */
	uint64_t hash;    /* of the copy in use (URLs) */
	struct stat st;   /* the file as last read */
	int file_seen;    /* st is valid */
	int missing;      /* the file was missing at the last check */

	/* Hand-over, under mf->mu. */
	struct map *pending;

	/* The event loop's. */
	struct map *map;
};

struct mapfetch_list {
	char name[64];
	int clients;
	struct source *src[MAPFETCH_SOURCES_MAX];
	int n;
};

struct mapfetch {
	struct mapfetch_params p;
	char *db_path;
	struct mapfetch_list lists[LISTS_MAX];
	int nlists;
	int nsources;
	pthread_t th;
	int started;
	time_t launched; /* when the thread started */
	CURLM *multi;

	/* Under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int first_done; /* every source was read once */
	int any_pending;
	struct map **retired;
	size_t nretired, cap_retired;

	/* The thread's. */
	int inflight;
	sqlite3 *db;
	sqlite3_stmt *st_load, *st_touch, *st_store, *st_checked, *st_error, *st_asked;
	sqlite_int64 asked; /* last moatctl maps refresh seen */
	time_t asked_check;
	int db_warned;
};

struct mapfetch *mapfetch_new(const struct mapfetch_params *p)
{
	struct mapfetch *mf = xcalloc(1, sizeof(*mf));

	mf->p = *p;
	mf->db_path = p->db_path ? xstrdup(p->db_path) : NULL;
	mf->p.db_path = mf->db_path;
	if (mf->p.refresh < 1)
		mf->p.refresh = 1;
	pthread_mutex_init(&mf->mu, NULL);
	pthread_cond_init(&mf->cv, NULL);
	return mf;
}

static int has_scheme(const char *s, const char *scheme)
{
	return strncasecmp(s, scheme, strlen(scheme)) == 0;
}

void mapfetch_redact(const char *url, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *s = NULL, *q = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_QUERY, &q, 0);
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		curl_url_get(u, CURLUPART_URL, &s, 0);
	}
	/* A query often carries an access key: show that there was one, not what. */
	snprintf(out, outlen, "%s%s", s ? s : "(unparsable URL)", q ? "?..." : "");
	curl_free(s);
	curl_free(q);
	curl_url_cleanup(u);
}

/* The path of a file:// URL (local host only), decoded; NULL if it is no such URL. */
static char *file_url_path(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *path = NULL, *ret = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_HOST, &host, 0);
		if ((host == NULL || *host == '\0' || strcasecmp(host, "localhost") == 0) &&
		    path[0] == '/' && strlen(path) == strcspn(path, "\r\n"))
			ret = xstrdup(path);
	}
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

/* One source from the configuration; -1 with err if it is no path or usable URL. */
static int source_init(struct source *s, const char *t, char *err, size_t errlen)
{
	CURLU *u;
	int ok;

	if (has_scheme(t, "http://") || has_scheme(t, "https://")) {
		u = curl_url();
		ok = u && curl_url_set(u, CURLUPART_URL, t, 0) == CURLUE_OK;
		curl_url_cleanup(u);
		mapfetch_redact(t, s->name, sizeof(s->name));
		if (!ok) {
			snprintf(err, errlen, "not a valid URL: %s", s->name);
			return -1;
		}
		s->loc = xstrdup(t);
		return 0;
	}
	if (has_scheme(t, "file://")) {
		mapfetch_redact(t, s->name, sizeof(s->name));
		if ((s->path = file_url_path(t)) == NULL) {
			snprintf(err, errlen, "not a file URL of this host (file:///PATH): %s",
			         s->name);
			return -1;
		}
		return 0;
	}
	if (strstr(t, "://")) {
		snprintf(err, errlen,
		         "only http://, https:// and file:// URLs are supported: %.100s", t);
		return -1;
	}
	snprintf(s->name, sizeof(s->name), "%s", t);
	s->path = xstrdup(t);
	return 0;
}

static void source_free(struct source *s)
{
	if (s == NULL)
		return;
	free(s->loc);
	free(s->path);
	sbuf_free(&s->body);
	map_free(s->pending);
	map_free(s->map);
	free(s);
}

struct mapfetch_list *mapfetch_add(struct mapfetch *mf, const char *name, int clients,
                                   const char *sources, char *err, size_t errlen)
{
	struct mapfetch_list *l;
	char *copy, *save = NULL;
	int rc = 0;

	if (mf->nlists == LISTS_MAX || mf->started) {
		snprintf(err, errlen, "%s: too many lists", name);
		return NULL;
	}
	l = &mf->lists[mf->nlists];
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->clients = clients;
	copy = xstrdup(sources);
	for (char *t = strtok_r(copy, ", \t", &save); t && rc == 0;
	     t = strtok_r(NULL, ", \t", &save)) {
		struct source *s;
		char why[700];

		if (l->n == MAPFETCH_SOURCES_MAX) {
			snprintf(err, errlen, "%s: more than %d sources", name,
			         MAPFETCH_SOURCES_MAX);
			rc = -1;
			break;
		}
		s = xcalloc(1, sizeof(*s));
		s->mf = mf;
		s->list = l;
		sbuf_init(&s->body);
		if (source_init(s, t, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", name, why);
			source_free(s);
			rc = -1;
			break;
		}
		l->src[l->n++] = s;
	}
	free(copy);
	if (rc < 0) {
		for (int i = 0; i < l->n; i++)
			source_free(l->src[i]);
		return NULL;
	}
	mf->nsources += l->n;
	mf->nlists++;
	return l;
}

/* --- the thread: database ------------------------------------------------- */

static void db_warn(struct mapfetch *mf, const char *what)
{
	/* Lists still work from memory; say it once, not at every refresh. */
	if (!mf->db_warned)
		msg_warn("maps: cannot %s in the database: %s", what, sqlite3_errmsg(mf->db));
	mf->db_warned = 1;
}

static void bind_key(sqlite3_stmt *st, const struct source *s)
{
	sqlite3_bind_text(st, 1, s->list->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
}

/* Step a write statement with its parameters bound, then reset it. */
static void db_write(struct mapfetch *mf, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		db_warn(mf, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int configured(struct mapfetch *mf, const char *list, const char *name)
{
	for (int i = 0; i < mf->nlists; i++) {
		struct mapfetch_list *l = &mf->lists[i];

		for (int j = 0; strcmp(l->name, list) == 0 && j < l->n; j++)
			if (strcmp(l->src[j]->name, name) == 0)
				return 1;
	}
	return 0;
}

/* Rows of sources no longer in moat.conf would only confuse moatctl maps. */
static void forget_unconfigured(struct mapfetch *mf)
{
	sqlite3_stmt *sel = NULL, *del = NULL;
	char **keys = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(mf->db, "SELECT list, source FROM map_sources", -1, &sel, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(mf->db, "DELETE FROM map_sources WHERE list = ?1 AND source = ?2",
	                       -1, &del, NULL) != SQLITE_OK) {
		db_warn(mf, "clean up rows");
		goto out;
	}
	while (sqlite3_step(sel) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(sel, 0);
		const char *s = (const char *)sqlite3_column_text(sel, 1);

		if (l && s && !configured(mf, l, s)) {
			keys = xrealloc(keys, (n + 2) * sizeof(*keys));
			keys[n++] = xstrdup(l);
			keys[n++] = xstrdup(s);
		}
	}
	for (size_t i = 0; i < n; i += 2) {
		sqlite3_bind_text(del, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(del, 2, keys[i + 1], -1, SQLITE_STATIC);
		db_write(mf, del, "clean up rows");
	}
out:
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
}

static void db_setup(struct mapfetch *mf)
{
	char err[512];
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
	    {offsetof(struct mapfetch, st_load),
	     "SELECT body, etag, last_modified, fetched_at FROM map_sources"
	     " WHERE list = ?1 AND source = ?2 AND body IS NOT NULL"},
	    {offsetof(struct mapfetch, st_touch),
	     "INSERT INTO map_sources (list, source) VALUES (?1, ?2) ON CONFLICT DO NOTHING"},
	    {offsetof(struct mapfetch, st_store),
	     "UPDATE map_sources SET body = ?3, etag = ?4, last_modified = ?5, entries = ?6,"
	     " fetched_at = ?7, checked_at = ?7, error = NULL, error_at = NULL"
	     " WHERE list = ?1 AND source = ?2"},
	    {offsetof(struct mapfetch, st_checked),
	     "UPDATE map_sources SET checked_at = ?3, error = NULL, error_at = NULL"
	     " WHERE list = ?1 AND source = ?2"},
	    {offsetof(struct mapfetch, st_error),
	     "UPDATE map_sources SET error = ?3, error_at = ?4, entries = ?5"
	     " WHERE list = ?1 AND source = ?2"},
	    {offsetof(struct mapfetch, st_asked), "SELECT max(refresh_asked) FROM map_sources"},
	};

	if (mf->db_path == NULL)
		return;
	mf->db = db_open(mf->db_path, mf->p.busy_ms, err, sizeof(err));
	if (mf->db == NULL) {
		msg_warn("maps: %s; last good copies are not kept", err);
		return;
	}
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)((char *)mf + stmts[i].off);

		if (sqlite3_prepare_v2(mf->db, stmts[i].sql, -1, st, NULL) != SQLITE_OK) {
			msg_warn(
			    "maps: cannot prepare statements: %s; last good copies are not kept",
			    sqlite3_errmsg(mf->db));
			return;
		}
	}
	forget_unconfigured(mf);
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++) {
			bind_key(mf->st_touch, mf->lists[i].src[j]);
			db_write(mf, mf->st_touch, "add rows");
		}
	if (sqlite3_step(mf->st_asked) == SQLITE_ROW)
		mf->asked = sqlite3_column_int64(mf->st_asked, 0);
	sqlite3_reset(mf->st_asked);
}

static void db_teardown(struct mapfetch *mf)
{
	sqlite3_finalize(mf->st_load);
	sqlite3_finalize(mf->st_touch);
	sqlite3_finalize(mf->st_store);
	sqlite3_finalize(mf->st_checked);
	sqlite3_finalize(mf->st_error);
	sqlite3_finalize(mf->st_asked);
	db_close(mf->db);
}

static int db_ready(const struct mapfetch *mf)
{
	return mf->db && mf->st_asked;
}

/* --- the thread: lists ---------------------------------------------------- */

static const char *time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "an unknown time");
	return buf;
}

/* Hand a new map to the event loop (which swaps it in at mapfetch_poll). */
static void post(struct source *s, struct map *m)
{
	struct mapfetch *mf = s->mf;
	struct map *old;

	pthread_mutex_lock(&mf->mu);
	old = s->pending;
	s->pending = m;
	mf->any_pending = 1;
	pthread_mutex_unlock(&mf->mu);
	map_free(old);
}

/* Free the maps the loop gave back. */
static void free_retired(struct mapfetch *mf)
{
	struct map **r;
	size_t n;

	pthread_mutex_lock(&mf->mu);
	r = mf->retired;
	n = mf->nretired;
	mf->retired = NULL;
	mf->nretired = mf->cap_retired = 0;
	pthread_mutex_unlock(&mf->mu);
	for (size_t i = 0; i < n; i++)
		map_free(r[i]);
	free(r);
}

static struct map *parse(struct source *s, const char *text, size_t len, char *err, size_t errlen)
{
	struct map *m = map_new();

	if (map_parse(m, s->list->clients, s->name, text, len, s->mf->p.max_entries, err, errlen) <
	    0) {
		map_free(m);
		return NULL;
	}
	return m;
}

/* Note why the last check failed, for moatctl maps. */
static void note_error(struct source *s, time_t now, const char *why)
{
	struct mapfetch *mf = s->mf;

	if (!db_ready(mf))
		return;
	bind_key(mf->st_error, s);
	sqlite3_bind_text(mf->st_error, 3, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(mf->st_error, 4, (sqlite3_int64)now);
	sqlite3_bind_int64(mf->st_error, 5, (sqlite3_int64)s->entries);
	db_write(mf, mf->st_error, "note a failure");
}

/* A check failed: keep the copy in use and say so in one line. */
static void fail(struct source *s, time_t now, const char *reason)
{
	char when[64], why[CURL_ERROR_SIZE + 64];
	size_t n = 0;

	/* Reasons may quote a server (curl's messages): no control characters in the log. */
	for (; reason[n] && n + 1 < sizeof(why); n++)
		why[n] = (unsigned char)reason[n] < ' ' || reason[n] == 0x7f ? '?' : reason[n];
	why[n] = '\0';
	if (s->have_copy)
		msg_warn("map %s %s: %s; keeping the copy of %s (%zu entries)", s->list->name,
		         s->name, why, time_text(s->copy_time, when, sizeof(when)), s->entries);
	else
		msg_warn("map %s %s: %s; no copy yet, the source adds nothing to the list",
		         s->list->name, s->name, why);
	note_error(s, now, why);
}

/* A new copy parsed: use it, and keep it (body NULL for files, their own copy). */
static void accept_copy(struct source *s, struct map *m, const char *body, size_t len, time_t now)
{
	struct mapfetch *mf = s->mf;

	s->have_copy = 1;
	s->entries = map_size(m);
	s->copy_time = now;
	post(s, m);
	if (!db_ready(mf))
		return;
	bind_key(mf->st_store, s);
	if (body)
		sqlite3_bind_blob64(mf->st_store, 3, body, len, SQLITE_STATIC);
	if (body && s->etag[0])
		sqlite3_bind_text(mf->st_store, 4, s->etag, -1, SQLITE_STATIC);
	if (body && s->lastmod[0])
		sqlite3_bind_text(mf->st_store, 5, s->lastmod, -1, SQLITE_STATIC);
	sqlite3_bind_int64(mf->st_store, 6, (sqlite3_int64)s->entries);
	sqlite3_bind_int64(mf->st_store, 7, (sqlite3_int64)now);
	db_write(mf, mf->st_store, "store a copy");
}

/* Start-up: the copy a previous run kept, in use until a fetch brings a newer one. */
static void load_stored(struct source *s)
{
	struct mapfetch *mf = s->mf;
	sqlite3_stmt *st = mf->st_load;
	const char *etag, *lastmod;
	const void *body;
	char err[256], when[64];
	struct map *m;
	size_t len;

	if (!db_ready(mf))
		return;
	bind_key(st, s);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return;
	}
	/* A zero-length blob comes back as NULL. */
	body = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	m = parse(s, body ? body : "", len, err, sizeof(err));
	if (m == NULL) {
		/* Limits may have shrunk since it was stored. */
		msg_warn("map %s %s: stored copy not used: %s", s->list->name, s->name, err);
	} else {
		etag = (const char *)sqlite3_column_text(st, 1);
		lastmod = (const char *)sqlite3_column_text(st, 2);
		snprintf(s->etag, sizeof(s->etag), "%s", etag ? etag : "");
		snprintf(s->lastmod, sizeof(s->lastmod), "%s", lastmod ? lastmod : "");
		s->copy_time = (time_t)sqlite3_column_int64(st, 3);
		s->hash = hash64(body ? body : "", len);
		s->entries = map_size(m);
		s->have_copy = 1;
		msg_info("map %s %s: %zu entries from the copy stored at %s, until it is fetched",
		         s->list->name, s->name, s->entries,
		         time_text(s->copy_time, when, sizeof(when)));
		post(s, m);
	}
	sqlite3_reset(st);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Read at most max bytes of path into sb; -1 with err. */
static int read_file(const char *path, size_t max, struct sbuf *sb, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	sbuf_reset(sb);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (sb->len + (size_t)n > max) {
			snprintf(err, errlen, "larger than %zu bytes (map_size_limit)", max);
			close(fd);
			return -1;
		}
		sbuf_append(sb, buf, (size_t)n);
	}
	if (n < 0)
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* A file missing: its entries go (as when postgrey re-reads its lists). */
static void file_missing(struct source *s, time_t now)
{
	if (s->missing)
		return;
	s->missing = 1;
	s->file_seen = 0;
	s->have_copy = 0;
	s->entries = 0;
	post(s, map_new());
	/* As postgrey: a missing ".local" file is normal. */
	if (ends_with(s->path, ".local"))
		return;
	msg_warn("map %s %s: file not found; the list goes on without it", s->list->name, s->name);
	note_error(s, now, "file not found");
}

static void check_file(struct source *s, time_t now)
{
	struct stat st;
	char err[256];
	struct map *m;
	int refresh = s->mf->p.refresh;

	s->due = now + (refresh < FILE_CHECK ? refresh : FILE_CHECK);
	if (stat(s->path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			file_missing(s, now);
		else
			fail(s, now, strerror(errno));
		return;
	}
	if (s->file_seen && same_file(&st, &s->st))
		return;
	/* Noted even if the file is bad: one warning per change, not per check. */
	s->st = st;
	s->file_seen = 1;
	s->missing = 0;
	if (read_file(s->path, s->mf->p.max_bytes, &s->body, err, sizeof(err)) < 0 ||
	    (m = parse(s, s->body.data ? s->body.data : "", s->body.len, err, sizeof(err))) ==
	        NULL) {
		sbuf_free(&s->body);
		fail(s, now, err);
		return;
	}
	sbuf_free(&s->body);
	accept_copy(s, m, NULL, 0, now);
	msg_info("map %s %s: %zu entries", s->list->name, s->name, s->entries);
}

/* --- the thread: HTTP ------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct source *s = arg;
	size_t len = size * n;

	/* Servers need not send Content-Length: the limit is enforced here too. */
	if (s->body.len + len > s->mf->p.max_bytes) {
		s->too_big = 1;
		return 0;
	}
	sbuf_append(&s->body, p, len);
	return len;
}

/* Keep the value of header `name' if the line is that header and the value is sane. */
static void header_value(const char *p, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);

	if (len <= nlen || strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
		return;
	p += nlen + 1;
	len -= nlen + 1;
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && strchr(" \t\r\n", p[len - 1]))
		len--;
	/* It goes back in our next request: no control characters, no overlong value. */
	if (len == 0 || len >= outlen)
		return;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
			return;
	memcpy(out, p, len);
	out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct source *s = arg;
	size_t len = size * n;

	/* A status line starts each response of a redirect chain: keep the last one's. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		s->new_etag[0] = s->new_lastmod[0] = '\0';
		return len;
	}
	header_value(p, len, "etag", s->new_etag, sizeof(s->new_etag));
	header_value(p, len, "last-modified", s->new_lastmod, sizeof(s->new_lastmod));
	return len;
}

static void add_header(struct source *s, const char *name, const char *value)
{
	char h[VALIDATOR_MAX + 64];

	snprintf(h, sizeof(h), "%s: %s", name, value);
	s->hdrs = curl_slist_append(s->hdrs, h);
}

static void start_fetch(struct source *s, time_t now)
{
	struct mapfetch *mf = s->mf;
	CURL *h = curl_easy_init();

	s->due = now + mf->p.refresh;
	if (h == NULL) {
		fail(s, now, "cannot set up a transfer (out of memory?)");
		return;
	}
	sbuf_reset(&s->body);
	s->too_big = 0;
	s->errbuf[0] = '\0';
	s->new_etag[0] = s->new_lastmod[0] = '\0';
	if (s->have_copy && s->etag[0])
		add_header(s, "If-None-Match", s->etag);
	if (s->have_copy && s->lastmod[0])
		add_header(s, "If-Modified-Since", s->lastmod);
	curl_easy_setopt(h, CURLOPT_URL, s->loc);
	curl_easy_setopt(h, CURLOPT_PRIVATE, s);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, REDIRECTS_MAX);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)mf->p.timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)mf->p.max_bytes);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "moat/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	if (s->hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
	if (curl_multi_add_handle(mf->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		curl_slist_free_all(s->hdrs);
		s->hdrs = NULL;
		fail(s, now, "cannot start the transfer");
		return;
	}
	s->easy = h;
	mf->inflight++;
}

static void end_fetch(struct source *s)
{
	curl_multi_remove_handle(s->mf->multi, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->hdrs);
	s->easy = NULL;
	s->hdrs = NULL;
	s->mf->inflight--;
	/* A big body is not kept between fetches. */
	sbuf_free(&s->body);
}

/* What came back, if it is not a new copy; NULL if it is one (200). */
static const char *fetch_problem(struct source *s, CURLcode rc, long code, char *why, size_t len)
{
	if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(why, len, "larger than %zu bytes (map_size_limit)", s->mf->p.max_bytes);
	else if (rc != CURLE_OK)
		snprintf(why, len, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
	else if (code != 200)
		snprintf(why, len, "HTTP status %ld", code);
	else
		return NULL;
	return why;
}

/* The copy in use is still current. */
static void unchanged(struct source *s, time_t now, const char *how)
{
	struct mapfetch *mf = s->mf;

	msg_debug("map %s %s: %s", s->list->name, s->name, how);
	if (!db_ready(mf))
		return;
	bind_key(mf->st_checked, s);
	sqlite3_bind_int64(mf->st_checked, 3, (sqlite3_int64)now);
	db_write(mf, mf->st_checked, "note a check");
}

static void finish_fetch(struct source *s, CURLcode rc, time_t now)
{
	struct mapfetch *mf = s->mf;
	const char *body = s->body.data ? s->body.data : "";
	char why[CURL_ERROR_SIZE + 64], err[256];
	long code = 0;
	struct map *m;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code == 304 && s->have_copy) {
		unchanged(s, now, "not modified");
	} else if (fetch_problem(s, rc, code, why, sizeof(why))) {
		s->due = now + (mf->p.refresh < RETRY_MAX ? mf->p.refresh : RETRY_MAX);
		fail(s, now, why);
	} else if (s->have_copy && hash64(body, s->body.len) == s->hash) {
		/* A server without validators: same bytes, no need to parse and store again. */
		memcpy(s->etag, s->new_etag, sizeof(s->etag));
		memcpy(s->lastmod, s->new_lastmod, sizeof(s->lastmod));
		unchanged(s, now, "same content");
	} else if ((m = parse(s, body, s->body.len, err, sizeof(err))) == NULL) {
		fail(s, now, err);
	} else {
		memcpy(s->etag, s->new_etag, sizeof(s->etag));
		memcpy(s->lastmod, s->new_lastmod, sizeof(s->lastmod));
		s->hash = hash64(body, s->body.len);
		accept_copy(s, m, body, s->body.len, now);
		msg_info("map %s %s: %zu entries (%zu bytes fetched)", s->list->name, s->name,
		         s->entries, s->body.len);
	}
	end_fetch(s);
}

static void drain(struct mapfetch *mf, time_t now)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(mf->multi, &left)) != NULL) {
		CURLcode rc = msg->data.result;
		void *s = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
		finish_fetch(s, rc, now);
	}
}

/* moatctl maps refresh: every source is due now. */
static void check_asked(struct mapfetch *mf, time_t now)
{
	sqlite_int64 v = 0;

	if (!db_ready(mf) || now == mf->asked_check)
		return;
	mf->asked_check = now;
	if (sqlite3_step(mf->st_asked) == SQLITE_ROW)
		v = sqlite3_column_int64(mf->st_asked, 0);
	sqlite3_reset(mf->st_asked);
	if (v <= mf->asked)
		return;
	mf->asked = v;
	msg_info("maps: refresh asked for; checking every source now");
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++) {
			mf->lists[i].src[j]->due = 0;
			mf->lists[i].src[j]->file_seen = 0;
		}
}

static int stopping(struct mapfetch *mf)
{
	int stop;

	pthread_mutex_lock(&mf->mu);
	stop = mf->stop;
	pthread_mutex_unlock(&mf->mu);
	return stop;
}

static void *run(void *arg)
{
	struct mapfetch *mf = arg;
	int first = 1, running;

	db_setup(mf);
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++)
			if (mf->lists[i].src[j]->loc)
				load_stored(mf->lists[i].src[j]);
	while (!stopping(mf)) {
		time_t now = time(NULL);

		free_retired(mf);
		check_asked(mf, now);
		for (int i = 0; i < mf->nlists; i++)
			for (int j = 0; j < mf->lists[i].n; j++) {
				struct source *s = mf->lists[i].src[j];

				if (s->easy || s->due > now)
					continue;
				if (s->loc)
					start_fetch(s, now);
				else
					check_file(s, now);
			}
		curl_multi_perform(mf->multi, &running);
		drain(mf, time(NULL));
		if (first && mf->inflight == 0) {
			first = 0;
			pthread_mutex_lock(&mf->mu);
			mf->first_done = 1;
			pthread_cond_broadcast(&mf->cv);
			pthread_mutex_unlock(&mf->mu);
		}
		curl_multi_poll(mf->multi, NULL, 0, 1000, NULL);
	}
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++)
			if (mf->lists[i].src[j]->easy)
				end_fetch(mf->lists[i].src[j]);
	db_teardown(mf);
	return NULL;
}

/* --- the event loop's side --------------------------------------------------- */

/*
 * A signal the caller blocked is waiting (moat-policyd blocks SIGTERM and
 * SIGINT until its event loop reads them): stop waiting for the lists.
 */
static int signal_pending(void)
{
	sigset_t set;

	if (sigpending(&set) < 0)
		return 0;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			return 1;
	return 0;
}

/* Wait at most secs for the first read of every source; whether it ended. */
static int wait_first(struct mapfetch *mf, int secs)
{
	struct timespec end;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += secs;
	pthread_mutex_lock(&mf->mu);
	while (!mf->first_done && rc == 0 && !signal_pending()) {
		struct timespec slice;

		/* In slices: a stop signal must not wait for a hanging server. */
		clock_gettime(CLOCK_REALTIME, &slice);
		slice.tv_nsec += 100000000;
		if (slice.tv_nsec >= 1000000000) {
			slice.tv_sec++;
			slice.tv_nsec -= 1000000000;
		}
		if (slice.tv_sec > end.tv_sec ||
		    (slice.tv_sec == end.tv_sec && slice.tv_nsec >= end.tv_nsec))
			slice = end;
		rc = pthread_cond_timedwait(&mf->cv, &mf->mu, &slice);
		if (rc == ETIMEDOUT && (slice.tv_sec != end.tv_sec || slice.tv_nsec != end.tv_nsec))
			rc = 0;
	}
	rc = mf->first_done;
	pthread_mutex_unlock(&mf->mu);
	return rc;
}

static int launch(struct mapfetch *mf, char *err, size_t errlen)
{
	mf->launched = time(NULL);
	if (mf->nsources == 0)
		return 0;
	/* Before the thread exists: curl_global_init() is not thread-safe in older libcurl. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (mf->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "maps: cannot initialise libcurl");
		return -1;
	}
	if ((errno = pthread_create(&mf->th, NULL, run, mf)) != 0) {
		snprintf(err, errlen, "maps: cannot start the fetch thread: %s", strerror(errno));
		curl_multi_cleanup(mf->multi);
		mf->multi = NULL;
		curl_global_cleanup();
		return -1;
	}
	mf->started = 1;
	return 0;
}

int mapfetch_start(struct mapfetch *mf, char *err, size_t errlen)
{
	if (launch(mf, err, errlen) < 0)
		return -1;
	if (mf->started && !wait_first(mf, mf->p.timeout + START_SLACK) && !signal_pending())
		msg_warn(
		    "maps: first fetches still running after %d seconds; starting without them",
		    mf->p.timeout + START_SLACK);
	mapfetch_poll(mf);
	return 0;
}

int mapfetch_start_within(struct mapfetch *mf, int secs, char *err, size_t errlen)
{
	if (launch(mf, err, errlen) < 0)
		return -1;
	if (mf->started)
		wait_first(mf, secs);
	mapfetch_poll(mf);
	return 0;
}

int mapfetch_ready(struct mapfetch *mf)
{
	int done;

	if (!mf->started)
		return 1;
	pthread_mutex_lock(&mf->mu);
	done = mf->first_done;
	pthread_mutex_unlock(&mf->mu);
	return done || time(NULL) >= mf->launched + mf->p.timeout + START_SLACK;
}

void mapfetch_poll(struct mapfetch *mf)
{
	if (mf == NULL || !mf->started)
		return;
	pthread_mutex_lock(&mf->mu);
	if (!mf->any_pending) {
		pthread_mutex_unlock(&mf->mu);
		return;
	}
	mf->any_pending = 0;
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++) {
			struct source *s = mf->lists[i].src[j];

			if (s->pending == NULL)
				continue;
			if (s->map) {
				if (mf->nretired == mf->cap_retired) {
					mf->cap_retired = mf->cap_retired ? 2 * mf->cap_retired : 8;
					mf->retired = xrealloc(
					    mf->retired, mf->cap_retired * sizeof(*mf->retired));
				}
				mf->retired[mf->nretired++] = s->map;
			}
			s->map = s->pending;
			s->pending = NULL;
		}
	pthread_mutex_unlock(&mf->mu);
}

const char *mapfetch_match_client(const struct mapfetch_list *l, const struct ip_addr *ip,
                                  const char *name)
{
	for (int i = 0; l && i < l->n; i++)
		if (l->src[i]->map && map_match_client(l->src[i]->map, ip, name))
			return l->src[i]->name;
	return NULL;
}

const char *mapfetch_match_address(const struct mapfetch_list *l, const char *addr)
{
	for (int i = 0; l && i < l->n; i++)
		if (l->src[i]->map && map_match_recipient(l->src[i]->map, addr))
			return l->src[i]->name;
	return NULL;
}

void mapfetch_free(struct mapfetch *mf)
{
	if (mf == NULL)
		return;
	if (mf->started) {
		pthread_mutex_lock(&mf->mu);
		mf->stop = 1;
		pthread_mutex_unlock(&mf->mu);
		curl_multi_wakeup(mf->multi);
		pthread_join(mf->th, NULL);
		curl_multi_cleanup(mf->multi);
		curl_global_cleanup();
	}
	for (size_t i = 0; i < mf->nretired; i++)
		map_free(mf->retired[i]);
	free(mf->retired);
	for (int i = 0; i < mf->nlists; i++)
		for (int j = 0; j < mf->lists[i].n; j++)
			source_free(mf->lists[i].src[j]);
	pthread_mutex_destroy(&mf->mu);
	pthread_cond_destroy(&mf->cv);
	free(mf->db_path);
	free(mf);
}
