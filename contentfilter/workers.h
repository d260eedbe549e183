/*
 * workers - what a scan needs besides the message: a database connection,
 * a resolver with the DNS lists, the Bayes classifier and the prepared
 * greylist statements. libmilter runs a thread per SMTP session and
 * sessions are short, so these live in a pool and go from scan to scan
 * instead of being opened for every connection. Also the rules of the
 * moment, reference-counted, reloaded every two seconds.
 */
#ifndef MOAT_WORKERS_H
#define MOAT_WORKERS_H

#include <sqlite3.h>

struct bayes;
struct bayes_store;
struct clamav;
struct greylist_msg;
struct scan_dns;
struct scan_rules;

struct worker {
	sqlite3 *db;
	struct scan_dns *sd;	/* NULL if the DNS lists could not be set up */
	struct bayes_store *bst;	/* NULL if the Bayes store could not be set up */
	struct bayes *bayes;
	struct greylist_msg *gl;	/* NULL if its statements could not be prepared */
	struct clamav *clam;	/* clamd client; NULL if clamav_servers is bad (logged) */
	unsigned generation;	/* rules generation the DNS lists were read at */
	unsigned dns_gen;	/* DNS settings the resolver was made with */
	struct worker *next;
};

/* The rules and the X-Moat-Policy key of a moment; shared, counted. */
struct rules_ref {
	struct scan_rules *r;
	int refs;
	unsigned char key[16];
};

/* A worker from the pool, or a new one; NULL (logged) if its database does not open. */
struct worker *worker_get(void);
/* Back to the pool. */
void worker_put(struct worker *w);
/* Free the pool (at exit, no scan running). */
void pool_free(void);
/* The rules now (reloaded when two seconds old), referenced; NULL (logged) if none load. */
struct rules_ref *rules_get(sqlite3 *db);
/* Drop a reference (NULL is fine). */
void rules_put(struct rules_ref *ref);
/* Bumped at every rules reload: the DNS lists are re-read when it moves. */
unsigned rules_generation_now(void);
/* Drop the current rules (at exit). */
void rules_free_all(void);

#endif
