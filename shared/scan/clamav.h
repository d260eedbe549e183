/*
 * clamav - a clamd client (clamd(8): zINSTREAM over a unix or TCP socket)
 * and a bounded result cache, for the check_clamav check.
 *
 * The message goes to clamd as "zINSTREAM\0", then chunks of at most
 * CLAMAV_CHUNK bytes, each behind its length as a 4-byte big-endian
 * number, then a zero-length chunk; clamd answers one NUL-terminated line:
 * "stream: OK", "stream: NAME FOUND" or "... ERROR". The servers of
 * clamav_servers are tried in order: a failure of one (refused, timed
 * out, closed without a reply, a garbled or ERROR reply) moves to the
 * next, and only when all have failed is the scan a failure.
 *
 * Parallel, not after the other checks: the scanner calls clamav_start()
 * before any check runs, which looks in the cache and otherwise hands the
 * exchange to a thread of its own; the checks run meanwhile (the DNS lists
 * wait on their resolver, Bayes on SQLite), and clamav_collect(), the last
 * check, joins that thread. A thread rather than this thread's event loop:
 * the other checks block (regexes, SQLite), and an event loop only makes
 * progress while someone runs it, so the loop would send the message only
 * while the DNS lists happen to wait. A thread sends it at once, on the
 * second core when there is one, and its blocking I/O is bounded by
 * clamav_timeout per server through poll(). One exchange per scanning
 * thread at a time: struct clamav belongs to one scanning thread.
 *
 * Limits: a reply is read up to CLAMAV_REPLY_MAX bytes (more is a
 * failure), a virus name is kept to CLAMAV_NAME_MAX - 1 bytes of
 * [A-Za-z0-9._:/+-] (other bytes become '_'), so it is safe in an SMTP reply
 * and a header; at most CLAMAV_SERVERS_MAX servers.
 */
#ifndef MOAT_CLAMAV_H
#define MOAT_CLAMAV_H

#include <stddef.h>
#include <time.h>

struct conf;
struct clamav;

#define CLAMAV_CHUNK 65536
#define CLAMAV_REPLY_MAX 4096
#define CLAMAV_NAME_MAX 128
#define CLAMAV_SERVERS_MAX 8

enum clamav_kind {
	CLAMAV_CLEAN,
	CLAMAV_VIRUS,     /* name: the signature */
	CLAMAV_ENCRYPTED, /* Heuristics.Encrypted.* (clamd's AlertEncrypted) */
	CLAMAV_MACRO,     /* Heuristics.OLE2.ContainsMacros (AlertOLE2Macros) */
	CLAMAV_FAIL,      /* err says why; also Heuristics.Limits.Exceeded */
};

struct clamav_verdict {
	enum clamav_kind kind;
	char name[CLAMAV_NAME_MAX]; /* the signature (VIRUS, ENCRYPTED, MACRO) */
	char err[512];              /* why it failed (FAIL), printable ASCII */
	char server[128];           /* the server that answered, or "" */
	int cached;                 /* the verdict came from the cache */
};

/* Parse one clamd reply (without its NUL, but a trailing newline is allowed) into v. */
void clamav_parse_reply(const char *p, size_t len, struct clamav_verdict *v);

/*
 * A scanning thread's client, from clamav_servers, clamav_timeout,
 * clamav_cache_size and clamav_cache_ttl; NULL with err for a bad server list.
 */
struct clamav *clamav_new(const struct conf *cf, char *err, size_t errlen);
/* clamav_max_size: a bigger message is not sent. */
size_t clamav_max_size(const struct clamav *cl);
/* clamav_fail_action = accept: a failed scan lets the message through. */
int clamav_fail_accepts(const struct clamav *cl);
/* Free (NULL is fine); waits for a scan still running. */
void clamav_free(struct clamav *cl);
/*
 * A scanning thread's client made again from the settings of now (after
 * SIGHUP): old is freed; NULL, with a warning logged, when they make none.
 */
struct clamav *clamav_renew(struct clamav *old, const struct conf *cf);
/* Begin scanning data, which must stay valid until clamav_collect(). */
void clamav_start(struct clamav *cl, const char *data, size_t len);
/* Wait for the scan clamav_start() began and give its verdict; 0, or -1 if none was begun. */
int clamav_collect(struct clamav *cl, struct clamav_verdict *v);
/* Both at once. */
void clamav_scan(struct clamav *cl, const char *data, size_t len, struct clamav_verdict *v);
/* Errors of servers that failed before one answered ("" if none), for the log. */
const char *clamav_failover(const struct clamav *cl);

/*
 * The cache key of a message: SHA-256 of its bytes, without its Received
 * header fields, which a retry through Postfix changes (queue ID, time)
 * and no signature is about.
 */
void clamav_digest(const char *data, size_t len, unsigned char out[32]);

/* A bounded cache of clean and found verdicts (failures are never kept), thread-safe. */
struct clamav_cache;
/* At most size entries, each kept ttl seconds; size 0: a cache that keeps nothing. */
struct clamav_cache *clamav_cache_new(size_t size, time_t ttl);
void clamav_cache_free(struct clamav_cache *c);
/* 1 and *v (cached set) for a live entry, else 0. */
int clamav_cache_get(struct clamav_cache *c, const unsigned char key[32], time_t now,
                     struct clamav_verdict *v);
/* Keep v (not a failure); the oldest entry of its slot group goes when they are all taken. */
void clamav_cache_put(struct clamav_cache *c, const unsigned char key[32], time_t now,
                      const struct clamav_verdict *v);

#endif
