/*
 * mapfetch - allow and block lists read from files and fetched from URLs,
 * kept fresh by one thread and matched by the event loop.
 *
 * A list (client_allowlist, sender_blocklist, ...) is the union of its
 * sources: file paths, file:// URLs and http:// or https:// URLs, each in
 * postgrey's whitelist_clients or whitelist_recipients format (maps.h).
 * The thread re-reads a file when its size, inode or mtime changes (checked
 * every few seconds) and fetches a URL every refresh interval with a
 * conditional GET (If-None-Match, If-Modified-Since; RFC 9110 13.1): 304
 * keeps the copy in use, 200 replaces it once it parsed. Any failure
 * (connect error, timeout, HTTP status, too big, not a list) keeps the copy
 * in use and logs one warning naming the URL without its user:password or
 * query. The last good copy of each URL, its validators and status are kept
 * in SQLite (table map_sources, view maps_status), so a restart while the
 * server is down starts with the stored copy.
 *
 * Why a thread and not libcurl's multi interface on the event loop: parsing
 * a list of a million lines and writing its copy to SQLite take time too,
 * and would stall requests as surely as a blocking connect. One thread with
 * its own database connection keeps all of it off the request path; the
 * loop only swaps in finished maps (mapfetch_poll) under one mutex and
 * matches. Inside the thread the fetches run in parallel through a multi
 * handle, so one hanging server holds up no other source.
 *
 * Limits: at most MAPFETCH_SOURCES_MAX sources per list; a copy over
 * max_bytes or max_entries is a failed fetch; redirects are followed at
 * most 5 times and only to http or https.
 */
#ifndef MOAT_MAPFETCH_H
#define MOAT_MAPFETCH_H

#include <stddef.h>

#include "core/cidr.h"

#define MAPFETCH_SOURCES_MAX 16

struct mapfetch;
struct mapfetch_list;

struct mapfetch_params {
	const char *db_path; /* where copies are kept; NULL keeps none */
	int busy_ms;         /* SQLite busy timeout */
	int refresh;         /* seconds between fetches of a URL */
	int timeout;         /* seconds one fetch may take */
	size_t max_bytes;    /* largest copy accepted */
	size_t max_entries;  /* most entries in one copy */
};

/* New set of lists, nothing running yet. */
struct mapfetch *mapfetch_new(const struct mapfetch_params *p);
/*
 * Declare a list before mapfetch_start(): name (a setting name, for logs
 * and the table), clients (whitelist_clients format, else addresses) and
 * its sources, comma- or space-separated. NULL with err if a source is not
 * a path or an http, https or file URL, or there are too many.
 */
struct mapfetch_list *mapfetch_add(struct mapfetch *mf, const char *name, int clients,
                                   const char *sources, char *err, size_t errlen);
/*
 * Start the thread and wait for the first read of every source (at most
 * the fetch timeout and a little, less if a blocked signal is pending):
 * lists are in force from the first request. 0, or -1 with err if the
 * thread cannot start.
 */
int mapfetch_start(struct mapfetch *mf, char *err, size_t errlen);
/*
 * The same, waiting at most secs (for a reload: files are read in
 * milliseconds, a slow URL must not hold up requests that long).
 */
int mapfetch_start_within(struct mapfetch *mf, int secs, char *err, size_t errlen);
/* Whether every source was read once, or the fetch timeout (and a little) has passed. */
int mapfetch_ready(struct mapfetch *mf);
/* Event loop: swap in the maps the thread finished since the last call. */
void mapfetch_poll(struct mapfetch *mf);
/* Source (as logged) of the list that has the client, or NULL (l may be NULL). */
const char *mapfetch_match_client(const struct mapfetch_list *l, const struct ip_addr *ip,
                                  const char *name);
/* Source of the list that has the address (sender or recipient), or NULL. */
const char *mapfetch_match_address(const struct mapfetch_list *l, const char *addr);
/* Stop the thread (fetches in flight are dropped) and free; NULL is fine. */
void mapfetch_free(struct mapfetch *mf);

/* A URL as logged and stored: without user:password, query or fragment. */
void mapfetch_redact(const char *url, char *out, size_t outlen);

#endif
